package httpapi_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// Values read from a request live in buffers Fiber reuses for the next request. These tests
// send mixed concurrent traffic and let the catalog reload, which runs the results builders
// again long after the request that registered them.

func TestResults_ThemeSurvivesOtherRequestsAndAReload(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newConsultation(t, e)
	w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées gratuitement le dimanche")
	e.App.Catalog.TTL = 5 * time.Millisecond
	get := func(theme string) testsupport.Response {
		return w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results?theme=" + theme, Token: w.admin})
	}
	if res := get("musees"); res.Status != http.StatusOK {
		t.Fatalf("theme musees: %d %s", res.Status, res.Body)
	}
	deadline := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(deadline) {
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() { // the same length as "musees", so it lands on the same bytes
				defer wg.Done()
				if res := get("zzzzzz"); res.Status != http.StatusBadRequest {
					t.Errorf("unknown theme: %d %s", res.Status, res.Body)
				}
			}()
		}
		wg.Wait()
		if res := get("musees"); res.Status != http.StatusOK {
			t.Fatalf("theme musees after other requests and reloads: %d %s", res.Status, res.Body)
		}
	}
}

// Every distinct limit used to be kept in the entry's memo and rebuilt at every reload.
func TestResults_DistinctLimitsDoNotGrowTheMemo(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newConsultation(t, e)
	w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées gratuitement le dimanche", "Des concerts gratuits dans les parcs")
	for i := 1; i <= 10_000; i++ {
		res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results?limit=" + strconv.Itoa(i) + "&theme=musees", Token: w.admin})
		if res.Status != http.StatusOK {
			t.Fatalf("limit %d: %d %s", i, res.Status, res.Body)
		}
	}
	entry, err := e.App.Catalog.BySlug(t.Context(), w.A.Tenant.ID, "culture")
	if err != nil {
		t.Fatal(err)
	}
	if n := entry.Memos(); n > 4 {
		t.Fatalf("10,000 distinct limits left %d memos", n)
	}
}
