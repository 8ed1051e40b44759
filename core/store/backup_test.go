package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// Without PostgreSQL's client tools, backup and restore say what to install, and touch nothing.
func TestBackup_PostgresWithoutClientToolsSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	file := filepath.Join(t.TempDir(), "backup")
	url := "postgres://postgres@127.0.0.1:1/none?sslmode=disable"
	for name, run := range map[string]func() error{
		"pg_dump":    func() error { return store.Backup(context.Background(), url, file) },
		"pg_restore": func() error { return store.Restore(context.Background(), url, "backup_test.go") },
	} {
		err := run()
		if msg, _ := errs.MessageOf(err); !errs.Is(err, errs.Unavailable) || !strings.Contains(msg, name+" is not installed") || !strings.Contains(msg, "postgresql-client") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A file that is not a backup is refused before the database is touched.
func TestRestore_RefusesAFileThatIsNotABackup(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database\n", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "concorde.db")
	err := store.Restore(context.Background(), target, junk)
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("restore from a text file: %v", err)
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("a database was created from it")
	}
}
