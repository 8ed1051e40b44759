package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/concorde-civic/concorde/plugins/sdk"
	"github.com/concorde-civic/concorde/plugins/sdk/sdktest"
)

// The plugin's own unit tests run its handler against sdktest's in-memory host: the same
// storage rules and limits as the real host, no server needed.

type fixture struct {
	t       *testing.T
	host    *sdktest.Host
	handler http.Handler
}

func newFixture(t *testing.T) *fixture {
	a := newAgenda(prometheus.NewRegistry())
	a.now = func() time.Time { return time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC) }
	return &fixture{t: t, host: sdktest.New(t, "culture"), handler: a.routes()}
}

func staff(tenantID int64, slug string) sdk.Call {
	c := sdktest.Citizen(tenantID, slug)
	c.Principal.Subject, c.Principal.Roles = "user:"+slug+"-admin", []string{"tenant-admin"}
	return c
}

func citizen(tenantID int64, slug, who string) sdk.Call {
	c := sdktest.Citizen(tenantID, slug)
	c.Principal.Subject = "user:" + who
	return c
}

func (f *fixture) do(call sdk.Call, method, path string, body any) *httptest.ResponseRecorder {
	f.t.Helper()
	var r *http.Request
	switch b := body.(type) {
	case nil:
		r = httptest.NewRequest(method, path, nil)
	case url.Values:
		r = httptest.NewRequest(method, path, strings.NewReader(b.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		call.Kind = sdk.Page
	default:
		j, _ := json.Marshal(b)
		r = httptest.NewRequest(method, path, strings.NewReader(string(j)))
		r.Header.Set("Content-Type", "application/json")
	}
	if !strings.HasPrefix(path, "/api/") {
		call.Kind = sdk.Page
	}
	return f.host.Serve(f.handler, call, r)
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	return v
}

var concert = map[string]any{"title": "Concert au parc", "category": "concert", "status": "scheduled",
	"venue": map[string]any{"name": "Parc", "address": "1 rue du Parc", "city": "Rennes"}, "price_eur": 12.5,
	"slots": []map[string]any{{"start": "2026-06-01T18:00:00Z", "end": "2026-06-01T20:00:00Z"}}}

func TestEvents_EachTenantSeesItsOwnAndPricesReadTheFrenchWay(t *testing.T) {
	f := newFixture(t)
	w := f.do(staff(1, "rennes"), "POST", "/api/events", concert)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	e := decode[Event](t, w)
	if got := decode[struct{ Events []Event }](t, f.do(sdktest.Anonymous(2, "brest"), "GET", "/api/events", nil)); len(got.Events) != 0 {
		t.Errorf("another tenant sees %d events", len(got.Events))
	}
	page := f.do(sdktest.Anonymous(1, "rennes"), "GET", "/events/"+e.ID, nil)
	if page.Code != 200 || !strings.Contains(page.Body.String(), "12,50\u00a0€") {
		t.Errorf("event page: %d, no French price in %s", page.Code, page.Body)
	}
	if strings.Contains(page.Body.String(), "0x") {
		t.Errorf("a memory address on the page: %s", page.Body)
	}
	// Bad input: a clear 400 naming the field, and nothing stored.
	bad := map[string]any{"title": "x", "category": "rave"}
	if w := f.do(staff(1, "rennes"), "POST", "/api/events", bad); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"field"`) {
		t.Errorf("bad event: %d %s", w.Code, w.Body)
	}
	if n := len(f.host.Stored(1, eventPrefix)); n != 1 {
		t.Errorf("%d events stored, want 1", n)
	}
}

func TestInterest_CountsEachPersonOnceUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	e := decode[Event](t, f.do(staff(1, "rennes"), "POST", "/api/events", concert))
	var wg sync.WaitGroup
	for i := range 20 {
		for range 2 { // each person twice, at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				if w := f.do(citizen(1, "rennes", fmt.Sprint("c", i)), "POST", "/api/events/"+e.ID+"/interest", nil); w.Code != 200 {
					t.Errorf("interest: %d %s", w.Code, w.Body)
				}
			}()
		}
	}
	wg.Wait()
	got := decode[Event](t, f.do(sdktest.Anonymous(1, "rennes"), "GET", "/api/events/"+e.ID, nil))
	if got.Interested != 20 {
		t.Errorf("interested %d, want 20", got.Interested)
	}
}

func TestIdeas_ArePublicOnlyOnceStaffAcceptThem(t *testing.T) {
	f := newFixture(t)
	in := map[string]any{"title": "Un bal populaire au port", "category": "dance"}
	w := f.do(citizen(1, "rennes", "ana"), "POST", "/api/ideas", in)
	if w.Code != http.StatusCreated {
		t.Fatalf("propose: %d %s", w.Code, w.Body)
	}
	idea := decode[Idea](t, w)
	public := func() []Idea {
		return decode[struct{ Ideas []Idea }](t, f.do(sdktest.Anonymous(1, "rennes"), "GET", "/api/ideas", nil)).Ideas
	}
	if len(public()) != 0 {
		t.Fatal("a pending idea is public")
	}
	if w := f.do(citizen(1, "rennes", "bob"), "POST", "/api/ideas/"+idea.ID+"/vote", nil); w.Code != http.StatusNotFound {
		t.Errorf("a vote on a pending idea: %d", w.Code)
	}
	if w := f.do(staff(1, "rennes"), "POST", "/api/ideas/"+idea.ID+"/refuse", map[string]any{}); w.Code != http.StatusBadRequest {
		t.Errorf("a refusal without a reason: %d", w.Code)
	}
	if w := f.do(staff(1, "rennes"), "POST", "/api/ideas/"+idea.ID+"/accept", nil); w.Code != 200 {
		t.Fatalf("accept: %d %s", w.Code, w.Body)
	}
	if ideas := public(); len(ideas) != 1 || ideas[0].Title != "Un bal populaire au port" {
		t.Fatalf("accepted idea not public: %+v", ideas)
	}
	if w := f.do(citizen(1, "rennes", "ana"), "POST", "/api/ideas/"+idea.ID+"/vote", nil); w.Code != http.StatusBadRequest {
		t.Errorf("a vote for one's own idea: %d", w.Code)
	}
	f.do(citizen(1, "rennes", "bob"), "POST", "/api/ideas/"+idea.ID+"/vote", nil)
	f.do(citizen(1, "rennes", "bob"), "POST", "/api/ideas/"+idea.ID+"/vote", nil)
	if ideas := public(); ideas[0].Votes != 1 {
		t.Errorf("votes %d, want 1", ideas[0].Votes)
	}
	if w := f.do(staff(1, "rennes"), "POST", "/api/ideas/"+idea.ID+"/remove", map[string]any{"reason": "doublon"}); w.Code != 200 {
		t.Fatalf("remove: %d %s", w.Code, w.Body)
	}
	if len(public()) != 0 || len(f.host.Stored(1, votePrefix)) != 0 {
		t.Error("a removed idea or its votes remain")
	}
	if au := f.host.Audits(); len(au) == 0 || au[len(au)-1].Action != "culture.idea.remove" {
		t.Errorf("audits: %+v", au)
	}
}

// Staff type local times; they are read in the tenant's time zone and stored in UTC.
func TestStaffForm_ReadsTimesInTheTenantsZone(t *testing.T) {
	f := newFixture(t)
	call := staff(1, "cayenne")
	call.Tenant.TimeZone = "America/Cayenne" // UTC−3 all year
	form := url.Values{"title": {"Contes créoles"}, "category": {"reading"}, "venue_name": {"Médiathèque"},
		"venue_address": {"1 rue Lalouette"}, "venue_city": {"Cayenne"}, "status": {"scheduled"},
		"start": {"2026-06-01T20:00"}, "end": {"2026-06-01T21:30"}, "free": {"on"}, "publish": {"1"}, "_csrf": {"csrf"}}
	if w := f.do(call, "POST", "/staff/events", form); w.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	stored := f.host.Stored(1, eventPrefix)
	if len(stored) != 1 {
		t.Fatalf("%d events stored", len(stored))
	}
	var e Event
	_ = json.Unmarshal(stored[0].Value, &e)
	if want := time.Date(2026, 6, 1, 23, 0, 0, 0, time.UTC); len(e.Slots) != 1 || !e.Slots[0].Start.Equal(want) {
		t.Fatalf("slots %+v, want a start at %s", e.Slots, want)
	}
	page := f.do(call, "GET", "/staff/events/"+e.ID, nil)
	if !strings.Contains(page.Body.String(), `value="2026-06-01T20:00"`) {
		t.Errorf("the edit form does not show the local time: %s", page.Body)
	}
	if page := f.do(call, "GET", "/events/"+e.ID, nil); !strings.Contains(page.Body.String(), "01/06/2026 20:00") {
		t.Errorf("the event page does not show the local time: %s", page.Body)
	}
}

func TestPrice_AndWhen(t *testing.T) {
	for _, c := range []struct {
		l    string
		eur  float64
		want string
	}{{"fr", 8, "8\u00a0€"}, {"fr", 12.5, "12,50\u00a0€"}, {"fr", 0.05, "0,05\u00a0€"}, {"en", 12.5, "€12.50"}} {
		if got := price(c.l, c.eur); got != c.want {
			t.Errorf("price(%s, %v) = %q, want %q", c.l, c.eur, got, c.want)
		}
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	at := time.Date(2026, 7, 14, 20, 0, 0, 0, time.UTC)
	if got := when("fr", paris, at); got != "mar. 14/07/2026 22:00" {
		t.Errorf("when: %q", got)
	}
}
