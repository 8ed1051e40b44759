package catalog

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/concorde-civic/concorde/core/results"
)

// Opinions is a consultation's opinion groups and bridging scores as last computed, with
// what is read from the raw votes at the same time: the votes outside the sequence per
// origin (direct link, search, results page, ignored key), published beside the results.
// Counting those per origin on every vote would cost the vote path an index; read in the
// background, they cost it nothing.
type Opinions struct {
	results.Opinions
	ComputedAt    time.Time
	BesideOrigins map[int64]results.OriginVotes
}

// FixOpinions gives an entry built outside the catalog (a results snapshot) its opinion
// groups, computed by the caller: they are part of what is frozen.
func (e *Entry) FixOpinions(o *Opinions) { e.opinions = func() *Opinions { return o } }

// opinionSlot holds one consultation's last opinions and whether a computation runs.
type opinionSlot struct {
	last    atomic.Pointer[Opinions]
	running atomic.Bool
}

// Opinions returns the consultation's opinion groups as last computed, nil before the
// first computation ends. Groups take seconds for a million votes, so they are never
// computed on a request: when the last result is missing, or older than OpinionsEvery while
// sequence votes have changed since, this starts one computation in the background (one
// at a time per consultation) and returns what there is.
func (e *Entry) Opinions() *Opinions {
	if e.opinions == nil {
		return nil
	}
	return e.opinions()
}

func (c *Catalog) opinionsOf(tenantID int64, e *Entry) *Opinions {
	k := key{tenantID, e.Consultation.ID}
	c.mu.Lock()
	sl := c.opinionSlots[k]
	if sl == nil {
		sl = &opinionSlot{}
		c.opinionSlots[k] = sl
	}
	c.mu.Unlock()
	cur := sl.last.Load()
	var votes int64
	for _, n := range e.Counts {
		votes += n.Total(results.Sequence)
	}
	stale := cur == nil || (int64(cur.Votes) != votes && time.Since(cur.ComputedAt) >= c.OpinionsEvery)
	if stale && sl.running.CompareAndSwap(false, true) {
		cid := e.Consultation.ID
		go func() {
			defer sl.running.Store(false)
			// Not a request's context: the computation serves every later request.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			o, err := c.votes.Opinions(ctx, tenantID, cid, results.DefaultGroupsConfig())
			if err != nil {
				return // the last result stays; a later request tries again
			}
			beside, err := c.votes.BesideByOrigin(ctx, tenantID, cid)
			if err != nil {
				return
			}
			sl.last.Store(&Opinions{Opinions: o, ComputedAt: time.Now().UTC(), BesideOrigins: beside})
			c.rebuild(k) // the responses that showed the groups pending are built again
		}()
	}
	return cur
}
