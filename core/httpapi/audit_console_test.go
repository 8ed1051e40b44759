package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// The ethics committee reads the log as people, not ids: proposals by their text, actors by
// their address; it filters, pages and exports what it filtered.
func TestAuditConsole_FiltersShowsTextsAndExports(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		author := e.Visitor(w.A.Host)
		ids := w.propose(t, author, "Il faut ouvrir les musées le soir", "Il faut =HYPERLINK(\"x\") des concerts gratuits")
		auditor := e.Visitor(w.A.Host)
		auditor.SignIn("auditor@ay.test", testsupport.Password)

		page := tbody(auditor.Do("GET", "/audit/log?action=proposal.accept", nil).Body)
		if !strings.Contains(page, "<q>ouvrir les musées le soir</q>") {
			t.Errorf("the accepted proposal is not shown by its text")
		}
		if strings.Contains(page, "consultation.open") {
			t.Error("the action filter let another action through")
		}
		if !strings.Contains(page, "moderator@ay.test") || strings.Contains(page, "moderator@ay.test (") {
			t.Error("the actor is not shown by address, apart from its id")
		}
		if strings.Contains(page, `{&#34;`) || strings.Contains(page, `{"`) {
			t.Error("raw JSON in the details")
		}
		// By actor (an address), by object, by day.
		byActor := tbody(auditor.Do("GET", "/audit/log?actor="+url.QueryEscape("tenant-admin@ay.test"), nil).Body)
		if strings.Contains(byActor, "proposal.accept") || !strings.Contains(byActor, "consultation.open") {
			t.Error("the actor filter")
		}
		byObject := tbody(auditor.Do("GET", "/audit/log?object=proposal:"+itoa64(ids[1]), nil).Body)
		if strings.Contains(byObject, "musées le soir") || !strings.Contains(byObject, "concerts gratuits") {
			t.Error("the object filter")
		}
		if none := string(auditor.Do("GET", "/audit/log?from=2001-01-01&to=2001-01-02", nil).Body); !strings.Contains(none, "Aucune entrée ne correspond") {
			t.Error("a day range in the past shows entries")
		}
		if res := auditor.Do("GET", "/audit/log?from=31/12/2026", nil); res.Status != http.StatusBadRequest {
			t.Errorf("a malformed day: %d", res.Status)
		}
		// The export: what the filter selects, with a BOM, the French separator on request, and
		// no cell a spreadsheet would run as a formula.
		res := auditor.Do("GET", "/audit/log.csv?object=proposal:*&sep=semicolon", nil)
		if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !bytes.HasPrefix(res.Body, []byte("\ufeff")) {
			t.Fatalf("csv: %d %s %.20q", res.Status, res.Header.Get("Content-Type"), res.Body)
		}
		if bad := auditor.Do("GET", "/audit/log.csv?sep=tab", nil); bad.Status != http.StatusBadRequest {
			t.Errorf("an unknown separator: %d, want 400", bad.Status)
		}
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.Body, []byte("\ufeff"))))
		r.Comma = ';'
		rows, err := r.ReadAll()
		if err != nil || len(rows) < 3 || rows[0][0] != "seq" {
			t.Fatalf("csv rows: %v %v", rows, err)
		}
		for _, row := range rows[1:] {
			if !strings.HasPrefix(row[4], "proposal:") {
				t.Errorf("the export left the filter: %v", row)
			}
			for _, cell := range row {
				if strings.HasPrefix(cell, "=") {
					t.Errorf("a formula cell: %q", cell)
				}
			}
		}
		// Auditors read; the export is theirs, not the public's.
		if res := e.Visitor(w.A.Host).Do("GET", "/audit/log.csv", nil); res.Status == 200 {
			t.Error("a visitor exported the audit log")
		}
	})
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// tbody is the rows of a page's table.
func tbody(page []byte) string {
	_, rows, _ := strings.Cut(string(page), "<tbody>")
	rows, _, _ = strings.Cut(rows, "</tbody>")
	return rows
}
