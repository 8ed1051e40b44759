package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// MinSecretLength is the shortest signing secret Participants and CSRFToken accept, in bytes.
const MinSecretLength = 16

const (
	participantIDBytes  = 16
	participantIDLength = 22 // base64url of 16 bytes, unpadded
	macLength           = 43 // base64url of an HMAC-SHA256, unpadded
)

// Participants identifies anonymous citizens by a signed cookie, without a database row:
// the cookie is the participant's id and an HMAC of it under Secret, so only the server can
// mint one and a client cannot change its id.
type Participants struct {
	Secret []byte
}

// New returns a new participant id and the cookie value that carries it.
// It panics if Secret is shorter than MinSecretLength, which is a configuration mistake.
func (p Participants) New() (id, cookie string) {
	if len(p.Secret) < MinSecretLength {
		panic("identity: participant secret is shorter than MinSecretLength")
	}
	b := make([]byte, participantIDBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it aborts the program instead)
	id = base64.RawURLEncoding.EncodeToString(b)
	return id, id + "." + sign(p.Secret, "participant:"+id)
}

// Parse returns the participant id carried by cookie, and false if the cookie is malformed,
// forged or was signed with another secret.
func (p Participants) Parse(cookie string) (id string, ok bool) {
	if len(p.Secret) < MinSecretLength || len(cookie) != participantIDLength+1+macLength {
		return "", false
	}
	id, mac, found := strings.Cut(cookie, ".")
	if !found || len(id) != participantIDLength {
		return "", false
	}
	if raw, err := base64.RawURLEncoding.Strict().DecodeString(id); err != nil || len(raw) != participantIDBytes {
		return "", false
	}
	if !equal(mac, sign(p.Secret, "participant:"+id)) {
		return "", false
	}
	return id, true
}

// CSRFToken returns the token forms must echo for the session identified by sessionKey
// (a staff session token or a participant id).
func CSRFToken(secret []byte, sessionKey string) string {
	return sign(secret, "csrf:"+sessionKey)
}

// PluginCSRFToken is the CSRF token a plugin's pages put in their forms: valid for that
// plugin's routes only, so a plugin's page cannot post to the core's (or another plugin's)
// routes with the viewer's rights.
func PluginCSRFToken(secret []byte, sessionKey, plugin string) string {
	return sign(secret, "csrf:plugin:"+plugin+":"+sessionKey)
}

// CheckPluginCSRF is CheckCSRF for the token of one plugin.
func CheckPluginCSRF(secret []byte, sessionKey, plugin, got string) bool {
	if len(secret) < MinSecretLength || sessionKey == "" || got == "" || plugin == "" {
		return false
	}
	return equal(got, PluginCSRFToken(secret, sessionKey, plugin))
}

// CheckCSRF reports whether got is the CSRF token of sessionKey, comparing in constant time.
// An empty session key or secret never checks out.
func CheckCSRF(secret []byte, sessionKey, got string) bool {
	if len(secret) < MinSecretLength || sessionKey == "" || got == "" {
		return false
	}
	return equal(got, CSRFToken(secret, sessionKey))
}

// sign returns base64url(HMAC-SHA256(secret, msg)). Callers prefix msg with its purpose
// ("participant:", "csrf:") so one secret can sign several kinds of value safely.
func sign(secret []byte, msg string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
