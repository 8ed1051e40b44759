package migrations_test

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/concorde-civic/concorde/migrations"
)

func TestDialects_HoldTheSameMigrations(t *testing.T) {
	names := func(d string) []string {
		m, err := fs.Glob(migrations.For(d), "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	sq, pg := names("sqlite"), names("postgres")
	if len(sq) == 0 || !slices.Equal(sq, pg) {
		t.Fatalf("sqlite %v, postgres %v", sq, pg)
	}
}
