package booth_test

import (
	"context"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/booth"
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
	if _, err := f.booth.Next(ctx, f.tenant, e, "p:someone", true); !errs.Is(err, errs.Conflict) {
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
	ids, err := f.booth.Next(ctx, f.tenant, e, "p:me", true)
	if err != nil || len(ids) != 1 || ids[0] != f.proposal {
		t.Fatalf("sequence %v, %v", ids, err)
	}
	if e.Pending(0) != 1 {
		t.Fatalf("the proposal shown counts %d votes on their way, want 1", e.Pending(0))
	}
	key := f.booth.Signer.Key(f.tenant, f.proposal, "p:me", vote.Sequence)
	if _, err := f.booth.Cast(ctx, booth.Request{TenantID: f.tenant, ProposalID: f.proposal, Participant: "p:me", Vote: "agree", Key: key}); err != nil {
		t.Fatal(err)
	}
	if ids, err := f.booth.Next(ctx, f.tenant, e, "p:me", false); err != nil || len(ids) != 0 {
		t.Fatalf("after voting on the only proposal: %v, %v", ids, err)
	}
	if _, err := f.booth.Next(ctx, f.tenant, e, "", true); !errs.Is(err, errs.Unauthorized) {
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
