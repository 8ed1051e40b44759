package booth_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/booth"
	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/ratelimit"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/core/vote"
)

type fixture struct {
	env      *testsupport.Env
	booth    *booth.Booth
	tenant   int64
	proposal int64
	cs       consultation.Consultation
}

// newFixture is an open consultation of one site with one accepted proposal, and its booth.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	e := testsupport.New(t, "sqlite")
	ctx := context.Background()
	site := e.Site("ay")
	if _, err := e.App.Consultations.Create(ctx, site.Tenant.ID, "test", consultation.Input{Slug: "culture", Question: "Comment rendre la culture accessible ?"}); err != nil {
		t.Fatal(err)
	}
	cs, err := e.App.Consultations.SetStatus(ctx, site.Tenant.ID, "test", "culture", consultation.Open)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.App.Proposals.Submit(ctx, site.Tenant.ID, cs, "p:author", "Il faut ouvrir les musées le dimanche soir")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Proposals.Accept(ctx, site.Tenant.ID, p.ID, "moderator", nil, nil); err != nil {
		t.Fatal(err)
	}
	b := &booth.Booth{Catalog: e.App.Catalog, Votes: e.App.Votes, Signer: vote.Signer{Secret: []byte(testsupport.Secret)},
		Limiter: ratelimit.NewLimiter(0, nil), Now: time.Now, Proposals: e.App.Proposals, ProposalsPerSourcePerHour: 2}
	return &fixture{env: e, booth: b, tenant: site.Tenant.ID, proposal: p.ID, cs: cs}
}

func TestBooth_CastAppliesEveryRuleOfTheVotePath(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sequenceKey := f.booth.Signer.Key(f.tenant, f.proposal, "p:me", vote.Sequence)
	for _, c := range []struct {
		name      string
		req       booth.Request
		kind      errs.Kind // "" = accepted
		recorded  bool
		wantTrust results.Trust
	}{
		{"an unknown vote value is refused", booth.Request{Participant: "p:me", Vote: "maybe"}, errs.Invalid, false, 0},
		{"a qualification of another vote is refused", booth.Request{Participant: "p:me", Vote: "agree", Qualifications: []string{"no_way"}}, errs.Invalid, false, 0},
		{"a vote without a participant is refused", booth.Request{Vote: "agree"}, errs.Unauthorized, false, 0},
		{"a malformed key records nothing", booth.Request{Participant: "p:me", Vote: "agree", Key: "not-a-key"}, errs.Invalid, false, 0},
		{"an expired key records nothing", booth.Request{Participant: "p:me", Vote: "agree", Key: expired(f)}, errs.Invalid, false, 0},
		{"a sequence key gives a sequence vote", booth.Request{Participant: "p:me", Vote: "agree", Key: sequenceKey}, "", true, results.Sequence},
		{"another participant's key is kept as a troll vote and said so", booth.Request{Participant: "p:other", Vote: "disagree", Key: sequenceKey}, errs.Forbidden, true, results.Troll},
		{"no key gives a troll vote", booth.Request{Participant: "p:third", Vote: "neutral"}, "", true, results.Troll},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.TenantID, c.req.ProposalID = f.tenant, f.proposal
			v, err := f.booth.Cast(ctx, c.req)
			if got := kindOf(err); got != c.kind {
				t.Fatalf("error %v, want kind %q", err, c.kind)
			}
			voted, verr := f.booth.Votes.Voted(ctx, f.tenant, f.cs.ID, c.req.Participant)
			if verr != nil && c.req.Participant != "" {
				t.Fatal(verr)
			}
			if _, ok := voted[f.proposal]; ok != c.recorded {
				t.Fatalf("recorded %v, want %v", ok, c.recorded)
			}
			if c.recorded && v.Trust != c.wantTrust {
				t.Fatalf("trust %v, want %v", v.Trust, c.wantTrust)
			}
		})
	}
}

func TestBooth_ClosedConsultationTakesNoVoteAndShowsNoSequence(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	me := booth.Request{TenantID: f.tenant, ProposalID: f.proposal, Participant: "p:me", Vote: "agree"}
	if _, err := f.booth.Cast(ctx, me); err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.App.Consultations.SetStatus(ctx, f.tenant, "test", "culture", consultation.Closed); err != nil {
		t.Fatal(err)
	}
	f.booth.Catalog.Invalidate(f.tenant, f.cs.ID)
	if _, err := f.booth.Cast(ctx, me); !errs.Is(err, errs.Conflict) {
		t.Errorf("vote once closed: %v", err)
	}
	if err := f.booth.Withdraw(ctx, f.tenant, f.proposal, "p:me"); !errs.Is(err, errs.Conflict) {
		t.Errorf("withdrawal once closed: %v", err)
	}
	e, err := f.booth.Catalog.BySlug(ctx, f.tenant, "culture")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.booth.Next(ctx, f.tenant, e, "p:someone", "", true); !errs.Is(err, errs.Conflict) {
		t.Errorf("sequence once closed: %v", err)
	}
}

func TestBooth_NextShowsProposalsNotVotedOnAndCountsThemShown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	e, err := f.booth.Catalog.BySlug(ctx, f.tenant, "culture")
	if err != nil {
		t.Fatal(err)
	}
	ids, origin, err := f.booth.Next(ctx, f.tenant, e, "p:me", "", true)
	if err != nil || len(ids) != 1 || ids[0] != f.proposal || origin != vote.Sequence {
		t.Fatalf("sequence %v, %v", ids, err)
	}
	if e.Pending(0) != 1 {
		t.Fatalf("the proposal shown counts %d votes on their way, want 1", e.Pending(0))
	}
	key := f.booth.Signer.Key(f.tenant, f.proposal, "p:me", vote.Sequence)
	if v, err := f.booth.Cast(ctx, booth.Request{TenantID: f.tenant, ProposalID: f.proposal, Participant: "p:me", Vote: "agree", Key: key}); err != nil || v.Trust != results.Sequence {
		t.Fatalf("a vote on the first card shown: trust %v, %v; want %v", v.Trust, err, results.Sequence)
	}
	if ids, _, err := f.booth.Next(ctx, f.tenant, e, "p:me", "", false); err != nil || len(ids) != 0 {
		t.Fatalf("after voting on the only proposal: %v, %v", ids, err)
	}
	if _, _, err := f.booth.Next(ctx, f.tenant, e, "", "", true); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("without a participant: %v", err)
	}
}

func TestBooth_ProposeNeedsAnAuthorAndKeepsToThePerSourceLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := booth.Proposal{TenantID: f.tenant, Consultation: f.cs, Source: "192.0.2.1"}
	if _, err := f.booth.Propose(ctx, req); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("without an author: %v", err)
	}
	for i, text := range []string{"Il faut des concerts gratuits dans les parcs", "Il faut une bibliothèque ouverte la nuit", "Il faut un cinéma de plein air"} {
		req.Author, req.Content = "p:author"+string(rune('a'+i)), text
		_, err := f.booth.Propose(ctx, req)
		if i < 2 && err != nil {
			t.Fatalf("proposal %d: %v", i, err)
		}
		if i == 2 && !errs.Is(err, errs.TooMany) {
			t.Fatalf("third proposal from one address in an hour: %v", err)
		}
	}
}

func kindOf(err error) errs.Kind {
	if err == nil {
		return ""
	}
	return errs.KindOf(err)
}

// expired is a sequence key for p:me issued two days ago.
func expired(f *fixture) string {
	old := f.booth.Signer
	old.Now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	return old.Key(f.tenant, f.proposal, "p:me", vote.Sequence)
}

func TestBooth_FullWeightIsEarnedByVoting(t *testing.T) {
	f := newFixture(t)
	f.booth.FreshPerSourcePerHour = 3
	e, err := f.booth.Catalog.BySlug(context.Background(), f.tenant, "culture")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		participant string
		source      string
		votes       int
		page        bool
		want        vote.Origin
	}{
		// Rule 6, through the API (sequences of 12): one sequence free, then one more per 6 votes.
		{"first sequence", "p:h", "", 0, false, vote.Sequence},
		{"second sequence without a vote", "p:h", "", 0, false, vote.Ignored},
		{"after voting on one card", "p:h", "", 1, false, vote.Ignored},
		{"after voting on half of the first sequence", "p:h", "", 6, false, vote.Sequence},
		{"again without voting more", "p:h", "", 6, false, vote.Ignored},
		{"after voting on the whole sequences", "p:h", "", 24, false, vote.Sequence},
		// On the site's pages, which show one card each: two pages free, then two per vote.
		{"first page", "p:web", "", 0, true, vote.Sequence},
		{"a reload", "p:web", "", 0, true, vote.Sequence},
		{"a third page without a vote", "p:web", "", 0, true, vote.Ignored},
		{"after a vote", "p:web", "", 1, true, vote.Sequence},
		// Rule 7: three fresh participants an hour from one address get full weight.
		{"fresh 1", "p:f1", "10.0.0.1", 0, false, vote.Sequence},
		{"fresh 2", "p:f2", "10.0.0.1", 0, false, vote.Sequence},
		{"fresh 3", "p:f3", "10.0.0.1", 0, false, vote.Sequence},
		{"fresh 4 from the same address", "p:f4", "10.0.0.1", 0, false, vote.Ignored},
		{"fresh 5 from another address", "p:f5", "10.0.0.2", 0, false, vote.Sequence},
		{"a participant who has voted, from the busy address", "p:old", "10.0.0.1", 12, false, vote.Sequence},
	}
	for _, st := range steps {
		if got := f.booth.Origin(f.tenant, e, st.participant, st.source, st.votes, st.page); got != st.want {
			t.Errorf("%s: %s, want %s", st.name, got, st.want)
		}
	}
}

func TestBooth_IgnoredSequencesDoNotHoldBackExposure(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	e, err := f.booth.Catalog.BySlug(ctx, f.tenant, "culture")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range []vote.Origin{vote.Sequence, vote.Ignored, vote.Ignored} {
		ids, origin, err := f.booth.Next(ctx, f.tenant, e, "p:skimmer", "", k == 0)
		if err != nil || len(ids) != 1 || origin != want {
			t.Fatalf("sequence %d: %v %s %v, want one proposal with %s keys", k+1, ids, origin, err, want)
		}
	}
	// The ignored sequences' cards carry keys whose votes will not count, so they must not
	// keep the proposal from others' sequences; and the full-weight card, not voted on, stops
	// counting once the participant moved on to another sequence.
	if got := e.Pending(0); got != 0 {
		t.Fatalf("the proposal counts %d votes on their way after one full and two ignored sequences, none voted, want 0", got)
	}
}

// A card shown with a full-weight key counts as a vote on its way until its participant
// votes on it or moves on: votes on a card shown after it, asks for another sequence, or
// leaves it for PendingFor. A script hunting chosen proposals through fresh sessions, voting
// on one card in twelve, held the others back for good before.
func TestBooth_CardsPassedOverStopCountingAsVotesOnTheirWay(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.acceptTwoMore(t)
	now := time.Now()
	f.booth.Now = func() time.Time { return now }
	pending := func() map[int64]int {
		t.Helper()
		e, err := f.booth.Catalog.BySlug(ctx, f.tenant, "culture")
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]int{}
		for i, c := range e.Candidates {
			out[c.ID] = e.Pending(i)
		}
		return out
	}
	next := func(participant string, fresh bool) []int64 {
		t.Helper()
		e, err := f.booth.Catalog.BySlug(ctx, f.tenant, "culture")
		if err != nil {
			t.Fatal(err)
		}
		ids, origin, err := f.booth.Next(ctx, f.tenant, e, participant, "", fresh)
		if err != nil || len(ids) != 3 || (fresh && origin != vote.Sequence) {
			t.Fatalf("sequence of %s: %v %s %v, want three cards (with full-weight keys if fresh)", participant, ids, origin, err)
		}
		return ids
	}
	ids := next("p:a", true)
	for _, id := range ids {
		if pending()[id] != 1 {
			t.Fatalf("after one sequence: %v, want 1 each", pending())
		}
	}
	// a votes on the second card, passing over the first: a picks rather than votes
	// through, so neither the first nor the third is on its way any more.
	// And that vote, picked among the cards served, is published beside (core/vote rule 6).
	key := f.booth.Signer.Key(f.tenant, ids[1], "p:a", vote.Sequence)
	if v, err := f.booth.Cast(ctx, booth.Request{TenantID: f.tenant, ProposalID: ids[1], Participant: "p:a", Vote: "agree", Key: key}); err != nil || v.Trust != results.Trusted {
		t.Fatalf("a vote past a skipped card: trust %v, %v; want %v", v.Trust, err, results.Trusted)
	}
	if p := pending(); p[ids[0]] != 0 || p[ids[1]] != 0 || p[ids[2]] != 0 {
		t.Fatalf("after a vote on the second card only: %v, want every card back at 0 (the picked one's vote counts beside)", p)
	}
	// b asks for a sequence, then another without voting (ignored keys, rule 6): the first
	// one's cards stop counting.
	next("p:b", true)
	before := pending()
	next("p:b", false)
	after := pending()
	for id, n := range before {
		if after[id] != n-1 {
			t.Fatalf("b's second sequence: %v, want one less than %v on each (the first one's cards let go)", after, before)
		}
	}
	// c leaves their cards: past PendingFor, the next sequence or vote lets them go.
	next("p:c", true)
	if p := pending(); p[ids[0]] != 1 || p[ids[2]] != 1 {
		t.Fatalf("after c's sequence: %v, want 1 on the first and third cards (c's)", p)
	}
	now = now.Add(booth.DefaultPendingFor + time.Minute)
	key = f.booth.Signer.Key(f.tenant, ids[2], "p:a", vote.Sequence)
	if _, err := f.booth.Cast(ctx, booth.Request{TenantID: f.tenant, ProposalID: ids[2], Participant: "p:a", Vote: "neutral", Key: key}); err != nil {
		t.Fatal(err)
	}
	if p := pending(); p[ids[0]] != 0 {
		t.Fatalf("after c's cards expired: %v, want 0 on the first card", p)
	}
}

// Picking cannot be undone (core/vote rule 6): voting again on the picked card (the site's
// qualify step does) keeps it beside, and so does a vote on a card of a sequence the
// participant moved on from without voting on it. A vote that is refused changes nothing.
func TestBooth_PickingStaysPickedAndARefusedVoteChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.acceptTwoMore(t)
	entry := func() *catalog.Entry {
		t.Helper()
		e, err := f.booth.Catalog.BySlug(ctx, f.tenant, "culture")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	next := func(participant string) []int64 {
		t.Helper()
		ids, origin, err := f.booth.Next(ctx, f.tenant, entry(), participant, "", true)
		if err != nil || len(ids) != 3 || origin != vote.Sequence {
			t.Fatalf("sequence of %s: %v %s %v, want three cards with full-weight keys", participant, ids, origin, err)
		}
		return ids
	}
	cast := func(participant string, id int64, choice string) (vote.Vote, error) {
		key := f.booth.Signer.Key(f.tenant, id, participant, vote.Sequence)
		return f.booth.Cast(ctx, booth.Request{TenantID: f.tenant, ProposalID: id, Participant: participant, Vote: choice, Key: key})
	}
	trustOf := func(participant string, id int64, choice string) results.Trust {
		t.Helper()
		v, err := cast(participant, id, choice)
		if err != nil {
			t.Fatal(err)
		}
		return v.Trust
	}

	// a votes through in order, then qualifies the same card: full weight both times.
	ids := next("p:a")
	if got := trustOf("p:a", ids[0], "agree"); got != results.Sequence {
		t.Fatalf("a vote on the first card: %v, want %v", got, results.Sequence)
	}
	if got := trustOf("p:a", ids[0], "agree"); got != results.Sequence {
		t.Fatalf("the same card again: %v, want %v", got, results.Sequence)
	}
	// b picks the third card, then votes on it again: still beside.
	ids = next("p:b")
	if got := trustOf("p:b", ids[2], "agree"); got != results.Trusted {
		t.Fatalf("a picked vote: %v, want %v", got, results.Trusted)
	}
	if got := trustOf("p:b", ids[2], "disagree"); got != results.Trusted {
		t.Fatalf("the picked card voted on again: %v, want %v (a re-vote must not bring it back to full weight)", got, results.Trusted)
	}
	// c moves on to another sequence (its cards carry ignored keys, rule 6), then votes on
	// the first card of the first one with its still valid key.
	first := next("p:c")
	if _, _, err := f.booth.Next(ctx, f.tenant, entry(), "p:c", "", false); err != nil {
		t.Fatal(err)
	}
	if got := trustOf("p:c", first[0], "agree"); got != results.Trusted {
		t.Fatalf("a vote on a card of a sequence left behind: %v, want %v", got, results.Trusted)
	}

	// d is erased after being shown a sequence: their vote past the first card is refused,
	// and the cards still count as votes on their way (nothing was cast, nothing picked).
	ids = next("p:d")
	before := map[int64]int{}
	e := entry()
	for i, c := range e.Candidates {
		before[c.ID] = e.Pending(i)
	}
	if _, err := f.booth.Votes.Detach(ctx, f.tenant, "p:d"); err != nil {
		t.Fatal(err)
	}
	if _, err := cast("p:d", ids[1], "agree"); err == nil {
		t.Fatal("an erased participant's vote was accepted")
	}
	e = entry()
	for i, c := range e.Candidates {
		if got := e.Pending(i); got != before[c.ID] {
			t.Fatalf("after a refused vote, proposal %d counts %d votes on their way, want %d as before", c.ID, got, before[c.ID])
		}
	}
}

// acceptTwoMore accepts two more proposals of other authors (three in all with the fixture's),
// so that a sequence holds three cards.
func (f *fixture) acceptTwoMore(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for i, text := range []string{"Il faut des concerts gratuits dans les parcs", "Il faut des bibliothèques ouvertes la nuit"} {
		p, err := f.env.App.Proposals.Submit(ctx, f.tenant, f.cs, fmt.Sprintf("p:author%d", i), text)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.env.App.Proposals.Accept(ctx, f.tenant, p.ID, "moderator", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.booth.Catalog.Invalidate(f.tenant, f.cs.ID)
}
