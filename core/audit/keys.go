package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// keyedTag versions the encoding of keyed entries (canonicalTag is the legacy one).
const keyedTag = "audit/2"

// Keyring holds the key new entries are hashed with and the retired keys older entries may
// have been hashed with, by key id. The keys live outside the database (configuration), so
// someone who can edit rows cannot recompute the hashes of the entries they change.
type Keyring struct {
	current string
	keys    map[string][]byte
}

// DeriveKey derives an audit key from the server secret, for installations that set no
// separate audit key. Domain separation keeps it from equalling any other use of the secret.
func DeriveKey(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("concorde audit chain key v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// KeyID names a key without revealing it: stored with every entry hashed with it.
func KeyID(key string) string {
	sum := sha256.Sum256([]byte("concorde audit key id\x00" + key))
	return "k" + hex.EncodeToString(sum[:6])
}

// NewKeyring returns a keyring hashing new entries with current. Each of previous is a
// retired audit key, or a retired server secret whose derived key was in use: both are
// accepted when verifying.
func NewKeyring(current string, previous ...string) *Keyring {
	k := &Keyring{current: KeyID(current), keys: map[string][]byte{KeyID(current): []byte(current)}}
	for _, p := range previous {
		if p = strings.TrimSpace(p); p != "" {
			for _, key := range []string{p, DeriveKey(p)} {
				k.keys[KeyID(key)] = []byte(key)
			}
		}
	}
	return k
}

// CurrentID is the id of the key new entries are hashed with.
func (k *Keyring) CurrentID() string { return k.current }

// Hash returns the HMAC-SHA256 of the entry's fields under the key it names, or an error when
// the keyring lacks that key.
func (k *Keyring) Hash(e *Entry) (string, error) {
	key, ok := k.keys[e.KeyID]
	if !ok {
		return "", fmt.Errorf("unknown audit key %q", e.KeyID)
	}
	return mac(key, []any{keyedTag, e.KeyID, e.PrevHash, e.TenantID, e.Seq, e.At.UTC().Format(time.RFC3339Nano),
		e.Actor, e.Action, e.Object, string(e.Detail)}), nil
}

// mac is hex(HMAC-SHA256(key, JSON array of fields)): an array keeps one field's bytes from
// shifting into the next.
func mac(key []byte, fields []any) string {
	b, err := json.Marshal(fields)
	if err != nil { // strings and integers always marshal
		panic(fmt.Sprintf("audit: encode fields: %v", err))
	}
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// Head is a signed statement of where a tenant's chain ended at a time. Saved outside the
// database (by an auditor, a cron job, a second system), it lets Verify detect later that the
// tail was cut off or rewritten, which the chain alone cannot show.
type Head struct {
	TenantID int64  `json:"tenant_id"`
	Tenant   string `json:"tenant"` // the tenant's slug, for the command line
	Seq      int64  `json:"seq"`    // the last entry; 0 for an empty chain
	Hash     string `json:"hash"`   // its hash
	// KeyedFrom is the first keyed entry (0 if none yet): rewriting the whole chain as legacy
	// entries, which needs no key, changes it.
	KeyedFrom int64     `json:"keyed_from"`
	At        time.Time `json:"at"`
	KeyID     string    `json:"key_id"`
	Signature string    `json:"signature"`
}

func (k *Keyring) signHead(h Head) (string, error) {
	key, ok := k.keys[h.KeyID]
	if !ok {
		return "", fmt.Errorf("unknown audit key %q", h.KeyID)
	}
	return mac(key, []any{"audit-head/1", h.TenantID, h.Tenant, h.Seq, h.Hash, h.KeyedFrom,
		h.At.UTC().Format(time.RFC3339Nano), h.KeyID}), nil
}

// checkHead reports whether h's signature is right under the key it names.
func (k *Keyring) checkHead(h Head) bool {
	want, err := k.signHead(h)
	return err == nil && hmac.Equal([]byte(want), []byte(h.Signature))
}
