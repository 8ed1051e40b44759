package catalog

import (
	"context"

	"github.com/concorde-civic/concorde/core/results"
)

// SlugKeys are the slugs the catalog maps to consultations (for tests).
func SlugKeys(c *Catalog) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.bySlug {
		out = append(out, k.slug)
	}
	return out
}

// Pointers is how many slugs and proposals the catalog maps to consultations (for tests).
func Pointers(c *Catalog) (slugs, proposals int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bySlug), len(c.byProposal)
}

// RefreshNow builds, at once, the entry that follows the one held for a consultation after
// one vote on proposal pid: by reading it whole (full) or by folding the writer's change in.
func RefreshNow(c *Catalog, tenantID, consultationID, pid int64, full bool) (*Entry, error) {
	c.mu.Lock()
	sl := c.slots[key{tenantID, consultationID}]
	c.mu.Unlock()
	e := sl.entry.Load()
	var one results.Counts
	one.Votes[results.Sequence][0] = 1
	sl.mu.Lock()
	sl.pending = map[int64]results.Counts{pid: one}
	sl.mu.Unlock()
	kind := foldCounts
	if full {
		kind = readAll
	}
	fresh, err := c.refresh(context.Background(), sl, e, kind)
	if err != nil {
		return nil, err
	}
	sl.entry.Store(fresh)
	return fresh, nil
}
