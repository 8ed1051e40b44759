package pluginhost_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/core/vote"
)

// The candidates plugin through the real host and a real plugin process: statements frozen
// from a consultation's published results (read through the host's Results service), the
// invitation, positions, the deadline, matching, the caller's own votes and isolation.

// publishedConsultation gives site s a published consultation "grand-debat" with four
// proposals: three in consensus (agreed by 30, 28 and 26 of 30 voters) and one controversy.
// The citizen of the site voted on the first two. It returns the proposals' ids.
func publishedConsultation(t *testing.T, w *world, s *testsupport.Site, status consultation.Status) []int64 {
	t.Helper()
	ctx := context.Background()
	tid := s.Tenant.ID
	c, err := w.App.Consultations.Create(ctx, tid, "test", consultation.Input{Slug: "grand-debat", Question: "Comment améliorer la vie dans la ville ?"})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = w.App.Consultations.SetStatus(ctx, tid, "test", c.Slug, consultation.Open); err != nil {
		t.Fatal(err)
	}
	texts := []string{"Il faut planter des arbres dans chaque rue", "Il faut des pistes cyclables séparées",
		"Il faut ouvrir les bibliothèques le dimanche", "Il faut interdire les voitures en centre-ville"}
	agree := []int{30, 28, 26, 15}
	var ids []int64
	for i, text := range texts {
		p, err := w.App.Proposals.Submit(ctx, tid, c, fmt.Sprintf("p:author-%d", i), text)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.App.Proposals.Accept(ctx, tid, p.ID, "test", nil, c.ThemeSlugs()); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
		for v := range 30 {
			k := results.Agree
			if v >= agree[i] {
				k = results.Disagree
			}
			if _, err := w.App.Votes.Cast(ctx, vote.Ballot{TenantID: tid, ConsultationID: c.ID, ProposalID: p.ID, Participant: fmt.Sprintf("p:voter-%d", v),
				Key: k, Trust: results.Sequence, Origin: vote.Sequence}); err != nil {
				t.Fatal(err)
			}
		}
	}
	citizen := authz.UserSubject(tid, s.Users[authz.Citizen].ID)
	for i, k := range []results.Key{results.Disagree, results.Neutral} {
		if _, err := w.App.Votes.Cast(ctx, vote.Ballot{TenantID: tid, ConsultationID: c.ID, ProposalID: ids[i], Participant: citizen,
			Key: k, Trust: results.Sequence, Origin: vote.Sequence}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []consultation.Status{consultation.Closed, consultation.Published} {
		if st == consultation.Published && status != consultation.Published {
			break
		}
		if _, err := w.App.Consultations.SetStatus(ctx, tid, "test", c.Slug, st); err != nil {
			t.Fatal(err)
		}
	}
	w.App.Catalog.Invalidate(tid, c.ID)
	return ids
}

func TestCandidates_ThroughTheRealHost(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			w := newWorldOn(t, dialect, "candidates")
			w.enable(t, w.A, "candidates")
			w.enable(t, w.B, "candidates")
			ids := publishedConsultation(t, w, w.A, consultation.Published)
			admin := w.A.Tokens[authz.TenantAdmin]
			do := func(method, path, token string, body any) testsupport.Response {
				return w.Do(testsupport.Request{Method: method, Host: w.A.Host, Path: "/api/v1/p/candidates" + path, Token: token, Body: body})
			}
			el := map[string]any{"title": "Municipales 2026", "date": "2026-03-15", "consultation": "grand-debat", "statements_count": 3, "positions_deadline": "2099-03-01"}
			// Only tenant admins create; the statements are the consensus read from the host.
			if res := do("POST", "/elections", w.A.Tokens[authz.Citizen], el); res.Status != 403 {
				t.Fatalf("a citizen created an election: %d %s", res.Status, res.Body)
			}
			el["statements_count"] = 4
			if res := do("POST", "/elections", admin, el); res.Status != 400 || !strings.Contains(string(res.Body), `"field":"statements_count"`) {
				t.Fatalf("4 statements from 3 consensus proposals: %d %s", res.Status, res.Body)
			}
			el["statements_count"] = 3
			res := do("POST", "/elections", admin, el)
			if res.Status != 201 {
				t.Fatalf("create: %d %s", res.Status, res.Body)
			}
			var e struct {
				ID         string
				Statements []struct {
					ID         string `json:"id"`
					Text       string `json:"text"`
					ProposalID int64  `json:"proposal_id"`
				}
				Source struct {
					SHA string `json:"results_sha256"`
				}
			}
			res.JSON(t, &e)
			if len(e.Statements) != 3 || e.Statements[0].ProposalID != ids[0] || e.Statements[1].ProposalID != ids[1] || e.Statements[2].ProposalID != ids[2] || len(e.Source.SHA) != 64 {
				t.Fatalf("statements: %s", res.Body)
			}
			// The SHA-256 is the published snapshot's.
			snap, err := w.App.Snapshots.Get(context.Background(), w.A.Tenant.ID, consultationID(t, w, w.A))
			if err != nil || snap.SHA256 != e.Source.SHA {
				t.Fatalf("results sha %s, snapshot %s (%v)", e.Source.SHA, snap.SHA256, err)
			}

			// Invite two candidates; the moderator and the citizen accept.
			invite := func(name string) (string, string) {
				res := do("POST", "/elections/"+e.ID+"/candidates", admin, map[string]any{"name": name, "list": "Liste " + name, "email": strings.ToLower(name) + "@example.org"})
				var c struct {
					ID  string `json:"id"`
					URL string `json:"invitation_url"`
				}
				res.JSON(t, &c)
				if res.Status != 201 || !strings.HasPrefix(c.URL, "http") {
					t.Fatalf("invite: %d %s", res.Status, res.Body)
				}
				return c.ID, c.URL[strings.LastIndex(c.URL, "/")+1:]
			}
			alice, aliceTok := invite("Alice")
			bob, bobTok := invite("Bob")
			asAlice, asBob := w.A.Tokens[authz.Moderator], w.A.Tokens[authz.Citizen]
			if res := do("POST", "/invitations/"+aliceTok+"/accept", asAlice, nil); res.Status != 200 {
				t.Fatalf("accept: %d %s", res.Status, res.Body)
			}
			if res := do("POST", "/invitations/"+bobTok+"/accept", asBob, nil); res.Status != 200 {
				t.Fatalf("accept: %d %s", res.Status, res.Body)
			}
			if res := do("POST", "/invitations/"+aliceTok+"/accept", asBob, nil); res.Status != 409 {
				t.Fatalf("a second account took Alice's invitation: %d %s", res.Status, res.Body)
			}
			// An auditor changes nothing, even with a link.
			if res := do("PUT", "/elections/"+e.ID+"/positions/s1", w.A.Tokens[authz.Auditor], map[string]any{"position": "agree"}); res.Status != 403 {
				t.Fatalf("an auditor set a position: %d %s", res.Status, res.Body)
			}
			set := func(token, path, position string) testsupport.Response {
				return do("PUT", "/elections/"+e.ID+path, token, map[string]any{"position": position, "justification": "Parce que.", "source_url": "https://example.org/p"})
			}
			for _, x := range []struct{ tok, sid, pos string }{{asAlice, "s1", "agree"}, {asAlice, "s2", "agree"}, {asAlice, "s3", "agree"},
				{asBob, "s1", "disagree"}, {asBob, "s2", "neutral"}, {asBob, "s3", "agree"}} {
				if res := set(x.tok, "/positions/"+x.sid, x.pos); res.Status != 200 {
					t.Fatalf("position: %d %s", res.Status, res.Body)
				}
			}
			if res := set(asAlice, "/candidates/"+bob+"/positions/s1", "agree"); res.Status != 403 {
				t.Fatalf("Alice set Bob's position: %d %s", res.Status, res.Body)
			}
			if res := set(asBob, "/candidates/"+bob+"/positions/s1", "disagree"); res.Status != 200 {
				t.Fatalf("Bob by his id: %d %s", res.Status, res.Body)
			}
			if res := do("PUT", "/elections/"+e.ID+"/positions/s1", asBob, map[string]any{"position": "agree", "source_url": "http://example.org"}); res.Status != 400 {
				t.Fatalf("http source: %d %s", res.Status, res.Body)
			}
			var hist struct {
				Changes []struct {
					CandidateID string `json:"candidate_id"`
					Position    string `json:"position"`
				}
			}
			do("GET", "/elections/"+e.ID+"/positions/history", "", nil).JSON(t, &hist)
			if len(hist.Changes) != 7 {
				t.Fatalf("public history: %+v", hist.Changes)
			}
			// Auditors read the staff view; citizens do not.
			if res := do("GET", "/elections/"+e.ID+"/candidates", w.A.Tokens[authz.Auditor], nil); res.Status != 200 || !strings.Contains(string(res.Body), "alice@example.org") {
				t.Fatalf("auditor's view: %d %s", res.Status, res.Body)
			}
			if res := do("GET", "/elections/"+e.ID+"/candidates", asBob, nil); res.Status != 403 {
				t.Fatalf("a citizen read the emails: %d", res.Status)
			}

			// Matching: anyone, signed out too, and nothing stored.
			m := do("POST", "/elections/"+e.ID+"/match", "", map[string]any{"answers": map[string]string{"s1": "agree", "s2": "disagree", "s3": "skip"}, "double": []string{"s1"}})
			var out struct {
				Candidates []struct {
					ID      string `json:"id"`
					Percent int    `json:"score_percent"`
					Max     int    `json:"max_points"`
				}
			}
			m.JSON(t, &out)
			// Max 4 + 2 = 6; Alice: 4 + 0 = 67 %; Bob: 0 + 1 = 17 %.
			if m.Status != 200 || len(out.Candidates) != 2 || out.Candidates[0].ID != alice || out.Candidates[0].Percent != 67 || out.Candidates[1].Percent != 17 {
				t.Fatalf("match: %d %s", m.Status, m.Body)
			}
			if res := do("POST", "/elections/"+e.ID+"/match", "", map[string]any{"answers": map[string]string{"s8": "agree"}}); res.Status != 400 {
				t.Fatalf("unknown statement: %d %s", res.Status, res.Body)
			}
			// The citizen's own votes (disagree on s1, neutral on s2) read through the host.
			m = do("POST", "/elections/"+e.ID+"/match", w.A.Tokens[authz.Citizen], map[string]any{"use_my_votes": true})
			var mine struct {
				FromVotes  int               `json:"from_my_votes"`
				Answers    map[string]string `json:"answers"`
				Candidates []struct {
					ID      string `json:"id"`
					Percent int    `json:"score_percent"`
				}
			}
			m.JSON(t, &mine)
			if m.Status != 200 || mine.FromVotes != 2 || mine.Answers["s1"] != "disagree" || mine.Answers["s2"] != "neutral" || mine.Candidates[0].ID != bob || mine.Candidates[0].Percent != 100 {
				t.Fatalf("with my votes: %d %s", m.Status, m.Body)
			}
			// Another visitor has no votes: nothing filled, a clear 400.
			if res := do("POST", "/elections/"+e.ID+"/match", w.A.Tokens[authz.Moderator], map[string]any{"use_my_votes": true}); res.Status != 400 {
				t.Fatalf("no votes: %d %s", res.Status, res.Body)
			}

			// The page: French, percentages the French way, candidates in the visitor's order.
			page := string(w.get(w.A, "/p/candidates/elections/"+e.ID, "").Body)
			for _, want := range []string{"Les affirmations", "Il faut planter des arbres", "ordre tiré au hasard", "Alice", "Bob"} {
				if !strings.Contains(page, want) {
					t.Errorf("election page lacks %q:\n%s", want, page)
				}
			}
			// A signed-out visitor's questionnaire, with the plugin's own CSRF token from the page.
			v := w.Visitor(w.A.Host)
			quiz := string(v.Do("GET", "/p/candidates/elections/"+e.ID+"/quiz", nil).Body)
			i := strings.Index(quiz, `name="_csrf" value="`)
			if i < 0 {
				t.Fatalf("no CSRF token on the questionnaire: %s", quiz)
			}
			token, _, _ := strings.Cut(quiz[i+len(`name="_csrf" value="`):], `"`)
			form := url.Values{"_csrf": {token}, "step": {"2"}, "a_s1": {"agree"}, "d_s1": {"1"}, "a_s2": {"disagree"}, "answer": {"skip"}, "go": {"next"}}
			res = v.PostForm("/p/candidates/elections/"+e.ID+"/quiz", form)
			if res.Status != 200 || !strings.Contains(string(res.Body), "67\u00a0%") || !strings.Contains(string(res.Body), "17\u00a0%") {
				t.Fatalf("result page: %d %s", res.Status, res.Body)
			}

			// Tenant B sees nothing of A's election, and cannot freeze A's results.
			if res := w.get(w.B, "/api/v1/p/candidates/elections/"+e.ID, ""); res.Status != 404 {
				t.Fatalf("B reads A's election: %d %s", res.Status, res.Body)
			}
			if res := w.Do(testsupport.Request{Method: "POST", Host: w.B.Host, Path: "/api/v1/p/candidates/elections", Token: w.B.Tokens[authz.TenantAdmin], Body: el}); res.Status != 400 {
				t.Fatalf("B froze A's results: %d %s", res.Status, res.Body)
			}
		})
	}
}

func consultationID(t *testing.T, w *world, s *testsupport.Site) int64 {
	t.Helper()
	c, err := w.App.Consultations.Get(context.Background(), s.Tenant.ID, "grand-debat")
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// Results not published yet are not results: the host refuses them to the plugin.
func TestCandidates_UnpublishedResultsAreRefused(t *testing.T) {
	w := newWorld(t, "candidates")
	w.enable(t, w.A, "candidates")
	publishedConsultation(t, w, w.A, consultation.Closed)
	res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/candidates/elections", Token: w.A.Tokens[authz.TenantAdmin],
		Body: map[string]any{"title": "Municipales", "date": "2026-03-15", "consultation": "grand-debat", "statements_count": 2, "positions_deadline": "2099-03-01"}})
	if res.Status != 400 || !strings.Contains(string(res.Body), "not published") {
		t.Fatalf("closed, unpublished: %d %s", res.Status, res.Body)
	}
}

// The staff screens: an election created and a candidate invited with plain forms; the link
// is shown once; auditors read the screens but get no form; bad input is said in French.
func TestCandidates_StaffScreens(t *testing.T) {
	w := newWorld(t, "candidates")
	w.enable(t, w.A, "candidates")
	publishedConsultation(t, w, w.A, consultation.Published)
	admin := w.A.Tokens[authz.TenantAdmin]
	staff := string(w.get(w.A, "/p/candidates/staff", admin).Body)
	if !strings.Contains(staff, `<option value="grand-debat">`) || !strings.Contains(staff, `action="/p/candidates/staff/elections"`) {
		t.Fatalf("staff screen: %s", staff)
	}
	bad := w.form(w.A, "/p/candidates/staff/elections", admin, url.Values{"title": {"Municipales"}, "date": {"2026-03-15"},
		"positions_deadline": {"2099-03-01"}, "consultation": {"grand-debat"}, "statements_count": {"9"}})
	if bad.Status != 400 || !strings.Contains(string(bad.Body), "assez de propositions en consensus") {
		t.Fatalf("too many statements: %d %s", bad.Status, bad.Body)
	}
	res := w.form(w.A, "/p/candidates/staff/elections", admin, url.Values{"title": {"Municipales"}, "date": {"2026-03-15"},
		"positions_deadline": {"2099-03-01"}, "consultation": {"grand-debat"}, "statements_count": {"2"}})
	loc := res.Header.Get("Location")
	if res.Status != 303 || !strings.HasPrefix(loc, "/p/candidates/staff/elections/") {
		t.Fatalf("create: %d %s %s", res.Status, loc, res.Body)
	}
	path, _, _ := strings.Cut(loc, "?")
	res = w.form(w.A, path+"/candidates", admin, url.Values{"name": {"Alice"}, "list": {"Bordeaux en commun"}, "email": {"alice@example.org"}})
	if res.Status != 201 || !strings.Contains(string(res.Body), "/p/candidates/invitations/") {
		t.Fatalf("invite: %d %s", res.Status, res.Body)
	}
	again := string(w.get(w.A, path, admin).Body)
	if strings.Contains(again, "/p/candidates/invitations/") || !strings.Contains(again, "alice@example.org") || !strings.Contains(again, "en attente") {
		t.Fatalf("the staff screen after inviting: %s", again)
	}
	aud := w.get(w.A, path, w.A.Tokens[authz.Auditor])
	if aud.Status != 200 || !strings.Contains(string(aud.Body), "alice@example.org") || strings.Contains(string(aud.Body), `action="`) {
		t.Fatalf("auditor's screen: %d %s", aud.Status, aud.Body)
	}
	if res := w.get(w.A, path, w.A.Tokens[authz.Citizen]); res.Status != 403 {
		t.Fatalf("a citizen opened the staff screen: %d", res.Status)
	}
}
