// Package catalog keeps in memory what the vote, sequence and results paths read on every
// request: a consultation, its accepted proposals and their counters.
//
// An entry is read from the database on first use. After that its proposals are not read
// again until the consultation changes: the vote writer tells the catalog what each commit
// added to the counters (Counted), and an entry that is read folds these changes into a new
// entry, at most once per TTL, sharing everything else with the old one. What another node
// changed arrives as announcements (core/changes): its votes make this node read the
// consultation's counters again (CountersChanged), a changed consultation is dropped
// (Forget). As a fallback for missed announcements an entry in use is read again whole every
// ResyncEvery. An entry nobody reads costs nothing: changes wait until it is read.
//
// Responses derived from an entry (Memo, Remember) are built when asked for; while a new
// entry's value is built, in the background, the value the previous entry had is served.
//
// Eviction: the entries held are bounded by MaxBytes, estimated from their proposals' text
// (EntrySize); past it the least recently read entries are dropped, and Sweep drops those not
// read for IdleAfter. A dropped entry is read again on its next use.
package catalog

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/sequence"
	"github.com/concorde-civic/concorde/core/vote"
)

// Entry is one consultation as the hot paths see it. It is immutable once built.
type Entry struct {
	Consultation consultation.Consultation
	Proposals    map[int64]*proposal.AcceptedProposal
	Candidates   []sequence.Candidate
	Counts       map[int64]results.Counts
	Bursts       map[int64]int // direct-link vote bursts detected per proposal
	// LoadedAt is when the entry was built: its counters hold the votes counted until then.
	LoadedAt time.Time
	// Shown counts, per candidate, the sequences that showed it and whose votes the counters
	// do not hold yet: votes on their way.
	Shown []atomic.Int32
	index map[int64]int // proposal id → index in Candidates
	// opinions returns the consultation's opinion groups as last computed (see Opinions).
	opinions func() *Opinions
	readAt   time.Time // when the consultation and its proposals were read
	size     int64     // EntrySize

	rankOnce sync.Once
	ranking  Ranking
	memo     sync.Map     // key → *memoEntry: responses derived from this entry
	memos    atomic.Int32 // keys held in memo, at most MaxMemos
	// stale holds what the previous entry had built for the keys it was asked for: served
	// while this entry builds its own.
	stale map[string]any
}

// MaxMemos bounds the memos one entry holds. Keys often come from query parameters a caller
// chooses (a results limit, a theme): past the bound, a value is built for its request and
// not kept, so no caller can make an entry, and every reload after it, grow without end.
const MaxMemos = 64

type memoEntry struct {
	once    sync.Once
	started atomic.Bool // a build runs or ran (in the background)
	done    atomic.Bool // v and err are set
	build   func(*Entry) (any, error)
	v       any
	err     error
}

func (m *memoEntry) run(e *Entry) {
	m.once.Do(func() {
		m.v, m.err = m.build(e)
		m.done.Store(true)
	})
}

// Memo returns what build makes of this entry for key, building it once: responses that
// depend only on the entry (results, exports) are encoded once per entry, not per request.
// Nothing is built before it is asked for. When the previous entry had a value for key, that
// value is served while this entry's is built in the background, so requests do not wait for
// a rebuild after each refresh.
func (e *Entry) Memo(key string, build func(*Entry) ([]byte, error)) ([]byte, error) {
	return Remember(e, key, build)
}

// Remember is Memo for any value derived from an entry (for example the votes per profile
// segment, one grouped query over every vote, which pages must not run per view).
func Remember[T any](e *Entry, key string, build func(*Entry) (T, error)) (T, error) {
	v, ok := e.memo.Load(key)
	if !ok {
		if e.memos.Add(1) > MaxMemos {
			e.memos.Add(-1)
			return build(e) // full: built for this request only
		}
		var loaded bool
		// The key outlives the request: it must not point into a buffer the caller reuses.
		v, loaded = e.memo.LoadOrStore(strings.Clone(key), &memoEntry{build: func(e *Entry) (any, error) { return build(e) }})
		if loaded {
			e.memos.Add(-1)
		}
	}
	m := v.(*memoEntry)
	if !m.done.Load() {
		if old, ok := e.stale[key]; ok {
			if m.started.CompareAndSwap(false, true) {
				go m.run(e)
			}
			t, _ := old.(T)
			return t, nil
		}
	}
	m.started.Store(true)
	m.run(e)
	t, _ := m.v.(T)
	return t, m.err
}

// Memos is how many memos the entry holds.
func (e *Entry) Memos() int { return int(e.memos.Load()) }

// Lazy prefixes the key of a memo too costly to build whether asked or not. Every memo is
// now built only when asked for; the prefix stays in keys for readers of the callers.
const Lazy = "lazy:"

// staleFrom keeps, for e, the values old had for the keys old was asked for (built, or
// themselves served stale): each is served until e builds its own.
func (e *Entry) staleFrom(old *Entry) {
	old.memo.Range(func(k, v any) bool {
		m := v.(*memoEntry)
		if m.done.Load() {
			if m.err == nil {
				if e.stale == nil {
					e.stale = map[string]any{}
				}
				e.stale[k.(string)] = m.v
			}
		} else if sv, ok := old.stale[k.(string)]; ok {
			if e.stale == nil {
				e.stale = map[string]any{}
			}
			e.stale[k.(string)] = sv
		}
		return true
	})
}

// Ranking is the results of a consultation computed from one entry's counters.
type Ranking struct {
	Items   []results.Item
	Ranking results.Ranking
	Scores  map[int64]results.Scores
}

// MarkShown records that a sequence showed these proposals.
func (e *Entry) MarkShown(ids []int64) {
	for _, id := range ids {
		if i, ok := e.index[id]; ok {
			e.Shown[i].Add(1)
		}
	}
}

// Unmark takes these proposals' shows back out of the votes on their way: their
// participant moved on without voting (core/booth). A count never goes below 0.
func (e *Entry) Unmark(ids ...int64) {
	for _, id := range ids {
		i, ok := e.index[id]
		if !ok {
			continue
		}
		for {
			n := e.Shown[i].Load()
			if n <= 0 || e.Shown[i].CompareAndSwap(n, n-1) {
				break
			}
		}
	}
}

// Pending is what the sequence counts as votes on their way for the candidate at index i.
func (e *Entry) Pending(i int) int { return int(e.Shown[i].Load()) }

// SequenceConfig is the consultation's sequence settings.
func (e *Entry) SequenceConfig() sequence.Config {
	s := e.Consultation.Settings
	cfg := sequence.DefaultConfig()
	cfg.Size, cfg.NewRatio, cfg.NewMaxVotes, cfg.TestedMaxVotes, cfg.ControversyRatio =
		s.SequenceSize, s.NewRatio, s.NewMaxVotes, s.TestedMaxVotes, s.ControversyRatio
	return cfg
}

// ScoreConfig is the consultation's scoring settings.
func (e *Entry) ScoreConfig() results.Config {
	cfg := results.DefaultConfig()
	if m := e.Consultation.Settings.MinVotesForZone; m > 0 {
		cfg.MinVotes = float64(m)
	}
	return cfg
}

// Ranking scores and ranks every accepted proposal, once per entry, with the sessions
// that coalescing counts as one (results.Coalesce) as of the last opinion groups: computed
// in the background with them, they apply from the entry built after (see Opinions).
func (e *Entry) Ranking() *Ranking {
	e.rankOnce.Do(func() {
		var co *results.Coalesced
		if o := e.Opinions(); o != nil {
			co = o.Coalesced
		}
		items := make([]results.Item, 0, len(e.Proposals))
		for id, p := range e.Proposals {
			items = append(items, results.Item{ProposalID: id, Themes: p.Themes, Counts: e.Counts[id], Coalesced: co.Of(id)})
		}
		cfg := e.ScoreConfig()
		r := results.Rank(items, cfg)
		scores := make(map[int64]results.Scores, len(items))
		for _, list := range [][]results.Ranked{r.Consensus, r.Controversy, r.Rejection, r.Limbo, r.Undetermined, r.NotEnough} {
			for _, x := range list {
				scores[x.ProposalID] = x.Scores
			}
		}
		e.ranking = Ranking{Items: items, Ranking: r, Scores: scores}
	})
	return &e.ranking
}

type key struct{ tenant, id int64 }
type slugKey struct {
	tenant int64
	slug   string
}

// slot is one consultation's place in the catalog.
type slot struct {
	key        key
	entry      atomic.Pointer[Entry]
	refreshing atomic.Bool
	load       sync.Mutex
	readAt     atomic.Int64 // unix nanoseconds of the last read, for eviction

	mu      sync.Mutex
	pending map[int64]results.Counts // counter changes not folded in yet, by proposal
	behind  bool                     // another node changed the counters: read them again
	resync  bool                     // announcements may have been missed: read it all again
	rebuild bool                     // something the memos read changed (opinion groups)
}

// Catalog is the cache.
type Catalog struct {
	consultations *consultation.Service
	proposals     *proposal.Service
	votes         *vote.Service
	// TTL is how often, at most, an entry in use takes in the counter changes made since it
	// was built (this node's votes, or the counters read again after another node's).
	TTL time.Duration
	// ResyncEvery is how often an entry in use is read again whole, whatever was announced:
	// the fallback for changes nobody announced (an admin command on SQLite, a lost note).
	ResyncEvery time.Duration
	// MaxBytes bounds the estimated size of the entries held (see EntrySize); IdleAfter is how
	// long an entry may go unread before Sweep drops it.
	MaxBytes  int64
	IdleAfter time.Duration
	// OpinionsEvery is how often, at most, a consultation's opinion groups are computed
	// again while its sequence votes change.
	OpinionsEvery time.Duration
	// Announce, when set, tells the other nodes that this node changed a consultation (see
	// Invalidate); they drop their copy with Forget.
	Announce func(tenantID, consultationID int64)

	loads atomic.Int64 // entries read whole from the database (for tests and metrics)

	mu         sync.Mutex
	slots      map[key]*slot
	bytes      int64 // EntrySize of the entries held
	bySlug     map[slugKey]int64
	byProposal map[key]int64 // (tenant, proposal) → consultation

	opinionSlots map[key]*opinionSlot
}

// Defaults of the catalog's bounds.
const (
	DefaultMaxBytes  = 512 << 20
	DefaultIdleAfter = 10 * time.Minute
)

// New builds an empty catalog.
func New(cs *consultation.Service, ps *proposal.Service, vs *vote.Service) *Catalog {
	return &Catalog{consultations: cs, proposals: ps, votes: vs, TTL: 2 * time.Second, ResyncEvery: time.Minute,
		MaxBytes: DefaultMaxBytes, IdleAfter: DefaultIdleAfter, OpinionsEvery: time.Minute,
		slots: map[key]*slot{}, bySlug: map[slugKey]int64{}, byProposal: map[key]int64{}, opinionSlots: map[key]*opinionSlot{}}
}

// BySlug returns the entry of a consultation, drafts included (callers decide who sees them).
func (c *Catalog) BySlug(ctx context.Context, tenantID int64, slug string) (*Entry, error) {
	c.mu.Lock()
	id, ok := c.bySlug[slugKey{tenantID, slug}]
	c.mu.Unlock()
	if !ok {
		cs, err := c.consultations.Get(ctx, tenantID, slug)
		if err != nil {
			return nil, err
		}
		id = cs.ID
	}
	return c.ByID(ctx, tenantID, id)
}

// ByProposal returns an accepted proposal and its consultation's entry. A proposal that
// exists but is not accepted is a conflict (it cannot be voted on); an unknown one is not found.
func (c *Catalog) ByProposal(ctx context.Context, tenantID, proposalID int64) (*Entry, *proposal.AcceptedProposal, error) {
	c.mu.Lock()
	cid, ok := c.byProposal[key{tenantID, proposalID}]
	c.mu.Unlock()
	if ok {
		e, err := c.ByID(ctx, tenantID, cid)
		if err != nil {
			return nil, nil, err
		}
		if p := e.Proposals[proposalID]; p != nil {
			return e, p, nil
		}
	}
	p, err := c.proposals.Get(ctx, tenantID, proposalID)
	if err != nil {
		return nil, nil, err
	}
	if p.Status != proposal.Accepted {
		return nil, nil, errs.E(errs.Conflict, "this proposal is not open to votes (it is %s)", p.Status)
	}
	if e := c.held(tenantID, p.ConsultationID); e != nil && e.Proposals[proposalID] == nil {
		c.Forget(tenantID, p.ConsultationID) // accepted since the entry was loaded
	}
	e, err := c.ByID(ctx, tenantID, p.ConsultationID)
	if err != nil {
		return nil, nil, err
	}
	ap := e.Proposals[proposalID]
	if ap == nil {
		return nil, nil, errs.E(errs.Conflict, "this proposal is not open to votes")
	}
	return e, ap, nil
}

// held is the entry held for a consultation, nil if none.
func (c *Catalog) held(tenantID, consultationID int64) *Entry {
	c.mu.Lock()
	sl := c.slots[key{tenantID, consultationID}]
	c.mu.Unlock()
	if sl == nil {
		return nil
	}
	return sl.entry.Load()
}

// ByID returns the entry of a consultation by id.
func (c *Catalog) ByID(ctx context.Context, tenantID, consultationID int64) (*Entry, error) {
	k := key{tenantID, consultationID}
	c.mu.Lock()
	sl := c.slots[k]
	if sl == nil {
		sl = &slot{key: k}
		c.slots[k] = sl
	}
	c.mu.Unlock()
	sl.readAt.Store(time.Now().UnixNano())
	if e := sl.entry.Load(); e != nil {
		c.refreshIfDue(sl, e)
		return e, nil
	}
	sl.load.Lock()
	defer sl.load.Unlock()
	if e := sl.entry.Load(); e != nil {
		return e, nil
	}
	// Changes announced before this read are in what it reads. (A commit that lands while it
	// reads and is handed over after may count twice, or not at all, until the entry is read
	// whole again, ResyncEvery later: the writer says what it counted, not when.)
	sl.mu.Lock()
	sl.pending, sl.behind, sl.resync = nil, false, false
	sl.mu.Unlock()
	e, err := c.load(ctx, tenantID, consultationID)
	if err != nil {
		return nil, err
	}
	sl.entry.Store(e)
	c.held1(sl, nil, e)
	return e, nil
}

// refresh kinds, from the cheapest.
const (
	foldCounts = iota + 1 // this node's counter changes, applied to the entry's counters
	readCounts            // the consultation's counters read again (another node's votes)
	readAll               // the whole entry read again
)

// refreshIfDue starts, in the background, what brings e up to date, if it is older than the
// TTL and something changed (or it is older than ResyncEvery).
func (c *Catalog) refreshIfDue(sl *slot, e *Entry) {
	now := time.Now()
	if now.Sub(e.LoadedAt) <= c.TTL {
		return
	}
	kind := 0
	if now.Sub(e.readAt) > c.ResyncEvery {
		kind = readAll
	} else {
		sl.mu.Lock()
		if sl.resync {
			kind = readAll
		} else if sl.behind {
			kind = readCounts
		} else if len(sl.pending) > 0 || sl.rebuild {
			kind = foldCounts
		}
		sl.mu.Unlock()
	}
	if kind == 0 || !sl.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer sl.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fresh, err := c.refresh(ctx, sl, e, kind)
		if err != nil {
			return // the entry stays; a later read tries again
		}
		// Not if the entry was dropped meanwhile (Forget): the next read loads it.
		if sl.entry.CompareAndSwap(e, fresh) {
			c.held1(sl, e, fresh)
		}
	}()
}

// refresh builds the entry that follows e.
func (c *Catalog) refresh(ctx context.Context, sl *slot, e *Entry, kind int) (*Entry, error) {
	t, id := sl.key.tenant, sl.key.id
	sl.mu.Lock()
	pending := sl.pending
	sl.pending, sl.rebuild = nil, false
	if kind != foldCounts {
		sl.behind = false
	}
	if kind == readAll {
		sl.resync = false
	}
	sl.mu.Unlock()
	var fresh *Entry
	switch kind {
	case readAll:
		all, err := c.load(ctx, t, id)
		if err != nil {
			return nil, err
		}
		fresh = all
	case readCounts:
		counts, err := c.votes.Counts(ctx, t, id)
		if err != nil {
			return nil, err
		}
		fresh = e.withCounts(counts, nil)
	default:
		counts := maps.Clone(e.Counts)
		changed := make([]int64, 0, len(pending))
		for pid, d := range pending {
			n := counts[pid]
			n.Merge(d)
			counts[pid] = n
			changed = append(changed, pid)
		}
		fresh = e.withCounts(counts, changed)
	}
	if kind != readAll {
		// Bursts are flagged by the vote writer as they happen: a small read.
		bursts, err := c.votes.Bursts(ctx, t, id)
		if err != nil {
			return nil, err
		}
		fresh.Bursts = bursts
	}
	fresh.opinions = func() *Opinions { return c.opinionsOf(t, fresh) }
	// The previous responses stand in while the new ones are built, unless the consultation
	// itself changed (its status, a publication): then they would say something else.
	if fresh.Consultation.UpdatedAt.Equal(e.Consultation.UpdatedAt) && fresh.Consultation.Status == e.Consultation.Status {
		fresh.staleFrom(e)
	}
	return fresh, nil
}

// Counted takes in what a commit of the vote writer added to the counters of a tenant's
// proposals (vote.Service.OnCounted). Only the consultations held are concerned (the others
// read their counters when loaded); the changes are folded in when the entry is next read.
func (c *Catalog) Counted(tenantID int64, changes map[int64]vote.CounterChange) {
	slots := map[int64]*slot{} // by consultation: one lookup each
	for pid, ch := range changes {
		sl, seen := slots[ch.ConsultationID]
		if !seen {
			c.mu.Lock()
			sl = c.slots[key{tenantID, ch.ConsultationID}]
			c.mu.Unlock()
			if sl != nil && sl.entry.Load() == nil {
				sl = nil
			}
			slots[ch.ConsultationID] = sl
		}
		if sl == nil {
			continue
		}
		sl.mu.Lock()
		if sl.pending == nil {
			sl.pending = map[int64]results.Counts{}
		}
		n := sl.pending[pid]
		n.Merge(ch.Delta)
		sl.pending[pid] = n
		sl.mu.Unlock()
	}
}

// rebuild makes the next read of a consultation held (after the TTL) bring a new entry, whose
// memos are built again: what they read besides the entry changed (its opinion groups).
func (c *Catalog) rebuild(k key) {
	c.mu.Lock()
	sl := c.slots[k]
	c.mu.Unlock()
	if sl == nil {
		return
	}
	sl.mu.Lock()
	sl.rebuild = true
	sl.mu.Unlock()
}

// CountersChanged notes that another node changed the counters of a consultation: if it is
// held, its counters are read again when it is next read (after the TTL).
func (c *Catalog) CountersChanged(tenantID, consultationID int64) {
	c.mu.Lock()
	sl := c.slots[key{tenantID, consultationID}]
	c.mu.Unlock()
	if sl == nil {
		return
	}
	sl.mu.Lock()
	sl.behind = true
	sl.mu.Unlock()
}

// Resync notes that announcements may have been missed (a listener reconnected): every
// entry held is read again whole when it is next read (after the TTL).
func (c *Catalog) Resync() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sl := range c.slots {
		sl.mu.Lock()
		sl.resync = true
		sl.mu.Unlock()
	}
}

// Invalidate drops a consultation's entry after this node changed it, and announces the change
// to the other nodes; the next read loads it again.
func (c *Catalog) Invalidate(tenantID, consultationID int64) {
	c.Forget(tenantID, consultationID)
	if c.Announce != nil {
		c.Announce(tenantID, consultationID)
	}
}

// Forget drops a consultation's entry here only (another node changed it).
func (c *Catalog) Forget(tenantID, consultationID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sl := c.slots[key{tenantID, consultationID}]; sl != nil {
		c.drop(sl)
	}
}

// Sweep drops the entries not read for IdleAfter. The server calls it periodically.
func (c *Catalog) Sweep() {
	cut := time.Now().Add(-c.IdleAfter).UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sl := range c.slots {
		if sl.readAt.Load() < cut {
			c.drop(sl)
		}
	}
}

// Held is how many entries the catalog holds, and their estimated size in bytes.
func (c *Catalog) Held() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sl := range c.slots {
		if sl.entry.Load() != nil {
			entries++
		}
	}
	return entries, c.bytes
}

// Loads is how many times an entry was read whole from the database.
func (c *Catalog) Loads() int64 { return c.loads.Load() }

// held1 accounts for a slot's entry replaced (old nil: loaded) and registers its proposals
// and slug, then drops the least recently read entries while the catalog holds more than
// MaxBytes. A slot dropped meanwhile (Forget) is left alone: its entry is not held.
func (c *Catalog) held1(sl *slot, old, e *Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots[sl.key] != sl || sl.entry.Load() != e {
		return
	}
	if old != nil {
		c.bytes -= old.size
		if old.Consultation.Slug != e.Consultation.Slug {
			delete(c.bySlug, slugKey{sl.key.tenant, old.Consultation.Slug})
		}
	}
	c.bytes += e.size
	// The consultation's own slug, not a caller's string, which may point into a request
	// buffer that is reused after the request (the map key would change under it).
	c.bySlug[slugKey{sl.key.tenant, e.Consultation.Slug}] = sl.key.id
	if old == nil || len(old.Proposals) != len(e.Proposals) {
		for id := range e.Proposals {
			c.byProposal[key{sl.key.tenant, id}] = sl.key.id
		}
	}
	for c.bytes > c.MaxBytes {
		var lru *slot
		for _, s := range c.slots {
			if s != sl && s.entry.Load() != nil && (lru == nil || s.readAt.Load() < lru.readAt.Load()) {
				lru = s
			}
		}
		if lru == nil {
			break // the entry just loaded stays, alone, whatever its size
		}
		c.drop(lru)
	}
}

// drop removes a slot and what points to it; callers hold c.mu.
func (c *Catalog) drop(sl *slot) {
	delete(c.slots, sl.key)
	delete(c.opinionSlots, sl.key)
	e := sl.entry.Swap(nil)
	sl.mu.Lock()
	sl.pending, sl.behind = nil, false
	sl.mu.Unlock()
	if e == nil {
		return // nothing was registered for it
	}
	if sk := (slugKey{sl.key.tenant, e.Consultation.Slug}); c.bySlug[sk] == sl.key.id {
		delete(c.bySlug, sk)
	}
	c.bytes -= e.size
	for id := range e.Proposals {
		if c.byProposal[key{sl.key.tenant, id}] == sl.key.id {
			delete(c.byProposal, key{sl.key.tenant, id})
		}
	}
}

func (c *Catalog) load(ctx context.Context, tenantID, consultationID int64) (*Entry, error) {
	cs, err := c.consultations.GetByID(ctx, tenantID, consultationID)
	if err != nil {
		return nil, err
	}
	accepted, err := c.proposals.Accepted(ctx, tenantID, consultationID)
	if err != nil {
		return nil, err
	}
	counts, err := c.votes.Counts(ctx, tenantID, consultationID)
	if err != nil {
		return nil, err
	}
	bursts, err := c.votes.Bursts(ctx, tenantID, consultationID)
	if err != nil {
		return nil, err
	}
	c.loads.Add(1)
	e := NewEntry(cs, accepted, counts, bursts)
	e.opinions = func() *Opinions { return c.opinionsOf(tenantID, e) }
	return e, nil
}

// NewEntry builds an entry from what the catalog reads for it. The results snapshot builds
// one from the raw votes' counts too, to check that published results follow from them.
func NewEntry(cs consultation.Consultation, accepted []proposal.AcceptedProposal, counts map[int64]results.Counts, bursts map[int64]int) *Entry {
	now := time.Now()
	e := &Entry{Consultation: cs, Proposals: make(map[int64]*proposal.AcceptedProposal, len(accepted)),
		Candidates: make([]sequence.Candidate, 0, len(accepted)), Counts: counts, Bursts: bursts, LoadedAt: now, readAt: now}
	e.Shown = make([]atomic.Int32, len(accepted))
	e.index = make(map[int64]int, len(accepted))
	for i := range accepted {
		p := &accepted[i]
		e.Proposals[p.ID] = p
		e.index[p.ID] = len(e.Candidates)
		c := sequence.Candidate{ID: p.ID, AuthorID: p.Author, AcceptedAt: p.AcceptedAt, Keywords: sequence.Keywords(p.Content)}
		setCounts(&c, counts[p.ID])
		e.Candidates = append(e.Candidates, c)
	}
	e.size = EntrySize(accepted)
	return e
}

// setCounts gives a candidate the counts the sequence reads.
func setCounts(c *sequence.Candidate, n results.Counts) {
	c.Votes = int(n.Total(results.Sequence)) // the sequence reads sequence votes only (results.Trust.Weight)
	c.Agree = n.WeightedKey(results.Agree)
	c.Disagree = n.WeightedKey(results.Disagree)
	c.Neutral = n.WeightedKey(results.Neutral)
	c.LikeIt = n.WeightedQual(results.LikeIt)
	c.NoWay = n.WeightedQual(results.NoWay)
}

// withCounts is an entry like e but with these counters, sharing e's proposals and keywords.
// changed lists the proposals whose counts differ from e's (nil: any may). The votes on their
// way carry over, less the votes counted since.
func (e *Entry) withCounts(counts map[int64]results.Counts, changed []int64) *Entry {
	f := &Entry{Consultation: e.Consultation, Proposals: e.Proposals, Counts: counts, Bursts: e.Bursts,
		LoadedAt: time.Now(), index: e.index, readAt: e.readAt, size: e.size}
	f.Candidates = slices.Clone(e.Candidates)
	if changed == nil {
		for i := range f.Candidates {
			setCounts(&f.Candidates[i], counts[f.Candidates[i].ID])
		}
	} else {
		for _, id := range changed {
			if i, ok := e.index[id]; ok {
				setCounts(&f.Candidates[i], counts[id])
			}
		}
	}
	f.Shown = make([]atomic.Int32, len(e.Shown))
	for i := range e.Shown {
		if left := int(e.Shown[i].Load()) - max(0, f.Candidates[i].Votes-e.Candidates[i].Votes); left > 0 {
			f.Shown[i].Store(int32(left))
		}
	}
	return f
}

// EntrySize is the estimated memory of an entry of these proposals: their text (held with
// its keywords) and a fixed share per proposal for the maps, counters and candidate around it.
func EntrySize(accepted []proposal.AcceptedProposal) int64 {
	n := int64(4096)
	for i := range accepted {
		n += 2*int64(len(accepted[i].Content)) + 1024
		for _, t := range accepted[i].Themes {
			n += int64(len(t)) + 16
		}
	}
	return n
}
