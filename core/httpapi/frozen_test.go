package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// frozenWorld is a consultation with votes, an accepted proposal and a pending one, closed
// (and published when publish is set).
type frozenWorld struct {
	*consultationWorld
	accepted, pending []int64
	voter             *testsupport.Visitor
}

func newFrozen(t *testing.T, e *testsupport.Env, publish bool) *frozenWorld {
	t.Helper()
	w := &frozenWorld{consultationWorld: newConsultation(t, e)}
	// Few votes place a proposal in a zone, so that the results have zones to freeze.
	if res := w.Do(testsupport.Request{Method: "PATCH", Host: w.A.Host, Path: "/api/v1/consultations/culture", Token: w.admin, Body: map[string]any{"settings": map[string]any{"min_votes_for_zone": 2}}}); res.Status != 200 {
		t.Fatalf("settings: %d %s", res.Status, res.Body)
	}
	w.accepted = append(w.accepted, w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées gratuitement le dimanche")...)
	w.accepted = append(w.accepted, w.propose(t, e.Visitor(w.A.Host), "Il faut des concerts gratuits dans les parcs")...)
	for i := range 3 {
		v := e.Visitor(w.A.Host)
		var seq seqResponse
		v.Do("GET", "/api/v1/consultations/culture/sequence", nil).JSON(t, &seq)
		for _, p := range seq.Proposals {
			res := v.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p.ID), map[string]any{"vote": []string{"agree", "disagree", "agree"}[i], "key": p.Key})
			if res.Status != 200 {
				t.Fatalf("vote: %d %s", res.Status, res.Body)
			}
		}
		w.voter = v
	}
	res := e.Visitor(w.A.Host).Do("POST", "/api/v1/consultations/culture/proposals", map[string]string{"content": "Il faut une carte culture pour les jeunes"})
	if res.Status != http.StatusCreated {
		t.Fatalf("propose: %d %s", res.Status, res.Body)
	}
	w.pending = append(w.pending, userID(t, res))
	steps := []string{"close"}
	if publish {
		steps = append(steps, "publish")
	}
	for _, st := range steps {
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/" + st, Token: w.admin}); res.Status != 200 {
			t.Fatalf("%s: %d %s", st, res.Status, res.Body)
		}
	}
	return w
}

// state is everything a write to a frozen consultation could change: the consultation,
// its proposals, its results, the number of votes and of audit entries.
func (w *frozenWorld) state(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	get := func(path string) {
		res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: path, Token: w.admin})
		if res.Status != 200 {
			t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
		}
		b.Write(res.Body)
		b.WriteByte('\n')
	}
	get("/api/v1/consultations/culture")
	get("/api/v1/consultations/culture/results")
	for _, id := range append(append([]int64{}, w.accepted...), w.pending...) {
		get(fmt.Sprintf("/api/v1/proposals/%d", id))
	}
	for _, table := range []string{"votes", "proposal_counts", "audit_entries"} {
		q := w.App.DB.NewSelect().TableExpr(table)
		if table == "audit_entries" {
			q = q.Where("action <> 'token.use'") // a token's use is audited even when refused
		}
		n, err := q.Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d\n", table, n)
	}
	return b.String()
}

func TestFrozen_ClosedAndPublishedConsultationsRefuseWhatWouldChangeResults(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	type write struct {
		name, method, path string
		body               any
		form               bool   // an admin page's form, not the JSON API
		token              string // "admin", "moderator" or "voter" (the voter's cookies)
	}
	writes := func(w *frozenWorld) []write {
		acc, pend := w.accepted[0], w.pending[0]
		mod := func(id int64, d string) string { return fmt.Sprintf("/api/v1/moderation/proposals/%d/%s", id, d) }
		page := func(id int64, d string) string { return fmt.Sprintf("/admin/moderation/%d/%s", id, d) }
		return []write{
			{"API: settings", "PATCH", "/api/v1/consultations/culture", map[string]any{"settings": map[string]any{"min_votes_for_zone": 5}}, false, "admin"},
			{"API: themes", "PATCH", "/api/v1/consultations/culture", map[string]any{"themes": []map[string]string{{"slug": "musees", "label": "Musées"}}}, false, "admin"},
			{"API: question", "PATCH", "/api/v1/consultations/culture", map[string]any{"question": "Comment rendre la culture accessible à chacun ?"}, false, "admin"},
			{"API: requires account", "PATCH", "/api/v1/consultations/culture", map[string]any{"requires_account": true}, false, "admin"},
			{"API: archive", "POST", mod(acc, "archive"), nil, false, "moderator"},
			{"API: accept", "POST", mod(pend, "accept"), map[string]any{"themes": []string{"musees"}}, false, "moderator"},
			{"API: refuse", "POST", mod(pend, "refuse"), map[string]any{"reason": "partisan"}, false, "moderator"},
			{"API: postpone", "POST", mod(pend, "postpone"), nil, false, "moderator"},
			{"API: propose", "POST", "/api/v1/consultations/culture/proposals", map[string]string{"content": "Il faut des ateliers de théâtre au collège"}, false, "voter"},
			{"API: vote", "POST", fmt.Sprintf("/api/v1/proposals/%d/vote", acc), map[string]any{"vote": "neutral"}, false, "voter"},
			{"API: withdraw a vote", "DELETE", fmt.Sprintf("/api/v1/proposals/%d/vote", acc), nil, false, "voter"},
			{"page: edit question and themes", "POST", "/admin/consultations/culture", "question=Comment+rendre+la+culture+accessible+%C3%A0+chacun+%3F&context=x&themes=musees%7CMus%C3%A9es", true, "admin"},
			{"page: accept", "POST", page(pend, "accept"), "theme=musees", true, "moderator"},
			{"page: refuse", "POST", page(pend, "refuse"), "reason=partisan", true, "moderator"},
			{"page: postpone", "POST", page(pend, "postpone"), "", true, "moderator"},
		}
	}
	for _, publish := range []bool{false, true} {
		name := map[bool]string{false: "closed", true: "published"}[publish]
		t.Run(name, func(t *testing.T) {
			testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
				w := newFrozen(t, e, publish)
				before := w.state(t)
				for _, wr := range writes(w) {
					var res testsupport.Response
					if wr.token == "voter" {
						res = w.voter.Do(wr.method, wr.path, wr.body)
					} else {
						r := testsupport.Request{Method: wr.method, Host: w.A.Host, Path: wr.path, Body: wr.body,
							Token: map[string]string{"admin": w.admin, "moderator": w.moderator}[wr.token]}
						if wr.form {
							r.Header = map[string]string{"Content-Type": form}
						}
						res = w.Do(r)
					}
					if res.Status != http.StatusConflict {
						t.Errorf("%s: %d %s, want 409", wr.name, res.Status, res.Body)
						continue
					}
					if wr.token != "voter" && !strings.Contains(string(res.Body), map[bool]string{false: "frozen", true: "final"}[publish]) {
						t.Errorf("%s: the refusal does not say why: %s", wr.name, res.Body)
					}
					if after := w.state(t); after != before {
						t.Fatalf("%s changed something:\nbefore %s\nafter  %s", wr.name, before, after)
					}
				}
				// The queue no longer offers the proposal no decision may change.
				res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/moderation/next", Token: w.moderator, Body: map[string]any{}})
				if res.Status != http.StatusNotFound {
					t.Errorf("moderation/next on a frozen consultation: %d %s", res.Status, res.Body)
				}
				// What only describes the consultation may still change.
				res = w.Do(testsupport.Request{Method: "PATCH", Host: w.A.Host, Path: "/api/v1/consultations/culture", Token: w.admin, Body: map[string]any{"context": "Merci à tous : les résultats sont en ligne."}})
				if res.Status != 200 {
					t.Errorf("context edit after close: %d %s", res.Status, res.Body)
				}
			})
		})
	}
}

func TestFrozen_PublishingSnapshotsResultsAndServesThem(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newFrozen(t, e, false)
		live := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/export.json", Token: w.admin})
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/publish", Token: w.admin}); res.Status != 200 {
			t.Fatalf("publish: %d %s", res.Status, res.Body)
		}
		anon := e.Visitor(w.A.Host)
		exp := anon.Do("GET", "/api/v1/consultations/culture/export.json", nil)
		sum := sha256.Sum256(exp.Body)
		hash := hex.EncodeToString(sum[:])
		if exp.Status != 200 || exp.Header.Get("X-Results-SHA256") != hash {
			t.Fatalf("export.json is not the snapshot: %d, header %q, body hashes to %s", exp.Status, exp.Header.Get("X-Results-SHA256"), hash)
		}
		// The snapshot is what the results API served, published, with the opinion groups
		// computed (the live results may still say they are pending: they are computed in the
		// background, the snapshot computes them).
		if want := strings.Replace(string(live.Body), `"status":"closed"`, `"status":"published"`, 1); withoutOpinions(t, exp.Body) != withoutOpinions(t, []byte(want)) {
			t.Fatalf("snapshot differs from the results served before publication:\n%s\n%s", exp.Body, want)
		}
		if strings.Contains(string(exp.Body), `"pending":true`) {
			t.Fatalf("the snapshot froze opinion groups still pending: %s", exp.Body)
		}
		var r struct {
			SHA256 string `json:"snapshot_sha256"`
		}
		results := anon.Do("GET", "/api/v1/consultations/culture/results", nil)
		results.JSON(t, &r)
		if r.SHA256 != hash {
			t.Fatalf("results API says sha256 %q, the snapshot hashes to %s", r.SHA256, hash)
		}
		var audit struct {
			Entries []struct {
				Detail map[string]any `json:"detail"`
			} `json:"entries"`
		}
		w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/audit?action=consultation.publish", Token: w.admin}).JSON(t, &audit)
		if len(audit.Entries) != 1 || audit.Entries[0].Detail["results_sha256"] != hash {
			t.Fatalf("the publication's audit entry does not carry the hash: %+v", audit)
		}
		for _, lang := range []string{"fr", "en"} {
			page := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/c/culture/results", Cookies: []*http.Cookie{{Name: "concorde_lang", Value: lang}}})
			label := map[string]string{"fr": "Empreinte SHA-256", "en": "SHA-256 of the published results"}[lang]
			if page.Status != 200 || !strings.Contains(string(page.Body), hash) || !strings.Contains(string(page.Body), label) {
				t.Fatalf("results page (%s) does not show the hash: %d", lang, page.Status)
			}
		}
		verify := func() (match bool, body string) {
			res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results/verify", Token: w.auditor})
			var v struct {
				Match    bool `json:"match"`
				Snapshot *struct {
					SHA256 string `json:"sha256"`
					Match  bool   `json:"match"`
				} `json:"snapshot"`
			}
			res.JSON(t, &v)
			if res.Status != 200 || v.Snapshot == nil || v.Snapshot.SHA256 != hash || v.Snapshot.Match != v.Match {
				t.Fatalf("verify: %d %s", res.Status, res.Body)
			}
			return v.Match, string(res.Body)
		}
		auditPage := func() string {
			res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/audit/c/culture?verify=1", Token: w.auditor,
				Cookies: []*http.Cookie{{Name: "concorde_lang", Value: "en"}}})
			if res.Status != 200 || !strings.Contains(string(res.Body), `id="snapshot-result"`) || !strings.Contains(string(res.Body), hash) {
				t.Fatalf("auditor's console: %d, no snapshot check with the hash", res.Status)
			}
			return string(res.Body)
		}
		if ok, body := verify(); !ok {
			t.Fatalf("untampered results do not verify: %s", body)
		}
		if page := auditPage(); !strings.Contains(page, "follow from the raw votes, byte for byte") {
			t.Fatal("the auditor's console does not say the published results follow from the votes")
		}

		// Tamper with the counters behind the live results: the public ones do not move (they
		// are the snapshot), and the auditors' check names the proposal.
		ctx := context.Background()
		top := w.accepted[0]
		if _, err := e.App.DB.ExecContext(ctx, `UPDATE proposal_counts SET disagree = disagree + 50 WHERE proposal_id = ?`, top); err != nil {
			t.Fatal(err)
		}
		e.App.Catalog.Invalidate(w.A.Tenant.ID, mustConsultationID(t, e, w))
		if again := anon.Do("GET", "/api/v1/consultations/culture/results", nil); string(again.Body) != string(results.Body) {
			t.Fatalf("published results moved with the counters:\n%s\n%s", results.Body, again.Body)
		}
		ok, body := verify()
		if ok || !strings.Contains(body, fmt.Sprintf("proposal %d: stored counters differ", top)) {
			t.Fatalf("tampered counters verify: %s", body)
		}
		if page := auditPage(); !strings.Contains(page, "do not follow from the raw votes") || !strings.Contains(page, fmt.Sprintf("proposal %d: stored counters differ", top)) {
			t.Fatal("the auditor's console does not name the tampered proposal")
		}
	})
}

func mustConsultationID(t *testing.T, e *testsupport.Env, w *frozenWorld) int64 {
	t.Helper()
	c, err := e.App.Consultations.Get(context.Background(), w.A.Tenant.ID, w.slug)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// withoutOpinions is a results body without its opinion groups, re-encoded.
func withoutOpinions(t *testing.T, body []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("results: %v: %s", err, body)
	}
	delete(m, "opinion_groups")
	for _, v := range m {
		if list, ok := v.([]any); ok {
			for _, it := range list {
				if item, ok := it.(map[string]any); ok {
					delete(item, "opinions")
					delete(item, "beside_by_origin") // read in the background with the opinion groups
				}
			}
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}
