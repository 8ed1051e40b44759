package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/changes"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/tenants"
)

// ScaleSlug is the slug of the i-th tenant SeedTenants makes (from 1); it is served at
// ScaleSlug(i) + ".localhost", and its admin, if any, is "admin@" + that host.
func ScaleSlug(i int) string { return fmt.Sprintf("scale-%06d", i) }

// SeedTenants migrates the database at url and adds n tenants, each with one tenant admin
// when admins is set (an account without a password: it cannot sign in, it only weighs on
// the policy as a real one would), in bulk: multi-row inserts of 1,000 rows in one
// transaction, so that 10,000 tenants take a second or two rather than the minutes of
// provisioning them one by one.
func SeedTenants(ctx context.Context, url string, n int, admins bool) error {
	db, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db); err != nil {
		return err
	}
	ids := &store.IDs{}
	now := time.Now().UTC().Truncate(time.Microsecond)
	ts := make([]tenants.Tenant, n)
	hosts := make([]tenants.Host, n)
	var users []identity.User
	var grants [][]string
	for i := range ts {
		slug := ScaleSlug(i + 1)
		ts[i] = tenants.Tenant{ID: ids.Next(), Slug: slug, Kind: tenants.City, Name: "Ville " + slug,
			ColorPrimary: "#1d4ed8", ColorAccent: "#b91c1c", DefaultLocale: "fr", Status: tenants.Active,
			CreatedAt: now, UpdatedAt: now}
		hosts[i] = tenants.Host{TenantID: ts[i].ID, Host: slug + ".localhost"}
		if admins {
			u := identity.User{TenantID: ts[i].ID, ID: ids.Next(), Email: "admin@" + slug + ".localhost", Name: "Admin", CreatedAt: now}
			users = append(users, u)
			grants = append(grants, authz.GrantRule(authz.UserSubject(u.TenantID, u.ID), authz.TenantAdmin, authz.Domain(u.TenantID)))
		}
	}
	return db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if err := insertAll(ctx, tx, ts); err != nil {
			return fmt.Errorf("seed tenants: %w", err)
		}
		if err := insertAll(ctx, tx, hosts); err != nil {
			return fmt.Errorf("seed tenant hosts: %w", err)
		}
		if err := insertAll(ctx, tx, users); err != nil {
			return fmt.Errorf("seed users: %w", err)
		}
		if err := insertGrants(ctx, tx, grants); err != nil {
			return fmt.Errorf("seed grants: %w", err)
		}
		for _, topic := range []changes.Topic{changes.Tenants, changes.Policy} {
			if _, err := changes.Bump(ctx, tx, topic, ""); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertAll[T any](ctx context.Context, tx bun.Tx, rows []T) error {
	for len(rows) > 0 {
		chunk := rows[:min(1000, len(rows))]
		rows = rows[len(chunk):]
		if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

func insertGrants(ctx context.Context, tx bun.Tx, grants [][]string) error {
	for len(grants) > 0 {
		chunk := grants[:min(1000, len(grants))]
		grants = grants[len(chunk):]
		var b strings.Builder
		args := make([]any, 0, 3*len(chunk))
		b.WriteString("INSERT INTO casbin_rules (ptype, v0, v1, v2, v3, v4, v5) VALUES ")
		for i, g := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("('g', ?, ?, ?, '', '', '')")
			args = append(args, g[0], g[1], g[2])
		}
		if _, err := tx.NewRaw(b.String(), args...).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// CPUTime is the processor time the server has used so far (user and system, from
// /proc/PID/stat; Linux only).
func (s *Server) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.PID()))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields are counted after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", s.PID(), b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", s.PID())
	}
	// utime and stime are fields 14 and 15 of the line, 12 and 13 after the name, in clock
	// ticks of 1/100 s (USER_HZ, 100 on every Linux Go runs on).
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times %q %q", s.PID(), f[11], f[12])
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}
