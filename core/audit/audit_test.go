package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/storetest"
)

// steppingClock starts at a time with nanoseconds and a non-UTC zone, to prove both are
// normalised, and moves one minute per call.
func steppingClock() func() time.Time {
	at := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	return func() time.Time {
		at = at.Add(time.Minute)
		return at
	}
}

// testKey keys the chains of these tests.
const testKey = "test-audit-key-test-audit-key-0123456789"

func newLog(db *bun.DB) *audit.Log {
	l := newLegacyLog(db)
	l.Keys = audit.NewKeyring(testKey)
	return l
}

// newLegacyLog writes unkeyed entries, as the log did before it was keyed.
func newLegacyLog(db *bun.DB) *audit.Log {
	l := audit.New(db)
	l.Now = steppingClock()
	return l
}

func appendN(t *testing.T, l *audit.Log, db bun.IDB, tenantID int64, n int) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for i := 0; i < n; i++ {
		e, err := l.Append(context.Background(), db, tenantID, audit.Record{
			Actor: "user:7", Action: "proposal.accept", Object: fmt.Sprintf("proposal:%d", i),
			Detail: map[string]any{"i": i, "note": "ok"},
		})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func verify(t *testing.T, l *audit.Log, tenantID int64) audit.Report {
	t.Helper()
	rep, err := l.Verify(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func exec(t *testing.T, db *bun.DB, query string, args ...any) {
	t.Helper()
	res, err := db.NewRaw(query, args...).Exec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", query, n)
	}
}

func TestAppend_ChainsEntries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		l := newLog(db)
		got := appendN(t, l, db, 2, 3)

		prev := audit.GenesisHash
		for i, e := range got {
			if e.TenantID != 2 || e.Seq != int64(i+1) {
				t.Fatalf("entry %d: tenant %d seq %d", i, e.TenantID, e.Seq)
			}
			if e.PrevHash != prev {
				t.Fatalf("seq %d: prev_hash %s, want %s", e.Seq, e.PrevHash, prev)
			}
			if h, err := l.Keys.Hash(&e); err != nil || len(e.Hash) != 64 || e.Hash != h || e.KeyID != l.Keys.CurrentID() {
				t.Fatalf("seq %d: hash %q does not match its fields", e.Seq, e.Hash)
			}
			if e.At.Nanosecond()%1000 != 0 || e.At.Location() != time.UTC {
				t.Fatalf("seq %d: at %v is not UTC truncated to microseconds", e.Seq, e.At)
			}
			prev = e.Hash
		}
		if string(got[0].Detail) != `{"i":0,"note":"ok"}` {
			t.Fatalf("detail %s", got[0].Detail)
		}

		// What the database gives back hashes to the same value: time and detail round-trip.
		page, err := l.List(ctx, 2, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != 3 {
			t.Fatalf("listed %d entries", len(page.Entries))
		}
		for _, e := range page.Entries {
			want := got[e.Seq-1]
			if h, _ := l.Keys.Hash(&e); !e.At.Equal(want.At) || string(e.Detail) != string(want.Detail) || h != want.Hash {
				t.Fatalf("seq %d read back as %+v, appended %+v", e.Seq, e, want)
			}
		}
		if rep := verify(t, l, 2); !rep.OK || rep.Entries != 3 || rep.FirstBroken != 0 {
			t.Fatalf("verify: %+v", rep)
		}
	})
}

func TestAppend_CommitsWithCallerTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		l := newLog(db)
		rollback := errors.New("rollback")
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			appendN(t, l, tx, 2, 2)
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		if rep := verify(t, l, 2); rep.Entries != 0 {
			t.Fatalf("rolled-back appends left %d entries", rep.Entries)
		}
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			appendN(t, l, tx, 2, 2)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, l, 2); !rep.OK || rep.Entries != 2 {
			t.Fatalf("verify after commit: %+v", rep)
		}
	})
}

func TestVerify_DetectsTamperedDetail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		storetest.AddTenants(t, db, 2)
		l := newLog(db)
		appendN(t, l, db, 2, 5)
		exec(t, db, `UPDATE audit_entries SET detail = '{"i":2,"note":"forged"}' WHERE tenant_id = 2 AND seq = 3`)

		rep := verify(t, l, 2)
		if rep.OK || rep.FirstBroken != 3 || rep.Reason != audit.ReasonHash || rep.Entries != 5 {
			t.Fatalf("verify: %+v", rep)
		}
	})
}

// An attacker who rewrites an entry and recomputes its hash leaves that entry
// self-consistent; the chain breaks at the next entry, whose prev_hash no longer matches.
// Report.FirstBroken names that next entry.
func TestVerify_DetectsTamperedHashRecomputed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		storetest.AddTenants(t, db, 2)
		l := newLegacyLog(db)
		entries := appendN(t, l, db, 2, 5)
		forged := entries[2]
		forged.Action = "proposal.reject"
		forged.Hash = forged.ComputeHash()
		exec(t, db, `UPDATE audit_entries SET action = ?, hash = ? WHERE tenant_id = 2 AND seq = 3`, forged.Action, forged.Hash)

		rep := verify(t, l, 2)
		if rep.OK || rep.FirstBroken != 4 || rep.Reason != audit.ReasonLink {
			t.Fatalf("verify: %+v", rep)
		}
	})
}

func TestVerify_DetectsDeletedEntry(t *testing.T) {
	for _, deleted := range []int64{1, 3} {
		t.Run(fmt.Sprintf("seq%d", deleted), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *bun.DB) {
				storetest.AddTenants(t, db, 2)
				l := newLog(db)
				appendN(t, l, db, 2, 5)
				exec(t, db, `DELETE FROM audit_entries WHERE tenant_id = 2 AND seq = ?`, deleted)

				rep := verify(t, l, 2)
				if rep.OK || rep.FirstBroken != deleted+1 || rep.Reason != audit.ReasonGap || rep.Entries != 4 {
					t.Fatalf("verify: %+v", rep)
				}
			})
		})
	}
}

// Verify reads the chain in batches; a break past the first batch must still be found.
func TestVerify_ChecksEveryBatchOfALongChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		l := newLog(db)
		const n = 1203
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			appendN(t, l, tx, 2, n)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, l, 2); !rep.OK || rep.Entries != n {
			t.Fatalf("verify: %+v", rep)
		}
		exec(t, db, `UPDATE audit_entries SET actor = 'user:8' WHERE tenant_id = 2 AND seq = 1150`)
		if rep := verify(t, l, 2); rep.OK || rep.FirstBroken != 1150 || rep.Entries != n {
			t.Fatalf("verify after tampering: %+v", rep)
		}
	})
}

func TestChains_ArePerTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2, 3)
		l := newLog(db)
		var two, three []audit.Entry
		for i := 0; i < 4; i++ { // interleaved, so a shared sequence would show
			two = append(two, appendN(t, l, db, 2, 1)...)
			three = append(three, appendN(t, l, db, 3, 1)...)
		}
		for i := range two {
			if two[i].Seq != int64(i+1) || three[i].Seq != int64(i+1) {
				t.Fatalf("entry %d: seqs %d and %d", i, two[i].Seq, three[i].Seq)
			}
		}
		if two[0].PrevHash != audit.GenesisHash || three[0].PrevHash != audit.GenesisHash {
			t.Fatal("a tenant's first entry does not start from the genesis hash")
		}
		if two[1].PrevHash != two[0].Hash || three[1].PrevHash != three[0].Hash {
			t.Fatal("a tenant's chain links to another tenant's entry")
		}

		exec(t, db, `UPDATE audit_entries SET object = 'proposal:99' WHERE tenant_id = 2 AND seq = 2`)
		reps, err := l.VerifyAll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []audit.Report{
			{TenantID: 2, Entries: 4, OK: false, FirstBroken: 2, Reason: audit.ReasonHash},
			{TenantID: 3, Entries: 4, OK: true},
		}
		for i := range reps {
			reps[i] = audit.Report{TenantID: reps[i].TenantID, Entries: reps[i].Entries, OK: reps[i].OK, FirstBroken: reps[i].FirstBroken, Reason: reps[i].Reason}
		}
		if fmt.Sprint(reps) != fmt.Sprint(want) {
			t.Fatalf("verify all: %+v, want %+v", reps, want)
		}

		// Moving an entry to another tenant breaks it too: the hash covers the tenant.
		exec(t, db, `UPDATE audit_entries SET tenant_id = 1 WHERE tenant_id = 3 AND seq = 1`)
		if rep := verify(t, l, 1); rep.OK || rep.FirstBroken != 1 || rep.Reason != audit.ReasonHash {
			t.Fatalf("verify of tenant 1 after a moved entry: %+v", rep)
		}
	})
}

func TestList_FiltersAndPaginates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2, 3)
		l := newLog(db)
		records := []audit.Record{
			{Actor: "user:1", Action: "proposal.accept", Object: "proposal:10"},   // seq 1
			{Actor: "user:2", Action: "proposal.reject", Object: "proposal:11"},   // seq 2
			{Actor: "user:1", Action: "consultation.open", Object: "consult:1"},   // seq 3
			{Actor: "user:1", Action: "proposal.accept", Object: "proposal:12"},   // seq 4
			{Actor: "user:2", Action: "proposal.accept", Object: "prop_x:1"},      // seq 5
			{Actor: "user:2", Action: "proposal.accept", Object: "propAx:1"},      // seq 6
			{Actor: "user:1", Action: "consultation.close", Object: "consult:1"},  // seq 7
			{Actor: "user:3", Action: "proposal.accept", Object: "proposal:10:a"}, // seq 8
		}
		var at []time.Time
		for _, r := range records {
			e, err := l.Append(ctx, db, 2, r)
			if err != nil {
				t.Fatal(err)
			}
			at = append(at, e.At)
		}
		appendN(t, l, db, 3, 2) // another tenant's entries never show

		cases := []struct {
			name string
			f    audit.Filter
			want []int64
		}{
			{"everything, newest first", audit.Filter{}, []int64{8, 7, 6, 5, 4, 3, 2, 1}},
			{"actor", audit.Filter{Actor: "user:1"}, []int64{7, 4, 3, 1}},
			{"action", audit.Filter{Action: "proposal.reject"}, []int64{2}},
			{"object exact", audit.Filter{Object: "proposal:10"}, []int64{1}},
			{"object prefix", audit.Filter{Object: "proposal:1*"}, []int64{8, 4, 2, 1}},
			{"prefix treats _ literally", audit.Filter{Object: "prop_*"}, []int64{5}},
			{"lone star matches all", audit.Filter{Object: "*", Actor: "user:3"}, []int64{8}},
			{"combined", audit.Filter{Actor: "user:2", Action: "proposal.accept"}, []int64{6, 5}},
			{"since inclusive", audit.Filter{Since: at[5]}, []int64{8, 7, 6}},
			{"until exclusive", audit.Filter{Until: at[2]}, []int64{2, 1}},
			{"since and until", audit.Filter{Since: at[2], Until: at[4].Add(time.Microsecond)}, []int64{5, 4, 3}},
			{"before seq", audit.Filter{BeforeSeq: 4}, []int64{3, 2, 1}},
			{"limit", audit.Filter{Limit: 2}, []int64{8, 7}},
			{"nothing", audit.Filter{Actor: "user:404"}, []int64{}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, err := l.List(ctx, 2, c.f)
				if err != nil {
					t.Fatal(err)
				}
				got := []int64{}
				for _, e := range p.Entries {
					if e.TenantID != 2 {
						t.Fatalf("listed an entry of tenant %d", e.TenantID)
					}
					got = append(got, e.Seq)
				}
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Fatalf("seqs %v, want %v", got, c.want)
				}
			})
		}

		// Walking the cursor visits every matching entry once, then stops.
		var walked []int64
		f := audit.Filter{Actor: "user:1", Limit: 3}
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("pagination does not end")
			}
			p, err := l.List(ctx, 2, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Entries {
				walked = append(walked, e.Seq)
			}
			if p.NextBeforeSeq == 0 {
				break
			}
			f.BeforeSeq = p.NextBeforeSeq
		}
		if fmt.Sprint(walked) != fmt.Sprint([]int64{7, 4, 3, 1}) {
			t.Fatalf("walked %v", walked)
		}
		// A page that ends exactly at the last entry says there is no next page.
		if p, err := l.List(ctx, 2, audit.Filter{Actor: "user:1", Limit: 4}); err != nil || p.NextBeforeSeq != 0 {
			t.Fatalf("full page: next %d, err %v", p.NextBeforeSeq, err)
		}

		for _, bad := range []audit.Filter{{Limit: -1}, {BeforeSeq: -1}, {Since: at[3], Until: at[1]}} {
			if _, err := l.List(ctx, 2, bad); !errs.Is(err, errs.Invalid) {
				t.Errorf("List(%+v) = %v, want an invalid error", bad, err)
			}
		}
	})
}

func TestAppend_RejectsBadInput(t *testing.T) {
	ok := audit.Record{Actor: "user:1", Action: "proposal.accept", Object: "proposal:1"}
	with := func(change func(r *audit.Record)) audit.Record {
		r := ok
		change(&r)
		return r
	}
	cases := []struct {
		name  string
		r     audit.Record
		field string
	}{
		{"no actor", with(func(r *audit.Record) { r.Actor = "" }), "actor"},
		{"blank action", with(func(r *audit.Record) { r.Action = "  " }), "action"},
		{"no object", with(func(r *audit.Record) { r.Object = "" }), "object"},
		{"long actor", with(func(r *audit.Record) { r.Actor = strings.Repeat("é", audit.MaxFieldLength+1) }), "actor"},
		{"invalid UTF-8", with(func(r *audit.Record) { r.Object = "proposal:\xff" }), "object"},
		{"NUL", with(func(r *audit.Record) { r.Action = "a\x00b" }), "action"},
		{"detail too large", with(func(r *audit.Record) {
			r.Detail = map[string]any{"text": strings.Repeat("x", audit.MaxDetailBytes)}
		}), "detail"},
		{"detail not JSON", with(func(r *audit.Record) { r.Detail = map[string]any{"c": make(chan int)} }), "detail"},
	}
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		l := newLog(db)
		for _, c := range cases {
			_, err := l.Append(ctx, db, 2, c.r)
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.Invalid || e.Field != c.field {
				t.Errorf("%s: err %v, want invalid %s", c.name, err, c.field)
			}
		}
		if rep := verify(t, l, 2); rep.Entries != 0 {
			t.Fatalf("rejected appends wrote %d entries", rep.Entries)
		}
		// The limits themselves are allowed.
		edge := with(func(r *audit.Record) { r.Actor = strings.Repeat("é", audit.MaxFieldLength) })
		if _, err := l.Append(ctx, db, 2, edge); err != nil {
			t.Fatalf("actor of exactly %d characters: %v", audit.MaxFieldLength, err)
		}
	})
}

func TestAppend_ConcurrentAppendsKeepChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		l := audit.New(db) // the real clock: it is safe to call concurrently
		const workers, each = 8, 10
		var wg sync.WaitGroup
		errc := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					_, err := l.Append(ctx, db, 2, audit.Record{
						Actor: fmt.Sprintf("user:%d", w), Action: "vote.flag", Object: fmt.Sprintf("vote:%d", i),
					})
					if err != nil {
						errc <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
		if rep := verify(t, l, 2); !rep.OK || rep.Entries != workers*each {
			t.Fatalf("verify: %+v", rep)
		}
	})
}
