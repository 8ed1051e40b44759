// Package identity knows who is calling: staff and citizen accounts, sessions, API tokens and anonymous participants.
package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/concorde-civic/concorde/core/errs"
)

// Password policy, in characters (runes).
const (
	MinPasswordLength = 10
	MaxPasswordLength = 256
)

// Default argon2id cost (RFC 9106's second recommended option, with two lanes).
const (
	DefaultMemory  = 64 * 1024 // KiB, so 64 MiB
	DefaultTime    = 2         // passes over memory
	DefaultThreads = 2         // lanes
)

const (
	saltLength = 16
	keyLength  = 32

	// Bounds on the cost a stored hash may ask Verify to spend, so a corrupted or hostile
	// row cannot make one login exhaust the machine.
	maxMemory = 1 << 20 // KiB, so 1 GiB
	maxTime   = 32
)

// Hasher turns passwords into argon2id hashes in PHC string form
// ($argon2id$v=19$m=65536,t=2,p=2$salt$hash). Its fields are the cost of new hashes;
// Verify reads the cost of an existing hash from the hash itself, so the cost can be raised
// later without invalidating stored passwords. The zero Hasher uses the default cost.
type Hasher struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
}

// DefaultHasher is the production cost. Tests build a cheaper Hasher of their own
// rather than changing this one.
var DefaultHasher = Hasher{Memory: DefaultMemory, Time: DefaultTime, Threads: DefaultThreads}

func (h Hasher) params() Hasher {
	if h == (Hasher{}) {
		return DefaultHasher
	}
	if h.Time == 0 {
		h.Time = 1
	}
	if h.Threads == 0 {
		h.Threads = 1
	}
	if h.Memory < 8*uint32(h.Threads) { // argon2's own floor
		h.Memory = 8 * uint32(h.Threads)
	}
	return h
}

// CheckPassword reports whether pw satisfies the password policy, as an error about the
// "password" field.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		return errs.Field("password", "the password must have at least %d characters", MinPasswordLength).Say("err_password_short")
	}
	if n > MaxPasswordLength {
		return errs.Field("password", "the password must have at most %d characters", MaxPasswordLength).Say("err_password_long")
	}
	return nil
}

// Hash checks pw against the password policy and returns its argon2id hash in PHC form,
// with a new random salt.
func (h Hasher) Hash(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, saltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	p := h.params()
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLength)
	return encodePHC(p, salt, key), nil
}

// Verify reports whether pw matches the PHC-form argon2id hash phc, comparing in constant
// time. A malformed phc is an error; a wrong password is (false, nil).
func Verify(pw, phc string) (bool, error) {
	p, salt, want, err := decodePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is a well-formed hash at h's cost that no password matches in practice
// (its key is all zeros). Verifying against it spends the time a real check would.
func (h Hasher) dummyHash() string {
	return encodePHC(h.params(), make([]byte, saltLength), make([]byte, keyLength))
}

var b64 = base64.RawStdEncoding // PHC strings use standard base64 without padding

func encodePHC(p Hasher, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

var errMalformedHash = errors.New("password hash is not a PHC argon2id string")

func decodePHC(phc string) (p Hasher, salt, key []byte, err error) {
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: unsupported version %q", errMalformedHash, parts[2])
	}
	var m, t uint32
	var threads uint8
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &threads); err != nil || n != 3 {
		return p, nil, nil, fmt.Errorf("%w: bad parameters %q", errMalformedHash, parts[3])
	}
	if t < 1 || t > maxTime || threads < 1 || m < 8*uint32(threads) || m > maxMemory {
		return p, nil, nil, fmt.Errorf("%w: parameters out of range %q", errMalformedHash, parts[3])
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: bad salt", errMalformedHash)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, fmt.Errorf("%w: bad key", errMalformedHash)
	}
	return Hasher{Memory: m, Time: t, Threads: threads}, salt, key, nil
}
