package vote

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
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
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
		l.errors = register(sh.Registry, l.errors)
		l.up = register(sh.Registry, l.up)
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

// BurstConfig says when direct-link votes on one proposal are a burst.
type BurstConfig struct {
	// MinDirect is the number of direct votes in one minute from which there may be a burst.
	MinDirect int
	// Ratio: there is a burst only if direct votes are more than Ratio times the sequence
	// votes on the same proposal in the same minute (a popular proposal also gets more
	// sequence votes; a shared link does not).
	Ratio float64
}

// DefaultBurstConfig flags 30 direct votes in a minute on one proposal, over 3 times its
// sequence votes in that minute.
var DefaultBurstConfig = BurstConfig{MinDirect: 30, Ratio: 3}

// Burst is a minute of direct-link votes on one proposal that BurstDetector flagged.
type Burst struct {
	TenantID, ConsultationID, ProposalID int64
	StartedAt                            time.Time // the minute's start
	DirectVotes, SequenceVotes           int       // so far in that minute
	New                                  bool      // the first report for this minute
}

// BurstDetector counts direct-link and sequence votes per proposal per minute (fixed,
// clock-aligned minutes) and flags the minutes where direct votes flood in. Memory holds
// only the current minute's proposals. It is safe for concurrent use.
//
// The Service feeds it every committed vote itself, after commit, and records the bursts
// in vote_bursts (see Service.Bursts): callers have nothing to do.
type BurstDetector struct {
	cfg     BurstConfig
	mu      sync.Mutex
	minute  int64
	windows map[burstKey]*burstWindow
}

type burstKey struct{ tenant, proposal int64 }

type burstWindow struct {
	minute           int64
	direct, sequence int
	reported         int // direct votes at the last report, 0 if none
}

// NewBurstDetector returns a detector; zero fields of cfg take DefaultBurstConfig's.
func NewBurstDetector(cfg BurstConfig) *BurstDetector {
	if cfg.MinDirect <= 0 {
		cfg.MinDirect = DefaultBurstConfig.MinDirect
	}
	if cfg.Ratio <= 0 {
		cfg.Ratio = DefaultBurstConfig.Ratio
	}
	return &BurstDetector{cfg: cfg, windows: map[burstKey]*burstWindow{}}
}

// Observe counts one vote cast at at. It reports a burst when the vote makes its minute one
// (New), and again every MinDirect further direct votes in that minute, so the recorded
// count follows the flood without a write per vote.
func (d *BurstDetector) Observe(b Ballot, at time.Time) (Burst, bool) {
	if b.Origin != Direct && b.Origin != Sequence {
		return Burst{}, false
	}
	m := at.Unix() / 60
	d.mu.Lock()
	defer d.mu.Unlock()
	if m > d.minute {
		for k, w := range d.windows {
			if w.minute < m {
				delete(d.windows, k)
			}
		}
		d.minute = m
	}
	k := burstKey{b.TenantID, b.ProposalID}
	w := d.windows[k]
	if w == nil || w.minute < m {
		w = &burstWindow{minute: m}
		d.windows[k] = w
	}
	if b.Origin == Sequence {
		w.sequence++
		return Burst{}, false
	}
	w.direct++
	if w.direct < d.cfg.MinDirect || float64(w.direct) <= d.cfg.Ratio*float64(w.sequence) {
		return Burst{}, false
	}
	if w.reported > 0 && w.direct < w.reported+d.cfg.MinDirect {
		return Burst{}, false
	}
	isNew := w.reported == 0
	w.reported = w.direct
	return Burst{
		TenantID: b.TenantID, ConsultationID: b.ConsultationID, ProposalID: b.ProposalID,
		StartedAt: time.Unix(w.minute*60, 0).UTC(), DirectVotes: w.direct, SequenceVotes: w.sequence, New: isNew,
	}, true
}

// burstRow is one row of vote_bursts.
type burstRow struct {
	bun.BaseModel `bun:"table:vote_bursts,alias:vb"`

	TenantID       int64     `bun:"tenant_id,pk"`
	ProposalID     int64     `bun:"proposal_id,pk"`
	StartedAt      time.Time `bun:"started_at,pk"`
	ConsultationID int64     `bun:"consultation_id"`
	Votes          int       `bun:"votes"`
	SequenceVotes  int       `bun:"sequence_votes"`
}

func (r *burstRow) SetTenantID(id int64) {
	if r != nil {
		r.TenantID = id
	}
}

// observeBursts feeds committed votes to the detector and records the bursts it reports.
func (s *Service) observeBursts(ballots []Ballot) {
	if len(ballots) == 0 {
		return
	}
	at := s.opts.Now()
	type key struct {
		tenant, proposal int64
		at               time.Time
	}
	var order []key
	latest := map[key]Burst{} // one write per burst and batch, with its latest counts
	for _, b := range ballots {
		if x, ok := s.bursts.Observe(b, at); ok {
			if x.New {
				s.metrics.bursts.Inc()
			}
			k := key{x.TenantID, x.ProposalID, x.StartedAt}
			if _, seen := latest[k]; !seen {
				order = append(order, k)
			}
			latest[k] = x
		}
	}
	for _, k := range order {
		x := latest[k]
		if err := s.recordBurst(x); err != nil {
			s.opts.Log.Error("record vote burst", "tenant", x.TenantID, "proposal", x.ProposalID, "err", err)
		}
	}
}

func (s *Service) recordBurst(x Burst) error {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	r := &burstRow{ProposalID: x.ProposalID, StartedAt: x.StartedAt, ConsultationID: x.ConsultationID,
		Votes: x.DirectVotes, SequenceVotes: x.SequenceVotes}
	_, err := store.For(s.db, x.TenantID).Insert(r).
		On("CONFLICT (tenant_id, proposal_id, started_at) DO UPDATE").
		Set("votes = EXCLUDED.votes, sequence_votes = EXCLUDED.sequence_votes").Exec(ctx)
	return err
}

// Bursts returns, per proposal of a consultation, the number of minutes flagged as bursts
// of direct-link votes (the results page shows them).
func (s *Service) Bursts(ctx context.Context, tenantID, consultationID int64) (map[int64]int, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	var rows []struct {
		ProposalID int64 `bun:"proposal_id"`
		N          int   `bun:"n"`
	}
	err := store.For(s.db, tenantID).Select((*burstRow)(nil)).
		ColumnExpr("vb.proposal_id, COUNT(*) AS n").
		Where("vb.consultation_id = ?", consultationID).GroupExpr("vb.proposal_id").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("read vote bursts: %w", err)
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.ProposalID] = r.N
	}
	return out, nil
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
				"you have asked for %d sequences of proposals in %s, the most allowed; vote on the ones you were shown, or wait %s", lim.PerParticipant, lim.Window, roundUp(wait))}
		}
	}
	if lim.PerSource > 0 && source != "" {
		if ok, wait := l.allow("seq|s|"+t+"|"+source, lim.PerSource, lim.Window); !ok {
			return &errs.Error{Kind: errs.TooMany, RetryAfter: wait, Message: fmt.Sprintf(
				"too many sequences of proposals are asked for from your network right now; wait %s and try again", roundUp(wait))}
		}
	}
	return nil
}

// roundUp is d in whole seconds, at least one, as a person reads it.
func roundUp(d time.Duration) time.Duration {
	return max(time.Second, (d + time.Second - 1).Truncate(time.Second))
}
