package pluginhost

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Settings a schema marks "writeOnly" are secrets (an API key for a payment provider, say):
// stored encrypted with a key derived from the server secret, never shown back (the API and
// the admin console see Mask), and decrypted only in the settings a call carries to the plugin.

// Mask stands for a secret that is set, wherever settings are shown.
const Mask = "••••••••"

const secretPrefix = "enc:v1:"

// sealer encrypts and decrypts secret settings (AES-256-GCM).
type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte) *sealer {
	if len(secret) == 0 {
		return nil
	}
	k := sha256.Sum256(append([]byte("concorde plugin settings v1\x00"), secret...))
	block, _ := aes.NewCipher(k[:])
	aead, _ := cipher.NewGCM(block)
	return &sealer{aead: aead}
}

func (s *sealer) seal(plain string) (string, error) {
	if s == nil {
		return "", errors.New("no secret configured to encrypt plugin settings")
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return secretPrefix + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), nil)), nil
}

func (s *sealer) open(sealed string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, secretPrefix))
	if s == nil || err != nil || len(raw) < s.aead.NonceSize() {
		return "", errors.New("cannot decrypt a secret setting")
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], nil)
	if err != nil {
		return "", errors.New("cannot decrypt a secret setting (was the server secret changed?)")
	}
	return string(plain), nil
}

// sealSettings encrypts the secrets of validated settings. A secret sent back as Mask, or left
// out, keeps its stored value: admins change a secret only by typing a new one.
func (h *Host) sealSettings(schema *Schema, clean json.RawMessage, stored string) (json.RawMessage, error) {
	var v, old map[string]any
	if err := json.Unmarshal(clean, &v); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(stored), &old)
	for name, p := range schema.Properties {
		if !p.WriteOnly {
			continue
		}
		s, sent := v[name].(string)
		switch {
		case !sent || s == Mask:
			if prev, ok := old[name].(string); ok && strings.HasPrefix(prev, secretPrefix) {
				v[name] = prev
			} else {
				delete(v, name)
			}
		case s == "":
			delete(v, name)
		default:
			sealed, err := h.sealer.seal(s)
			if err != nil {
				return nil, err
			}
			v[name] = sealed
		}
	}
	return json.Marshal(v)
}

// keepSecrets marks, in settings an admin sends, the secrets already stored that they left
// out as Mask, so that a required secret need not be typed again at each change.
func keepSecrets(schema *Schema, sent json.RawMessage, stored string) json.RawMessage {
	var v, old map[string]any
	if json.Unmarshal(sent, &v) != nil || v == nil || json.Unmarshal([]byte(stored), &old) != nil {
		return sent
	}
	for name, p := range schema.Properties {
		if _, ok := v[name]; !ok && p.WriteOnly && old[name] != nil {
			v[name] = Mask
		}
	}
	b, _ := json.Marshal(v)
	return b
}

// maskSettings is stored settings as people may see them: secrets as Mask.
func maskSettings(schema *Schema, stored string) json.RawMessage {
	var v map[string]any
	if schema == nil || json.Unmarshal([]byte(stored), &v) != nil {
		return json.RawMessage(stored)
	}
	for name, p := range schema.Properties {
		if _, ok := v[name]; ok && p.WriteOnly {
			v[name] = Mask
		}
	}
	b, _ := json.Marshal(v)
	return b
}

// effectiveSettings is what a call carries to the plugin: stored settings with the schema's
// defaults for what is missing and secrets decrypted.
func (h *Host) effectiveSettings(p Plugin, stored string) string {
	schema, err := ParseSchema([]byte(p.Manifest.GetSettingsSchema()))
	if err != nil || len(schema.Properties) == 0 {
		return stored
	}
	var v map[string]any
	if json.Unmarshal([]byte(stored), &v) != nil || v == nil {
		v = map[string]any{}
	}
	for name, prop := range schema.Properties {
		cur, ok := v[name]
		switch {
		case !ok && prop.Default != nil:
			v[name] = prop.Default
		case ok && prop.WriteOnly:
			plain, err := h.sealer.open(cur.(string))
			if err != nil {
				h.log.Error("plugin secret setting", "plugin", p.Name, "setting", name, "error", err.Error())
				delete(v, name)
				continue
			}
			v[name] = plain
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}
