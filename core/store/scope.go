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
// A Scope cannot be built without a tenant.
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

// DB is the underlying handle, for queries on global tables (tenants, hosts, policies).
func (s Scope) DB() bun.IDB { return s.db }

// Select starts a query on model's table, restricted to this tenant.
func (s Scope) Select(model any) *bun.SelectQuery {
	return s.db.NewSelect().Model(model).Where("?TableAlias.tenant_id = ?", s.tenant)
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
