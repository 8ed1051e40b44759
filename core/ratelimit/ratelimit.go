// Package ratelimit bounds how often a client may do something (vote, ask for a sequence,
// propose, sign in or up): per participant and per client address, in a sliding window,
// counted in this node's memory or, with Redis, across every node.
package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/metrics"
)

// Limits are the vote rate limits the caller applies before Cast (see Limiter.AllowVote).
// A zero field takes DefaultLimits' value; a negative limit turns that limit off.
type Limits struct {
	PerParticipant int           // votes per participant (session or account) per Window
	PerSource      int           // votes per source (client address) per Window; shared by a household or an office
	Window         time.Duration // the sliding window
}

// DefaultLimits let a fast reader vote a whole sequence and more (a sequence is 12
// proposals) and stop scripts: 60 votes a minute per participant, 600 per source.
var DefaultLimits = Limits{PerParticipant: 60, PerSource: 600, Window: time.Minute}

// LimitStore counts events per key in a sliding window: Take counts one event for key at
// now if it fits in limit events per window, and reports whether it did (refused events are
// not counted, so a client that waits gets through). MemoryStore keeps the counts of one
// node; core/redislimit keeps them in Redis for every node of an installation.
type LimitStore interface {
	Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, error)
}

// Limiter applies rate limits (votes, proposals, sign-in and sign-up attempts) with the
// counts of a LimitStore: this node's memory, or a store every node shares.
//
// With a shared store, a store that fails (Redis down or slow) does not stop anyone: the
// Limiter fails open to this node's own counts, so the limits still hold per node (times
// the number of nodes for the whole site), logs once when that starts and once when it
// ends, counts the failures in concorde_rate_limit_store_errors_total and shows
// concorde_rate_limit_shared at 0. It tries the store again RetryAfter later. Refusing every
// vote while Redis restarts would turn a cache outage into a site outage.
type Limiter struct {
	now    func() time.Time
	local  *MemoryStore
	shared LimitStore
	opts   SharedLimits

	retryAt  atomic.Int64 // Unix nanoseconds before which the shared store is not tried again
	degraded atomic.Bool  // counting locally because the shared store failed
	errors   prometheus.Counter
	up       prometheus.Gauge
}

// SharedLimits configure a Limiter whose counts live in a store shared by every node.
type SharedLimits struct {
	Store    LimitStore
	Log      *slog.Logger
	Registry prometheus.Registerer
	// Timeout bounds each call to the store (default 500 ms): a limit check must not hold a
	// vote for long, whatever the store does.
	Timeout time.Duration
	// RetryAfter is how long the Limiter counts locally after the store failed before it
	// tries again (default 5 s), so that a dead store costs one timeout per period, not one
	// per request.
	RetryAfter time.Duration
}

// NewLimiter returns a Limiter that counts in this node's memory, holding at most maxKeys
// keys (default 1,000,000, about 100 MB at worst), and reads time from now (default time.Now).
func NewLimiter(maxKeys int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, local: NewMemoryStore(maxKeys)}
}

// NewSharedLimiter returns a Limiter that counts in sh.Store, and in this node's memory (at
// most maxKeys keys) while the store fails.
func NewSharedLimiter(maxKeys int, now func() time.Time, sh SharedLimits) *Limiter {
	l := NewLimiter(maxKeys, now)
	if sh.Timeout <= 0 {
		sh.Timeout = 500 * time.Millisecond
	}
	if sh.RetryAfter <= 0 {
		sh.RetryAfter = 5 * time.Second
	}
	if sh.Log == nil {
		sh.Log = slog.New(slog.DiscardHandler)
	}
	l.shared, l.opts = sh.Store, sh
	l.errors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "concorde_rate_limit_store_errors_total",
		Help: "Calls to the shared rate-limit store (Redis) that failed; the node then counted on its own.",
	})
	l.up = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "concorde_rate_limit_shared",
		Help: "1 while rate limits are counted in the shared store, 0 while this node counts on its own after a store failure.",
	})
	l.up.Set(1)
	if sh.Registry != nil {
		l.errors = metrics.Register(sh.Registry, l.errors)
		l.up = metrics.Register(sh.Registry, l.up)
	}
	return l
}

// Allow reports whether one more event for key fits in limit events per window, and counts
// it if so (refused events are not counted, so a client that waits gets through).
func (l *Limiter) Allow(key string, limit int, window time.Duration) bool {
	if limit <= 0 || window <= 0 {
		return false
	}
	now := l.now()
	if l.shared != nil && now.UnixNano() >= l.retryAt.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.Timeout)
		ok, err := l.shared.Take(ctx, key, limit, window, now)
		cancel()
		if err == nil {
			if l.degraded.CompareAndSwap(true, false) {
				l.up.Set(1)
				l.opts.Log.Info("rate-limit store answers again: limits are shared by every node")
			}
			return ok
		}
		l.errors.Inc()
		l.retryAt.Store(now.Add(l.opts.RetryAfter).UnixNano())
		if l.degraded.CompareAndSwap(false, true) {
			l.up.Set(0)
			l.opts.Log.Error("rate-limit store failed: counting on this node only until it answers",
				"error", err.Error(), "retry_after", l.opts.RetryAfter.String())
		}
	}
	ok, _ := l.local.Take(context.Background(), key, limit, window, now)
	return ok
}

// allow is Allow that also says, when it refuses, how long until one more event would fit (if
// no other event for key comes meanwhile): exactly from this node's count, or, while counts are
// shared, the longest it can be (both windows of the sliding estimate over).
func (l *Limiter) allow(key string, limit int, window time.Duration) (bool, time.Duration) {
	if l.Allow(key, limit, window) {
		return true, 0
	}
	now := l.now()
	if l.shared != nil && !l.degraded.Load() {
		return false, 2*window - time.Duration(now.UnixNano()%int64(window))
	}
	return false, l.local.Wait(key, limit, window, now)
}

// Len is the number of keys held in this node's memory.
func (l *Limiter) Len() int { return l.local.Len() }

// MemoryStore is a LimitStore in this node's memory: the count of the current fixed window
// plus the previous window's, weighted by how much of it the sliding window still covers (an
// estimate that smooths the burst a fixed window allows at its edges). It is safe for
// concurrent use and cheap: one hash, one lock of one of 64 shards, no allocation for a key
// already seen. Memory is bounded: entries whose windows are over are swept out, and past
// MaxKeys the oldest-looking entries go first.
type MemoryStore struct {
	perShard int
	seed     maphash.Seed
	shards   [limiterShards]limiterShard
}

const limiterShards = 64

type limiterShard struct {
	mu        sync.Mutex
	entries   map[string]limitEntry
	lastSweep int64
}

type limitEntry struct {
	window int64 // the window length, in nanoseconds
	start  int64 // start of the current window, in Unix nanoseconds
	cur    int32 // events in the current window
	prev   int32 // events in the window before
}

// NewMemoryStore returns a MemoryStore that holds at most maxKeys keys (default 1,000,000).
func NewMemoryStore(maxKeys int) *MemoryStore {
	if maxKeys <= 0 {
		maxKeys = 1_000_000
	}
	m := &MemoryStore{perShard: max(1, maxKeys/limiterShards), seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].entries = map[string]limitEntry{}
	}
	return m
}

// Take implements LimitStore; it never fails.
func (m *MemoryStore) Take(_ context.Context, key string, limit int, window time.Duration, at time.Time) (bool, error) {
	if limit <= 0 || window <= 0 {
		return false, nil
	}
	now := at.UnixNano()
	w := int64(window)
	start := now - now%w
	sh := &m.shards[maphash.String(m.seed, key)%limiterShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[key]
	switch {
	case !ok || e.window != w || start-e.start > w:
		e = limitEntry{window: w, start: start}
	case start-e.start == w:
		e = limitEntry{window: w, start: start, prev: e.cur}
	}
	// The share of the previous window that the sliding window still covers.
	estimate := float64(e.prev)*float64(w-(now-start))/float64(w) + float64(e.cur)
	if estimate+1 > float64(limit) {
		if ok {
			sh.entries[key] = e
		}
		return false, nil
	}
	e.cur++
	if !ok {
		m.makeRoom(sh, now)
		key = strings.Clone(key) // the caller's string may live in a reused buffer
	}
	sh.entries[key] = e
	return true, nil
}

// makeRoom sweeps out entries whose windows are over (at most once a second per shard, or
// when the shard is full), then, if the shard is still full, drops entries at random.
func (m *MemoryStore) makeRoom(sh *limiterShard, now int64) {
	full := len(sh.entries) >= m.perShard
	if !full && now-sh.lastSweep < int64(time.Second) {
		return
	}
	sh.lastSweep = now
	for k, e := range sh.entries {
		if now-e.start >= 2*e.window { // both windows over: the estimate is 0
			delete(sh.entries, k)
		}
	}
	for k := range sh.entries {
		if len(sh.entries) < m.perShard {
			break
		}
		delete(sh.entries, k)
	}
}

// wait is how long after now one more event fits in limit: within this window once enough
// of the previous one has slid out, or else in the next window, once enough of this one has.
func (e limitEntry) wait(now int64, limit int) time.Duration {
	w, x := float64(e.window), float64(now-e.start)
	if int(e.cur) < limit && e.prev > 0 {
		return time.Duration(max(0, w-float64(limit-int(e.cur)-1)*w/float64(e.prev)-x))
	}
	next := w - x
	if e.cur > 0 {
		next += max(0, w-float64(limit-1)*w/float64(e.cur))
	}
	return time.Duration(next)
}

// Wait is how long until one more event for key fits in limit, by this store's count.
func (m *MemoryStore) Wait(key string, limit int, window time.Duration, at time.Time) time.Duration {
	now, w := at.UnixNano(), int64(window)
	start := now - now%w
	sh := &m.shards[maphash.String(m.seed, key)%limiterShards]
	sh.mu.Lock()
	e, ok := sh.entries[key]
	sh.mu.Unlock()
	switch {
	case !ok || e.window != w || start-e.start > w:
		return 0
	case start-e.start == w:
		e = limitEntry{window: w, start: start, prev: e.cur}
	}
	return e.wait(now, limit)
}

// Len is the number of keys held.
func (m *MemoryStore) Len() int {
	n := 0
	for i := range m.shards {
		m.shards[i].mu.Lock()
		n += len(m.shards[i].entries)
		m.shards[i].mu.Unlock()
	}
	return n
}

// AllowVote applies lim to one vote of participant from source (the client's address; ""
// to skip that limit) in a tenant, and returns errs.TooMany when either limit is reached.
func (l *Limiter) AllowVote(tenantID int64, participant, source string, lim Limits) error {
	if lim.PerParticipant == 0 {
		lim.PerParticipant = DefaultLimits.PerParticipant
	}
	if lim.PerSource == 0 {
		lim.PerSource = DefaultLimits.PerSource
	}
	if lim.Window <= 0 {
		lim.Window = DefaultLimits.Window
	}
	t := strconv.FormatInt(tenantID, 10)
	if lim.PerParticipant > 0 && !l.Allow("vote|p|"+t+"|"+participant, lim.PerParticipant, lim.Window) {
		return errs.E(errs.TooMany, "you are voting faster than a person reads; wait a minute and go on")
	}
	if lim.PerSource > 0 && source != "" && !l.Allow("vote|s|"+t+"|"+source, lim.PerSource, lim.Window) {
		return errs.E(errs.TooMany, "too many votes come from your network right now; wait a minute and try again")
	}
	return nil
}

// DefaultSequenceLimits bound how often sequences are asked for: every sequence carries
// signed vote keys, so asking again and again is how keys for chosen proposals are
// harvested. A participant votes a sequence of 12 in well over a minute at the vote limit,
// so 20 a minute leaves room for reloads; 120 a minute per source lets a classroom or an
// office behind one address take part, and stops a script opening session after session.
var DefaultSequenceLimits = Limits{PerParticipant: 20, PerSource: 120, Window: time.Minute}

// AllowSequence applies lim (zero fields take DefaultSequenceLimits', negative ones are off)
// to one sequence request of participant from source (the client's address; "" to skip
// that limit) in a tenant. It returns errs.TooMany with how long to wait when a limit is
// reached; a limit does not count the requests it refuses.
func (l *Limiter) AllowSequence(tenantID int64, participant, source string, lim Limits) error {
	if lim.PerParticipant == 0 {
		lim.PerParticipant = DefaultSequenceLimits.PerParticipant
	}
	if lim.PerSource == 0 {
		lim.PerSource = DefaultSequenceLimits.PerSource
	}
	if lim.Window <= 0 {
		lim.Window = DefaultSequenceLimits.Window
	}
	t := strconv.FormatInt(tenantID, 10)
	if lim.PerParticipant > 0 {
		if ok, wait := l.allow("seq|p|"+t+"|"+participant, lim.PerParticipant, lim.Window); !ok {
			return &errs.Error{Kind: errs.TooMany, RetryAfter: wait, Message: fmt.Sprintf(
				"you have asked for %d sequences of proposals in %s, the most allowed; vote on the ones you were shown, or wait %s", lim.PerParticipant, lim.Window, roundUp(wait)),
				Key: "err_sequence_limit", Args: []any{lim.PerParticipant, lim.Window, roundUp(wait)}}
		}
	}
	if lim.PerSource > 0 && source != "" {
		if ok, wait := l.allow("seq|s|"+t+"|"+source, lim.PerSource, lim.Window); !ok {
			return &errs.Error{Kind: errs.TooMany, RetryAfter: wait, Message: fmt.Sprintf(
				"too many sequences of proposals are asked for from your network right now; wait %s and try again", roundUp(wait)),
				Key: "err_sequence_limit_source", Args: []any{roundUp(wait)}}
		}
	}
	return nil
}

// roundUp is d in whole seconds, at least one, as a person reads it.
func roundUp(d time.Duration) time.Duration {
	return max(time.Second, (d + time.Second - 1).Truncate(time.Second))
}
