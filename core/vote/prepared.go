package vote

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// On PostgreSQL the writer reads and writes a batch's votes in a few statements whose length
// follows the batch (each statement is a round trip, so fewer is faster). SQLite has no round
// trips but parses every statement anew: bun writes the values into the SQL text, so no two
// statements are alike, and modernc.org/sqlite keeps no statement cache. At 1,000,000 stored
// votes, parsing was a fifth of the server's time under the vote load. On SQLite the writer
// therefore runs the fixed statements below, prepared once on the database, once per vote.
//
// Each statement names its tenant (tenant_id = ?, or the tenant_id column written), as
// store.Scope's queries do; the writer binds the tenant of the batch's scope.

// voteColumns are the votes table's columns in the order sqlUpsertVote and sqlReadVote use.
const voteColumns = "tenant_id, proposal_id, participant, consultation_id, vote, qualifications, trust, origin, source, created_at, updated_at"

// replaceVoteSQL is what an upsert of a vote changes on the stored one, on both dialects.
const replaceVoteSQL = "consultation_id = EXCLUDED.consultation_id, vote = EXCLUDED.vote, qualifications = EXCLUDED.qualifications, trust = EXCLUDED.trust, origin = EXCLUDED.origin, source = EXCLUDED.source, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at"

var (
	sqlRetired    = "SELECT 1 FROM retired_participants WHERE tenant_id = ? AND participant = ?"
	sqlReadVote   = "SELECT " + voteColumns + " FROM votes WHERE tenant_id = ? AND proposal_id = ? AND participant = ?"
	sqlDeleteVote = "DELETE FROM votes WHERE tenant_id = ? AND proposal_id = ? AND participant = ?"
	sqlUpsertVote = "INSERT INTO votes (" + voteColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
		" ON CONFLICT (tenant_id, proposal_id, participant) DO UPDATE SET " + replaceVoteSQL
	sqlAddCounts = "INSERT INTO proposal_counts AS pc (tenant_id, proposal_id, trust, consultation_id, " +
		strings.Join(counterColumns, ", ") + ") VALUES (?, ?, ?, ?" + strings.Repeat(", ?", len(counterColumns)) + ")" +
		" ON CONFLICT (tenant_id, proposal_id, trust) DO UPDATE SET " + addCounterSQL
)

// statements are the writer's prepared statements (SQLite only).
type statements struct {
	retired, read, delete, upsert, addCounts *sql.Stmt
}

// prepare prepares the writer's statements on db.
func prepare(ctx context.Context, db *bun.DB) (*statements, error) {
	st := &statements{}
	for _, p := range []struct {
		into **sql.Stmt
		sql  string
	}{{&st.retired, sqlRetired}, {&st.read, sqlReadVote}, {&st.delete, sqlDeleteVote}, {&st.upsert, sqlUpsertVote}, {&st.addCounts, sqlAddCounts}} {
		stmt, err := db.DB.PrepareContext(ctx, p.sql)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("prepare the vote writer's statements: %w", err)
		}
		*p.into = stmt
	}
	return st, nil
}

func (st *statements) close() {
	for _, s := range []*sql.Stmt{st.retired, st.read, st.delete, st.upsert, st.addCounts} {
		if s != nil {
			_ = s.Close()
		}
	}
}

// txStatements are the prepared statements bound to one transaction of one tenant.
// database/sql prepares each statement once per connection and reuses it after.
type txStatements struct {
	db     *bun.DB
	tx     *sql.Tx
	st     *statements
	tenant int64
}

func (st *statements) in(db *bun.DB, tx bun.Tx, tenant int64) *txStatements {
	return &txStatements{db: db, tx: tx.Tx, st: st, tenant: tenant}
}

// retired is vote.retired on prepared statements: which of participants were erased.
func (t *txStatements) retired(ctx context.Context, participants []string) (map[string]bool, error) {
	stmt := t.tx.StmtContext(ctx, t.st.retired)
	out := map[string]bool{}
	for _, p := range participants {
		var one int
		err := stmt.QueryRowContext(ctx, t.tenant, p).Scan(&one)
		switch {
		case err == sql.ErrNoRows:
		case err != nil:
			return nil, fmt.Errorf("read retired participants: %w", err)
		default:
			out[p] = true
		}
	}
	return out, nil
}

// votes reads the stored votes of pairs.
func (t *txStatements) votes(ctx context.Context, pairs []pairKey) ([]Vote, error) {
	stmt := t.tx.StmtContext(ctx, t.st.read)
	var out []Vote
	for _, k := range pairs {
		rows, err := stmt.QueryContext(ctx, t.tenant, k.proposal, k.participant)
		if err != nil {
			return nil, fmt.Errorf("read votes: %w", err)
		}
		var vs []Vote
		// bun scans the row as it scans its own queries' (times included).
		if err := t.db.ScanRows(ctx, rows, &vs); err != nil {
			return nil, fmt.Errorf("read votes: %w", err)
		}
		out = append(out, vs...)
	}
	return out, nil
}

// write deletes the votes of deletes and inserts or replaces upserts.
func (t *txStatements) write(ctx context.Context, upserts []Vote, deletes []pairKey) error {
	if len(deletes) > 0 {
		stmt := t.tx.StmtContext(ctx, t.st.delete)
		for _, k := range deletes {
			if _, err := stmt.ExecContext(ctx, t.tenant, k.proposal, k.participant); err != nil {
				return fmt.Errorf("delete votes: %w", err)
			}
		}
	}
	if len(upserts) > 0 {
		stmt := t.tx.StmtContext(ctx, t.st.upsert)
		for _, v := range upserts {
			if _, err := stmt.ExecContext(ctx, t.tenant, v.ProposalID, v.Participant, v.ConsultationID, int64(v.KeyIndex),
				int64(v.Qualifications), int64(v.Trust), string(v.Origin), v.Source, bunTime(v.CreatedAt), bunTime(v.UpdatedAt)); err != nil {
				return fmt.Errorf("write votes: %w", err)
			}
		}
	}
	return nil
}

// addCounts adds rows to the stored counters.
func (t *txStatements) addCounts(ctx context.Context, rows []countRow) error {
	stmt := t.tx.StmtContext(ctx, t.st.addCounts)
	args := make([]any, 4+len(counterColumns))
	for i := range rows {
		r := &rows[i]
		args[0], args[1], args[2], args[3] = t.tenant, r.ProposalID, int64(r.Trust), r.ConsultationID
		for j, c := range r.cells() {
			args[4+j] = *c
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("update vote counters: %w", err)
		}
	}
	return nil
}

// bunTime writes t as bun writes times into SQLite, so that rows written here and rows
// written through bun read and sort alike.
func bunTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999-07:00")
}
