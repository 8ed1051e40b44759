// Package catalog keeps in memory what the vote, sequence and results paths read on every
// request: a consultation, its accepted proposals and their counters. An entry is loaded on
// first use, reloaded in the background once it is older than the TTL (so other nodes'
// changes show within seconds), and dropped at once when this node changes it.
package catalog

import (
	"context"
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
	LoadedAt     time.Time
	// Shown counts, per candidate, the sequences that showed it since this load: votes on
	// their way, which the counters will only hold at the next load.
	Shown []atomic.Int32
	index map[int64]int // proposal id → index in Candidates
	// opinions returns the consultation's opinion groups as last computed (see Opinions).
	opinions func() *Opinions

	rankOnce sync.Once
	ranking  Ranking
	memo     sync.Map     // key → *memoEntry: responses derived from this entry
	memos    atomic.Int32 // keys held in memo, at most MaxMemos
	used     atomic.Bool
}

// MaxMemos bounds the memos one entry holds. Keys often come from query parameters a caller
// chooses (a results limit, a theme): past the bound, a value is built for its request and
// not kept, so no caller can make an entry, and every reload after it, grow without end.
const MaxMemos = 64

type memoEntry struct {
	once  sync.Once
	build func(*Entry) (any, error)
	v     any
	err   error
}

// Memo returns what build makes of this entry for key, building it once: responses that
// depend only on the entry (results, exports) are encoded once per load, not per request.
// When the entry is reloaded, what was asked of the old one is built for the new one before
// it is served, so requests never wait for it.
func (e *Entry) Memo(key string, build func(*Entry) ([]byte, error)) ([]byte, error) {
	return Remember(e, key, build)
}

// Remember is Memo for any value derived from an entry (for example the votes per profile
// segment, one grouped query over every vote, which pages must not run per view).
func Remember[T any](e *Entry, key string, build func(*Entry) (T, error)) (T, error) {
	e.used.Store(true)
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
	m.once.Do(func() { m.v, m.err = m.build(e) })
	t, _ := m.v.(T)
	return t, m.err
}

// Memos is how many memos the entry holds.
func (e *Entry) Memos() int { return int(e.memos.Load()) }

// Lazy prefixes the key of a memo too costly to rebuild at every reload whether asked or
// not (it is built on the first request after a reload instead).
const Lazy = "lazy:"

// warmFrom builds on e the memos old was asked for, but the lazy ones.
func (e *Entry) warmFrom(old *Entry) {
	old.memo.Range(func(k, v any) bool {
		if !strings.HasPrefix(k.(string), Lazy) {
			_, _ = Remember(e, k.(string), v.(*memoEntry).build)
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

// Ranking scores and ranks every accepted proposal, once per entry.
func (e *Entry) Ranking() *Ranking {
	e.rankOnce.Do(func() {
		items := make([]results.Item, 0, len(e.Proposals))
		for id, p := range e.Proposals {
			items = append(items, results.Item{ProposalID: id, Themes: p.Themes, Counts: e.Counts[id]})
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

type slot struct {
	entry      atomic.Pointer[Entry]
	refreshing atomic.Bool
	load       sync.Mutex
}

// Catalog is the cache.
type Catalog struct {
	consultations *consultation.Service
	proposals     *proposal.Service
	votes         *vote.Service
	// TTL is how old an entry may get before it is reloaded in the background.
	TTL time.Duration
	// OpinionsEvery is how often, at most, a consultation's opinion groups are computed
	// again while its sequence votes change.
	OpinionsEvery time.Duration
	// Announce, when set, tells the other nodes that this node changed a consultation (see
	// Invalidate); they drop their copy with Forget.
	Announce func(tenantID, consultationID int64)

	mu         sync.Mutex
	slots      map[key]*slot
	bySlug     map[slugKey]int64
	byProposal map[key]int64 // (tenant, proposal) → consultation

	opinionSlots map[key]*opinionSlot
}

// New builds an empty catalog.
func New(cs *consultation.Service, ps *proposal.Service, vs *vote.Service) *Catalog {
	return &Catalog{consultations: cs, proposals: ps, votes: vs, TTL: 2 * time.Second, OpinionsEvery: time.Minute,
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
		c.mu.Lock()
		// The consultation's own slug, not the caller's string, which may point into a
		// request buffer that is reused after the request (the map key would change under it).
		c.bySlug[slugKey{tenantID, cs.Slug}] = id
		c.mu.Unlock()
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
	c.Forget(tenantID, p.ConsultationID) // accepted since the entry was loaded
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

// ByID returns the entry of a consultation by id.
func (c *Catalog) ByID(ctx context.Context, tenantID, consultationID int64) (*Entry, error) {
	k := key{tenantID, consultationID}
	c.mu.Lock()
	sl := c.slots[k]
	if sl == nil {
		sl = &slot{}
		c.slots[k] = sl
	}
	c.mu.Unlock()
	if e := sl.entry.Load(); e != nil {
		if time.Since(e.LoadedAt) > c.TTL && sl.refreshing.CompareAndSwap(false, true) {
			go func() {
				defer sl.refreshing.Store(false)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if fresh, err := c.load(ctx, tenantID, consultationID); err == nil {
					if e.used.Load() {
						fresh.warmFrom(e)
					}
					sl.entry.Store(fresh)
				}
			}()
		}
		return e, nil
	}
	sl.load.Lock()
	defer sl.load.Unlock()
	if e := sl.entry.Load(); e != nil {
		return e, nil
	}
	e, err := c.load(ctx, tenantID, consultationID)
	if err != nil {
		return nil, err
	}
	sl.entry.Store(e)
	return e, nil
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
		sl.entry.Store(nil)
	}
	for k, id := range c.bySlug {
		if k.tenant == tenantID && id == consultationID {
			delete(c.bySlug, k)
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
	e := NewEntry(cs, accepted, counts, bursts)
	e.opinions = func() *Opinions { return c.opinionsOf(tenantID, e) }
	c.mu.Lock()
	for id := range e.Proposals {
		c.byProposal[key{tenantID, id}] = consultationID
	}
	c.bySlug[slugKey{tenantID, cs.Slug}] = consultationID
	c.mu.Unlock()
	return e, nil
}

// NewEntry builds an entry from what the catalog reads for it. The results snapshot builds
// one from the raw votes' counts too, to check that published results follow from them.
func NewEntry(cs consultation.Consultation, accepted []proposal.AcceptedProposal, counts map[int64]results.Counts, bursts map[int64]int) *Entry {
	e := &Entry{Consultation: cs, Proposals: make(map[int64]*proposal.AcceptedProposal, len(accepted)),
		Candidates: make([]sequence.Candidate, 0, len(accepted)), Counts: counts, Bursts: bursts, LoadedAt: time.Now()}
	e.Shown = make([]atomic.Int32, len(accepted))
	e.index = make(map[int64]int, len(accepted))
	for i := range accepted {
		p := &accepted[i]
		e.Proposals[p.ID] = p
		e.index[p.ID] = len(e.Candidates)
		n := counts[p.ID]
		e.Candidates = append(e.Candidates, sequence.Candidate{
			ID: p.ID, AuthorID: p.Author, AcceptedAt: p.AcceptedAt,
			Votes:    int(n.Total(results.Sequence)), // the sequence reads sequence votes only (results.Trust.Weight)
			Agree:    n.WeightedKey(results.Agree),
			Disagree: n.WeightedKey(results.Disagree),
			Neutral:  n.WeightedKey(results.Neutral),
			LikeIt:   n.WeightedQual(results.LikeIt),
			NoWay:    n.WeightedQual(results.NoWay),
			Keywords: sequence.Keywords(p.Content),
		})
	}
	return e
}
