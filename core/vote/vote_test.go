package vote

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/storetest"
)

var signer = Signer{Secret: []byte("test-secret-test-secret-test-secret-0123")}

func TestKey_ValidSequenceKeyIsSequenceTrust(t *testing.T) {
	tests := []struct {
		origin Origin
		want   results.Trust
	}{
		{Sequence, results.Sequence},
		{Search, results.Trusted},
		{Direct, results.Trusted},
		{Results, results.Trusted},
	}
	for _, tt := range tests {
		t.Run(string(tt.origin), func(t *testing.T) {
			key := signer.Key(2, 1001, "session-a", tt.origin)
			trust, origin, err := signer.Trust(key, 2, 1001, "session-a")
			if err != nil || trust != tt.want || origin != tt.origin {
				t.Fatalf("Trust(%q) = %v, %q, %v; want %v, %q, nil", key, trust, origin, err, tt.want, tt.origin)
			}
		})
	}
	if trust, origin, err := signer.Trust("", 2, 1001, "session-a"); trust != results.Troll || origin != "" || err != nil {
		t.Fatalf("no key: %v, %q, %v; want a troll vote without error", trust, origin, err)
	}
}

func TestKey_ForgedOrReplayedKeyIsTroll(t *testing.T) {
	key := signer.Key(2, 1001, "session-a", Sequence)
	flipped := []byte(key)
	flipped[12] = map[bool]byte{true: 'B', false: 'A'}[key[12] == 'A'] // a character of the MAC
	if flipped[12] == key[12] {
		t.Fatal("test key: the flipped character is not a plain letter")
	}
	tests := []struct {
		name        string
		key         string
		tenant      int64
		proposal    int64
		participant string
	}{
		{"key of another participant", key, 2, 1001, "session-b"},
		{"key of another proposal", key, 2, 1002, "session-a"},
		{"key of another tenant", key, 3, 1001, "session-a"},
		{"direct key relabelled as sequence", "s" + signer.Key(2, 1001, "session-a", Direct)[1:], 2, 1001, "session-a"},
		{"one character changed", string(flipped), 2, 1001, "session-a"},
		{"signed with another secret", Signer{Secret: []byte("other")}.Key(2, 1001, "session-a", Sequence), 2, 1001, "session-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trust, origin, err := signer.Trust(tt.key, tt.tenant, tt.proposal, tt.participant)
			if trust != results.Troll || !errors.Is(err, ErrForgedKey) || !errs.Is(err, errs.Forbidden) {
				t.Fatalf("Trust = %v, %v; want troll and ErrForgedKey", trust, err)
			}
			if origin != Sequence {
				t.Fatalf("origin = %q, want the origin the key claims (sequence)", origin)
			}
		})
	}
}

func TestKey_ExpiredOrFromTheFutureIsRefused(t *testing.T) {
	now := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	at := func(t time.Time) Signer { return Signer{Secret: signer.Secret, Now: func() time.Time { return t }} }
	key := at(now).Key(2, 1001, "session-a", Sequence)
	tests := []struct {
		name  string
		check time.Time
		ok    bool
	}{
		{"at once", now, true},
		{"a day less a minute later", now.Add(DefaultKeyTTL - time.Minute), true},
		{"a day and a minute later", now.Add(DefaultKeyTTL + time.Minute), false},
		{"issued an hour in the future", now.Add(-time.Hour), false},
		{"issued a minute in the future (clock skew)", now.Add(-time.Minute), true},
	}
	for _, tt := range tests {
		trust, _, err := at(tt.check).Trust(key, 2, 1001, "session-a")
		switch {
		case tt.ok && (err != nil || trust != results.Sequence):
			t.Errorf("%s: %v %v, want a sequence vote", tt.name, trust, err)
		case !tt.ok && (!errs.Is(err, errs.Invalid) || trust != results.Troll):
			t.Errorf("%s: %v %v, want errs.Invalid (refused, not recorded)", tt.name, trust, err)
		}
	}
	short := Signer{Secret: signer.Secret, TTL: time.Hour, Now: func() time.Time { return now.Add(2 * time.Hour) }}
	if _, _, err := short.Trust(key, 2, 1001, "session-a"); !errs.Is(err, errs.Invalid) {
		t.Errorf("with a TTL of one hour, a key two hours old: %v, want errs.Invalid", err)
	}
}

func TestKey_IgnoredSequenceKeyIsPublishedBeside(t *testing.T) {
	key := signer.Key(2, 1001, "session-a", Ignored)
	if trust, o, err := signer.Trust(key, 2, 1001, "session-a"); err != nil || o != Ignored || trust != results.Trusted {
		t.Fatalf("ignored key: %v %v %v, want trusted (beside) from origin ignored", trust, o, err)
	}
}

func TestKey_MalformedIsInvalid(t *testing.T) {
	good := signer.Key(2, 1001, "session-a", Sequence)
	for _, key := range []string{
		"x",
		"s.",
		good[:len(good)-1],
		good + "A",
		"z" + good[1:],  // unknown origin
		"s-" + good[2:], // no dot
		"s." + strings.Repeat("!", len(good)-2),
		good[:len(good)-1] + "B", // non-canonical base64: trailing bits set
		"<script>alert(1)</script>",
	} {
		trust, _, err := signer.Trust(key, 2, 1001, "session-a")
		if !errs.Is(err, errs.Invalid) || trust != results.Troll {
			t.Errorf("Trust(%q) = %v, %v; want troll and errs.Invalid", key, trust, err)
		}
	}
}

func TestCast_QualificationMustMatchKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 2, Options{})
		p := f.proposals[consultationA][0]
		tests := []struct {
			name  string
			b     Ballot
			allow string // a qualification the error must name as allowed
		}{
			{"agree with noWay", f.ballot(p, "a", results.Agree, results.Sequence, results.NoWay), "likeIt"},
			{"neutral with likeIt", f.ballot(p, "a", results.Neutral, results.Sequence, results.LikeIt), "doNotCare"},
			{"disagree with doNotUnderstand", f.ballot(p, "a", results.Disagree, results.Trusted, results.DoNotUnderstand), "impossible"},
			{"unknown qualification", f.ballot(p, "a", results.Agree, results.Trusted, "great"), "doable"},
			{"same qualification twice", f.ballot(p, "a", results.Agree, results.Trusted, results.LikeIt, results.LikeIt), ""},
			{"unknown key", f.ballot(p, "a", "maybe", results.Trusted), ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.svc.Cast(context.Background(), tt.b)
				if !errs.Is(err, errs.Invalid) {
					t.Fatalf("err = %v, want errs.Invalid", err)
				}
				if msg, _ := errs.MessageOf(err); !strings.Contains(msg, tt.allow) {
					t.Fatalf("message %q does not name the allowed %q", msg, tt.allow)
				}
			})
		}
		if _, ok, _ := f.svc.Get(context.Background(), tenantA, p, "a"); ok {
			t.Fatal("a refused vote was written")
		}
		if c := f.counts(t, tenantA, consultationA); len(c) != 0 {
			t.Fatalf("a refused vote was counted: %v", c)
		}
		// The same ballot with qualifications of its own key goes through.
		v := f.cast(t, f.ballot(p, "a", results.Agree, results.Sequence, results.LikeIt, results.Doable))
		if v.Key() != results.Agree || !v.Qualifications.Has(results.LikeIt) || !v.Qualifications.Has(results.Doable) {
			t.Fatalf("stored %+v", v)
		}
	})
}

func TestCast_ChangeVoteMovesCounters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		f := newFixture(t, db, 2, Options{Now: clock})
		p := f.proposals[consultationA][0]
		first := f.cast(t, f.ballot(p, "a", results.Agree, results.Sequence, results.LikeIt))
		if got, want := f.counts(t, tenantA, consultationA)[p], one(results.Sequence, results.Agree, results.LikeIt); got != want {
			t.Fatalf("after first vote: %+v, want %+v", got, want)
		}
		now = now.Add(time.Minute)
		second := f.cast(t, f.ballot(p, "a", results.Disagree, results.Trusted, results.NoWay, results.Impossible))
		want := one(results.Sequence, results.Disagree, results.NoWay, results.Impossible) // the first vote's stronger trust stays
		if got := f.counts(t, tenantA, consultationA)[p]; got != want {
			t.Fatalf("after change: %+v, want %+v (the old vote moved out)", got, want)
		}
		stored, ok, err := f.svc.Get(context.Background(), tenantA, p, "a")
		if err != nil || !ok {
			t.Fatalf("Get: %v, %v", ok, err)
		}
		if stored.Key() != results.Disagree || stored.Trust != results.Sequence || stored.Qualifications != SetOf([]results.Qualification{results.NoWay, results.Impossible}) {
			t.Fatalf("stored %+v", stored)
		}
		if !stored.CreatedAt.Equal(first.CreatedAt) || !stored.UpdatedAt.Equal(second.UpdatedAt) || !stored.UpdatedAt.After(stored.CreatedAt) {
			t.Fatalf("created %v updated %v; want the first vote's time and the change's", stored.CreatedAt, stored.UpdatedAt)
		}
		// Casting the same vote again changes nothing.
		f.cast(t, f.ballot(p, "a", results.Disagree, results.Trusted, results.NoWay, results.Impossible))
		if got := f.counts(t, tenantA, consultationA)[p]; got != want {
			t.Fatalf("after the same vote again: %+v, want %+v", got, want)
		}
		f.assertRecomputeClean(t, tenantA, consultationA)
	})
}

// On SQLite the writer stores votes through its own prepared statements, not bun (see
// prepared.go): what it stores must read back, and match in bun's queries, exactly as rows
// that bun writes do (SQLite compares times as text).
func TestCast_StoredVoteMatchesBunsQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		now := time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)
		f := newFixture(t, db, 1, Options{Now: func() time.Time { return now }})
		p := f.proposals[consultationA][0]
		b := f.ballot(p, "p:é'x", results.Neutral, results.Trusted, results.NoOpinion)
		b.Source = "0123456789abcdef"
		cast := f.cast(t, b)
		n, err := db.NewSelect().Table("votes").Where("tenant_id = ? AND proposal_id = ? AND participant = ? AND created_at = ? AND updated_at = ?",
			tenantA, p, "p:é'x", now, now).Count(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("votes found by bun at the vote's time: %d, %v; want 1", n, err)
		}
		stored, ok, err := f.svc.Get(context.Background(), tenantA, p, "p:é'x")
		if err != nil || !ok {
			t.Fatalf("Get: %v, %v", ok, err)
		}
		if stored.Key() != cast.Key() || stored.Qualifications != cast.Qualifications || stored.Trust != cast.Trust ||
			stored.ConsultationID != consultationA || stored.Source != b.Source || stored.Origin != b.Origin ||
			!stored.CreatedAt.Equal(now) || !stored.UpdatedAt.Equal(now) {
			t.Fatalf("stored %+v, cast %+v", stored, cast)
		}
	})
}

// One person, one vote: changing one's vote keeps the trust the first vote earned, unless the
// new key is stronger (a troll vote made again with a sequence key counts in full).
func TestCast_ReVoteKeepsTheFirstTrustUnlessTheNewKeyIsStronger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 6, Options{})
		for i, tc := range []struct {
			first, then, want results.Trust
		}{
			{results.Sequence, results.Trusted, results.Sequence},
			{results.Sequence, results.Troll, results.Sequence},
			{results.Trusted, results.Troll, results.Trusted},
			{results.Troll, results.Trusted, results.Trusted},
			{results.Trusted, results.Sequence, results.Sequence},
			{results.Troll, results.Troll, results.Troll},
		} {
			p := f.proposals[consultationA][i]
			first := f.ballot(p, "a", results.Agree, tc.first)
			first.Origin = map[results.Trust]Origin{results.Sequence: Sequence, results.Trusted: Direct, results.Troll: Search}[tc.first]
			f.cast(t, first)
			f.cast(t, f.ballot(p, "a", results.Disagree, tc.then))
			stored, _, err := f.svc.Get(context.Background(), tenantA, p, "a")
			if err != nil || stored.Trust != tc.want || stored.Key() != results.Disagree {
				t.Errorf("%s then %s: stored %s %s (%v), want %s disagree", tc.first, tc.then, stored.Trust, stored.Key(), err, tc.want)
			}
			if tc.want == tc.first && tc.want != tc.then && stored.Origin != first.Origin {
				t.Errorf("%s then %s: origin %q, want the first vote's %q with its trust", tc.first, tc.then, stored.Origin, first.Origin)
			}
			if got, want := f.counts(t, tenantA, consultationA)[p], one(tc.want, results.Disagree); got != want {
				t.Errorf("%s then %s: counts %+v, want %+v", tc.first, tc.then, got, want)
			}
		}
		f.assertRecomputeClean(t, tenantA, consultationA)
	})
}

func TestCast_SameParticipantTwiceInOneBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 2, Options{})
		p := f.proposals[consultationA][0]
		req := func(b Ballot, withdraw bool) *request {
			return &request{ctx: context.Background(), ballot: b, withdraw: withdraw, res: make(chan outcome, 1)}
		}
		batch := []*request{
			req(f.ballot(p, "a", results.Agree, results.Sequence), false),
			req(f.ballot(p, "a", results.Neutral, results.Trusted, results.NoOpinion), false),
			req(f.ballot(p, "b", results.Agree, results.Sequence), false),
			req(f.ballot(p, "b", results.Agree, results.Sequence), true),
			req(f.ballot(p, "b", results.Agree, results.Sequence), true), // nothing left to withdraw
			req(Ballot{TenantID: tenantA, ConsultationID: consultationA, ProposalID: 999, Participant: "c", Key: results.Agree}, false),
		}
		outs, err := f.svc.commit(batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, wantErr := range []errs.Kind{"", "", "", "", errs.NotFound, errs.NotFound} {
			if got := outs[i].err; (wantErr == "") != (got == nil) || (got != nil && !errs.Is(got, wantErr)) {
				t.Errorf("request %d: err %v, want %q", i, got, wantErr)
			}
		}
		if got, want := f.counts(t, tenantA, consultationA)[p], one(results.Sequence, results.Neutral, results.NoOpinion); got != want {
			t.Fatalf("counts %+v, want %+v: only a's last vote, with its first vote's stronger trust", got, want)
		}
		f.assertRecomputeClean(t, tenantA, consultationA)
	})
}

func TestWithdraw_RemovesVoteAndCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 2, Options{})
		ctx := context.Background()
		p := f.proposals[consultationA][0]
		f.cast(t, f.ballot(p, "a", results.Agree, results.Sequence, results.Doable))
		f.cast(t, f.ballot(p, "b", results.Disagree, results.Sequence))
		if err := f.svc.Withdraw(ctx, tenantA, p, "a"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := f.svc.Get(ctx, tenantA, p, "a"); ok {
			t.Fatal("the withdrawn vote is still stored")
		}
		if got, want := f.counts(t, tenantA, consultationA)[p], one(results.Sequence, results.Disagree); got != want {
			t.Fatalf("counts %+v, want only b's vote %+v", got, want)
		}
		if err := f.svc.Withdraw(ctx, tenantA, p, "a"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("second withdrawal: %v, want errs.NotFound", err)
		}
		if voted, _ := f.svc.Voted(ctx, tenantA, consultationA, "a"); len(voted) != 0 {
			t.Fatalf("Voted after withdrawal: %v", voted)
		}
		f.assertRecomputeClean(t, tenantA, consultationA)
	})
}

func TestCast_ConcurrentVotesAreAllCommitted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 30, Options{})
		const voters, votes = 50, 20
		var wg sync.WaitGroup
		errc := make(chan error, voters*votes)
		for g := range voters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range votes {
					b := f.ballot(f.proposals[consultationA][i], fmt.Sprintf("voter-%d", g), results.Keys()[(g+i)%3], results.Trust((g*i)%3))
					if _, err := f.svc.Cast(context.Background(), b); err != nil {
						errc <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		var total int64
		for _, c := range f.counts(t, tenantA, consultationA) {
			for tr := range results.Trust(results.NumTrusts) {
				total += c.Total(tr)
			}
		}
		if total != voters*votes {
			t.Fatalf("counted %d votes, want %d", total, voters*votes)
		}
		if d := f.assertRecomputeClean(t, tenantA, consultationA); d.Votes != voters*votes {
			t.Fatalf("recompute read %d votes, want %d", d.Votes, voters*votes)
		}
		batches := f.metric(t, "concorde_vote_batch_size")
		t.Logf("%d votes in %.0f transactions", voters*votes, batches)
		if got := f.metric(t, "concorde_votes_total"); got != voters*votes {
			t.Fatalf("concorde_votes_total = %v, want %d", got, voters*votes)
		}
		if db.Dialect().Name().String() != "pg" && batches >= voters*votes {
			t.Fatalf("%.0f transactions for %d votes: votes were not batched", batches, voters*votes)
		}
	})
}

func TestCounters_EqualRecomputeAfterRandomWorkload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 30, Options{})
		ctx := context.Background()
		ps := f.proposals[consultationA]
		var wg sync.WaitGroup
		errc := make(chan error, 16)
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 7))
				for range 150 {
					p := ps[r.IntN(len(ps))]
					who := fmt.Sprintf("participant-%d", r.IntN(200))
					if r.IntN(10) < 3 {
						if err := f.svc.Withdraw(ctx, tenantA, p, who); err != nil && !errs.Is(err, errs.NotFound) {
							errc <- err
							return
						}
						continue
					}
					k := results.Keys()[r.IntN(3)]
					var qs []results.Qualification
					for _, q := range results.QualificationsOf(k) {
						if r.IntN(3) == 0 {
							qs = append(qs, q)
						}
					}
					b := f.ballot(p, who, k, results.Trust(r.IntN(3)), qs...)
					if _, err := f.svc.Cast(ctx, b); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		d := f.assertRecomputeClean(t, tenantA, consultationA)
		if d.Votes == 0 || d.Proposals != len(ps) {
			t.Fatalf("recompute saw %d votes on %d proposals", d.Votes, d.Proposals)
		}

		// Corrupt one counter: recompute points at exactly that proposal, and repairs it.
		bad := ps[7]
		if _, err := db.ExecContext(ctx, "UPDATE proposal_counts SET agree = agree + 5 WHERE tenant_id = ? AND proposal_id = ? AND trust = ?", tenantA, bad, results.Sequence); err != nil {
			t.Fatal(err)
		}
		var progressed int64
		d, err := f.svc.Recompute(ctx, tenantA, consultationA, false, func(done, total int64) { progressed = done })
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Mismatches) != 1 || d.Mismatches[0].ProposalID != bad {
			t.Fatalf("mismatches %+v, want exactly proposal %d", d.Mismatches, bad)
		}
		m := d.Mismatches[0]
		if m.Stored.Votes[results.Sequence][0]-m.Recomputed.Votes[results.Sequence][0] != 5 {
			t.Fatalf("stored %+v, recomputed %+v", m.Stored, m.Recomputed)
		}
		if progressed != d.Votes {
			t.Fatalf("progress ended at %d, want %d", progressed, d.Votes)
		}
		if d, err := f.svc.Recompute(ctx, tenantA, consultationA, true, nil); err != nil || len(d.Mismatches) != 1 {
			t.Fatalf("recompute with write: %+v, %v", d, err)
		}
		f.assertRecomputeClean(t, tenantA, consultationA)
		// And the repaired counters keep moving with votes.
		f.cast(t, f.ballot(bad, "after-repair", results.Agree, results.Sequence))
		f.assertRecomputeClean(t, tenantA, consultationA)
	})
}

func TestMerge_AnonymousVotesFollowOnSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 3, Options{})
		ctx := context.Background()
		p := f.proposals[consultationA]
		f.cast(t, f.ballot(p[1], "account-7", results.Neutral, results.Sequence, results.NoOpinion)) // voted before, signed in
		f.cast(t, f.ballot(p[0], "anon-x", results.Agree, results.Sequence, results.LikeIt))
		f.cast(t, f.ballot(p[1], "anon-x", results.Disagree, results.Trusted, results.NoWay)) // conflict: the account's vote stays

		moved, err := f.svc.Merge(ctx, tenantA, "anon-x", "account-7")
		if err != nil || moved != 1 {
			t.Fatalf("Merge = %d, %v; want 1 vote moved", moved, err)
		}
		got, _ := f.svc.Voted(ctx, tenantA, consultationA, "account-7")
		want := map[int64]results.Key{p[0]: results.Agree, p[1]: results.Neutral}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("account's votes %v, want %v", got, want)
		}
		if left, _ := f.svc.Voted(ctx, tenantA, consultationA, "anon-x"); len(left) != 0 {
			t.Fatalf("the anonymous session still has votes %v", left)
		}
		c := f.counts(t, tenantA, consultationA)
		if c[p[1]] != one(results.Sequence, results.Neutral, results.NoOpinion) {
			t.Fatalf("proposal with both votes: %+v; the dropped vote is still counted", c[p[1]])
		}
		if c[p[0]] != one(results.Sequence, results.Agree, results.LikeIt) {
			t.Fatalf("moved vote: %+v", c[p[0]])
		}
		f.assertRecomputeClean(t, tenantA, consultationA)
		if moved, err := f.svc.Merge(ctx, tenantA, "nobody", "account-7"); err != nil || moved != 0 {
			t.Fatalf("merging a participant without votes: %d, %v", moved, err)
		}
	})
}

func TestDetach_VotesStayCountedButUnlinked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 3, Options{})
		ctx := context.Background()
		for i, p := range f.proposals[consultationA] {
			b := f.ballot(p, "erase-me", results.Keys()[i], results.Sequence)
			b.Source = "source-hash"
			f.cast(t, b)
			b = f.ballot(p, "stays", results.Agree, results.Trusted)
			b.Source = "source-hash"
			f.cast(t, b)
		}
		before := f.counts(t, tenantA, consultationA)
		n, err := f.svc.Detach(ctx, tenantA, "erase-me")
		if err != nil || n != 3 {
			t.Fatalf("Detach = %d, %v; want 3", n, err)
		}
		if left, _ := f.svc.Voted(ctx, tenantA, consultationA, "erase-me"); len(left) != 0 {
			t.Fatalf("votes still linked to the person: %v", left)
		}
		if after := f.counts(t, tenantA, consultationA); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("counts changed: %v, want %v", after, before)
		}
		var names []string
		if err := db.NewSelect().TableExpr("votes").Column("participant").Where("tenant_id = ? AND participant <> 'stays'", tenantA).Scan(ctx, &names); err != nil {
			t.Fatal(err)
		}
		// One pseudonym for all of the participant's votes, so that coalescing and the opinion
		// groups still see one person (a script erasing its clones must not escape them).
		if len(names) != 3 || !strings.HasPrefix(names[0], "erased:") || len(names[0]) < len("erased:")+32 || names[1] != names[0] || names[2] != names[0] {
			t.Fatalf("pseudonyms %v: want one erased:<random> for the 3 detached votes", names)
		}
		// The source keeps only its bucket: no longer the network, still comparable.
		var sources []string
		if err := db.NewSelect().TableExpr("votes").Column("source").Where("tenant_id = ?", tenantA).Order("participant").Scan(ctx, &sources); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(sources) != "[sou sou sou source-hash source-hash source-hash]" {
			t.Fatalf("sources after erasure %q: want the erased votes' cut to their bucket, the others' kept", sources)
		}
		// Another participant erased gets a pseudonym of their own.
		f.cast(t, f.ballot(f.proposals[consultationA][0], "erase-me-too", results.Agree, results.Sequence))
		if _, err := f.svc.Detach(ctx, tenantA, "erase-me-too"); err != nil {
			t.Fatal(err)
		}
		var distinct int
		if err := db.NewSelect().TableExpr("votes").ColumnExpr("count(DISTINCT participant)").Where("tenant_id = ? AND participant LIKE 'erased:%'", tenantA).Scan(ctx, &distinct); err != nil {
			t.Fatal(err)
		}
		if distinct != 2 {
			t.Fatalf("%d pseudonyms for two erased participants, want 2", distinct)
		}
		// One pseudonym per consultation: the truncated sources, keyed per consultation, must
		// not add up across consultations to point at the network again.
		f.cast(t, f.ballot(f.proposals[consultationA][1], "in-two", results.Agree, results.Sequence))
		other := f.ballot(f.proposals[consultationA2][0], "in-two", results.Agree, results.Sequence)
		other.ConsultationID = consultationA2
		f.cast(t, other)
		if n, err := f.svc.Detach(ctx, tenantA, "in-two"); err != nil || n != 2 {
			t.Fatalf("Detach = %d, %v; want 2", n, err)
		}
		if err := db.NewSelect().TableExpr("votes").ColumnExpr("count(DISTINCT participant)").Where("tenant_id = ? AND participant LIKE 'erased:%'", tenantA).Scan(ctx, &distinct); err != nil {
			t.Fatal(err)
		}
		if distinct != 4 {
			t.Fatalf("%d pseudonyms after erasing a participant of two consultations, want 4 (one per consultation)", distinct)
		}
		f.assertRecomputeClean(t, tenantA, consultationA)
	})
}

// One person, one vote: once erased, a participant id is retired, so a browser that kept it
// (its cookie, or keys signed for it) cannot vote again as someone new. Only that id, in
// that tenant.
func TestDetach_RetiresTheParticipant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 2, Options{})
		ctx := context.Background()
		p := f.proposals[consultationA]
		f.cast(t, f.ballot(p[0], "erase-me", results.Agree, results.Sequence))
		if _, err := f.svc.Detach(ctx, tenantA, "erase-me"); err != nil {
			t.Fatal(err)
		}
		before := f.counts(t, tenantA, consultationA)
		for _, id := range []int64{p[0], p[1]} {
			if _, err := f.svc.Cast(ctx, f.ballot(id, "erase-me", results.Agree, results.Sequence)); !errs.Is(err, errs.Forbidden) {
				t.Fatalf("vote by an erased participant on proposal %d: %v, want errs.Forbidden", id, err)
			}
		}
		if after := f.counts(t, tenantA, consultationA); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("a refused vote changed the counts: %v, want %v", after, before)
		}
		if _, err := f.svc.Detach(ctx, tenantA, "erase-me"); err != nil {
			t.Fatalf("erasing twice: %v", err)
		}
		f.cast(t, f.ballot(p[1], "someone-else", results.Agree, results.Sequence))
		if _, err := f.svc.Cast(ctx, Ballot{TenantID: tenantB, ConsultationID: consultationB, ProposalID: f.proposals[consultationB][0],
			Participant: "erase-me", Key: results.Agree, Trust: results.Sequence}); err != nil {
			t.Fatalf("the same id in another tenant was refused: %v", err)
		}
		f.assertRecomputeClean(t, tenantA, consultationA)
	})
}

func TestExport_PseudonymsStablePerConsultation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 2, Options{})
		ctx := context.Background()
		secret := []byte("pseudonym-secret")
		a, a2 := f.proposals[consultationA], f.proposals[consultationA2]
		f.cast(t, f.ballot(a[0], "alice", results.Agree, results.Sequence, results.LikeIt, results.Doable))
		f.cast(t, f.ballot(a[1], "alice", results.Disagree, results.Troll))
		f.cast(t, f.ballot(a[0], "bob", results.Neutral, results.Trusted))
		b := f.ballot(a2[0], "alice", results.Agree, results.Sequence)
		b.ConsultationID = consultationA2
		f.cast(t, b)

		export := func(c int64) []RawVote {
			var out []RawVote
			if err := f.svc.Export(ctx, tenantA, c, secret, func(v RawVote) error { out = append(out, v); return nil }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		first := export(consultationA)
		if len(first) != 3 {
			t.Fatalf("exported %d votes, want 3", len(first))
		}
		alice := map[string]bool{}
		var bob string
		for _, v := range first {
			if len(v.Participant) != 16 || strings.Contains(v.Participant, "alice") || strings.Contains(v.Participant, "bob") {
				t.Fatalf("participant %q is not a 16-digit pseudonym", v.Participant)
			}
			if v.Key == results.Neutral {
				bob = v.Participant
				continue
			}
			alice[v.Participant] = true
			if v.ProposalID == a[0] && (fmt.Sprint(v.Qualifications) != "[likeIt doable]" || v.Trust != "sequence" || v.At.IsZero()) {
				t.Fatalf("exported %+v", v)
			}
			if v.ProposalID == a[1] && v.Trust != "troll" {
				t.Fatalf("exported %+v", v)
			}
		}
		if len(alice) != 1 || alice[bob] {
			t.Fatalf("alice's pseudonyms %v, bob's %q: want one for alice, another for bob", alice, bob)
		}
		if again := export(consultationA); fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("a second export differs:\n%v\n%v", again, first)
		}
		other := export(consultationA2)
		if len(other) != 1 || alice[other[0].Participant] {
			t.Fatalf("alice has the same pseudonym in two consultations: %v", other)
		}
		stop := errors.New("stop")
		if err := f.svc.Export(ctx, tenantA, consultationA, secret, func(RawVote) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("Export did not stop at fn's error: %v", err)
		}
	})
}

func TestBurst_DirectLinkFloodIsFlagged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		now := time.Date(2026, 11, 23, 20, 30, 5, 0, time.UTC)
		f := newFixture(t, db, 3, Options{Now: func() time.Time { return now }})
		ctx := context.Background()
		p := f.proposals[consultationA]
		vote := func(proposal int64, who string, o Origin) {
			b := f.ballot(proposal, who, results.Agree, results.Trusted)
			b.Origin = o
			f.cast(t, b)
		}
		for i := range 40 { // a shared link floods p[0]
			vote(p[0], fmt.Sprintf("linked-%d", i), Direct)
		}
		for i := range 5 {
			vote(p[0], fmt.Sprintf("seq-%d", i), Sequence)
		}
		for i := range 40 { // p[1] is popular everywhere: many sequence votes too
			vote(p[1], fmt.Sprintf("linked-%d", i), Direct)
			if i%2 == 0 {
				vote(p[1], fmt.Sprintf("seq-%d", i), Sequence)
			}
		}
		for i := range 20 { // p[2] gets a few direct votes: no burst
			vote(p[2], fmt.Sprintf("linked-%d", i), Direct)
		}
		got, err := f.svc.Bursts(ctx, tenantA, consultationA)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[p[0]] != 1 {
			t.Fatalf("bursts %v, want one on proposal %d only", got, p[0])
		}
		if n := f.metric(t, "concorde_vote_bursts_total"); n != 1 {
			t.Fatalf("concorde_vote_bursts_total = %v, want 1", n)
		}
		// Another minute, another flood: a second burst on the same proposal.
		now = now.Add(time.Minute)
		for i := range 30 {
			vote(p[0], fmt.Sprintf("second-wave-%d", i), Direct)
		}
		if got, _ := f.svc.Bursts(ctx, tenantA, consultationA); got[p[0]] != 2 {
			t.Fatalf("bursts %v, want 2 on proposal %d", got, p[0])
		}
		if other, _ := f.svc.Bursts(ctx, tenantB, consultationB); len(other) != 0 {
			t.Fatalf("tenant 3 sees bursts %v", other)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 2, Options{})
		ctx := context.Background()
		p := f.proposals[consultationA][0]
		f.cast(t, f.ballot(p, "alice", results.Agree, results.Sequence))
		before := f.counts(t, tenantA, consultationA)

		// Tenant 3 names tenant 2's proposal and participant everywhere it can.
		_, err := f.svc.Cast(ctx, Ballot{TenantID: tenantB, ConsultationID: consultationA, ProposalID: p, Participant: "alice", Key: results.Disagree})
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("cast on another tenant's proposal: %v, want errs.NotFound", err)
		}
		_, err = f.svc.Cast(ctx, Ballot{TenantID: tenantB, ConsultationID: consultationB, ProposalID: p, Participant: "alice", Key: results.Disagree})
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("cast on another tenant's proposal in one's own consultation: %v, want errs.NotFound", err)
		}
		if err := f.svc.Withdraw(ctx, tenantB, p, "alice"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("withdraw another tenant's vote: %v, want errs.NotFound", err)
		}
		if _, ok, err := f.svc.Get(ctx, tenantB, p, "alice"); ok || err != nil {
			t.Fatalf("Get sees another tenant's vote (%v, %v)", ok, err)
		}
		if v, err := f.svc.Voted(ctx, tenantB, consultationA, "alice"); len(v) != 0 || err != nil {
			t.Fatalf("Voted sees another tenant's votes: %v, %v", v, err)
		}
		if c := f.counts(t, tenantB, consultationA); len(c) != 0 {
			t.Fatalf("Counts sees another tenant's counts: %v", c)
		}
		if d, err := f.svc.Recompute(ctx, tenantB, consultationA, true, nil); err != nil || d.Votes != 0 || d.Proposals != 0 {
			t.Fatalf("Recompute reached another tenant's votes: %+v, %v", d, err)
		}
		if n, err := f.svc.Merge(ctx, tenantB, "alice", "mallory"); n != 0 || err != nil {
			t.Fatalf("Merge moved %d of another tenant's votes (%v)", n, err)
		}
		if n, err := f.svc.Detach(ctx, tenantB, "alice"); n != 0 || err != nil {
			t.Fatalf("Detach changed %d of another tenant's votes (%v)", n, err)
		}
		err = f.svc.Export(ctx, tenantB, consultationA, []byte("s"), func(v RawVote) error {
			return fmt.Errorf("exported another tenant's vote %+v", v)
		})
		if err != nil {
			t.Fatal(err)
		}

		// Tenant 2's vote and counts are untouched.
		v, ok, err := f.svc.Get(ctx, tenantA, p, "alice")
		if !ok || err != nil || v.Key() != results.Agree {
			t.Fatalf("tenant 2's vote: %+v, %v, %v", v, ok, err)
		}
		if after := f.counts(t, tenantA, consultationA); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("tenant 2's counts changed: %v, want %v", after, before)
		}
		f.assertRecomputeClean(t, tenantA, consultationA)
	})
}

func TestClose_RefusesLaterVotes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 1, Options{})
		p := f.proposals[consultationA][0]
		f.cast(t, f.ballot(p, "a", results.Agree, results.Sequence))
		f.svc.Close()
		if _, err := f.svc.Cast(context.Background(), f.ballot(p, "b", results.Agree, results.Sequence)); !errs.Is(err, errs.Unavailable) {
			t.Fatalf("cast after Close: %v, want errs.Unavailable", err)
		}
		if _, ok, _ := f.svc.Get(context.Background(), tenantA, p, "a"); !ok {
			t.Fatal("the vote acknowledged before Close is missing")
		}
	})
}

func TestCast_OneBadRequestFailsAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 3, Options{})
		ctx := context.Background()
		// A trigger makes the database refuse one participant's vote, failing its transaction.
		poison := []string{
			"CREATE TRIGGER poison BEFORE INSERT ON votes WHEN NEW.participant = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned vote'); END",
		}
		if db.Dialect().Name().String() == "pg" {
			poison = []string{
				"CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.participant = 'poison' THEN RAISE EXCEPTION 'poisoned vote'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
				"CREATE TRIGGER poison BEFORE INSERT ON votes FOR EACH ROW EXECUTE FUNCTION poison()",
			}
		}
		for _, q := range poison {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		var batch []*request
		for i, who := range []string{"a", "b", "poison", "c", "d"} {
			b := f.ballot(f.proposals[consultationA][i%3], who, results.Agree, results.Sequence)
			batch = append(batch, &request{ctx: ctx, ballot: b, res: make(chan outcome, 1)})
		}
		f.svc.process(batch)
		for _, r := range batch {
			o := <-r.res
			if bad := r.ballot.Participant == "poison"; bad != (o.err != nil) {
				t.Fatalf("%s: err %v", r.ballot.Participant, o.err)
			}
			if o.err != nil && !errs.Is(o.err, errs.Unavailable) {
				t.Fatalf("the failed vote's error %v is not errs.Unavailable", o.err)
			}
		}
		d := f.assertRecomputeClean(t, tenantA, consultationA)
		if d.Votes != 4 {
			t.Fatalf("%d votes stored, want the 4 good ones", d.Votes)
		}
	})
}

// The source a vote stores is a keyed hash: stable within a consultation (what coalescing
// compares), different in another consultation or under another secret, and no address.
func TestSigner_SourceIsAKeyedHashPerConsultation(t *testing.T) {
	s := Signer{Secret: []byte("0123456789abcdef0123456789abcdef")}
	a := s.Source(1, 10, "203.0.113.7")
	if a == "" || a != s.Source(1, 10, "203.0.113.7") || strings.Contains(a, "203") || len(a) != 11 {
		t.Fatalf("source %q", a)
	}
	for name, other := range map[string]string{
		"another address":      s.Source(1, 10, "203.0.113.8"),
		"another consultation": s.Source(1, 11, "203.0.113.7"),
		"another tenant":       s.Source(2, 10, "203.0.113.7"),
		"another secret":       Signer{Secret: []byte("fedcba9876543210fedcba9876543210")}.Source(1, 10, "203.0.113.7"),
	} {
		if other == a {
			t.Errorf("%s gives the same source %q", name, a)
		}
	}
	if s.Source(1, 10, "") != "" {
		t.Error("no address must give no source")
	}
}
