package tenants

import (
	"sync/atomic"
)

// Index finds the tenant serving a host name in O(1). It is rebuilt whole from the database
// on every change and swapped atomically, so readers never lock.
type Index struct {
	byHost atomic.Pointer[map[string]*Tenant]
	bySlug atomic.Pointer[map[string]*Tenant]
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	ix := &Index{}
	ix.Replace(nil)
	return ix
}

// Replace installs a new set of tenants.
func (ix *Index) Replace(all []*Tenant) {
	hosts := make(map[string]*Tenant, len(all)*2)
	slugs := make(map[string]*Tenant, len(all))
	for _, t := range all {
		slugs[t.Slug] = t
		for _, h := range t.Hosts {
			hosts[h] = t
		}
	}
	ix.byHost.Store(&hosts)
	ix.bySlug.Store(&slugs)
}

// ByHost returns the tenant serving host (already normalized by the caller or not), or nil.
// The tenant returned is shared: callers must not modify it.
func (ix *Index) ByHost(host string) *Tenant {
	m := *ix.byHost.Load()
	if t, ok := m[host]; ok {
		return t
	}
	return m[NormalizeHost(host)]
}

// Count returns the number of tenants per status.
func (ix *Index) Count() map[Status]int {
	out := map[Status]int{Active: 0, Suspended: 0}
	for _, t := range *ix.bySlug.Load() {
		out[t.Status]++
	}
	return out
}
