package vote

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/store"
)

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
