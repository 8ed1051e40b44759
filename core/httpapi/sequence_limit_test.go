package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/ratelimit"
	"github.com/concorde-civic/concorde/core/testsupport"
)

func TestSequence_AskingTooOftenGets429WithRetryAfter(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées gratuitement le dimanche")
		e.Server.SequenceLimits = ratelimit.Limits{PerParticipant: 3, PerSource: 5}
		path := "/api/v1/consultations/culture/sequence"
		tooMany := func(name string, res testsupport.Response) {
			t.Helper()
			secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
			if res.Status != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 120 ||
				!strings.Contains(string(res.Body), `"code":"rate_limited"`) || !strings.Contains(string(res.Body), "wait") {
				t.Fatalf("%s: %d, Retry-After %q, %s", name, res.Status, res.Header.Get("Retry-After"), res.Body)
			}
		}

		v := e.Visitor(w.A.Host)
		for i := range 3 {
			if res := v.Do("GET", path, nil); res.Status != 200 {
				t.Fatalf("sequence %d: %d %s", i+1, res.Status, res.Body)
			}
		}
		tooMany("4th sequence of one participant", v.Do("GET", path, nil))

		// Fresh sessions from the same address: 3 were counted, 2 more fit.
		for i := range 2 {
			if res := e.Visitor(w.A.Host).Do("GET", path, nil); res.Status != 200 {
				t.Fatalf("fresh session %d: %d %s", i, res.Status, res.Body)
			}
		}
		tooMany("a fresh session over the source limit", e.Visitor(w.A.Host).Do("GET", path, nil))

		// Another site's participants have their own counts.
		admin := w.B.Tokens[authz.TenantAdmin]
		res := w.Do(testsupport.Request{Method: "POST", Host: w.B.Host, Path: "/api/v1/consultations", Token: admin,
			Body: map[string]any{"slug": "culture", "question": "Comment rendre la culture accessible à tous ?"}})
		if res.Status != http.StatusCreated {
			t.Fatalf("create on B: %d %s", res.Status, res.Body)
		}
		w.Do(testsupport.Request{Method: "POST", Host: w.B.Host, Path: "/api/v1/consultations/culture/open", Token: admin})
		if res := e.Visitor(w.B.Host).Do("GET", path, nil); res.Status != 200 {
			t.Fatalf("another tenant: %d %s", res.Status, res.Body)
		}
	})
}
