package catalog_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/core/vote"
)

// open is an open consultation "culture" of site "ay" with n accepted proposals.
type open struct {
	env       *testsupport.Env
	tenant    int64
	cs        consultation.Consultation
	proposals []int64
}

func newOpen(t testing.TB, e *testsupport.Env, n int) *open {
	t.Helper()
	ctx := context.Background()
	site := e.Site("ay")
	if _, err := e.App.Consultations.Create(ctx, site.Tenant.ID, "test", consultation.Input{Slug: "culture", Question: "Comment rendre la culture accessible ?"}); err != nil {
		t.Fatal(err)
	}
	cs, err := e.App.Consultations.SetStatus(ctx, site.Tenant.ID, "test", "culture", consultation.Open)
	if err != nil {
		t.Fatal(err)
	}
	o := &open{env: e, tenant: site.Tenant.ID, cs: cs}
	for i := range n {
		p, err := e.App.Proposals.Submit(ctx, site.Tenant.ID, cs, fmt.Sprintf("p:author%d", i), fmt.Sprintf("Il faut ouvrir le musée numéro %d le dimanche soir", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.App.Proposals.Accept(ctx, site.Tenant.ID, p.ID, "moderator", nil, nil); err != nil {
			t.Fatal(err)
		}
		o.proposals = append(o.proposals, p.ID)
	}
	return o
}

// vote casts (or, with key "", withdraws) participant's vote on proposal i.
func (o *open) vote(t *testing.T, i int, participant string, key results.Key) {
	t.Helper()
	ctx := context.Background()
	var err error
	if key == "" {
		err = o.env.App.Votes.Withdraw(ctx, o.tenant, o.proposals[i], participant)
	} else {
		_, err = o.env.App.Votes.Cast(ctx, vote.Ballot{TenantID: o.tenant, ConsultationID: o.cs.ID, ProposalID: o.proposals[i],
			Participant: participant, Key: key, Trust: results.Sequence, Origin: vote.Sequence})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// next waits until cat serves another entry than e for the consultation, and returns it.
func (o *open) next(t *testing.T, cat *catalog.Catalog, e *catalog.Entry) *catalog.Entry {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		n, err := cat.ByID(context.Background(), o.tenant, o.cs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n != e {
			return n
		}
	}
	t.Fatal("the entry was not refreshed")
	return nil
}

// stored is the consultation's counters as the database holds them.
func (o *open) stored(t *testing.T) map[int64]results.Counts {
	t.Helper()
	c, err := o.env.App.Votes.Counts(context.Background(), o.tenant, o.cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sameCounts(t *testing.T, got, want map[int64]results.Counts) {
	t.Helper()
	for id, w := range want {
		if got[id] != w {
			t.Fatalf("proposal %d: counts %+v, stored %+v", id, got[id], w)
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok && g != (results.Counts{}) {
			t.Fatalf("proposal %d: counts %+v, none stored", id, g)
		}
	}
}

func TestCatalog_MemoIsBuiltOncePerEntryAndTheOldValueServedWhileRebuilt(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		o := newOpen(t, e, 2)
		ctx := context.Background()
		cat := e.App.Catalog
		cat.TTL = 10 * time.Millisecond
		var builds atomic.Int32
		version := atomic.Pointer[string]{}
		v1 := "v1"
		version.Store(&v1)
		build := func(*catalog.Entry) ([]byte, error) { builds.Add(1); return []byte(*version.Load()), nil }
		first, err := cat.BySlug(ctx, o.tenant, "culture")
		if err != nil {
			t.Fatal(err)
		}
		loads := cat.Loads()
		for range 5 {
			if b, err := first.Memo("k", build); err != nil || string(b) != "v1" {
				t.Fatal(string(b), err)
			}
		}
		if builds.Load() != 1 {
			t.Fatalf("built %d times for one entry", builds.Load())
		}
		// Nothing changed: past the TTL the same entry is served, nothing is read or built.
		time.Sleep(30 * time.Millisecond)
		if again, _ := cat.BySlug(ctx, o.tenant, "culture"); again != first {
			t.Fatal("an entry was rebuilt while nothing changed")
		}
		time.Sleep(20 * time.Millisecond)
		if cat.Loads() != loads || builds.Load() != 1 {
			t.Fatalf("nothing changed, yet %d loads and %d builds", cat.Loads()-loads, builds.Load())
		}
		// A vote: the next read past the TTL brings an entry with it, without reading the
		// consultation again, and no memo is built before it is asked for.
		o.vote(t, 0, "p:one", results.Agree)
		time.Sleep(20 * time.Millisecond)
		next := o.next(t, cat, first)
		if cat.Loads() != loads {
			t.Fatal("a vote made the catalog read the consultation again")
		}
		if n := next.Counts[o.proposals[0]]; n.Total(results.Sequence) != 1 {
			t.Fatalf("the new entry counts %+v", n)
		}
		if next.Candidates[0].Votes != 1 || next.Candidates[1].Votes != 0 {
			t.Fatalf("candidates' votes %d, %d; want 1, 0", next.Candidates[0].Votes, next.Candidates[1].Votes)
		}
		time.Sleep(20 * time.Millisecond)
		if builds.Load() != 1 {
			t.Fatal("a memo was built before it was asked for")
		}
		// Asked for: the old value at once, the new one once built in the background.
		v2 := "v2"
		version.Store(&v2)
		if b, _ := next.Memo("k", build); string(b) != "v1" {
			t.Fatalf("first request on the new entry got %q, want the previous value", b)
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if b, _ := next.Memo("k", build); string(b) == "v2" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the new value was never built")
			}
		}
		if builds.Load() != 2 {
			t.Fatalf("%d builds, want 2", builds.Load())
		}
		// Invalidate drops the entry at once: the next read loads it.
		cat.Invalidate(o.tenant, o.cs.ID)
		if again, _ := cat.BySlug(ctx, o.tenant, "culture"); again == next || cat.Loads() != loads+1 {
			t.Fatal("Invalidate kept the entry")
		}
		// Unknown proposals are not found; another tenant sees nothing.
		if _, _, err := cat.ByProposal(ctx, o.tenant, 12345); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown proposal: %v", err)
		}
		other := e.Site("bee")
		if _, err := cat.BySlug(ctx, other.Tenant.ID, "culture"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another tenant's consultation: %v", err)
		}
	})
}

// Votes, changes of mind and withdrawals, in batches: the counters the catalog folds in from
// the vote writer are the stored ones, and the consultation is never read again.
func TestCatalog_CountersFollowTheVoteWriterWithoutReadingAgain(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		o := newOpen(t, e, 5)
		cat := e.App.Catalog
		cat.TTL = time.Millisecond
		cur, err := cat.ByID(context.Background(), o.tenant, o.cs.ID)
		if err != nil {
			t.Fatal(err)
		}
		loads := cat.Loads()
		rng := rand.New(rand.NewPCG(1, 2))
		voted := map[string]bool{}
		for round := range 4 {
			for range 40 {
				i, who := rng.IntN(len(o.proposals)), fmt.Sprintf("p:%d", rng.IntN(12))
				k := fmt.Sprint(i, who)
				if voted[k] && rng.IntN(4) == 0 {
					o.vote(t, i, who, "")
					voted[k] = false
					continue
				}
				o.vote(t, i, who, results.Keys()[rng.IntN(results.NumKeys)])
				voted[k] = true
			}
			time.Sleep(5 * time.Millisecond)
			cur = o.next(t, cat, cur)
			sameCounts(t, cur.Counts, o.stored(t))
			for _, c := range cur.Candidates {
				n := cur.Counts[c.ID]
				if c.Votes != int(n.Total(results.Sequence)+n.Total(results.Trusted)) || c.Agree != n.WeightedKey(results.Agree) {
					t.Fatalf("round %d: candidate %d has %d votes, %v agree; counts %+v", round, c.ID, c.Votes, c.Agree, n)
				}
			}
		}
		if cat.Loads() != loads {
			t.Fatalf("the consultation was read again %d times", cat.Loads()-loads)
		}
	})
}

// Another node's votes do not go through this node's writer: its announcement makes this node
// read the counters again; without one, the periodic resync does.
func TestCatalog_AnotherNodesVotesShowWhenAnnouncedOrAtTheResync(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		o := newOpen(t, e, 3)
		// A catalog that the writer does not tell: what another node holds.
		other := catalog.New(e.App.Consultations, e.App.Proposals, e.App.Votes)
		other.TTL, other.ResyncEvery = time.Millisecond, time.Hour
		ctx := context.Background()
		first, err := other.ByID(ctx, o.tenant, o.cs.ID)
		if err != nil {
			t.Fatal(err)
		}
		o.vote(t, 1, "p:a", results.Disagree)
		time.Sleep(10 * time.Millisecond)
		if again, _ := other.ByID(ctx, o.tenant, o.cs.ID); again != first {
			t.Fatal("the other node refreshed without being told")
		}
		other.CountersChanged(o.tenant, o.cs.ID)
		second := o.next(t, other, first)
		sameCounts(t, second.Counts, o.stored(t))
		if other.Loads() != 1 {
			t.Fatalf("%d loads: the announcement should read the counters only", other.Loads())
		}
		// No announcement: the resync reads everything again.
		o.vote(t, 2, "p:a", results.Agree)
		other.ResyncEvery = 0
		third := o.next(t, other, second)
		sameCounts(t, third.Counts, o.stored(t))
		if other.Loads() < 2 {
			t.Fatalf("%d loads after the resync, want the consultation read again", other.Loads())
		}
		// The consultation closed elsewhere: what was built for it open is not served for it
		// closed, not even while the new value is built.
		other.ResyncEvery = time.Hour
		time.Sleep(50 * time.Millisecond) // a refresh under way ends
		cur, err := other.ByID(ctx, o.tenant, o.cs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := cur.Memo("k", func(*catalog.Entry) ([]byte, error) { return []byte("open"), nil }); string(b) != "open" {
			t.Fatalf("memo %q", b)
		}
		if _, err := e.App.Consultations.SetStatus(ctx, o.tenant, "test", "culture", consultation.Closed); err != nil {
			t.Fatal(err)
		}
		other.Resync() // as after a lost announcement
		closed := o.next(t, other, cur)
		if closed.Consultation.Status != consultation.Closed {
			t.Fatalf("after the resync the consultation is %s", closed.Consultation.Status)
		}
		if b, _ := closed.Memo("k", func(*catalog.Entry) ([]byte, error) { return []byte("closed"), nil }); string(b) != "closed" {
			t.Fatalf("the closed consultation was served %q, built for it open", b)
		}
	})
}

// Votes on their way (proposals shown by sequences) carry over to the next entry, less the
// votes counted meanwhile.
func TestCatalog_ShownCarriesOverLessTheVotesCounted(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	o := newOpen(t, e, 2)
	cat := e.App.Catalog
	cat.TTL = time.Millisecond
	first, err := cat.ByID(context.Background(), o.tenant, o.cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		first.MarkShown(o.proposals)
	}
	o.vote(t, 0, "p:a", results.Agree)
	o.vote(t, 0, "p:b", results.Agree)
	time.Sleep(5 * time.Millisecond)
	next := o.next(t, cat, first)
	if next.Pending(0) != 1 || next.Pending(1) != 3 {
		t.Fatalf("pending %d and %d, want 1 and 3", next.Pending(0), next.Pending(1))
	}
}

// What a refresh after votes costs at 3,000 proposals: reading the consultation whole (as
// every refresh did) against folding in what the vote writer counted.
func BenchmarkCatalog_RefreshAfterAVote3000(b *testing.B) {
	e := testsupport.New(b, "sqlite")
	o := newOpen(b, e, 3000)
	cat := e.App.Catalog
	if _, err := cat.ByID(context.Background(), o.tenant, o.cs.ID); err != nil {
		b.Fatal(err)
	}
	for _, full := range []bool{true, false} {
		b.Run(map[bool]string{true: "read whole", false: "fold the writer's changes"}[full], func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := catalog.RefreshNow(cat, o.tenant, o.cs.ID, o.proposals[i%len(o.proposals)], full); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
