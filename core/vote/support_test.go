package vote

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/results"
)

// The fixture's ids: tenant 2 runs consultations 10 and 11, tenant 3 runs consultation 20.
const (
	tenantA        = 2
	tenantB        = 3
	consultationA  = 10
	consultationA2 = 11
	consultationB  = 20
)

// fixture is a started Service on a database holding two tenants, their consultations and
// proposals.
type fixture struct {
	db  *bun.DB
	svc *Service
	reg *prometheus.Registry
	// proposals[c] are the ids of consultation c's proposals.
	proposals map[int64][]int64
}

// newFixture creates n proposals in each consultation and starts a Service on db.
func newFixture(t testing.TB, db *bun.DB, n int, opts Options) *fixture {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	insert := func(table string, row map[string]any) {
		t.Helper()
		if _, err := db.NewInsert().Model(&row).TableExpr(table).Exec(ctx); err != nil {
			t.Fatalf("insert into %s: %v", table, err)
		}
	}
	for _, id := range []int64{tenantA, tenantB} {
		insert("tenants", map[string]any{"id": id, "slug": fmt.Sprintf("t%d", id), "kind": "city", "name": "T", "created_at": now, "updated_at": now})
	}
	f := &fixture{db: db, reg: prometheus.NewRegistry(), proposals: map[int64][]int64{}}
	for _, c := range []struct{ tenant, id int64 }{{tenantA, consultationA}, {tenantA, consultationA2}, {tenantB, consultationB}} {
		insert("consultations", map[string]any{"tenant_id": c.tenant, "id": c.id, "slug": fmt.Sprintf("c%d", c.id), "question": "Comment faire ?", "created_at": now, "updated_at": now})
		rows := make([]testProposal, 0, n)
		for i := range n {
			id := c.id*100_000 + int64(i) + 1
			rows = append(rows, testProposal{TenantID: c.tenant, ID: id, ConsultationID: c.id, Author: "author",
				Content: fmt.Sprintf("Il faut faire la chose numéro %d", id), Status: "accepted", CreatedAt: now})
			f.proposals[c.id] = append(f.proposals[c.id], id)
		}
		for len(rows) > 0 {
			k := min(500, len(rows))
			chunk := rows[:k]
			if _, err := db.NewInsert().Model(&chunk).Exec(ctx); err != nil {
				t.Fatalf("insert proposals: %v", err)
			}
			rows = rows[k:]
		}
	}
	f.svc = New(db, f.reg, opts)
	f.svc.Start()
	t.Cleanup(f.svc.Close)
	return f
}

// testProposal is a row of proposals, inserted directly: this package does not own them.
type testProposal struct {
	bun.BaseModel `bun:"table:proposals"`

	TenantID       int64     `bun:"tenant_id"`
	ID             int64     `bun:"id"`
	ConsultationID int64     `bun:"consultation_id"`
	Author         string    `bun:"author"`
	Content        string    `bun:"content"`
	Status         string    `bun:"status"`
	CreatedAt      time.Time `bun:"created_at"`
}

// ballot is a vote of tenant 2, consultation 10.
func (f *fixture) ballot(proposal int64, participant string, k results.Key, trust results.Trust, qs ...results.Qualification) Ballot {
	return Ballot{TenantID: tenantA, ConsultationID: consultationA, ProposalID: proposal, Participant: participant,
		Key: k, Qualifications: qs, Trust: trust, Origin: Search}
}

func (f *fixture) cast(t testing.TB, b Ballot) Vote {
	t.Helper()
	v, err := f.svc.Cast(context.Background(), b)
	if err != nil {
		t.Fatalf("cast %+v: %v", b, err)
	}
	return v
}

func (f *fixture) counts(t testing.TB, tenant, consultation int64) map[int64]results.Counts {
	t.Helper()
	c, err := f.svc.Counts(context.Background(), tenant, consultation)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// assertRecomputeClean fails if the stored counters of a consultation differ from its votes.
func (f *fixture) assertRecomputeClean(t testing.TB, tenant, consultation int64) Diff {
	t.Helper()
	d, err := f.svc.Recompute(context.Background(), tenant, consultation, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range d.Mismatches {
		t.Errorf("proposal %d: stored %+v, recomputed %+v", m.ProposalID, m.Stored, m.Recomputed)
	}
	return d
}

// metric returns a counter's value, or a histogram's sample count, from the registry.
func (f *fixture) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			if h := m.GetHistogram(); h != nil {
				sum += float64(h.GetSampleCount())
			} else {
				sum += m.GetCounter().GetValue()
			}
		}
		return sum
	}
	return 0
}

func hasLabels(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// one returns counts holding a single vote.
func one(t results.Trust, k results.Key, qs ...results.Qualification) results.Counts {
	var c results.Counts
	c.Add(t, k, qs, 1)
	return c
}
