package sdk

import (
	"os"
	"strings"
	"testing"
)

// An author's module graph is the SDK's: none of the host's own dependencies may leak into it.
func TestModuleKeepsTheHostsDependenciesOut(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(mod), "module github.com/concorde-civic/concorde/plugins/sdk\n") {
		t.Fatalf("go.mod does not declare the SDK module:\n%s", mod)
	}
	for _, host := range []string{"gofiber/fiber", "uptrace/bun", "casbin/casbin", "chromedp", "jackc/pgx",
		"redis/go-redis", "modernc.org/sqlite", "concorde-civic/concorde "} {
		if strings.Contains(string(mod), host) {
			t.Errorf("the SDK's go.mod requires %s, a host dependency", host)
		}
	}
}
