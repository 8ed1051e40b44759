package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// Behind a load balancer every request comes from the balancer's address: the per-address
// limits must follow the client the balancer forwards, and only when the peer is a trusted
// proxy, or anyone could pick their address with a header.
func TestClientAddr_LimitsFollowForwardedClientsOnlyFromTrustedProxies(t *testing.T) {
	type action struct {
		name  string
		limit int
		do    func(t *testing.T, w *consultationWorld, v *testsupport.Visitor, target int64) int // the status
	}
	actions := []action{
		{name: "propose", limit: 2, do: func(t *testing.T, w *consultationWorld, v *testsupport.Visitor, _ int64) int {
			return v.Do("POST", "/api/v1/consultations/culture/proposals", map[string]string{"content": "Il faut ouvrir les musées le soir en semaine"}).Status
		}},
		{name: "vote", limit: 3, do: func(t *testing.T, w *consultationWorld, v *testsupport.Visitor, target int64) int {
			return v.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", target), map[string]any{"vote": "agree", "key": keyFor(t, v, target)}).Status
		}},
		{name: "sign in", limit: 10, do: func(t *testing.T, w *consultationWorld, v *testsupport.Visitor, _ int64) int {
			return v.Do("POST", "/api/v1/auth/login", map[string]string{"email": "nobody@ay.test", "password": "wrong password"}).Status
		}},
	}
	for _, tc := range []struct {
		name      string
		trusted   string
		perClient bool // the limits count per forwarded client, not per peer
	}{
		{name: "no trusted proxy: the socket address", trusted: "", perClient: false},
		{name: "untrusted peer: spoofed headers change nothing", trusted: "10.0.0.0/8, 127.0.0.1, ::1", perClient: false},
		{name: "trusted peer: per forwarded client", trusted: "0.0.0.0/32", perClient: true}, // app.Test's peer is 0.0.0.0
	} {
		for _, a := range actions {
			t.Run(tc.name+"/"+a.name, func(t *testing.T) {
				e := testsupport.New(t, "sqlite")
				w := newConsultation(t, e)
				target := w.propose(t, e.Visitor(w.A.Host), "Il faut des bibliothèques ouvertes le dimanche")[0]
				// Now the limits, small, and the proxies under test.
				e.App.Config.TrustedProxies = tc.trusted
				e.App.Config.ProposalLimitPerSource, e.App.Config.VoteLimitPerSource = 2, 3
				srv, err := e.App.HTTP()
				if err != nil {
					t.Fatal(err)
				}
				e.Server = srv
				from := func(h map[string]string) *testsupport.Visitor {
					v := e.Visitor(w.A.Host) // a new participant each time: only the address is shared
					v.Header = h
					return v
				}
				client1 := map[string]string{"X-Forwarded-For": "203.0.113.1"}
				ok := func(st int) bool { return st < 300 || st == http.StatusUnauthorized } // a wrong password is still an attempt
				for i := range a.limit {
					if st := a.do(t, w, from(client1), target); !ok(st) {
						t.Fatalf("%s %d of %d from one client: %d", a.name, i+1, a.limit, st)
					}
				}
				if st := a.do(t, w, from(client1), target); st != http.StatusTooManyRequests {
					t.Fatalf("%s over the limit from one client: %d, want 429", a.name, st)
				}
				// Whatever the trust, a client cannot escape by prepending an address: a proxy
				// appends the real one on the right.
				if st := a.do(t, w, from(map[string]string{"X-Forwarded-For": "198.51.100.7, 203.0.113.1"}), target); st != http.StatusTooManyRequests {
					t.Fatalf("%s with a spoofed leftmost X-Forwarded-For: %d, want 429", a.name, st)
				}
				others := []map[string]string{
					{"X-Forwarded-For": "203.0.113.2"},
					{"X-Forwarded-For": "2001:db8::7"},
					{"Forwarded": `for="[2001:db8::9]:4711";proto=https`},
					{"Forwarded": "for=203.0.113.3, for=0.0.0.0"}, // a chain through another trusted hop
				}
				for _, h := range others {
					st := a.do(t, w, from(h), target)
					if tc.perClient && !ok(st) {
						t.Fatalf("%s from another forwarded client %v: %d, want it allowed", a.name, h, st)
					}
					if !tc.perClient && st != http.StatusTooManyRequests {
						t.Fatalf("%s with header %v from an untrusted peer: %d, want 429 (the header must change nothing)", a.name, h, st)
					}
				}
			})
		}
	}
}
