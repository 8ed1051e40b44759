// Package store opens the database (embedded SQLite or PostgreSQL), applies the embedded
// migrations, and gives the one tenant-scoped data-access layer every tenant query goes through.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// Dialect names the SQL flavour of an open database.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// IsPostgresURL reports whether a database URL names PostgreSQL rather than a SQLite file.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Open connects to the database named by dsn: a postgres:// URL or a SQLite file path
// (optionally prefixed with sqlite: or file:). It checks the connection before returning,
// so a bad address fails here with one clear error.
func Open(ctx context.Context, dsn string) (*bun.DB, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("database URL is empty: set CONCORDE_DATABASE_URL to a SQLite path or a postgres:// URL")
	}
	var db *bun.DB
	if IsPostgresURL(dsn) {
		u, err := url.Parse(dsn)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("database URL %q is malformed: expected postgres://user@host:port/dbname", redact(dsn))
		}
		sqldb, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("database URL %q: %v", redact(dsn), err)
		}
		sqldb.SetMaxOpenConns(20)
		sqldb.SetMaxIdleConns(20)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		db = bun.NewDB(sqldb, pgdialect.New())
	} else {
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("database directory %s: %v", dir, err)
			}
		}
		q := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=mmap_size(268435456)&_pragma=cache_size(-32000)" +
			fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)&_pragma=journal_size_limit(%d)", walAutocheckpoint, 4096*walAutocheckpoint) + "&_txlock=immediate"
		sqldb, err := sql.Open(sqliteshim.ShimName, "file:"+path+"?"+q)
		if err != nil {
			return nil, fmt.Errorf("database %s: %v", path, err)
		}
		sqldb.SetMaxOpenConns(8)
		sqldb.SetMaxIdleConns(8)
		sqldb.SetConnMaxLifetime(0)
		db = bun.NewDB(sqldb, sqlitedialect.New())
		go checkpoint(sqldb, checkpointEvery)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		// Drivers may report one line per address tried: keep each distinct one, on one line.
		var parts []string
		for _, l := range strings.Split(err.Error(), "\n") {
			if l = strings.TrimSpace(l); l != "" && !slices.Contains(parts, l) {
				parts = append(parts, l)
			}
		}
		msg := strings.Join(parts, " ")
		return nil, fmt.Errorf("database %s is unreachable: %s", redact(dsn), msg)
	}
	return db, nil
}

// SQLite in WAL mode appends each commit to the write-ahead log and copies the log back into
// the database file at checkpoints, which by default the committing connection runs itself
// once the log passes 1,000 pages (4 MB). Under a steady vote load that is every few commits
// of the single vote writer, which then waits for the copy and its fsyncs while votes queue.
// Here a goroutine checkpoints every checkpointEvery instead, beside the writer (a PASSIVE
// checkpoint takes no lock a writer needs), and the writer's own checkpoint only starts past
// walAutocheckpoint pages, should the goroutine fall behind. Under a steady load the log only
// starts over from its beginning after a checkpoint that nothing was committed after, which
// is rarely the goroutine's, so the log file grows to about walAutocheckpoint pages (64 MB
// against 4 MB before) and stays that size; a log that a long reader let grow further is
// cut back to that size once it starts over (journal_size_limit). Durability does not
// change: a commit is in the log, which survives the process being killed, before it is
// acknowledged.
const (
	checkpointEvery   = time.Second
	walAutocheckpoint = 16384 // pages of 4 KB: 64 MB
)

// checkpoint runs a PASSIVE checkpoint every period until db is closed.
func checkpoint(db *sql.DB, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for range t.C {
		if _, err := db.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil && strings.Contains(err.Error(), "database is closed") {
			return
		}
	}
}

// DialectOf tells which SQL flavour db speaks.
func DialectOf(db bun.IDB) Dialect {
	if db.Dialect().Name().String() == "pg" {
		return Postgres
	}
	return SQLite
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}

// IsUniqueViolation reports whether err is a unique or primary-key constraint failure,
// on either dialect.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || // SQLite
		strings.Contains(s, "SQLSTATE 23505") || // PostgreSQL through pgx
		strings.Contains(s, "duplicate key value")
}

// IsNoRows reports whether err says a query found nothing.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// EscapeLike makes s a literal in a LIKE pattern written with ESCAPE '\': its %, _ and \ match
// themselves.
func EscapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
