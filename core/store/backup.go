package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/concorde-civic/concorde/core/errs"
)

// Backup writes a consistent copy of the database named by dsn to file, while the server
// may keep running: SQLite through VACUUM INTO (a transaction-consistent snapshot, compacted),
// PostgreSQL through pg_dump's custom format (pg_dump -Fc). file must not exist yet.
func Backup(ctx context.Context, dsn, file string) error {
	if _, err := os.Stat(file); err == nil {
		return errs.Field("file", "%s already exists; give a new file name", file)
	}
	if IsPostgresURL(dsn) {
		args, env, err := pgArgs(dsn)
		if err != nil {
			return err
		}
		return runPG(ctx, "pg_dump", env, append([]string{"--format=custom", "--no-owner", "--file=" + file}, args...)...)
	}
	db, err := Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	// VACUUM INTO refuses an existing file: write beside the target, then rename, so an
	// interrupted backup never leaves a half-written file under the final name.
	tmp := file + ".partial"
	_ = os.Remove(tmp)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("back up %s: %w", dsn, err)
	}
	return os.Rename(tmp, file)
}

// Restore loads a backup made by Backup into the database named by dsn, which must hold no
// tables yet (a new SQLite file, or an empty PostgreSQL database or schema): restoring over an
// installation would mix two of them. Stop the server first on SQLite.
func Restore(ctx context.Context, dsn, file string) error {
	if _, err := os.Stat(file); err != nil {
		return errs.Field("file", "cannot read the backup: %v", err)
	}
	if IsPostgresURL(dsn) {
		if _, err := pgTool("pg_restore"); err != nil {
			return err
		}
		if err := checkEmpty(ctx, dsn); err != nil {
			return err
		}
		args, env, err := pgArgs(dsn)
		if err != nil {
			return err
		}
		return runPG(ctx, "pg_restore", env, append([]string{"--no-owner", "--exit-on-error", "--single-transaction", file}, args...)...)
	}
	if err := checkSQLiteBackup(ctx, file); err != nil {
		return err
	}
	path := sqlitePath(dsn)
	if _, err := os.Stat(path); err == nil {
		if err := checkEmpty(ctx, dsn); err != nil {
			return err
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	tmp := path + ".restoring"
	if err := copyFile(file, tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("restore: %w", err)
	}
	return os.Rename(tmp, path)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

func sqlitePath(dsn string) string {
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return path
}

// checkSQLiteBackup opens the backup and checks it is a sound Concorde database.
func checkSQLiteBackup(ctx context.Context, file string) error {
	db, err := Open(ctx, file)
	if err != nil {
		return errs.Field("file", "%s is not a SQLite backup: %v", file, err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		return errs.Field("file", "%s is not a sound SQLite backup (integrity check: %q %v)", file, check, err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_entries'").Scan(&n); err != nil || n != 1 {
		return errs.Field("file", "%s is not a backup of a Concorde database", file)
	}
	return nil
}

// checkEmpty refuses a target database that already holds tables.
func checkEmpty(ctx context.Context, dsn string) error {
	db, err := Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	if DialectOf(db) == Postgres {
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
	}
	var n int
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return fmt.Errorf("inspect %s: %w", redact(dsn), err)
	}
	if n > 0 {
		return errs.E(errs.Conflict, "the database %s is not empty (%d tables): restore into a new one", redact(dsn), n)
	}
	return nil
}

// pgArgs turns a postgres:// URL as Concorde reads it (pgx) into arguments and environment for
// the libpq tools: the password goes in PGPASSWORD rather than on a command line anyone may
// read, and a search_path (which libpq does not take in a URL) limits the dump to that schema.
func pgArgs(dsn string) (args, env []string, err error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("database URL %q is malformed", redact(dsn))
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	if sp := q.Get("search_path"); sp != "" {
		args = append(args, "--schema="+sp)
		env = append(env, "PGOPTIONS=-c search_path="+sp)
		q.Del("search_path")
	}
	u.RawQuery = q.Encode()
	return append(args, "--dbname="+u.String()), env, nil
}

// pgTool finds one of PostgreSQL's client tools on the PATH.
func pgTool(tool string) (string, error) {
	path, err := exec.LookPath(tool)
	if err != nil {
		return "", errs.E(errs.Unavailable, "%s is not installed: it is needed to back up and restore PostgreSQL (Debian: apt-get install postgresql-client, of the server's major version or newer)", tool)
	}
	return path, nil
}

// runPG runs one of PostgreSQL's client tools, with a clear error when it is not installed.
func runPG(ctx context.Context, tool string, env []string, args ...string) error {
	path, err := pgTool(tool)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", tool, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
