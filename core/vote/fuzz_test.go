package vote

import (
	"errors"
	"testing"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
)

// Seeds are in testdata/fuzz/FuzzVoteKey. A vote key verifies only if the server signed it
// for that tenant, proposal and participant; anything else is a troll vote, malformed
// (Invalid) or forged (ErrForgedKey), never a panic.
func FuzzVoteKey(f *testing.F) {
	s := Signer{Secret: []byte("fuzz-secret-fuzz-secret-fuzz-secret-0123")}
	f.Fuzz(func(t *testing.T, key, participant string, proposalID int64) {
		trust, o, err := s.Trust(key, 7, proposalID, participant)
		switch {
		case err == nil && key == "":
			if trust != results.Troll {
				t.Fatalf("no key gave trust %v", trust)
			}
		case err == nil:
			if key != s.Key(7, proposalID, participant, o) {
				t.Fatalf("key %q verified for proposal %d and %q without being the server's", key, proposalID, participant)
			}
			if want := map[bool]results.Trust{true: results.Sequence, false: results.Trusted}[o == Sequence]; trust != want {
				t.Fatalf("key %q: trust %v from origin %s", key, trust, o)
			}
		case errors.Is(err, ErrForgedKey), errs.KindOf(err) == errs.Invalid:
			if trust != results.Troll {
				t.Fatalf("key %q refused (%v) with trust %v", key, err, trust)
			}
		default:
			t.Fatalf("key %q: unexpected error %v", key, err)
		}
		// The server's own key verifies for exactly what it binds.
		for _, origin := range []Origin{Sequence, Search, Direct, Results} {
			k := s.Key(7, proposalID, participant, origin)
			if tr, got, err := s.Trust(k, 7, proposalID, participant); err != nil || got != origin || tr == results.Troll {
				t.Fatalf("the server's key %q for %q does not verify: %v %v %v", k, participant, tr, got, err)
			}
			if _, _, err := s.Trust(k, 7, proposalID, participant+"x"); !errors.Is(err, ErrForgedKey) {
				t.Fatalf("key %q verified for another participant: %v", k, err)
			}
			if _, _, err := s.Trust(k, 8, proposalID, participant); !errors.Is(err, ErrForgedKey) {
				t.Fatalf("key %q verified in another tenant: %v", k, err)
			}
		}
	})
}
