package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/concorde-civic/concorde/migrations"
)

func migrator(db *bun.DB) (*migrate.Migrator, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(migrations.For(string(DialectOf(db)))); err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	return migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}

// Migrate applies every embedded migration not yet applied, and returns their names.
func Migrate(ctx context.Context, db *bun.DB) ([]string, error) {
	m, err := migrator(db)
	if err != nil {
		return nil, err
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("create migration tables: %w", err)
	}
	if err := m.Lock(ctx); err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	defer func() { _ = m.Unlock(ctx) }()
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	var names []string
	for _, mg := range group.Migrations {
		names = append(names, mg.Name+"_"+mg.Comment)
	}
	return names, nil
}

// MigrationStatus is one embedded migration and whether it is applied.
type MigrationStatus struct {
	Name    string `json:"name"`
	Applied bool   `json:"applied"`
}

// Status lists the embedded migrations with their state.
func Status(ctx context.Context, db *bun.DB) ([]MigrationStatus, error) {
	m, err := migrator(db)
	if err != nil {
		return nil, err
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("create migration tables: %w", err)
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("read migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(ms))
	for _, mg := range ms {
		out = append(out, MigrationStatus{Name: mg.Name + "_" + mg.Comment, Applied: mg.IsApplied()})
	}
	return out, nil
}

// Current reports whether every embedded migration is applied (for /readyz).
func Current(ctx context.Context, db *bun.DB) (bool, error) {
	st, err := Status(ctx, db)
	if err != nil {
		return false, err
	}
	for _, s := range st {
		if !s.Applied {
			return false, nil
		}
	}
	return true, nil
}
