package vote

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
)

// Origin says where a participant was shown the proposal they vote on.
type Origin string

// The places a proposal is shown, each with its own vote key.
const (
	Sequence Origin = "sequence" // chosen for the participant by the sequence
	Search   Origin = "search"   // found by keyword or theme
	Direct   Origin = "direct"   // reached through a shared link or the proposal's own page
	Results  Origin = "results"  // voted from the results page
)

// Keys are short: they travel with every proposal served, so origins get one-letter codes.
var originCodes = map[Origin]string{Sequence: "s", Search: "q", Direct: "d", Results: "r"}

func originOf(code string) (Origin, bool) {
	for o, c := range originCodes {
		if c == code {
			return o, true
		}
	}
	return "", false
}

// Valid reports whether o is one of the known origins.
func (o Origin) Valid() bool {
	_, ok := originCodes[o]
	return ok
}

// macLen is the length of a key's MAC: 128 bits make forging out of reach and keep keys short.
const macLen = 16

// encodedMacLen is the length of the MAC in base64url without padding.
var encodedMacLen = base64.RawURLEncoding.EncodedLen(macLen)

// ErrForgedKey says that a vote key is well formed but was not issued for this participant,
// proposal and tenant: forged, or replayed from another session or proposal. The vote is
// still recorded, as a troll vote (see Signer.Trust).
var ErrForgedKey = errs.E(errs.Forbidden,
	"this vote's key is not valid for you and this proposal: the vote is kept as untrusted and left out of the results")

// Signer issues and checks vote keys, after Make.org's trust levels: every proposal served
// carries a key that binds tenant, proposal, participant (session) and origin, signed with
// the server secret. A vote brings its key back; the key sets the vote's trust.
type Signer struct {
	Secret []byte
}

// Key is the vote key for showing proposal proposalID to participant, from origin o:
// a one-letter origin code, a dot, and a truncated HMAC-SHA256 in base64url. An unknown
// origin is signed as Direct.
func (s Signer) Key(tenantID, proposalID int64, participant string, o Origin) string {
	code, ok := originCodes[o]
	if !ok {
		code, o = originCodes[Direct], Direct
	}
	mac := s.mac(tenantID, proposalID, participant, o)
	return code + "." + base64.RawURLEncoding.EncodeToString(mac[:macLen])
}

// Trust checks the key a vote came with. No key gives a troll vote (no error); a key that is
// not a vote key at all is errs.Invalid; a well-formed key that does not verify gives a troll
// vote and ErrForgedKey, so the caller can record the vote as a troll vote and tell the
// participant. A valid sequence key gives results.Sequence, any other valid key results.Trusted.
func (s Signer) Trust(key string, tenantID, proposalID int64, participant string) (results.Trust, Origin, error) {
	if key == "" {
		return results.Troll, "", nil
	}
	if len(key) != 2+encodedMacLen || key[1] != '.' {
		return results.Troll, "", errs.Field("key", "the vote key is malformed; send back the key that came with the proposal, or none")
	}
	o, ok := originOf(key[:1])
	if !ok {
		return results.Troll, "", errs.Field("key", "the vote key is malformed; send back the key that came with the proposal, or none")
	}
	var got [macLen + 2]byte // DecodedLen(22) is 16; room to spare keeps Decode from panicking
	n, err := base64.RawURLEncoding.Strict().Decode(got[:], []byte(key[2:]))
	if err != nil || n != macLen {
		return results.Troll, "", errs.Field("key", "the vote key is malformed; send back the key that came with the proposal, or none")
	}
	want := s.mac(tenantID, proposalID, participant, o)
	if !hmac.Equal(got[:macLen], want[:macLen]) {
		return results.Troll, o, ErrForgedKey
	}
	if o == Sequence {
		return results.Sequence, o, nil
	}
	return results.Trusted, o, nil
}

func (s Signer) mac(tenantID, proposalID int64, participant string, o Origin) []byte {
	m := hmac.New(sha256.New, s.Secret)
	b := make([]byte, 0, 64+len(participant))
	b = append(b, "vote-key|"...)
	b = strconv.AppendInt(b, tenantID, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, proposalID, 10)
	b = append(b, '|')
	b = append(b, participant...)
	b = append(b, '|')
	b = append(b, o...)
	m.Write(b)
	return m.Sum(nil)
}
