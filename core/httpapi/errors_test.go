package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// What is the client's fault gets a 4xx with the core's error body, never a 500 (which feeds
// the 5xx alert), and changes nothing.
func TestErrors_ClientFaultsAreClientErrors(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		v := e.Visitor(w.A.Host)
		v.Do("GET", "/api/v1/auth/me", nil)
		for _, tc := range []struct {
			name   string
			method string
			path   string
			body   any
			want   int
		}{
			{"NUL in a query parameter", "GET", "/api/v1/consultations/culture/proposals?q=" + url.QueryEscape("musée\x00"), nil, 400},
			{"invalid UTF-8 in a query parameter", "GET", "/api/v1/consultations/culture/proposals?q=%FF%FE", nil, 400},
			{"NUL in a path parameter", "GET", "/api/v1/consultations/cul%00ture", nil, 400},
			{"invalid UTF-8 inside JSON", "POST", "/api/v1/consultations/culture/proposals", []byte("{\"content\":\"Il faut ouvrir les mus\xe9es le dimanche\"}"), 400},
			{"an escaped NUL inside JSON", "POST", "/api/v1/consultations/culture/proposals", []byte(`{"content":"Il faut ouvrir les musées\u0000 le dimanche"}`), 400},
			{"a NUL in a sign-in email (JSON)", "POST", "/api/v1/auth/login", map[string]string{"email": "a\x00@ay.test", "password": "x"}, 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := v.Do(tc.method, tc.path, tc.body)
				if res.Status != tc.want || !strings.Contains(string(res.Body), `"code":"invalid"`) {
					t.Fatalf("%d %s, want %d with the core's error body", res.Status, res.Body, tc.want)
				}
			})
		}
		// A NUL in the sign-in form's email: the form comes back with a 400.
		page := e.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/account"})
		m := csrfInput.FindSubmatch(page.Body)
		res := formPost(e, w.A.Host, "/account/signin", url.Values{"_csrf": {string(m[1])}, "email": {"eve\x00@ay.test"}, "password": {"x"}}, nil, cookie(page, "concorde_participant"))
		if res.Status != 400 {
			t.Fatalf("NUL in the sign-in form: %d %s", res.Status, res.Body)
		}
		// Nothing was proposed.
		if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/moderation/proposals", Token: w.moderator}); strings.Contains(string(res.Body), "dimanche") {
			t.Fatalf("a refused proposal is in the queue: %s", res.Body)
		}
	})
}

// Errors Fiber and fasthttp produce before any route runs (headers over the 4 KiB read
// buffer: 431) keep their 4xx status and get the core's error body.
func TestErrors_FiberStatusesAreClientErrors(t *testing.T) {
	e := testsupport.New(t, storetest.Dialects()[0])
	a := e.Site("ay")
	status, body := rawDo(t, serve(t, e), "GET /api/v1/auth/me HTTP/1.1\r\nHost: "+a.Host+"\r\nX-Padding: "+strings.Repeat("p", 5000)+"\r\n\r\n")
	if status != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(body, "too large") {
		t.Fatalf("headers over 4 KiB: %d %s, want 431 saying what is too large", status, body)
	}
	// Counted as a client error in the metrics, not as a 500.
	mfs, err := e.Server.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "concorde_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" && l.GetValue() == "431" {
					found = true
				}
				if l.GetName() == "status" && l.GetValue() == "500" {
					t.Errorf("a 500 was counted")
				}
			}
		}
	}
	if !found {
		t.Error("the 431 was not counted")
	}
}
