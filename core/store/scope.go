package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"

	"github.com/uptrace/bun"
)

// TenantOwned is a row of a tenant-scoped table: its primary key starts with tenant_id.
type TenantOwned interface {
	SetTenantID(id int64)
}

// Scope is the only way to read or write tenant-scoped rows: every query it builds is
// restricted to one tenant, and every row it inserts is stamped with that tenant.
// A Scope cannot be built without a tenant, and gives no way out of it: the few queries that
// span every tenant on purpose go through Platform (store.Across) instead.
type Scope struct {
	db     bun.IDB
	tenant int64
}

// For returns the data-access view of one tenant. It panics on a zero tenant, which is
// always a programming error (the tenant comes from the request's host, resolved earlier).
func For(db bun.IDB, tenantID int64) Scope {
	if tenantID <= 0 {
		panic(fmt.Sprintf("store.For: invalid tenant id %d", tenantID))
	}
	return Scope{db: db, tenant: tenantID}
}

// TenantID is the tenant this scope reads and writes.
func (s Scope) TenantID() int64 { return s.tenant }

// Dialect is the SQL flavour of the scope's database, for the few statements that differ
// (row locks, random values).
func (s Scope) Dialect() Dialect { return DialectOf(s.db) }

// Select starts a query on model's table, restricted to this tenant.
func (s Scope) Select(model any) *bun.SelectQuery {
	return s.db.NewSelect().Model(model).Where("?TableAlias.tenant_id = ?", s.tenant)
}

// SelectFrom starts a query on table (named alias in the query), restricted to this tenant,
// for what no model describes: grouped counts, joins. Whatever it joins must be joined on
// alias.tenant_id too.
func (s Scope) SelectFrom(table, alias string) *bun.SelectQuery {
	return s.db.NewSelect().TableExpr("? AS ?", bun.Ident(table), bun.Ident(alias)).
		Where("?.tenant_id = ?", bun.Ident(alias), s.tenant)
}

// Insert stamps model (a TenantOwned or a pointer to a slice of them) with this tenant and
// starts its insert.
func (s Scope) Insert(model any) *bun.InsertQuery {
	s.stamp(model)
	return s.db.NewInsert().Model(model)
}

// Update starts an update of model's table, restricted to this tenant.
func (s Scope) Update(model any) *bun.UpdateQuery {
	s.stamp(model)
	return s.db.NewUpdate().Model(model).Where("?TableAlias.tenant_id = ?", s.tenant)
}

// Delete starts a delete on model's table, restricted to this tenant.
func (s Scope) Delete(model any) *bun.DeleteQuery {
	return s.db.NewDelete().Model(model).Where("?TableAlias.tenant_id = ?", s.tenant)
}

// Tx runs fn in a transaction whose scope is this tenant's.
func (s Scope) Tx(ctx context.Context, fn func(ctx context.Context, tx Scope) error) error {
	return s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		return fn(ctx, Scope{db: tx, tenant: s.tenant})
	})
}

// Lock takes, until the end of the current transaction, the lock named class of this tenant:
// writers of one tenant's data that must not interleave (its audit chain, its vote counters)
// take the same class. On PostgreSQL it is an advisory lock keyed (class, tenant) (two
// tenants that share their low 32 bits only share a lock, which is harmless); on SQLite it
// is nothing, since writing transactions begin IMMEDIATE and already exclude each other.
// Outside a transaction it is released at once, so call it inside Tx.
func (s Scope) Lock(ctx context.Context, class int32) error {
	if s.Dialect() != Postgres {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, ?)", class, int32(s.tenant)); err != nil {
		return fmt.Errorf("lock %#x of tenant %d: %w", class, s.tenant, err)
	}
	return nil
}

func (s Scope) stamp(model any) {
	if v := reflect.ValueOf(model); v.Kind() == reflect.Pointer && v.IsNil() {
		return // a table model such as (*User)(nil): nothing to stamp
	}
	if o, ok := model.(TenantOwned); ok {
		o.SetTenantID(s.tenant)
		return
	}
	v := reflect.ValueOf(model)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Slice {
		return // a table model such as (*User)(nil): nothing to stamp
	}
	for i := 0; i < v.Len(); i++ {
		e := v.Index(i)
		if e.Kind() != reflect.Pointer {
			e = e.Addr()
		}
		if o, ok := e.Interface().(TenantOwned); ok {
			o.SetTenantID(s.tenant)
		}
	}
}
