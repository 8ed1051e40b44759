package store

import "github.com/uptrace/bun"

// Platform is the data-access view across every tenant, for the few queries on tenant tables
// that span them on purpose: housekeeping (expired sessions), platform metrics, the lookup of
// an API token by its hash (unique over all tenants), verifying every audit chain. It is a
// type of its own, apart from Scope, so that code handed a tenant's Scope cannot reach another
// tenant, and every query across tenants says so where it is written (store.Across).
type Platform struct {
	db bun.IDB
}

// Across returns the view across every tenant of db.
func Across(db bun.IDB) Platform { return Platform{db: db} }

// Select starts a query on model's table, over every tenant.
func (p Platform) Select(model any) *bun.SelectQuery { return p.db.NewSelect().Model(model) }

// Delete starts a delete on model's table, over every tenant.
func (p Platform) Delete(model any) *bun.DeleteQuery { return p.db.NewDelete().Model(model) }

// SelectTable starts a query on a table by name, over every tenant (aggregates across tenants).
func (p Platform) SelectTable(table string) *bun.SelectQuery {
	return p.db.NewSelect().TableExpr(table)
}
