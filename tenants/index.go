package tenants

import (
	"context"
	"sync"
	"sync/atomic"
)

// MaxHosts bounds the hosts an Index remembers, and MaxUnknownHosts the host names it
// remembers serve no tenant (anyone can send any Host header). Past the bound an arbitrary
// remembered host gives way: it is read again from the database when next asked for.
const (
	MaxHosts        = 100_000
	MaxUnknownHosts = 10_000
)

// Index finds the tenant serving a host name. It reads a host's tenant from the database the
// first time the host is asked for and remembers it until the tenants change (Drop), so that
// a server with 100,000 tenants starts without reading them and keeps only those in use.
// Readers of a remembered host share a read lock.
type Index struct {
	// load reads the tenant serving a normalized host, nil if none.
	load  func(ctx context.Context, host string) (*Tenant, error)
	cache atomic.Pointer[hostCache]
}

// hostCache is one generation of remembered hosts; Drop starts a new one.
type hostCache struct {
	mu      sync.RWMutex
	known   map[string]*Tenant
	unknown map[string]struct{}
}

func (c *hostCache) get(host string) (t *Tenant, found bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if t, ok := c.known[host]; ok {
		return t, true
	}
	_, ok := c.unknown[host]
	return nil, ok
}

func (c *hostCache) put(host string, t *Tenant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t == nil {
		c.unknown[host] = struct{}{}
		evictOne(c.unknown, host, MaxUnknownHosts)
		return
	}
	c.known[host] = t
	evictOne(c.known, host, MaxHosts)
}

// evictOne makes an arbitrary host other than keep give way when m holds more than max (a
// map's iteration starts at random).
func evictOne[V any](m map[string]V, keep string, max int) {
	if len(m) <= max {
		return
	}
	for k := range m {
		if k != keep {
			delete(m, k)
			return
		}
	}
}

// NewIndex returns an empty index that reads hosts with load (Service.hostTenant for the
// real one).
func NewIndex(load func(ctx context.Context, host string) (*Tenant, error)) *Index {
	ix := &Index{load: load}
	ix.Drop()
	return ix
}

// Drop forgets every remembered host: the next request for each reads it again. Called when
// the tenants version moves (a tenant, a host or a status changed, here or on another node).
func (ix *Index) Drop() {
	ix.cache.Store(&hostCache{known: map[string]*Tenant{}, unknown: map[string]struct{}{}})
}

// ByHost returns the tenant serving host (normalized here if it is not already), or nil.
// The tenant returned is shared: callers must not modify it.
func (ix *Index) ByHost(ctx context.Context, host string) (*Tenant, error) {
	c := ix.cache.Load()
	if t, found := c.get(host); found {
		return t, nil
	}
	n := NormalizeHost(host)
	if n != host {
		if t, found := c.get(n); found {
			return t, nil
		}
	}
	if n == "" {
		return nil, nil
	}
	// Read into the generation seen before reading: if the tenants change meanwhile, what
	// was read lands in the generation Drop replaced, never in the new one.
	t, err := ix.load(ctx, n)
	if err != nil {
		return nil, err
	}
	c.put(n, t)
	return t, nil
}

// Remembered is how many hosts serving a tenant the index holds now.
func (ix *Index) Remembered() int {
	c := ix.cache.Load()
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.known)
}
