package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/concorde-civic/concorde/plugins/sdk"
	"github.com/concorde-civic/concorde/plugins/sdk/sdktest"
)

type env struct {
	t   *testing.T
	h   *sdktest.Host
	p   *plugin
	mux http.Handler
	now time.Time
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, h: sdktest.New(t, "candidates"), p: newPlugin(prometheus.NewRegistry()), now: time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)}
	e.p.now = func() time.Time { return e.now }
	e.mux = e.p.routes()
	return e
}

func admin(tenant int64, slug string) sdk.Call {
	c := sdktest.Citizen(tenant, slug)
	c.Principal.Subject, c.Principal.Roles = "user:"+slug+"-admin", []string{"tenant-admin"}
	return c
}

func person(tenant int64, slug, who string) sdk.Call {
	c := sdktest.Citizen(tenant, slug)
	c.Principal.Subject = "user:" + who
	return c
}

func (e *env) do(call sdk.Call, method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	call.BaseURL = "https://" + call.Tenant.Slug + ".example/p/candidates"
	return e.h.Serve(e.mux, call, httptest.NewRequest(method, path, bytes.NewReader(b)))
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	return v
}

// publish gives tenant 1 a consultation "grand-debat" with published results.
func (e *env) publish(tenant int64, slug string) {
	e.h.SetConsultations(tenant, &sdk.Consultation{Id: 7, Slug: "grand-debat", Question: "Comment améliorer la vie à Bordeaux ?", Status: "published"},
		&sdk.Consultation{Id: 8, Slug: "en-cours", Question: "Encore ouverte ?", Status: "open"})
	e.h.SetPublished(tenant, &sdk.PublishedResults{Consultation: &sdk.Consultation{Id: 7, Slug: "grand-debat", Question: "Comment améliorer la vie à Bordeaux ?", Status: "published"},
		SnapshotSha256: strings.Repeat("ab", 32), Votes: 131962, Consensus: []*sdk.RankedProposal{
			ranked(101, 0.82, 0.74, "consensus"), ranked(102, 0.90, 0.50, "consensus"), ranked(103, 0.78, 0.75, "consensus"), ranked(104, 0.70, 0.60, "consensus"),
		}})
}

type electionOut struct {
	ID         string      `json:"id"`
	Statements []Statement `json:"statements"`
	Source     *Source     `json:"source"`
	Candidates []struct {
		ID, Name string
		Accepted bool
	} `json:"candidates"`
	OrderSeed string `json:"order_seed"`
}

func (e *env) election(call sdk.Call, body map[string]any) electionOut {
	e.t.Helper()
	w := e.do(call, "POST", "/api/elections", body)
	if w.Code != 201 {
		e.t.Fatalf("create election: %d %s", w.Code, w.Body)
	}
	return decode[electionOut](e.t, w)
}

// candidate invites name and has who accept; it returns the candidate's id.
func (e *env) candidate(call sdk.Call, eid, name, who string) string {
	e.t.Helper()
	w := e.do(call, "POST", "/api/elections/"+eid+"/candidates", map[string]any{"name": name, "list": "Liste " + name, "email": strings.ToLower(name) + "@example.org"})
	if w.Code != 201 {
		e.t.Fatalf("invite: %d %s", w.Code, w.Body)
	}
	inv := decode[struct {
		ID            string `json:"id"`
		InvitationURL string `json:"invitation_url"`
	}](e.t, w)
	token := inv.InvitationURL[strings.LastIndex(inv.InvitationURL, "/")+1:]
	if who != "" {
		acc := person(call.Tenant.ID, call.Tenant.Slug, who)
		if w := e.do(acc, "POST", "/api/invitations/"+token+"/accept", nil); w.Code != 200 {
			e.t.Fatalf("accept: %d %s", w.Code, w.Body)
		}
	}
	return inv.ID
}

func TestElection_StatementsFrozenFromPublishedConsensus(t *testing.T) {
	e := newEnv(t)
	e.publish(1, "bordeaux")
	el := e.election(admin(1, "bordeaux"), map[string]any{"title": "Municipales 2026", "date": "2026-03-15", "consultation": "grand-debat", "statements_count": 3, "positions_deadline": "2026-03-01"})
	if len(el.Statements) != 3 || el.Statements[0].ProposalID != 103 || el.Statements[1].ProposalID != 101 || el.Statements[2].ProposalID != 104 {
		t.Fatalf("statements by the lower bound: %+v", el.Statements)
	}
	if el.Source == nil || el.Source.SnapshotSHA256 != strings.Repeat("ab", 32) || el.Source.Rule != StatementRule || el.Source.Votes != 131962 {
		t.Fatalf("source: %+v", el.Source)
	}
	// Frozen: later results do not change the election.
	e.h.SetPublished(1, &sdk.PublishedResults{Consultation: &sdk.Consultation{Id: 7, Slug: "grand-debat", Status: "published"}})
	got := decode[electionOut](t, e.do(sdktest.Anonymous(1, "bordeaux"), "GET", "/api/elections/"+el.ID, nil))
	if len(got.Statements) != 3 || got.Statements[0].Text != "Proposition 103" {
		t.Fatalf("after new results: %+v", got.Statements)
	}
	// Explicit statements.
	ex := e.election(admin(1, "bordeaux"), map[string]any{"title": "Européennes", "date": "2026-06-01", "positions_deadline": "2026-05-20T18:00:00+02:00",
		"statements": []map[string]string{{"text": "Il faut une armée européenne."}, {"text": "Il faut un salaire minimum européen."}}})
	if len(ex.Statements) != 2 || ex.Statements[1].ID != "s2" || ex.Source != nil {
		t.Fatalf("explicit: %+v", ex)
	}
}

func TestElection_BadInputIsRefusedAndNothingWritten(t *testing.T) {
	e := newEnv(t)
	e.publish(1, "bordeaux")
	ok := map[string]any{"title": "Municipales", "date": "2026-03-15", "consultation": "grand-debat", "statements_count": 2, "positions_deadline": "2026-03-01"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range ok {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		body  any
		field string
	}{
		{with("consultation", "en-cours"), "consultation"}, // results not published
		{with("consultation", "inconnue"), "consultation"}, // no such consultation
		{with("statements_count", 5), "statements_count"},  // only 4 in consensus
		{with("statements_count", 0), "statements_count"},
		{with("title", "x"), "title"},
		{with("date", "demain"), "date"},
		{with("positions_deadline", "bientôt"), "positions_deadline"},
		{with("statements", []map[string]string{{"text": "Une affirmation."}}), "statements"}, // both
		{with("consultation", nil), "statements"},                                             // neither
		{`{"title":"Municipales","oops":1}`, "body"},
	}
	for _, c := range cases {
		w := e.do(admin(1, "bordeaux"), "POST", "/api/elections", c.body)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"`+c.field+`"`) {
			t.Errorf("%v: %d %s", c.body, w.Code, w.Body)
		}
	}
	if st := e.h.Stored(1, ""); len(st) != 0 {
		t.Fatalf("bad input wrote %d entries", len(st))
	}
}

func TestPositions_OwnOnlyDeadlineAndHistory(t *testing.T) {
	e := newEnv(t)
	e.publish(1, "bordeaux")
	a := admin(1, "bordeaux")
	el := e.election(a, map[string]any{"title": "Municipales", "date": "2026-03-15", "consultation": "grand-debat", "statements_count": 3, "positions_deadline": "2026-03-01"})
	alice := e.candidate(a, el.ID, "Alice", "alice")
	bob := e.candidate(a, el.ID, "Bob", "bob")
	asAlice, asBob := person(1, "bordeaux", "alice"), person(1, "bordeaux", "bob")
	put := func(c sdk.Call, path string, body any) *httptest.ResponseRecorder {
		return e.do(c, "PUT", "/api/elections/"+el.ID+path, body)
	}
	if w := put(asAlice, "/positions/s1", map[string]any{"position": "agree", "justification": "Nous l'avons promis.", "source_url": "https://example.org/programme"}); w.Code != 200 {
		t.Fatalf("alice s1: %d %s", w.Code, w.Body)
	}
	if w := put(asAlice, "/candidates/"+alice+"/positions/s2", map[string]any{"position": "neutral"}); w.Code != 200 {
		t.Fatalf("alice s2 by her id: %d %s", w.Code, w.Body)
	}
	// Another candidate's positions: 403; nobody's candidate: 403.
	if w := put(asAlice, "/candidates/"+bob+"/positions/s1", map[string]any{"position": "disagree"}); w.Code != 403 {
		t.Fatalf("alice sets bob's: %d %s", w.Code, w.Body)
	}
	if w := put(person(1, "bordeaux", "mallory"), "/positions/s1", map[string]any{"position": "disagree"}); w.Code != 403 {
		t.Fatalf("a non-candidate: %d %s", w.Code, w.Body)
	}
	before := len(e.h.Stored(1, historyPrefix))
	for _, c := range []struct {
		path  string
		body  any
		code  int
		field string
	}{
		{"/positions/s9", map[string]any{"position": "agree"}, 404, ""},
		{"/positions/s1", map[string]any{"position": "maybe"}, 400, "position"},
		{"/positions/s1", map[string]any{"position": "agree", "justification": strings.Repeat("é", 501)}, 400, "justification"},
		{"/positions/s1", map[string]any{"position": "agree", "source_url": "http://example.org"}, 400, "source_url"},
		{"/positions/s1", map[string]any{"position": "agree", "source_url": "javascript:alert(1)"}, 400, "source_url"},
	} {
		w := put(asBob, c.path, c.body)
		if w.Code != c.code || (c.field != "" && !strings.Contains(w.Body.String(), `"field":"`+c.field+`"`)) {
			t.Errorf("%s %v: %d %s", c.path, c.body, w.Code, w.Body)
		}
	}
	if w := put(asBob, "/positions/s1", map[string]any{"position": "agree", "justification": strings.Repeat("é", 500)}); w.Code != 200 {
		t.Fatalf("500 characters: %d %s", w.Code, w.Body)
	}
	if after := len(e.h.Stored(1, historyPrefix)); after != before+1 {
		t.Fatalf("history grew by %d for one valid change among bad ones", after-before)
	}
	// A change is kept beside the first position.
	e.now = e.now.Add(time.Hour)
	if w := put(asAlice, "/positions/s1", map[string]any{"position": "disagree", "justification": "Nous avons changé d'avis."}); w.Code != 200 {
		t.Fatalf("change: %d %s", w.Code, w.Body)
	}
	h := decode[struct{ Changes []Change }](t, e.do(sdktest.Anonymous(1, "bordeaux"), "GET", "/api/elections/"+el.ID+"/positions/history", nil))
	if len(h.Changes) != 4 {
		t.Fatalf("history: %+v", h.Changes)
	}
	last := h.Changes[3]
	if last.CandidateName != "Alice" || last.Position != Disagree || last.Previous != Agree || h.Changes[0].StatementID != "s1" {
		t.Fatalf("history: %+v", h.Changes)
	}
	// After the deadline: 409, nothing written.
	e.now = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if w := put(asAlice, "/positions/s3", map[string]any{"position": "agree"}); w.Code != 409 {
		t.Fatalf("after the deadline: %d %s", w.Code, w.Body)
	}
	if n := len(e.h.Stored(1, historyPrefix)); n != 4 {
		t.Fatalf("history after the deadline: %d", n)
	}
}

func TestInvitation_OneAccountPerCandidate(t *testing.T) {
	e := newEnv(t)
	a := admin(1, "bordeaux")
	el := e.election(a, map[string]any{"title": "Municipales", "date": "2026-03-15", "positions_deadline": "2026-03-01", "statements": []map[string]string{{"text": "Une affirmation."}}})
	w := e.do(a, "POST", "/api/elections/"+el.ID+"/candidates", map[string]any{"name": "Alice", "email": "alice@example.org"})
	url := decode[struct {
		InvitationURL string `json:"invitation_url"`
	}](t, w).InvitationURL
	if !strings.HasPrefix(url, "https://bordeaux.example/p/candidates/invitations/") {
		t.Fatalf("invitation url %q", url)
	}
	token := url[strings.LastIndex(url, "/")+1:]
	if w := e.do(sdktest.Anonymous(1, "bordeaux"), "POST", "/api/invitations/"+token+"/accept", nil); w.Code != 401 {
		t.Fatalf("anonymous accept: %d", w.Code)
	}
	if w := e.do(person(1, "bordeaux", "alice"), "POST", "/api/invitations/"+token+"/accept", nil); w.Code != 200 {
		t.Fatalf("accept: %d %s", w.Code, w.Body)
	}
	if w := e.do(person(1, "bordeaux", "eve"), "POST", "/api/invitations/"+token+"/accept", nil); w.Code != 409 {
		t.Fatalf("second account: %d %s", w.Code, w.Body)
	}
	if w := e.do(person(1, "bordeaux", "alice"), "POST", "/api/invitations/"+strings.Repeat("0", 48)+"/accept", nil); w.Code != 404 {
		t.Fatalf("made-up token: %d", w.Code)
	}
	// Only the hash of the token is stored; the email is never public.
	for _, en := range e.h.Stored(1, "") {
		if strings.Contains(string(en.Value), token) || strings.Contains(en.Key, token) {
			t.Fatalf("the token is stored in %s", en.Key)
		}
	}
	if body := e.do(sdktest.Anonymous(1, "bordeaux"), "GET", "/api/elections/"+el.ID, nil).Body.String(); strings.Contains(body, "alice@example.org") {
		t.Fatalf("public election shows the email: %s", body)
	}
}

func TestMatch_ScoresValidatesAndStoresNothing(t *testing.T) {
	e := newEnv(t)
	e.publish(1, "bordeaux")
	a := admin(1, "bordeaux")
	el := e.election(a, map[string]any{"title": "Municipales", "date": "2026-03-15", "consultation": "grand-debat", "statements_count": 3, "positions_deadline": "2026-03-01"})
	e.candidate(a, el.ID, "Alice", "alice")
	e.candidate(a, el.ID, "Bob", "bob")
	e.candidate(a, el.ID, "Carole", "") // not accepted: not matched
	for who, ps := range map[string][]string{"alice": {Agree, Agree, Agree}, "bob": {Disagree, Neutral, Agree}} {
		for i, p := range ps {
			if w := e.do(person(1, "bordeaux", who), "PUT", "/api/elections/"+el.ID+"/positions/"+stmts(3)[i].ID, map[string]any{"position": p}); w.Code != 200 {
				t.Fatalf("%s: %d %s", who, w.Code, w.Body)
			}
		}
	}
	stored := len(e.h.Stored(1, ""))
	visitor := sdktest.Anonymous(1, "bordeaux")
	w := e.do(visitor, "POST", "/api/elections/"+el.ID+"/match", map[string]any{"answers": map[string]string{"s1": "agree", "s2": "skip", "s3": "disagree"}, "double": []string{"s1"}})
	if w.Code != 200 {
		t.Fatalf("match: %d %s", w.Code, w.Body)
	}
	out := decode[MatchOutput](t, w)
	// Max: s1 doubled 4 + s3 2 = 6. Alice: 4 + 0 = 4 (67 %); Bob: 0 + 0 = 0.
	if len(out.Candidates) != 2 || out.Candidates[0].Name != "Alice" || out.Candidates[0].Percent != 67 || out.Candidates[0].Max != 6 || out.Candidates[1].Percent != 0 {
		t.Fatalf("match: %s", w.Body)
	}
	if n := len(e.h.Stored(1, "")); n != stored {
		t.Fatalf("matching stored %d entries", n-stored)
	}
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"answers": map[string]string{"s9": "agree"}}, "answers"},
		{map[string]any{"answers": map[string]string{"s1": "yes"}}, "answers"},
		{map[string]any{"answers": map[string]string{"s1": "agree"}, "double": []string{"s7"}}, "double"},
		{map[string]any{"answers": map[string]string{"s1": "skip"}}, "answers"},
	} {
		if w := e.do(visitor, "POST", "/api/elections/"+el.ID+"/match", c.body); w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"`+c.field+`"`) {
			t.Errorf("%v: %d %s", c.body, w.Code, w.Body)
		}
	}
	// A citizen who voted in the consultation uses their own votes: proposal 103 is s1.
	voter := person(1, "bordeaux", "voter")
	e.h.SetVotes(voter.Principal, map[int64]string{103: "agree", 101: "agree", 104: "agree"})
	w = e.do(voter, "POST", "/api/elections/"+el.ID+"/match", map[string]any{"use_my_votes": true, "answers": map[string]string{"s3": "disagree"}})
	out = decode[MatchOutput](t, w)
	if w.Code != 200 || out.FromVotes != 2 || out.Answers["s3"] != Disagree || out.Answers["s1"] != Agree || out.Candidates[0].Name != "Alice" || out.Candidates[0].Percent != 67 {
		t.Fatalf("with my votes: %d %s", w.Code, w.Body)
	}
}

// Answers are kept only when a signed-in citizen asks, for them alone, until they delete them.
func TestMatch_AnswersKeptOnlyOnRequest(t *testing.T) {
	e := newEnv(t)
	e.publish(1, "bordeaux")
	a := admin(1, "bordeaux")
	el := e.election(a, map[string]any{"title": "Municipales", "date": "2026-03-15", "consultation": "grand-debat", "statements_count": 3, "positions_deadline": "2026-03-01"})
	body := map[string]any{"answers": map[string]string{"s1": "agree", "s2": "skip"}, "double": []string{"s1"}, "save": true}
	stored := len(e.h.Stored(1, ""))
	if w := e.do(sdktest.Anonymous(1, "bordeaux"), "POST", "/api/elections/"+el.ID+"/match", body); w.Code != 401 {
		t.Errorf("an anonymous visitor asked to keep answers: %d %s", w.Code, w.Body)
	}
	if n := len(e.h.Stored(1, "")); n != stored {
		t.Fatal("a refused save stored something")
	}
	ana, ben := person(1, "bordeaux", "ana"), person(1, "bordeaux", "ben")
	if w := e.do(ana, "POST", "/api/elections/"+el.ID+"/match", body); w.Code != 200 || !strings.Contains(w.Body.String(), `"saved":true`) {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	kept := e.h.Stored(1, "answers/")
	if len(kept) != 1 || strings.Contains(kept[0].Key, "ana") {
		t.Fatalf("kept: %+v (the key must name nobody)", kept)
	}
	got := decode[SavedAnswers](t, e.do(ana, "GET", "/api/elections/"+el.ID+"/my-answers", nil))
	if got.Answers["s1"] != Agree || len(got.Double) != 1 {
		t.Errorf("my answers: %+v", got)
	}
	if w := e.do(ben, "GET", "/api/elections/"+el.ID+"/my-answers", nil); w.Code != 404 {
		t.Errorf("another citizen reads them: %d", w.Code)
	}
	if w := e.do(ana, "DELETE", "/api/elections/"+el.ID+"/my-answers", nil); w.Code != 204 {
		t.Fatalf("delete: %d", w.Code)
	}
	if len(e.h.Stored(1, "answers/")) != 0 {
		t.Error("deleted answers remain")
	}
}

func TestTenants_AreIsolated(t *testing.T) {
	e := newEnv(t)
	e.publish(1, "bordeaux")
	a := admin(1, "bordeaux")
	el := e.election(a, map[string]any{"title": "Municipales", "date": "2026-03-15", "consultation": "grand-debat", "statements_count": 2, "positions_deadline": "2026-03-01"})
	e.candidate(a, el.ID, "Alice", "alice")
	other := sdktest.Anonymous(2, "nantes")
	for _, path := range []string{"/api/elections/" + el.ID, "/api/elections/" + el.ID + "/positions/history", "/elections/" + el.ID} {
		if w := e.do(other, "GET", path, nil); w.Code != 404 {
			t.Errorf("%s from another tenant: %d", path, w.Code)
		}
	}
	if w := e.do(other, "GET", "/api/elections", nil); strings.Contains(w.Body.String(), el.ID) {
		t.Errorf("another tenant lists the election: %s", w.Body)
	}
	// Nantes has no published consultation of that name.
	if w := e.do(admin(2, "nantes"), "POST", "/api/elections", map[string]any{"title": "Municipales", "date": "2026-03-15", "consultation": "grand-debat", "statements_count": 2, "positions_deadline": "2026-03-01"}); w.Code != 400 {
		t.Errorf("nantes froze bordeaux's results: %d %s", w.Code, w.Body)
	}
	// Bordeaux's candidate is nobody in Nantes.
	if w := e.do(person(2, "nantes", "alice"), "PUT", "/api/elections/"+el.ID+"/positions/s1", map[string]any{"position": "agree"}); w.Code != 404 {
		t.Errorf("put across tenants: %d %s", w.Code, w.Body)
	}
}

// The questionnaire, one statement at a time, keeps its answers in the form only.
func TestQuizPages_StepByStepToTheResult(t *testing.T) {
	e := newEnv(t)
	e.publish(1, "bordeaux")
	a := admin(1, "bordeaux")
	el := e.election(a, map[string]any{"title": "Municipales", "date": "2026-03-15", "consultation": "grand-debat", "statements_count": 2, "positions_deadline": "2026-03-01"})
	e.candidate(a, el.ID, "Alice", "alice")
	e.do(person(1, "bordeaux", "alice"), "PUT", "/api/elections/"+el.ID+"/positions/s1", map[string]any{"position": "agree", "justification": "Promis <b>juré</b>"})
	v := sdktest.Anonymous(1, "bordeaux")
	start := e.do(v, "GET", "/elections/"+el.ID+"/quiz", nil)
	if start.Code != 200 || !strings.Contains(start.Body.String(), "Affirmation 1 sur 2") || !strings.Contains(start.Body.String(), "Proposition 103") {
		t.Fatalf("start: %d %s", start.Code, start.Body)
	}
	post := func(form url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/elections/"+el.ID+"/quiz", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		v.BaseURL = "https://bordeaux.example/p/candidates"
		return e.h.Serve(e.mux, v, r)
	}
	step2 := post(url.Values{"step": {"0"}, "answer": {"agree"}, "important": {"1"}, "go": {"next"}})
	if !strings.Contains(step2.Body.String(), "Affirmation 2 sur 2") || !strings.Contains(step2.Body.String(), `name="a_s1" value="agree"`) || !strings.Contains(step2.Body.String(), `name="d_s1"`) {
		t.Fatalf("step 2: %s", step2.Body)
	}
	res := post(url.Values{"step": {"1"}, "a_s1": {"agree"}, "d_s1": {"1"}, "answer": {"disagree"}, "go": {"next"}})
	body := res.Body.String()
	// Alice: s1 doubled agree = 4; s2 no position = 0; max 6 → 67 %.
	if res.Code != 200 || !strings.Contains(body, "67\u00a0%") || !strings.Contains(body, "Promis &lt;b&gt;juré&lt;/b&gt;") || !strings.Contains(body, "compte double") {
		t.Fatalf("result: %d %s", res.Code, body)
	}
	if bad := post(url.Values{"step": {"5"}, "go": {"next"}}); bad.Code != 400 {
		t.Fatalf("step out of range: %d", bad.Code)
	}
	if bad := post(url.Values{"step": {"0"}, "a_s9": {"agree"}, "go": {"next"}}); bad.Code != 400 {
		t.Fatalf("unknown statement: %d", bad.Code)
	}
	// Everything skipped: back to the first statement, with the reason.
	none := post(url.Values{"step": {"1"}, "a_s1": {"skip"}, "answer": {"skip"}, "go": {"next"}})
	if none.Code != 400 || !strings.Contains(none.Body.String(), "Répondez à au moins une affirmation") {
		t.Fatalf("nothing answered: %d %s", none.Code, none.Body)
	}
}

// An English site reads English pages; a French one, French with "67 %".
func TestPages_InTheSiteLanguage(t *testing.T) {
	e := newEnv(t)
	a := admin(1, "acme")
	el := e.election(a, map[string]any{"title": "City council", "date": "2026-03-15", "positions_deadline": "2026-03-01",
		"statements": []map[string]string{{"text": "More trees in every street."}, {"text": "Free buses at weekends."}}})
	en := sdktest.Anonymous(1, "acme")
	en.Locale, en.Tenant.Locale = "en", "en"
	page := e.do(en, "GET", "/elections/"+el.ID, nil).Body.String()
	for _, want := range []string{"The statements", "Statements set by the site&#39;s staff.", "Find the candidate closest to my answers", "Election on 15 Mar 2026"} {
		if !strings.Contains(page, want) {
			t.Errorf("English page lacks %q:\n%s", want, page)
		}
	}
	for _, not := range []string{"affirmation", "Scrutin"} {
		if strings.Contains(page, not) {
			t.Errorf("English page holds %q", not)
		}
	}
	method := e.do(en, "GET", "/method", nil).Body.String()
	if !strings.Contains(method, "83%") || strings.Contains(method, "83 %") {
		t.Errorf("English method page: %s", method)
	}
	fr := e.do(sdktest.Anonymous(1, "acme"), "GET", "/method", nil).Body.String()
	if !strings.Contains(fr, "83\u00a0%") || !strings.Contains(fr, "Wahl-O-Mat") {
		t.Errorf("French method page: %s", fr)
	}
}

// A deadline given as a day ends at midnight in the tenant's time zone.
func TestElection_DeadlineDayInTheTenantsZone(t *testing.T) {
	e := newEnv(t)
	for zone, want := range map[string]string{"Europe/Paris": "2026-03-01T22:59:59Z", "America/Cayenne": "2026-03-02T02:59:59Z"} {
		a := admin(1, "bordeaux")
		a.Tenant.TimeZone = zone
		w := e.do(a, "POST", "/api/elections", map[string]any{"title": "Municipales", "date": "2026-03-15", "positions_deadline": "2026-03-01",
			"statements": []map[string]string{{"text": "Une affirmation."}}})
		got := decode[Election](t, w)
		if got.PositionsDeadline.Format(time.RFC3339) != want {
			t.Errorf("%s: deadline %s, want %s", zone, got.PositionsDeadline.Format(time.RFC3339), want)
		}
	}
}
