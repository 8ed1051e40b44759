package identity_test

import (
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
)

func TestPassword_RoundTripAndWrongPassword(t *testing.T) {
	phc, err := cheap.Hash(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not in PHC argon2id form", phc)
	}
	if strings.Contains(phc, goodPassword) {
		t.Fatal("hash contains the password")
	}
	if ok, err := identity.Verify(goodPassword, phc); err != nil || !ok {
		t.Fatalf("right password: %v, %v", ok, err)
	}
	for _, wrong := range []string{"correct horse battery ", "Correct horse battery", "", "correct horse batter"} {
		if ok, err := identity.Verify(wrong, phc); err != nil || ok {
			t.Errorf("wrong password %q: %v, %v", wrong, ok, err)
		}
	}
	again, _ := cheap.Hash(goodPassword)
	if again == phc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestPassword_DefaultCostIsInTheHash(t *testing.T) {
	phc, err := identity.DefaultHasher.Hash(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Fatalf("default hash %q", phc)
	}
	// Verify reads the cost from the hash, whatever the verifying side's hasher.
	if ok, err := identity.Verify(goodPassword, phc); err != nil || !ok {
		t.Fatalf("verify: %v, %v", ok, err)
	}
}

func TestPassword_PolicyRejectsShort(t *testing.T) {
	for _, tc := range []struct {
		name string
		pw   string
		ok   bool
	}{
		{"empty", "", false},
		{"9 characters", "123456789", false},
		{"10 characters", "1234567890", true},
		{"10 accented characters, more bytes", "éééééééééé", true},
		{"9 accented characters, 18 bytes", "ééééééééé", false},
		{"256 characters", strings.Repeat("a", 256), true},
		{"257 characters", strings.Repeat("a", 257), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cheap.Hash(tc.pw)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantKind(t, err, errs.Invalid)
			if _, field := errs.MessageOf(err); field != "password" {
				t.Fatalf("field %q, want password", field)
			}
		})
	}
}

func TestPassword_MalformedHashIsAnErrorNotAMatch(t *testing.T) {
	good, _ := cheap.Hash(goodPassword)
	parts := strings.Split(good, "$")
	for _, phc := range []string{
		"",
		"plaintext",
		"$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + parts[4] + "$" + parts[5], // 4 TiB
		"$argon2id$v=19$m=64,t=1000000,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4],
		good + "$extra",
	} {
		ok, err := identity.Verify(goodPassword, phc)
		if ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want false and an error", phc, ok, err)
		}
	}
}
