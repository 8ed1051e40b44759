package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// The results page and its CSV, as a reader gets them: a summary in the site's language
// above the lists, each zone explained with a link to the methodology, the shares with their
// intervals; the CSV with a byte order mark, commas and decimal points, or semicolons and
// decimal commas for French Excel, its text cells quoted and kept from running as formulas.
func TestResultsPage_ASummaryIntervalsAndCSVForFrenchExcel(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		ids := w.propose(t, e.Visitor(w.A.Host), "Il faut interdire les voitures; le dimanche \"sans exception\"")
		for range 12 { // rejected by twelve sequence votes
			p := e.Visitor(w.A.Host)
			if res := p.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", ids[0]), map[string]any{"vote": "disagree", "key": seqKeyFor(t, p, "culture", ids[0])}); res.Status != 200 {
				t.Fatalf("vote: %d %s", res.Status, res.Body)
			}
		}
		w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées le soir") // no vote
		for _, step := range []string{"close", "publish"} {
			if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/" + step, Token: w.admin}); res.Status != 200 {
				t.Fatalf("%s: %d %s", step, res.Status, res.Body)
			}
		}
		anon := e.Visitor(w.A.Host)

		page := func(lang string) string {
			t.Helper()
			res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/c/culture/results", Cookies: []*http.Cookie{{Name: "concorde_lang", Value: lang}}})
			if res.Status != 200 {
				t.Fatalf("results page (%s): %d", lang, res.Status)
			}
			return string(res.Body)
		}
		fr := page("fr")
		for _, want := range []string{
			"12 personnes ont voté sur les propositions que la plateforme leur a présentées : 12 votes comptés sur 2 propositions.",
			"Aucune proposition ne fait consensus.",
			"1 proposition est rejetée : «\u00a0Il faut interdire les voitures; le dimanche &#34;sans exception&#34;\u00a0», avec 100\u202f% de désaccord.",
			"1 proposition n’a pas encore assez de votes pour être classée (il en faut 10).",
			"Pas d’accord 100\u202f% (", // and its interval
			"Score de rejet : ",
			`href="/methode#zones"`, `href="/methode#scores"`, `href="/methode#intervals"`,
			`href="/api/v1/consultations/culture/export.csv?sep=semicolon"`, `href="/api/v1/consultations/culture/results"`,
		} {
			if !strings.Contains(fr, want) {
				t.Errorf("the French page does not say %q", want)
			}
		}
		main := fr[strings.Index(fr, "<main"):strings.Index(fr, "</main>")]
		for _, english := range []string{"votes counted", "reaches consensus", "Agree ", "Disagree", "At a glance", "How zones"} {
			if strings.Contains(main, english) {
				t.Errorf("English %q on the French results page", english)
			}
		}
		if en := page("en"); !strings.Contains(en, "1 proposal is rejected: “Il faut interdire") || !strings.Contains(en, "At a glance") {
			t.Errorf("the English page has no English summary")
		}

		// The CSV: by default for programs, with sep=semicolon for French Excel.
		get := func(path string) testsupport.Response {
			t.Helper()
			res := anon.Do("GET", path, nil)
			if res.Status != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !bytes.HasPrefix(res.Body, []byte{0xEF, 0xBB, 0xBF}) {
				t.Fatalf("%s: %d %s %.12q", path, res.Status, res.Header.Get("Content-Type"), res.Body)
			}
			return res
		}
		read := func(body []byte, comma rune) []map[string]string {
			t.Helper()
			r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte{0xEF, 0xBB, 0xBF})))
			r.Comma = comma
			recs, err := r.ReadAll()
			if err != nil || len(recs) != 3 {
				t.Fatalf("csv: %v %q", err, body)
			}
			var rows []map[string]string
			for _, rec := range recs[1:] {
				row := map[string]string{}
				for i, h := range recs[0] {
					row[h] = rec[i]
				}
				rows = append(rows, row)
			}
			return rows
		}
		plain := get("/api/v1/consultations/culture/export.csv")
		french := get("/api/v1/consultations/culture/export.csv?sep=semicolon")
		if bytes.Contains(french.Body, []byte("sep=")) || !bytes.Contains(french.Body, []byte("proposal_id;content;")) {
			t.Errorf("the French CSV starts %.60q", french.Body)
		}
		p, f := read(plain.Body, ',')[0], read(french.Body, ';')[0]
		if p["content"] != "Il faut interdire les voitures; le dimanche \"sans exception\"" || f["content"] != p["content"] {
			t.Errorf("text cells: %q and %q", p["content"], f["content"])
		}
		if p["zone"] != "rejection" || p["sequence_disagree"] != "12" || !strings.HasPrefix(p["disagree_rate"], "0.") || !strings.Contains(p["disagree_low"], ".") {
			t.Errorf("default CSV row: %v", p)
		}
		if f["disagree_rate"] != strings.Replace(p["disagree_rate"], ".", ",", 1) || f["disagree_low"] != strings.Replace(p["disagree_low"], ".", ",", 1) || f["sequence_disagree"] != "12" {
			t.Errorf("French CSV decimals: %q %q, want decimal commas of %q %q", f["disagree_rate"], f["disagree_low"], p["disagree_rate"], p["disagree_low"])
		}
		// A separator the export does not know is refused, and says which it knows.
		for _, bad := range []string{"tab", ";", "SEMICOLON"} {
			res := anon.Do("GET", "/api/v1/consultations/culture/export.csv?sep="+bad, nil)
			if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "semicolon") {
				t.Errorf("sep=%s: %d %s, want 400 naming the separators", bad, res.Status, res.Body)
			}
		}
	})
}

// A published consultation whose proposals have too few votes says so, with no chart.
func TestResultsPage_EmptyResultsSayWhyInsteadOfABlankChart(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées le soir")
		for _, step := range []string{"close", "publish"} {
			if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/" + step, Token: w.admin}); res.Status != 200 {
				t.Fatalf("%s: %d %s", step, res.Status, res.Body)
			}
		}
		res := e.Visitor(w.A.Host).Do("GET", "/c/culture/results", nil)
		body := string(res.Body)
		if res.Status != 200 || !strings.Contains(body, `id="chart-empty"`) || strings.Contains(body, `class="chart-svg"`) ||
			!strings.Contains(body, "Pas encore de résultat : aucune proposition n’a reçu les 10 votes de séquence qu’il faut pour être classée.") {
			t.Fatalf("empty results: %d, want the empty state and no chart", res.Status)
		}
	})
}
