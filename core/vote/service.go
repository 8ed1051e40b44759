package vote

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
)

// Ballot is one participant's vote on one proposal, as cast.
type Ballot struct {
	TenantID       int64
	ConsultationID int64
	ProposalID     int64
	Participant    string
	Key            results.Key
	Qualifications []results.Qualification
	Trust          results.Trust // from Signer.Trust
	Origin         Origin        // from Signer.Trust; empty for a vote without a key
	// Source is the keyed hash of the network address the vote came from (Signer.Source),
	// never the address itself; "" if unknown.
	Source string
}

// QualificationSet is a set of qualifications, stored as a bitmask of their indexes
// (bit i is results.Qualifications()[i]).
type QualificationSet uint16

// SetOf returns the set holding qs; unknown qualifications are left out.
func SetOf(qs []results.Qualification) QualificationSet {
	var s QualificationSet
	for _, q := range qs {
		if i := q.Index(); i >= 0 {
			s |= 1 << i
		}
	}
	return s
}

// Has reports whether q is in s.
func (s QualificationSet) Has(q results.Qualification) bool {
	i := q.Index()
	return i >= 0 && s&(1<<i) != 0
}

// List returns the qualifications of s in index order.
func (s QualificationSet) List() []results.Qualification {
	var out []results.Qualification
	for i, q := range results.Qualifications() {
		if s&(1<<i) != 0 {
			out = append(out, q)
		}
	}
	return out
}

// Strings returns the names of the qualifications of s, in index order, never nil.
func (s QualificationSet) Strings() []string {
	out := []string{}
	for _, q := range s.List() {
		out = append(out, string(q))
	}
	return out
}

// Vote is a stored vote: one row of the votes table.
type Vote struct {
	bun.BaseModel `bun:"table:votes,alias:v"`

	TenantID       int64            `bun:"tenant_id,pk"`
	ProposalID     int64            `bun:"proposal_id,pk"`
	Participant    string           `bun:"participant,pk"`
	ConsultationID int64            `bun:"consultation_id"`
	KeyIndex       int16            `bun:"vote"` // the key's index in results.Keys(); see Key
	Qualifications QualificationSet `bun:"qualifications"`
	Trust          results.Trust    `bun:"trust"`
	Origin         Origin           `bun:"origin"`
	Source         string           `bun:"source"`     // keyed hash of the network source (Ballot.Source)
	CreatedAt      time.Time        `bun:"created_at"` // when this vote was first cast
	UpdatedAt      time.Time        `bun:"updated_at"` // when it last changed
}

// SetTenantID stamps v with its tenant (store.Scope does it on insert).
func (v *Vote) SetTenantID(id int64) {
	if v != nil {
		v.TenantID = id
	}
}

// Key is the vote's key: agree, disagree or neutral.
func (v Vote) Key() results.Key {
	if v.KeyIndex < 0 || int(v.KeyIndex) >= results.NumKeys {
		return ""
	}
	return results.Keys()[v.KeyIndex]
}

// Options tune a Service. The zero value is usable.
type Options struct {
	// MaxBatch is the most requests one transaction takes (default 256).
	MaxBatch int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Bursts configures burst detection (zero fields take DefaultBurstConfig's).
	Bursts BurstConfig
	// Log receives the errors nobody waits for, such as a failure to record a burst.
	Log *slog.Logger
}

// Service records votes and serves their counters. Build it with New, then Start it.
type Service struct {
	db      *bun.DB
	dialect store.Dialect
	opts    Options
	metrics *serviceMetrics
	bursts  *BurstDetector

	queue chan *request

	mu      sync.Mutex
	started bool
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when the writer has returned
	refs    sync.Map      // refKey → the proposal's consultation id

	// OnCounted, if set before Start, is told after each commit what it added to the
	// counters, per tenant and proposal, so that copies kept in memory (core/catalog) follow
	// without reading the counters again. It runs on the writer: it must not block.
	OnCounted func(tenantID int64, changes map[int64]CounterChange)
	committed map[int64]counterDeltas // the commit's counter changes per tenant (writer only)
	stmts     *statements             // on SQLite, the writer's prepared statements (writer only)
}

type request struct {
	ctx      context.Context
	withdraw bool
	ballot   Ballot // for a withdrawal, only tenant, proposal and participant
	res      chan outcome
}

type outcome struct {
	vote Vote
	err  error
}

// commitTimeout bounds one batch's transaction, so that a stuck database fails the votes
// waiting on it instead of holding them forever.
const commitTimeout = 30 * time.Second

// New builds a Service on db and registers its metrics on reg (nil: not registered).
func New(db *bun.DB, reg prometheus.Registerer, opts Options) *Service {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		db:      db,
		dialect: store.DialectOf(db),
		opts:    opts,
		metrics: newMetrics(reg),
		bursts:  NewBurstDetector(opts.Bursts),
		queue:   make(chan *request, 4*opts.MaxBatch),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// Start runs the writer. Cast and Withdraw fail with errs.Unavailable before Start and
// after Close.
func (s *Service) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	go s.run()
}

// Close stops taking votes, commits those already queued, and waits for the writer to end.
func (s *Service) Close() {
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	started := s.started
	s.mu.Unlock()
	if started {
		<-s.done
	}
}

var errClosed = errs.E(errs.Unavailable, "votes are not being taken right now; try again in a moment").Say("err_votes_closed_now")

// Cast records b, replacing the participant's earlier vote on the proposal if any, and
// returns the stored vote once it is committed. If ctx ends while the vote waits for its
// batch, Cast returns ctx's error; the vote may then be committed or not.
func (s *Service) Cast(ctx context.Context, b Ballot) (Vote, error) {
	if err := validBallot(&b); err != nil {
		return Vote{}, err
	}
	v, err := s.submit(ctx, &request{ctx: ctx, ballot: b, res: make(chan outcome, 1)})
	if err != nil {
		return Vote{}, fmt.Errorf("cast vote on proposal %d: %w", b.ProposalID, err)
	}
	return v, nil
}

// Withdraw removes participant's vote on proposal proposalID; errs.NotFound if there is none.
func (s *Service) Withdraw(ctx context.Context, tenantID, proposalID int64, participant string) error {
	if tenantID <= 0 || proposalID <= 0 || participant == "" || !validParticipant(participant) {
		return errs.E(errs.Invalid, "a withdrawal needs a tenant, a proposal and a participant")
	}
	b := Ballot{TenantID: tenantID, ProposalID: proposalID, Participant: participant}
	if _, err := s.submit(ctx, &request{ctx: ctx, withdraw: true, ballot: b, res: make(chan outcome, 1)}); err != nil {
		return fmt.Errorf("withdraw vote on proposal %d: %w", proposalID, err)
	}
	return nil
}

func (s *Service) submit(ctx context.Context, r *request) (Vote, error) {
	s.mu.Lock()
	running := s.started
	select {
	case <-s.stop:
		running = false
	default:
	}
	s.mu.Unlock()
	if !running {
		return Vote{}, errClosed
	}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		return Vote{}, errs.Wrap(errs.Unavailable, ctx.Err(), "the vote was not recorded: the request ended first")
	case <-s.done:
		return Vote{}, errClosed
	}
	select {
	case o := <-r.res:
		return o.vote, o.err
	case <-ctx.Done():
		return Vote{}, errs.Wrap(errs.Unavailable, ctx.Err(), "the request ended before the vote was confirmed; it may or may not be recorded")
	case <-s.done:
		select {
		case o := <-r.res:
			return o.vote, o.err
		default:
			return Vote{}, errClosed
		}
	}
}

// validParticipant refuses what PostgreSQL would refuse mid-batch (invalid UTF-8, NUL).
func validParticipant(p string) bool {
	return len(p) <= 200 && utf8.ValidString(p) && !strings.ContainsRune(p, 0)
}

func validBallot(b *Ballot) error {
	switch {
	case b.TenantID <= 0 || b.ConsultationID <= 0 || b.ProposalID <= 0:
		return errs.E(errs.Invalid, "a vote needs a tenant, a consultation and a proposal")
	case b.Participant == "":
		return errs.E(errs.Invalid, "a vote needs a participant")
	case !validParticipant(b.Participant):
		return errs.E(errs.Invalid, "the participant identifier must be text of at most 200 bytes")
	case b.Trust >= results.NumTrusts:
		return errs.E(errs.Invalid, "trust level %d is unknown", b.Trust)
	case b.Origin != "" && !b.Origin.Valid():
		return errs.Field("origin", "origin %q is unknown; use sequence, search, direct, results or ignored", string(b.Origin))
	case b.Key.Index() < 0:
		return errs.Field("vote", "vote %q is unknown; use agree, disagree or neutral", string(b.Key)).Say("err_vote_unknown")
	}
	names := make([]string, len(b.Qualifications))
	for i, q := range b.Qualifications {
		names[i] = string(q)
	}
	qs, err := results.ValidQualifications(b.Key, names)
	if err != nil {
		return err
	}
	b.Qualifications = qs
	return nil
}

// run is the writer: it takes what is queued, commits it as one batch, answers, and repeats.
func (s *Service) run() {
	defer close(s.done)
	defer func() {
		if s.stmts != nil {
			s.stmts.close()
		}
	}()
	batch := make([]*request, 0, s.opts.MaxBatch)
	stopping := false
	for {
		batch = batch[:0]
		if !stopping {
			select {
			case r := <-s.queue:
				batch = append(batch, r)
			case <-s.stop:
				stopping = true
			}
		}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if len(batch) == 0 {
			if stopping {
				return
			}
			continue
		}
		s.process(batch)
	}
}

// process commits one batch and answers each of its requests.
func (s *Service) process(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil { // the caller gave up before the batch began
			r.res <- outcome{err: errs.Wrap(errs.Unavailable, err, "the vote was not recorded: the request ended first")}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	outs, err := s.commit(live)
	s.metrics.commitSeconds.Observe(time.Since(start).Seconds())
	s.metrics.batchSize.Observe(float64(len(live)))
	if err != nil && len(live) > 1 {
		// One request may have broken the transaction: retry each alone, so it fails alone.
		outs = make([]outcome, len(live))
		for i, r := range live {
			start := time.Now()
			o, err := s.commit(live[i : i+1])
			s.metrics.commitSeconds.Observe(time.Since(start).Seconds())
			s.metrics.batchSize.Observe(1)
			if err != nil {
				o = []outcome{{err: s.commitError(err, r)}}
			}
			outs[i] = o[0]
		}
	} else if err != nil {
		outs = []outcome{{err: s.commitError(err, live[0])}}
	}
	var observed []Ballot
	for i, r := range live {
		if outs[i].err == nil && !r.withdraw {
			s.metrics.votes.WithLabelValues(r.ballot.Trust.String()).Inc()
			b := r.ballot
			b.ConsultationID = outs[i].vote.ConsultationID
			observed = append(observed, b)
		}
	}
	// Bursts are recorded before the votes are acknowledged, so a burst is flagged by the
	// time its votes are (a rare extra write: only while a proposal is in a burst).
	s.observeBursts(observed)
	for i, r := range live {
		r.res <- outs[i]
	}
}

func (s *Service) commitError(err error, r *request) error {
	if errs.KindOf(err) != errs.Internal {
		return err
	}
	s.opts.Log.Error("vote commit failed", "tenant", r.ballot.TenantID, "proposal", r.ballot.ProposalID, "err", err)
	return errs.Wrap(errs.Unavailable, err, "the vote could not be recorded; try again in a moment")
}

// commit writes batch in one transaction. Per-request refusals (no such proposal, no vote
// to withdraw) go into the outcomes and do not abort the transaction; an error aborts it.
func (s *Service) commit(batch []*request) ([]outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	byTenant := map[int64][]int{}
	for i, r := range batch {
		byTenant[r.ballot.TenantID] = append(byTenant[r.ballot.TenantID], i)
	}
	tenants := make([]int64, 0, len(byTenant))
	for t := range byTenant {
		tenants = append(tenants, t)
	}
	sort.Slice(tenants, func(i, j int) bool { return tenants[i] < tenants[j] })
	now := s.opts.Now().UTC()
	if s.dialect == store.SQLite && s.stmts == nil {
		st, err := prepare(ctx, s.db)
		if err != nil {
			return nil, err
		}
		s.stmts = st
	}
	var outs []outcome
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		s.committed = map[int64]counterDeltas{}
		outs = make([]outcome, len(batch)) // reset: RunInTx may not be retried, but stay safe
		for _, t := range tenants {        // in one order everywhere, so writers cannot deadlock
			if err := store.For(tx, t).Lock(ctx, voteLockClass); err != nil {
				return err
			}
		}
		for _, t := range tenants {
			var ts *txStatements
			if s.stmts != nil {
				ts = s.stmts.in(s.db, tx, t)
			}
			if err := s.applyTenant(ctx, store.For(tx, t), ts, batch, byTenant[t], outs, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.counted()
	return outs, nil
}

// voteLockClass names the tenant lock (store.Scope.Lock) that vote writers hold for the rest
// of their transaction, so that counters stay exact.
const voteLockClass = 0x766f7465 // "vote"

type pairKey struct {
	proposal    int64
	participant string
}

type current struct {
	exists bool
	vote   Vote
}

// proposalRef is what a batch needs of a proposal: that it exists, and its consultation.
type proposalRef struct {
	bun.BaseModel `bun:"table:proposals,alias:p"`

	TenantID       int64 `bun:"tenant_id,pk"`
	ID             int64 `bun:"id,pk"`
	ConsultationID int64 `bun:"consultation_id"`
}

// refKey names a proposal of a tenant.
type refKey struct{ tenant, proposal int64 }

func (p *proposalRef) SetTenantID(id int64) {
	if p != nil {
		p.TenantID = id
	}
}

// applyTenant writes the requests idx of batch, all of tenant sc. ts, if not nil, are the
// prepared statements it runs instead of the batch's statements (SQLite, see prepared.go).
func (s *Service) applyTenant(ctx context.Context, sc store.Scope, ts *txStatements, batch []*request, idx []int, outs []outcome, now time.Time) error {
	// The proposals voted on, in one query.
	var ids []int64
	seen := map[int64]bool{}
	pairs := make([]pairKey, 0, len(idx))
	seenPair := map[pairKey]bool{}
	for _, i := range idx {
		b := batch[i].ballot
		if !batch[i].withdraw && !seen[b.ProposalID] {
			seen[b.ProposalID] = true
			ids = append(ids, b.ProposalID)
		}
		k := pairKey{b.ProposalID, b.Participant}
		if !seenPair[k] {
			seenPair[k] = true
			pairs = append(pairs, k)
		}
	}
	// A proposal never changes consultation: once read, its consultation is remembered.
	consultationOf := map[int64]int64{}
	var unknown []int64
	for _, id := range ids {
		if c, ok := s.refs.Load(refKey{sc.TenantID(), id}); ok {
			consultationOf[id] = c.(int64)
		} else {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		var refs []proposalRef
		if err := sc.Select(&refs).Column("id", "consultation_id").Where("p.id IN (?)", bun.List(unknown)).Scan(ctx); err != nil {
			return fmt.Errorf("read proposals: %w", err)
		}
		for _, p := range refs {
			consultationOf[p.ID] = p.ConsultationID
			s.refs.Store(refKey{sc.TenantID(), p.ID}, p.ConsultationID)
		}
	}

	// Erased participants may not vote again (withdrawals find no vote of theirs anyway).
	var voters []string
	seenVoter := map[string]bool{}
	for _, i := range idx {
		if p := batch[i].ballot.Participant; !batch[i].withdraw && !seenVoter[p] {
			seenVoter[p] = true
			voters = append(voters, p)
		}
	}
	var isRetired map[string]bool
	if len(voters) > 0 {
		var err error
		if ts != nil {
			isRetired, err = ts.retired(ctx, voters)
		} else {
			isRetired, err = retired(ctx, sc, voters)
		}
		if err != nil {
			return err
		}
	}

	// The votes being replaced, in one query; then the batch's own changes on top.
	state := make(map[pairKey]*current, len(pairs))
	for _, k := range pairs {
		state[k] = &current{}
	}
	var existing []Vote
	if ts != nil {
		var err error
		if existing, err = ts.votes(ctx, pairs); err != nil {
			return err
		}
	} else {
		where, args := pairsIn(pairs)
		if err := sc.Select(&existing).Where(where, args...).Scan(ctx); err != nil {
			return fmt.Errorf("read votes: %w", err)
		}
	}
	for _, v := range existing {
		state[pairKey{v.ProposalID, v.Participant}] = &current{exists: true, vote: v}
	}

	counters := counterDeltas{}
	var dirty []pairKey
	for _, i := range idx {
		r := batch[i]
		b := r.ballot
		k := pairKey{b.ProposalID, b.Participant}
		cur := state[k]
		if r.withdraw {
			if !cur.exists {
				outs[i].err = errs.E(errs.NotFound, "you have not voted on this proposal, so there is no vote to withdraw").Say("err_vote_none")
				continue
			}
			counters.add(cur.vote, -1)
			cur.exists = false
			dirty = append(dirty, k)
			continue
		}
		if isRetired[b.Participant] {
			outs[i].err = errRetired
			continue
		}
		c, ok := consultationOf[b.ProposalID]
		if !ok || c != b.ConsultationID {
			outs[i].err = errs.E(errs.NotFound, "proposal %d does not exist in this consultation", b.ProposalID).Say("err_vote_proposal_not_found")
			continue
		}
		v := Vote{
			TenantID: sc.TenantID(), ProposalID: b.ProposalID, Participant: b.Participant,
			ConsultationID: c, KeyIndex: int16(b.Key.Index()), Qualifications: SetOf(b.Qualifications),
			Trust: b.Trust, Origin: b.Origin, Source: b.Source, CreatedAt: now, UpdatedAt: now,
		}
		if cur.exists {
			counters.add(cur.vote, -1)
			v.CreatedAt = cur.vote.CreatedAt
			// A change of mind keeps the trust the vote earned first (and the origin that
			// earned it), unless the new key is stronger.
			if v.Trust < cur.vote.Trust {
				v.Trust, v.Origin = cur.vote.Trust, cur.vote.Origin
			}
		}
		counters.add(v, +1)
		cur.exists, cur.vote = true, v
		dirty = append(dirty, k)
		outs[i].vote = v
	}

	var upserts []Vote
	var deletes []pairKey
	done := map[pairKey]bool{}
	for _, k := range dirty {
		if done[k] {
			continue
		}
		done[k] = true
		if cur := state[k]; cur.exists {
			upserts = append(upserts, cur.vote)
		} else {
			deletes = append(deletes, k)
		}
	}
	s.committed[sc.TenantID()] = counters
	if ts != nil {
		if err := ts.write(ctx, upserts, deletes); err != nil {
			return err
		}
		return ts.addCounts(ctx, counters.rows())
	}
	if len(deletes) > 0 {
		where, args := pairsIn(deletes)
		if _, err := sc.Delete((*Vote)(nil)).Where(where, args...).Exec(ctx); err != nil {
			return fmt.Errorf("delete votes: %w", err)
		}
	}
	if len(upserts) > 0 {
		_, err := sc.Insert(&upserts).
			On("CONFLICT (tenant_id, proposal_id, participant) DO UPDATE").
			Set(replaceVoteSQL).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("write votes: %w", err)
		}
	}
	return counters.apply(ctx, sc)
}

// pairsIn is a condition matching the votes of the given (proposal, participant) pairs.
func pairsIn(pairs []pairKey) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 2*len(pairs))
	b.WriteString("(v.proposal_id, v.participant) IN (VALUES ")
	for i, p := range pairs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, p.proposal, p.participant)
	}
	b.WriteString(")")
	return b.String(), args
}

// checkTenant guards the methods below against a zero tenant, which store.For refuses.
func checkTenant(tenantID int64) error {
	if tenantID <= 0 {
		return errs.E(errs.Invalid, "no tenant given")
	}
	return nil
}
