package identity_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/identity"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestParticipant_RoundTrip(t *testing.T) {
	p := identity.Participants{Secret: secret}
	id, cookie := p.New()
	if raw, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(raw) != 16 {
		t.Fatalf("id %q is not 16 random bytes in base64url", id)
	}
	if !strings.HasPrefix(cookie, id+".") {
		t.Fatalf("cookie %q does not carry id %q", cookie, id)
	}
	got, ok := p.Parse(cookie)
	if !ok || got != id {
		t.Fatalf("Parse = %q, %v; want %q", got, ok, id)
	}
	if id2, _ := p.New(); id2 == id {
		t.Fatal("two participants share an id")
	}
}

func TestParticipant_ForgedCookieRefused(t *testing.T) {
	p := identity.Participants{Secret: secret}
	id, cookie := p.New()
	otherID, _ := p.New()
	_, foreign := identity.Participants{Secret: []byte("another secret, just as long....")}.New()
	mac := cookie[len(id)+1:]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for name, c := range map[string]string{
		"empty":                   "",
		"id alone":                id,
		"id and dot":              id + ".",
		"other id, this mac":      otherID + "." + mac,
		"one id character off":    flip(id, 3) + "." + mac,
		"one mac character off":   id + "." + flip(mac, 10),
		"signed with other key":   foreign,
		"no separator":            id + mac,
		"two separators":          id + "." + mac[:20] + "." + mac[21:],
		"truncated":               cookie[:len(cookie)-1],
		"extended":                cookie + "A",
		"not base64":              strings.Repeat("!", 22) + "." + mac,
		"non-ASCII":               strings.Repeat("é", 11) + "." + mac,
		"huge":                    strings.Repeat("a", 1<<16),
		"mac of csrf, not cookie": id + "." + identity.CSRFToken(secret, "participant:"+id),
	} {
		if got, ok := p.Parse(c); ok || got != "" {
			t.Errorf("%s: Parse(%q) = %q, %v", name, c, got, ok)
		}
	}
	// Without a secret nothing verifies, not even a cookie signed with an empty key.
	_, emptyKeyed := identity.Participants{Secret: make([]byte, 16)}.New()
	if _, ok := (identity.Participants{}).Parse(emptyKeyed); ok {
		t.Error("a Participants without a secret accepted a cookie")
	}
}

func TestParticipant_ShortSecretPanicsOnNew(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New with a 3-byte secret did not panic")
		}
	}()
	identity.Participants{Secret: []byte("abc")}.New()
}

func TestCSRF_BoundToSessionAndSecret(t *testing.T) {
	tok := identity.CSRFToken(secret, "session-a")
	pid, cookie := identity.Participants{Secret: secret}.New()
	cookieMAC := cookie[len(pid)+1:]
	if !identity.CheckCSRF(secret, "session-a", tok) {
		t.Fatal("the right token is refused")
	}
	for name, tc := range map[string]struct {
		secret     []byte
		key, token string
	}{
		"other session":            {secret, "session-b", tok},
		"other secret":             {[]byte("another secret, just as long...."), "session-a", tok},
		"empty token":              {secret, "session-a", ""},
		"empty session":            {secret, "", identity.CSRFToken(secret, "")},
		"no secret":                {nil, "session-a", identity.CSRFToken(nil, "session-a")},
		"truncated":                {secret, "session-a", tok[:len(tok)-1]},
		"participant cookie's mac": {secret, pid, cookieMAC},
	} {
		if identity.CheckCSRF(tc.secret, tc.key, tc.token) {
			t.Errorf("%s: accepted", name)
		}
	}
}
