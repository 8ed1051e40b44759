package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
	"github.com/concorde-civic/concorde/plugins/sdk/sdktest"
)

func TestFormatCents(t *testing.T) {
	cases := []struct {
		l     string
		cents int64
		want  string
	}{
		{"fr", 123450, "1\u202f234,50\u00a0€"}, {"fr", 800, "8\u00a0€"}, {"fr", 5, "0,05\u00a0€"}, {"fr", 100000000, "1\u202f000\u202f000\u00a0€"},
		{"fr", -1050, "-10,50\u00a0€"}, {"en", 123450, "€1,234.50"}, {"en", 0, "€0"}, {"en", -5, "-€0.05"},
	}
	for _, c := range cases {
		if got := formatCents(c.l, c.cents); got != c.want {
			t.Errorf("formatCents(%s, %d) = %q, want %q", c.l, c.cents, got, c.want)
		}
	}
}

func TestParseEurosAndCents(t *testing.T) {
	good := map[string]int64{"12": 1200, "12,5": 1250, "12.50": 1250, "1 234,56 €": 123456, "0,01": 1, ",5": 50, "1\u202f000": 100000}
	for in, want := range good {
		if got, err := parseEuros("amount", in); err != nil || got != want {
			t.Errorf("parseEuros(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12,345", "abc", "-5", "1e3", "12.", "1.2.3", "9999999999999"} {
		if got, err := parseEuros("amount", in); err == nil {
			t.Errorf("parseEuros(%q) = %d, want an error", in, got)
		}
	}
	for _, in := range []string{"10.5", "-1", "0", "1e3", "", "99999999999999999999"} {
		if got, err := centsOf("amount_cents", Number(in), 1, maxCents); err == nil {
			t.Errorf("centsOf(%q) = %d, want an error", in, got)
		}
	}
	if got, err := centsOf("amount_cents", "2500", 1, maxCents); err != nil || got != 2500 {
		t.Errorf("centsOf(2500) = %d, %v", got, err)
	}
}

func TestMatchPledge_KnownCases(t *testing.T) {
	base := pledgeState{Amount: 5000, Backers: 1, Pledged: 5000, Minimum: 100000, Optimum: 200000, FundRemaining: 1_000_000}
	duplicate := Rule{Kind: ruleFactor, Factor: 1}
	cases := []struct {
		name string
		r    Rule
		s    func(pledgeState) pledgeState
		want int64
	}{
		{"duplicate", duplicate, nil, 5000},
		{"triple", Rule{Kind: ruleFactor, Factor: 2}, nil, 10000},
		{"cap per pledge", Rule{Kind: ruleFactor, Factor: 1, CapPerPledgeCents: 2000}, nil, 2000},
		{"cap per project, partly used", Rule{Kind: ruleFactor, Factor: 1, CapPerProjectCents: 8000}, func(s pledgeState) pledgeState { s.FundForProject = 6000; return s }, 2000},
		{"cap per project, used up", Rule{Kind: ruleFactor, Factor: 1, CapPerProjectCents: 8000}, func(s pledgeState) pledgeState { s.FundForProject = 8000; return s }, 0},
		{"fund almost empty", duplicate, func(s pledgeState) pledgeState { s.FundRemaining = 1234; return s }, 1234},
		{"fund empty", duplicate, func(s pledgeState) pledgeState { s.FundRemaining = 0; return s }, 0},
		{"one per person, first", Rule{Kind: ruleFactor, Factor: 1, OnePerPerson: true}, nil, 5000},
		{"one per person, second", Rule{Kind: ruleFactor, Factor: 1, OnePerPerson: true}, func(s pledgeState) pledgeState { s.PersonMatched = true; return s }, 0},
		{"not past the optimum", duplicate, func(s pledgeState) pledgeState { s.Pledged, s.Matched = 197000, 0; return s }, 3000},
		{"criteria unmet: backers", Rule{Kind: ruleCriteria, Factor: 1, MinBackers: 3}, func(s pledgeState) pledgeState { s.Backers = 2; return s }, 0},
		{"criteria met: backers", Rule{Kind: ruleCriteria, Factor: 1, MinBackers: 3}, func(s pledgeState) pledgeState { s.Backers = 3; return s }, 5000},
		{"criteria unmet: target", Rule{Kind: ruleCriteria, Factor: 1, TargetPercent: 50}, func(s pledgeState) pledgeState { s.Pledged = 49999; return s }, 0},
		{"criteria met: target", Rule{Kind: ruleCriteria, Factor: 1, TargetPercent: 50}, func(s pledgeState) pledgeState { s.Pledged = 45000; s.Matched = 5000; return s }, 5000},
		{"quadratic matches at the close", Rule{Kind: ruleQuadratic}, nil, 0},
	}
	for _, c := range cases {
		s := base
		if c.s != nil {
			s = c.s(s)
		}
		if got := matchPledge(c.r, s); got != c.want {
			t.Errorf("%s: match %d, want %d", c.name, got, c.want)
		}
	}
}

func TestCLR_KnownCases(t *testing.T) {
	cases := []struct {
		c    []int64
		want int64
	}{
		{nil, 0}, {[]int64{10000}, 0},
		{[]int64{100, 100}, 200},                      // (10+10)² − 200
		{[]int64{1, 4, 9}, 22},                        // (1+2+3)² − 14
		{[]int64{2, 2}, 4},                            // (2√2)² − 4: irrational roots, exact result
		{[]int64{2, 3}, 4},                            // 5 + 2√6 − 5 = 4.898…: rounded down
		{[]int64{10000, 10000, 10000, 10000}, 120000}, // (4·100)² − 40000
		{[]int64{40000}, 0},                           // the same money from one person: no match
	}
	for _, c := range cases {
		if got := clr(c.c); got != c.want {
			t.Errorf("clr(%v) = %d, want %d", c.c, got, c.want)
		}
	}
	// Many small backers beat one large one with the same total.
	many := make([]int64, 100)
	for i := range many {
		many[i] = 100
	}
	if clr(many) <= clr([]int64{10000}) {
		t.Error("100 backers of 1 € get no more than 1 backer of 100 €")
	}
	shares := quadraticShares(100, map[string]int64{"a": 200, "b": 100})
	if shares["a"] != 66 || shares["b"] != 33 {
		t.Errorf("scaled shares %v, want a 66, b 33", shares)
	}
	if s := quadraticShares(1000, map[string]int64{"a": 200, "b": 100}); s["a"] != 200 || s["b"] != 100 {
		t.Errorf("shares within budget %v", s)
	}
}

func TestLedger_ChainAndTampering(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	entries, h := chain(head{}, []LedgerEntry{{At: at, Kind: movePledge, AmountCents: 100}, {At: at, Kind: moveMatch, AmountCents: 100}, {At: at, Kind: moveCancel, AmountCents: 100}})
	if v := verify(entries, h, true); !v.OK || v.Entries != 3 || v.Head != entries[2].Hash {
		t.Fatalf("a sound chain: %+v", v)
	}
	if entries[1].Prev != entries[0].Hash || entries[0].Prev != "" {
		t.Fatal("entries are not linked")
	}
	tampered := append([]LedgerEntry(nil), entries...)
	tampered[1].AmountCents = 1
	if v := verify(tampered, h, true); v.OK || v.BrokenAt != 2 {
		t.Errorf("changed amount: %+v", v)
	}
	rehashed := append([]LedgerEntry(nil), tampered...)
	rehashed[1].Hash = hashOf(rehashed[1]) // a forger recomputes its hash: the next link breaks
	if v := verify(rehashed, h, true); v.OK || v.BrokenAt != 3 {
		t.Errorf("rehashed entry: %+v", v)
	}
	if v := verify(entries[:2], h, true); v.OK || v.BrokenAt != 3 {
		t.Errorf("last entry removed: %+v", v)
	}
	if v := verify(append([]LedgerEntry{entries[0]}, entries[2]), h, true); v.OK || v.BrokenAt != 2 {
		t.Errorf("middle entry removed: %+v", v)
	}
	if v := verify(nil, head{}, false); !v.OK {
		t.Errorf("an empty ledger: %+v", v)
	}
}

// ---- the service through the in-memory host ----

type env struct {
	t       *testing.T
	h       *sdktest.Host
	s       *service
	handler http.Handler
	mu      sync.Mutex
	now     time.Time
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, h: sdktest.New(t, "cofinancing"), s: newService(nil), now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	e.s.now = func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
	e.handler = e.s.routes()
	return e
}

func (e *env) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

func person1(tenant int64, name string) sdk.Call {
	c := sdktest.Citizen(tenant, fmt.Sprintf("t%d", tenant))
	c.Principal.Subject = "user:" + name
	return c
}

func admin(tenant int64) sdk.Call {
	c := person1(tenant, "admin")
	c.Principal.Roles = []string{"tenant-admin"}
	return c
}

func (e *env) do(call sdk.Call, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	rec := e.h.Serve(e.handler, call, httptest.NewRequest(method, path, bytes.NewReader(b)))
	return rec.Code, rec.Body.Bytes()
}

func (e *env) must(call sdk.Call, method, path string, body any, want int, out any) {
	e.t.Helper()
	code, b := e.do(call, method, path, body)
	if code != want {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatal(err)
		}
	}
}

func projectBody(deadline time.Time) map[string]any {
	return map[string]any{"title": "Festival des quais", "description": "Trois jours de musique", "minimum_cents": 100000, "optimum_cents": 150000,
		"deadline": deadline.Format(time.RFC3339), "budget": []map[string]any{
			{"label": "Scène et son", "cents": 70000, "kind": "minimum"}, {"label": "Cachets", "cents": 30000, "kind": "minimum"},
			{"label": "Captation vidéo", "cents": 50000, "kind": "optimum"}}}
}

// openProject creates and opens a project (deadline in a week) in a tenant.
func (e *env) openProject(tenant int64) Project {
	e.t.Helper()
	var p Project
	e.must(admin(tenant), "POST", "/api/projects", projectBody(e.s.now().Add(7*24*time.Hour)), 201, &p)
	if p.Status != statusDraft {
		e.t.Fatalf("new project: %+v", p)
	}
	e.must(admin(tenant), "POST", "/api/projects/"+p.ID+"/open", nil, 200, &p)
	return p
}

func (e *env) fund(tenant int64, budget int64, rule map[string]any, projects ...string) Fund {
	e.t.Helper()
	var f Fund
	e.must(admin(tenant), "POST", "/api/funds", map[string]any{"name": "Fonds culture", "budget_cents": budget, "rule": rule}, 201, &f)
	for _, p := range projects {
		e.must(admin(tenant), "POST", "/api/funds/"+f.ID+"/projects", map[string]any{"project_id": p}, 200, nil)
	}
	return f
}

func (e *env) pledge(call sdk.Call, project string, cents int64, key string) (int, Pledge) {
	e.t.Helper()
	code, b := e.do(call, "POST", "/api/projects/"+project+"/pledges", map[string]any{"amount_cents": cents, "idempotency_key": key})
	var p Pledge
	_ = json.Unmarshal(b, &p)
	return code, p
}

func (e *env) project(tenant int64, id string) Project {
	e.t.Helper()
	var p Project
	e.must(admin(tenant), "GET", "/api/projects/"+id, nil, 200, &p)
	return p
}

func (e *env) getFund(tenant int64, id string) Fund {
	e.t.Helper()
	var f Fund
	e.must(admin(tenant), "GET", "/api/funds/"+id, nil, 200, &f)
	return f
}

func TestPledges_IdempotentRetriesAndMatching(t *testing.T) {
	e := newEnv(t)
	p := e.openProject(1)
	f := e.fund(1, 6000, map[string]any{"kind": "factor", "factor": 1, "cap_per_pledge_cents": 5000, "one_per_person": true}, p.ID)
	alice := person1(1, "alice")
	code, first := e.pledge(alice, p.ID, 4000, "alice-key-0001")
	if code != 201 || first.MatchedCents != 4000 || first.Status != pledgePromised {
		t.Fatalf("first pledge: %d %+v", code, first)
	}
	// The same key again (a retry): the same pledge, counted once.
	code, again := e.pledge(alice, p.ID, 4000, "alice-key-0001")
	if code != 200 || again.ID != first.ID {
		t.Fatalf("retry: %d %+v", code, again)
	}
	// The same key for another amount: refused.
	if code, _ := e.pledge(alice, p.ID, 999, "alice-key-0001"); code != 409 {
		t.Errorf("reused key, other amount: %d", code)
	}
	// A second pledge by alice is not matched (one per person); bob's is, up to what is left.
	if _, second := e.pledge(alice, p.ID, 3000, "alice-key-0002"); second.MatchedCents != 0 {
		t.Errorf("second pledge of one person matched: %+v", second)
	}
	if _, bob := e.pledge(person1(1, "bob"), p.ID, 5000, "bob-key-00001"); bob.MatchedCents != 2000 {
		t.Errorf("bob matched %d, want the fund's last 2000", bob.MatchedCents)
	}
	got := e.project(1, p.ID)
	if got.PledgedCents != 12000 || got.MatchedCents != 6000 || got.Backers != 2 || got.Round != roundMinimum {
		t.Errorf("project totals: %+v", got)
	}
	if fd := e.getFund(1, f.ID); fd.CommittedCents != 6000 || fd.RemainingCents != 0 {
		t.Errorf("fund: %+v", fd)
	}
	// Alice withdraws her matched pledge: the match returns to the fund, and her next pledge
	// may be matched again.
	e.must(alice, "DELETE", "/api/pledges/"+first.ID, nil, 200, nil)
	if fd := e.getFund(1, f.ID); fd.CommittedCents != 2000 {
		t.Errorf("after withdrawal, fund committed %d, want 2000", fd.CommittedCents)
	}
	if code, _ := e.do(person1(1, "bob"), "DELETE", "/api/pledges/"+first.ID, nil); code != 404 {
		t.Errorf("bob withdrawing alice's pledge: %d", code)
	}
	if code, _ := e.do(alice, "DELETE", "/api/pledges/"+first.ID, nil); code != 409 {
		t.Errorf("second withdrawal: %d", code)
	}
	if _, third := e.pledge(alice, p.ID, 1000, "alice-key-0003"); third.MatchedCents != 1000 {
		t.Errorf("after withdrawing, alice's new pledge matched %d", third.MatchedCents)
	}
	var mine struct{ Pledges []Pledge }
	e.must(alice, "GET", "/api/my/pledges", nil, 200, &mine)
	if len(mine.Pledges) != 3 {
		t.Errorf("alice's pledges: %+v", mine.Pledges)
	}
	var l struct{ Entries []publicEntry }
	e.must(alice, "GET", "/api/projects/"+p.ID+"/ledger", nil, 200, &l)
	kinds := []string{}
	for _, x := range l.Entries {
		kinds = append(kinds, x.Kind)
		if x.Kind == movePledge && x.Backer != anonymous {
			t.Errorf("a backer without a public name shows as %q", x.Backer)
		}
	}
	if strings.Join(kinds, ",") != "pledge,match,pledge,pledge,match,cancel,match_return,pledge,match" {
		t.Errorf("ledger kinds: %v", kinds)
	}
	var v Verification
	e.must(admin(1), "GET", "/api/ledger/verify", nil, 200, &v)
	if !v.OK || v.Entries != 9 {
		t.Errorf("verify: %+v", v)
	}
}

func TestPledges_BadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	p := e.openProject(1)
	f := e.fund(1, 100000, map[string]any{"kind": "factor", "factor": 1}, p.ID)
	alice := person1(1, "alice")
	for _, body := range []string{
		`{"amount_cents":0,"idempotency_key":"k-000000001"}`,
		`{"amount_cents":-500,"idempotency_key":"k-000000002"}`,
		`{"amount_cents":10.5,"idempotency_key":"k-000000003"}`,
		`{"amount_cents":"500","idempotency_key":"k-000000004"}`,
		`{"amount_cents":1e3,"idempotency_key":"k-000000005"}`,
		`{"amount_cents":2000000,"idempotency_key":"k-000000006"}`, // over the largest pledge
		`{"amount_cents":160000,"idempotency_key":"k-000000007"}`,  // more than the project can take
		`{"amount_cents":500}`,
		`{"amount_cents":500,"idempotency_key":"k-000000008","extra":1}`,
		`not json`,
	} {
		rec := e.h.Serve(e.handler, alice, httptest.NewRequest("POST", "/api/projects/"+p.ID+"/pledges", strings.NewReader(body)))
		var eb struct {
			Error struct{ Code, Message, Field string }
		}
		if rec.Code != 400 || json.Unmarshal(rec.Body.Bytes(), &eb) != nil || eb.Error.Code != "invalid" || eb.Error.Message == "" {
			t.Errorf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
	if code, _ := e.pledge(sdktest.Anonymous(1, "t1"), p.ID, 500, "anon-key-01"); code != 401 {
		t.Errorf("anonymous pledge: %d", code)
	}
	if code, _ := e.pledge(alice, "no-such", 500, "k-000000009"); code != 404 {
		t.Errorf("pledge to no project: %d", code)
	}
	got := e.project(1, p.ID)
	if got.PledgedCents != 0 || got.MatchedCents != 0 || got.Backers != 0 {
		t.Errorf("bad input changed the project: %+v", got)
	}
	if fd := e.getFund(1, f.ID); fd.CommittedCents != 0 {
		t.Errorf("bad input committed %d from the fund", fd.CommittedCents)
	}
	if entries := e.h.Stored(1, ledgerPrefix); len(entries) != 0 {
		t.Errorf("bad input wrote %d ledger entries", len(entries))
	}
	// A draft takes no pledge; neither does a closed project.
	var draft Project
	e.must(admin(1), "POST", "/api/projects", projectBody(e.s.now().Add(time.Hour)), 201, &draft)
	if code, _ := e.pledge(alice, draft.ID, 500, "k-000000010"); code != 404 {
		t.Errorf("pledge to a draft (hidden from citizens): %d", code)
	}
	e.must(admin(1), "POST", "/api/projects/"+p.ID+"/close", nil, 200, nil)
	if code, _ := e.pledge(alice, p.ID, 500, "k-000000011"); code != 409 {
		t.Errorf("pledge to a closed project: %d", code)
	}
	// Bad projects and funds.
	for name, mutate := range map[string]func(map[string]any){
		"minimum does not add up": func(b map[string]any) { b["minimum_cents"] = 90000 },
		"optimum below minimum":   func(b map[string]any) { b["optimum_cents"] = 50000 },
		"past deadline":           func(b map[string]any) { b["deadline"] = "2020-01-01T00:00:00Z" },
		"float amount":            func(b map[string]any) { b["minimum_cents"] = 1000.5 },
		"bad source":              func(b map[string]any) { b["source"] = map[string]any{"kind": "proposal", "id": "1/2"} },
		"no budget":               func(b map[string]any) { b["budget"] = []any{} },
	} {
		b := projectBody(e.s.now().Add(time.Hour))
		mutate(b)
		if code, body := e.do(admin(1), "POST", "/api/projects", b); code != 400 {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	for name, rule := range map[string]map[string]any{
		"unknown kind":        {"kind": "lottery"},
		"fractional factor":   {"kind": "factor", "factor": 1.5},
		"criteria without":    {"kind": "criteria", "factor": 1},
		"quadratic with caps": {"kind": "quadratic", "cap_per_pledge_cents": 100},
		"negative cap":        {"kind": "factor", "factor": 1, "cap_per_project_cents": -1},
	} {
		if code, body := e.do(admin(1), "POST", "/api/funds", map[string]any{"name": "Fonds", "budget_cents": 1000, "rule": rule}); code != 400 {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
}

func TestDeadline_AllOrNothing(t *testing.T) {
	e := newEnv(t)
	ok, short := e.openProject(1), e.openProject(1)
	f := e.fund(1, 100000, map[string]any{"kind": "factor", "factor": 1}, ok.ID, short.ID)
	for i, who := range []string{"a", "b", "c"} {
		e.pledge(person1(1, who), ok.ID, 20000, fmt.Sprintf("ok-key-%04d", i)) // 60 000 + 60 000 matched ≥ 100 000
	}
	e.pledge(person1(1, "a"), short.ID, 10000, "short-key-01") // 10 000 + 10 000 < 100 000
	ctx := e.h.Context(context.Background(), admin(1))
	// Before the deadline the job leaves them open.
	if err := e.s.settle(ctx); err != nil {
		t.Fatal(err)
	}
	if e.project(1, ok.ID).Status != statusOpen {
		t.Fatal("closed before its deadline")
	}
	if got := e.project(1, ok.ID); got.Round != roundOptimum {
		t.Errorf("minimum reached, round %q", got.Round)
	}
	e.advance(8 * 24 * time.Hour)
	// Past the deadline, nothing can be pledged even before the job ran.
	if code, _ := e.pledge(person1(1, "d"), ok.ID, 100, "late-key-01"); code != 409 {
		t.Errorf("pledge after the deadline: %d", code)
	}
	if err := e.s.settle(ctx); err != nil {
		t.Fatal(err)
	}
	funded, failed := e.project(1, ok.ID), e.project(1, short.ID)
	if funded.Status != statusFunded || funded.PledgedCents != 60000 || funded.MatchedCents != 60000 {
		t.Errorf("funded: %+v", funded)
	}
	if failed.Status != statusFailed || !failed.Settled || failed.PledgedCents != 0 || failed.MatchedCents != 0 ||
		failed.ReleasedCents != 10000 || failed.ReturnedCents != 10000 || failed.Backers != 0 {
		t.Errorf("failed: %+v", failed)
	}
	if fd := e.getFund(1, f.ID); fd.CommittedCents != 60000 || fd.PerProject[short.ID] != 0 {
		t.Errorf("fund after settlement: %+v", fd)
	}
	var mine struct{ Pledges []Pledge }
	e.must(person1(1, "a"), "GET", "/api/my/pledges", nil, 200, &mine)
	statuses := map[string]string{}
	for _, p := range mine.Pledges {
		statuses[p.Project] = p.Status
	}
	if statuses[short.ID] != pledgeReleased || statuses[ok.ID] != pledgePromised {
		t.Errorf("pledge statuses: %v", statuses)
	}
	// Running the job again changes nothing.
	before := len(e.h.Stored(1, ledgerPrefix))
	if err := e.s.settle(ctx); err != nil {
		t.Fatal(err)
	}
	if after := len(e.h.Stored(1, ledgerPrefix)); after != before {
		t.Errorf("a second run wrote %d ledger entries", after-before)
	}
	// Confirmation and disbursement on the funded project.
	var pls []storedPledge
	pls, _ = e.s.pledgesOf(ctx, ok.ID)
	e.must(admin(1), "POST", "/api/pledges/"+pls[0].ID+"/confirm", nil, 200, nil)
	if code, _ := e.do(admin(1), "POST", "/api/pledges/"+pls[0].ID+"/confirm", nil); code != 409 {
		t.Errorf("second confirmation: %d", code)
	}
	if code, b := e.do(admin(1), "POST", "/api/projects/"+ok.ID+"/disbursements", map[string]any{"amount_cents": 80001, "purpose": "Location de la scène"}); code != 400 {
		t.Errorf("disbursing more than confirmed + matched: %d %s", code, b)
	}
	e.must(admin(1), "POST", "/api/projects/"+ok.ID+"/disbursements", map[string]any{"amount_cents": 80000, "purpose": "Location de la scène"}, 201, nil)
	if got := e.project(1, ok.ID); got.ConfirmedCents != 20000 || got.DisbursedCents != 80000 {
		t.Errorf("after confirmation and disbursement: %+v", got)
	}
	var v Verification
	e.must(admin(1), "GET", "/api/ledger/verify", nil, 200, &v)
	if !v.OK {
		t.Errorf("verify: %+v", v)
	}
}

func TestQuadraticFund_MatchesAtTheClose(t *testing.T) {
	e := newEnv(t)
	a, b := e.openProject(1), e.openProject(1)
	f := e.fund(1, 30000, map[string]any{"kind": "quadratic"}, a.ID, b.ID)
	// a: four backers of 100 € → CLR (4·√10000)² − 40 000 = 120 000; b: one of 400 € → 0.
	for i := range 4 {
		e.pledge(person1(1, fmt.Sprintf("p%d", i)), a.ID, 10000, fmt.Sprintf("qa-key-%04d", i))
	}
	e.pledge(person1(1, "rich"), b.ID, 40000, "qb-key-0001")
	var view fundView
	e.must(admin(1), "GET", "/api/funds/"+f.ID, nil, 200, &view)
	if view.Estimates[a.ID] != 30000 || view.Estimates[b.ID] != 0 {
		t.Errorf("estimates: %+v", view.Estimates)
	}
	e.must(admin(1), "POST", "/api/projects/"+a.ID+"/close", nil, 200, nil)
	got := e.project(1, a.ID)
	// 40 000 pledged + 30 000 (the whole fund, scaled down) < 100 000: it fails, nothing committed.
	if got.Status != statusFailed || e.getFund(1, f.ID).CommittedCents != 0 {
		t.Errorf("a: %+v, fund %+v", got, e.getFund(1, f.ID))
	}
	// With more pledges, a project reaches its minimum thanks to the quadratic match.
	c := e.openProject(1)
	e.must(admin(1), "POST", "/api/funds/"+f.ID+"/projects", map[string]any{"project_id": c.ID}, 200, nil)
	for i := range 8 {
		e.pledge(person1(1, fmt.Sprintf("q%d", i)), c.ID, 9000, fmt.Sprintf("qc-key-%04d", i)) // 72 000 pledged
	}
	e.must(admin(1), "POST", "/api/projects/"+c.ID+"/close", nil, 200, nil)
	got = e.project(1, c.ID)
	if got.Status != statusFunded || got.MatchedCents != 30000 || e.getFund(1, f.ID).CommittedCents != 30000 {
		t.Errorf("c: %+v, fund %+v", got, e.getFund(1, f.ID))
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	p := e.openProject(1)
	f := e.fund(1, 1000, map[string]any{"kind": "factor", "factor": 1}, p.ID)
	if code, _ := e.do(admin(2), "GET", "/api/projects/"+p.ID, nil); code != 404 {
		t.Errorf("another tenant reads the project: %d", code)
	}
	if code, _ := e.pledge(person1(2, "alice"), p.ID, 500, "iso-key-0001"); code != 404 {
		t.Errorf("another tenant pledges: %d", code)
	}
	if code, _ := e.do(admin(2), "GET", "/api/funds/"+f.ID, nil); code != 404 {
		t.Errorf("another tenant reads the fund: %d", code)
	}
	var l struct{ Projects []Project }
	e.must(admin(2), "GET", "/api/projects", nil, 200, &l)
	if len(l.Projects) != 0 {
		t.Errorf("tenant 2 lists %d projects", len(l.Projects))
	}
	var v Verification
	e.must(admin(2), "GET", "/api/ledger/verify", nil, 200, &v)
	if !v.OK || v.Entries != 0 {
		t.Errorf("tenant 2's ledger: %+v", v)
	}
}

func TestConcurrentPledges_FundNeverOvercommits(t *testing.T) {
	e := newEnv(t)
	p := e.openProject(1)
	f := e.fund(1, 7777, map[string]any{"kind": "factor", "factor": 2, "cap_per_pledge_cents": 500}, p.ID)
	var wg sync.WaitGroup
	codes := make([]int, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = e.pledge(person1(1, fmt.Sprintf("u%d", i%50)), p.ID, 100+int64(i), fmt.Sprintf("conc-key-%04d", i))
		}()
	}
	// An auditor verifies the ledger while the pledges come in: a write in progress is never
	// taken for a broken chain.
	stop := make(chan struct{})
	audited := make(chan int)
	go func() {
		n := 0
		defer func() { audited <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, b := e.do(admin(1), "GET", "/api/ledger/verify", nil)
			var v Verification
			if code != 200 || json.Unmarshal(b, &v) != nil || !v.OK {
				t.Errorf("verify during the pledges: %d %s", code, b)
				return
			}
			n++
		}
	}()
	wg.Wait()
	close(stop)
	t.Logf("%d verifications during the pledges", <-audited)
	var sum, matched int64
	ctx := e.h.Context(context.Background(), admin(1))
	pls, err := e.s.pledgesOf(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range codes {
		if c != 201 {
			t.Errorf("pledge %d: %d", i, c)
		}
	}
	for _, pl := range pls {
		sum += pl.AmountCents
		matched += pl.MatchedCents
	}
	fd, got := e.getFund(1, f.ID), e.project(1, p.ID)
	if len(pls) != 200 || fd.CommittedCents != 7777 || matched != 7777 || got.MatchedCents != 7777 || got.PledgedCents != sum || got.Backers != 50 {
		t.Errorf("%d pledges, %d matched, fund %+v, project %+v (pledged %d)", len(pls), matched, fd, got, sum)
	}
	var v Verification
	e.must(admin(1), "GET", "/api/ledger/verify", nil, 200, &v)
	if !v.OK {
		t.Errorf("ledger after concurrent pledges: %+v", v)
	}
}

func TestLedgerVerify_FindsTampering(t *testing.T) {
	e := newEnv(t)
	p := e.openProject(1)
	for i := range 3 {
		e.pledge(person1(1, fmt.Sprintf("u%d", i)), p.ID, 1000, fmt.Sprintf("tamper-key-%d", i))
	}
	ctx := e.h.Context(context.Background(), admin(1))
	st := sdk.Host(ctx).Storage()
	var entry LedgerEntry
	if _, _, err := st.GetJSON(ctx, ledgerKey(2), &entry); err != nil {
		t.Fatal(err)
	}
	entry.AmountCents = 1 // someone with database access lowers a pledge
	if _, err := st.PutJSON(ctx, ledgerKey(2), entry); err != nil {
		t.Fatal(err)
	}
	var v Verification
	e.must(admin(1), "GET", "/api/ledger/verify", nil, 200, &v)
	if v.OK || v.BrokenAt != 2 || v.Reason == "" {
		t.Errorf("verify after tampering: %+v", v)
	}
	rec := e.h.Serve(e.handler, admin(1), httptest.NewRequest("GET", "/api/ledger.csv", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "seq,at,kind,project,pledge,fund,amount_cents,backer,purpose,prev,hash\n") || strings.Count(rec.Body.String(), "\n") != 4 {
		t.Errorf("csv: %d %s", rec.Code, rec.Body)
	}
}

func TestPages_FrenchAmountsAndPledgeForm(t *testing.T) {
	e := newEnv(t)
	p := e.openProject(1)
	e.pledge(person1(1, "alice"), p.ID, 123450, "page-key-0001")
	rec := e.h.Serve(e.handler, person1(1, "bob"), httptest.NewRequest("GET", "/projects/"+p.ID, nil))
	body := rec.Body.String()
	for _, want := range []string{"1\u202f234,50\u00a0€", "1\u202f000\u00a0€", "Objectif minimum", "Budget détaillé", "Scène et son", "anonyme", "Je contribue",
		`name="idempotency_key"`, `<progress id="bar-min"`, "Registre public"} {
		if !strings.Contains(body, want) {
			t.Errorf("project page lacks %q", want)
		}
	}
	for _, not := range []string{"Pledge", "Minimum goal", "1234.5"} {
		if strings.Contains(body, not) {
			t.Errorf("French page holds %q", not)
		}
	}
	// A form pledge in euros, then the page with the notice.
	form := "amount=12%2C50&public_name=Bob&idempotency_key=form-key-0001&_csrf=csrf"
	req := httptest.NewRequest("POST", "/projects/"+p.ID+"/pledges", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = e.h.Serve(e.handler, person1(1, "bob"), req)
	if rec.Code != 303 {
		t.Fatalf("form pledge: %d %s", rec.Code, rec.Body)
	}
	loc, _, _ := strings.Cut(rec.Header().Get("Location"), "#") // browsers keep the fragment to themselves
	rec = e.h.Serve(e.handler, person1(1, "bob"), httptest.NewRequest("GET", strings.TrimPrefix(loc, "/p/cofinancing"), nil))
	if !strings.Contains(rec.Body.String(), "Merci ! Votre promesse de 12,50\u00a0€ est enregistrée.") || !strings.Contains(rec.Body.String(), "Bob — 12,50\u00a0€") {
		t.Errorf("after a form pledge (%s): %s", loc, rec.Body)
	}
	// A bad amount: the form again, in French, with what was typed.
	req = httptest.NewRequest("POST", "/projects/"+p.ID+"/pledges", strings.NewReader("amount=douze&idempotency_key=form-key-0002"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = e.h.Serve(e.handler, person1(1, "bob"), req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "Donnez un montant en euros") || !strings.Contains(rec.Body.String(), `value="douze"`) {
		t.Errorf("bad form amount: %d %s", rec.Code, rec.Body)
	}
	en := person1(1, "bob")
	en.Locale = "en"
	rec = e.h.Serve(e.handler, en, httptest.NewRequest("GET", "/projects/"+p.ID, nil))
	if !strings.Contains(rec.Body.String(), "€1,234.50") || !strings.Contains(rec.Body.String(), "Minimum goal") {
		t.Errorf("English page: %s", rec.Body)
	}
}

func TestSettle_CarriesOnAnInterruptedRelease(t *testing.T) {
	e := newEnv(t)
	p := e.openProject(1)
	f := e.fund(1, 5000, map[string]any{"kind": "factor", "factor": 1}, p.ID)
	for i := range 3 {
		e.pledge(person1(1, fmt.Sprintf("u%d", i)), p.ID, 1000, fmt.Sprintf("interrupt-%d", i))
	}
	ctx := e.h.Context(context.Background(), admin(1))
	e.advance(8 * 24 * time.Hour)
	// A run that stopped after deciding the failure and releasing one pledge: the project is
	// failed and unsettled, two pledges still active.
	err := e.s.run(ctx, func(t *txn) error {
		sp, err := getProject(t, p.ID)
		if err != nil {
			return err
		}
		sp.Status, sp.Settled = statusFailed, false
		t.put(projectKey(p.ID), sp)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pls, _ := e.s.pledgesOf(ctx, p.ID)
	if err := e.s.run(ctx, func(t *txn) error {
		pl, err := getPledge(t, pls[0].ID)
		if err != nil {
			return err
		}
		sp, err := getProject(t, p.ID)
		if err != nil {
			return err
		}
		if err := unwind(t, &sp, &pl, moveRelease, pledgeReleased); err != nil {
			return err
		}
		t.put(projectKey(p.ID), sp)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.settle(ctx); err != nil {
		t.Fatal(err)
	}
	got := e.project(1, p.ID)
	if got.Status != statusFailed || !got.Settled || got.PledgedCents != 0 || got.ReleasedCents != 3000 || got.ReturnedCents != 3000 {
		t.Errorf("after the next run: %+v", got)
	}
	if fd := e.getFund(1, f.ID); fd.CommittedCents != 0 {
		t.Errorf("fund: %+v", fd)
	}
	releases := 0
	for _, en := range e.h.Stored(1, ledgerPrefix) {
		var le LedgerEntry
		_ = json.Unmarshal(en.Value, &le)
		if le.Kind == moveRelease {
			releases++
		}
	}
	if releases != 3 {
		t.Errorf("%d release entries, want 3", releases)
	}
}

func TestSettings_BoundPledges(t *testing.T) {
	e := newEnv(t)
	p := e.openProject(1)
	c := person1(1, "alice")
	c.Settings = json.RawMessage(`{"min_pledge_cents":500,"max_pledge_cents":1000}`)
	for amount, want := range map[int64]int{499: 400, 1001: 400, 500: 201, 1000: 201} {
		if code, _ := e.pledge(c, p.ID, amount, fmt.Sprintf("settings-key-%d", amount)); code != want {
			t.Errorf("pledge of %d cents: %d, want %d", amount, code, want)
		}
	}
}
