package vote

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
)

// countRow is one row of proposal_counts: a proposal's votes of one trust level.
type countRow struct {
	bun.BaseModel `bun:"table:proposal_counts,alias:pc"`

	TenantID          int64         `bun:"tenant_id,pk"`
	ProposalID        int64         `bun:"proposal_id,pk"`
	Trust             results.Trust `bun:"trust,pk"`
	ConsultationID    int64         `bun:"consultation_id"`
	Agree             int64         `bun:"agree"`
	Disagree          int64         `bun:"disagree"`
	Neutral           int64         `bun:"neutral"`
	LikeIt            int64         `bun:"like_it"`
	Doable            int64         `bun:"doable"`
	PlatitudeAgree    int64         `bun:"platitude_agree"`
	NoWay             int64         `bun:"no_way"`
	Impossible        int64         `bun:"impossible"`
	PlatitudeDisagree int64         `bun:"platitude_disagree"`
	DoNotUnderstand   int64         `bun:"do_not_understand"`
	NoOpinion         int64         `bun:"no_opinion"`
	DoNotCare         int64         `bun:"do_not_care"`
}

func (r *countRow) SetTenantID(id int64) {
	if r != nil {
		r.TenantID = id
	}
}

// cells are the row's counters: the keys in results.Keys order, then the qualifications
// in results.Qualifications order.
func (r *countRow) cells() [results.NumKeys + results.NumQualifications]*int64 {
	return [...]*int64{&r.Agree, &r.Disagree, &r.Neutral,
		&r.LikeIt, &r.Doable, &r.PlatitudeAgree,
		&r.NoWay, &r.Impossible, &r.PlatitudeDisagree,
		&r.DoNotUnderstand, &r.NoOpinion, &r.DoNotCare}
}

// counterColumns lists the counter columns in cells order.
var counterColumns = []string{"agree", "disagree", "neutral",
	"like_it", "doable", "platitude_agree",
	"no_way", "impossible", "platitude_disagree",
	"do_not_understand", "no_opinion", "do_not_care"}

// addCounterSQL adds a delta row to the stored one.
var addCounterSQL = func() string {
	var b strings.Builder
	for i, c := range counterColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = pc.%s + EXCLUDED.%s", c, c, c)
	}
	return b.String()
}()

// addVote counts one stored vote into c (delta +1) or takes it out (delta -1). It is the one
// place where a vote becomes counts, used by both the incremental counters and Recompute.
// As in results.Counts.Add, qualification i counts only with key i/3.
func addVote(c *results.Counts, t results.Trust, key int64, quals int64, delta int64) {
	if t >= results.NumTrusts || key < 0 || key >= results.NumKeys {
		return
	}
	c.Votes[t][key] += delta
	if quals == 0 {
		return
	}
	for q := 3 * key; q < 3*key+3; q++ {
		if quals&(1<<q) != 0 {
			c.Quals[t][q] += delta
		}
	}
}

// rowsOf splits a proposal's counts into proposal_counts rows, one per trust level, leaving
// out levels without any vote.
func rowsOf(proposalID, consultationID int64, c *results.Counts, out []countRow) []countRow {
	for t := range results.Trust(results.NumTrusts) {
		r := countRow{ProposalID: proposalID, Trust: t, ConsultationID: consultationID}
		cells := r.cells()
		zero := true
		for k := range results.NumKeys {
			*cells[k] = c.Votes[t][k]
			zero = zero && c.Votes[t][k] == 0
		}
		for q := range results.NumQualifications {
			*cells[results.NumKeys+q] = c.Quals[t][q]
			zero = zero && c.Quals[t][q] == 0
		}
		if !zero {
			out = append(out, r)
		}
	}
	return out
}

// addRow adds a stored row into c.
func addRow(c *results.Counts, r *countRow) {
	if r.Trust >= results.NumTrusts {
		return
	}
	cells := r.cells()
	for k := range results.NumKeys {
		c.Votes[r.Trust][k] += *cells[k]
	}
	for q := range results.NumQualifications {
		c.Quals[r.Trust][q] += *cells[results.NumKeys+q]
	}
}

// counterDeltas accumulates a batch's changes to proposal counters.
type counterDeltas map[int64]*proposalDelta

type proposalDelta struct {
	consultation int64
	counts       results.Counts
}

func (d counterDeltas) add(v Vote, delta int64) {
	p := d[v.ProposalID]
	if p == nil {
		p = &proposalDelta{consultation: v.ConsultationID}
		d[v.ProposalID] = p
	}
	addVote(&p.counts, v.Trust, int64(v.KeyIndex), int64(v.Qualifications), delta)
}

// rows are the deltas as proposal_counts rows, by proposal.
func (d counterDeltas) rows() []countRow {
	ids := make([]int64, 0, len(d))
	for id := range d {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var rows []countRow
	for _, id := range ids {
		rows = rowsOf(id, d[id].consultation, &d[id].counts, rows)
	}
	return rows
}

// apply adds the deltas to the stored counters, in one statement.
func (d counterDeltas) apply(ctx context.Context, sc store.Scope) error {
	rows := d.rows()
	if len(rows) == 0 {
		return nil
	}
	_, err := sc.Insert(&rows).
		On("CONFLICT (tenant_id, proposal_id, trust) DO UPDATE").
		Set(addCounterSQL).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("update vote counters: %w", err)
	}
	return nil
}

// Counts returns the counters of every proposal of a consultation that has votes.
func (s *Service) Counts(ctx context.Context, tenantID, consultationID int64) (map[int64]results.Counts, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	var rows []countRow
	if err := store.For(s.db, tenantID).Select(&rows).Where("pc.consultation_id = ?", consultationID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read counts of consultation %d: %w", consultationID, err)
	}
	out := make(map[int64]results.Counts, len(rows)/2+1)
	for i := range rows {
		c := out[rows[i].ProposalID]
		addRow(&c, &rows[i])
		out[rows[i].ProposalID] = c
	}
	return out, nil
}

// Voted returns participant's current votes in a consultation, by proposal.
func (s *Service) Voted(ctx context.Context, tenantID, consultationID int64, participant string) (map[int64]results.Key, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	var vs []Vote
	err := store.For(s.db, tenantID).Select(&vs).Column("proposal_id", "vote").
		Where("v.participant = ? AND v.consultation_id = ?", participant, consultationID).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read votes of a participant: %w", err)
	}
	out := make(map[int64]results.Key, len(vs))
	for _, v := range vs {
		out[v.ProposalID] = v.Key()
	}
	return out, nil
}

// Get returns participant's vote on a proposal, and whether there is one.
func (s *Service) Get(ctx context.Context, tenantID, proposalID int64, participant string) (Vote, bool, error) {
	if err := checkTenant(tenantID); err != nil {
		return Vote{}, false, err
	}
	var v Vote
	err := store.For(s.db, tenantID).Select(&v).
		Where("v.proposal_id = ? AND v.participant = ?", proposalID, participant).Limit(1).Scan(ctx)
	if store.IsNoRows(err) {
		return Vote{}, false, nil
	}
	if err != nil {
		return Vote{}, false, fmt.Errorf("read vote: %w", err)
	}
	return v, true, nil
}

// Mismatch is a proposal whose stored counters differ from the counts of its raw votes.
type Mismatch struct {
	ProposalID int64          `json:"proposalId"`
	Stored     results.Counts `json:"stored"`
	Recomputed results.Counts `json:"recomputed"`
}

// Diff is what Recompute found.
type Diff struct {
	Proposals  int        `json:"proposals"` // proposals with votes or stored counters
	Votes      int64      `json:"votes"`     // raw votes read
	Mismatches []Mismatch `json:"mismatches"`
}

// Recompute counts a consultation's raw votes again, proposal by proposal, and compares
// the result with the stored counters. With write, it then replaces the stored counters with
// the recomputed ones, in one transaction that holds the tenant's write lock (votes wait for
// it: about a second per million votes). Without write it changes nothing and reads one
// consistent snapshot, so auditors can check that published results follow from the votes
// while voting goes on. progress, if not nil, is called now and then with the votes read
// so far and the total.
func (s *Service) Recompute(ctx context.Context, tenantID, consultationID int64, write bool, progress func(done, total int64)) (Diff, error) {
	if err := checkTenant(tenantID); err != nil {
		return Diff{}, err
	}
	var diff Diff
	var err error
	switch {
	case write:
		err = store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
			if err := tx.Lock(ctx, voteLockClass); err != nil {
				return err
			}
			var recounted []proposalCounts
			diff, recounted, err = recount(ctx, tx, consultationID, progress)
			if err != nil {
				return err
			}
			return replaceCounts(ctx, tx, consultationID, recounted)
		})
	case s.dialect == store.Postgres:
		opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
		err = s.db.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error {
			diff, _, err = recount(ctx, store.For(tx, tenantID), consultationID, progress)
			return err
		})
	default:
		// SQLite: the database's transactions begin IMMEDIATE (they take the write lock),
		// so a read-only snapshot is begun by hand on one connection.
		var conn bun.Conn
		conn, err = s.db.Conn(ctx)
		if err != nil {
			break
		}
		defer conn.Close()
		if _, err = conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
			break
		}
		diff, _, err = recount(ctx, store.For(conn, tenantID), consultationID, progress)
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	}
	if err != nil {
		return Diff{}, errs.Wrap(errs.Unavailable, err, "the counts of consultation %d could not be recomputed; try again", consultationID)
	}
	return diff, nil
}

type proposalCounts struct {
	id           int64
	consultation int64
	counts       results.Counts
}

// progressEvery is how many votes Recompute reads between two progress reports.
const progressEvery = 1 << 16

func recount(ctx context.Context, sc store.Scope, consultationID int64, progress func(done, total int64)) (Diff, []proposalCounts, error) {
	var stored []countRow
	if err := sc.Select(&stored).Where("pc.consultation_id = ?", consultationID).Scan(ctx); err != nil {
		return Diff{}, nil, fmt.Errorf("read stored counts: %w", err)
	}
	var total int64
	if progress != nil {
		n, err := sc.Select((*Vote)(nil)).Where("v.consultation_id = ?", consultationID).Count(ctx)
		if err != nil {
			return Diff{}, nil, fmt.Errorf("count votes: %w", err)
		}
		total = int64(n)
		progress(0, total)
	}

	// Stream the votes in proposal order (the votes_by_consultation index), counting each
	// proposal as its votes go by: memory stays one Counts per proposal, whatever the votes.
	rows, err := sc.Select((*Vote)(nil)).Column("proposal_id", "vote", "qualifications", "trust").
		Where("v.consultation_id = ?", consultationID).OrderExpr("v.proposal_id").Rows(ctx)
	if err != nil {
		return Diff{}, nil, fmt.Errorf("read votes: %w", err)
	}
	defer rows.Close()
	var out []proposalCounts
	var cur *proposalCounts
	var n int64
	var pid, key, quals, trust int64
	for rows.Next() {
		if err := rows.Scan(&pid, &key, &quals, &trust); err != nil {
			return Diff{}, nil, fmt.Errorf("read vote: %w", err)
		}
		if cur == nil || cur.id != pid {
			out = append(out, proposalCounts{id: pid, consultation: consultationID})
			cur = &out[len(out)-1]
		}
		if trust >= 0 && trust < results.NumTrusts {
			addVote(&cur.counts, results.Trust(trust), key, quals, 1)
		}
		n++
		if progress != nil && n%progressEvery == 0 {
			progress(n, total)
		}
	}
	if err := rows.Err(); err != nil {
		return Diff{}, nil, fmt.Errorf("read votes: %w", err)
	}
	if progress != nil {
		progress(n, max(n, total))
	}

	storedBy := make(map[int64]*results.Counts, len(stored)/2+1)
	for i := range stored {
		c := storedBy[stored[i].ProposalID]
		if c == nil {
			c = new(results.Counts)
			storedBy[stored[i].ProposalID] = c
		}
		addRow(c, &stored[i])
	}
	diff := Diff{Votes: n, Proposals: len(out)}
	for i := range out {
		var st results.Counts
		if c := storedBy[out[i].id]; c != nil {
			st = *c
			delete(storedBy, out[i].id)
		}
		if !st.Equal(out[i].counts) {
			diff.Mismatches = append(diff.Mismatches, Mismatch{ProposalID: out[i].id, Stored: st, Recomputed: out[i].counts})
		}
	}
	diff.Proposals += len(storedBy)
	for id, c := range storedBy { // counters without any vote behind them
		if !c.Equal(results.Counts{}) {
			diff.Mismatches = append(diff.Mismatches, Mismatch{ProposalID: id, Stored: *c})
		}
	}
	sort.Slice(diff.Mismatches, func(i, j int) bool { return diff.Mismatches[i].ProposalID < diff.Mismatches[j].ProposalID })
	return diff, out, nil
}

// replaceCounts makes the stored counters of a consultation those recounted.
func replaceCounts(ctx context.Context, sc store.Scope, consultationID int64, recounted []proposalCounts) error {
	if _, err := sc.Delete((*countRow)(nil)).Where("pc.consultation_id = ?", consultationID).Exec(ctx); err != nil {
		return fmt.Errorf("clear counts: %w", err)
	}
	const chunk = 1000
	rows := make([]countRow, 0, chunk+results.NumTrusts)
	for i := range recounted {
		rows = rowsOf(recounted[i].id, recounted[i].consultation, &recounted[i].counts, rows)
		if len(rows) >= chunk || i == len(recounted)-1 {
			if len(rows) > 0 {
				if _, err := sc.Insert(&rows).Exec(ctx); err != nil {
					return fmt.Errorf("write counts: %w", err)
				}
			}
			rows = rows[:0]
		}
	}
	return nil
}
