package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// Provider takes the money of pledges. The built-in one records promises: backers pay as
// the project's page says (a transfer, a cheque to the public treasury…) and staff confirm
// each pledge when its money arrives (POST /pledges/{id}/confirm). A card processor would
// implement the same methods: Start would return the address of its payment page, Release
// would void the authorisation; confirmation would then come from its notification.
type Provider interface {
	Name() string
	// Start is called once a pledge is recorded (a processor would begin its payment).
	Start(ctx context.Context, p Pledge) error
	// Release is called when a pledge is withdrawn or released because its project failed.
	Release(ctx context.Context, p Pledge) error
}

// promiseProvider is the built-in provider: nothing to call, nothing is marked paid until
// staff confirm it.
type promiseProvider struct{}

func (promiseProvider) Name() string                          { return "promise" }
func (promiseProvider) Start(context.Context, Pledge) error   { return nil }
func (promiseProvider) Release(context.Context, Pledge) error { return nil }

// quadraticShares of the funds attached to a project: fund → what its CLR share gives the
// project now, from the active pledges of every project of the fund that has not failed.
func (s *service) quadraticFor(ctx context.Context, p Project) (map[string]int64, error) {
	out := map[string]int64{}
	for _, fid := range p.Funds {
		f, err := s.loadFund(ctx, fid)
		if err != nil {
			if errors.Is(err, errNoFund) {
				continue
			}
			return nil, err
		}
		if f.Rule.Kind != ruleQuadratic {
			continue
		}
		shares, err := s.clrShares(ctx, f)
		if err != nil {
			return nil, err
		}
		out[fid] = shares[p.ID]
	}
	return out, nil
}

// clrShares is each project's CLR share of a quadratic fund's budget, now.
func (s *service) clrShares(ctx context.Context, f Fund) (map[string]int64, error) {
	amounts := map[string]int64{}
	for _, pid := range f.Projects {
		var sp storedProject
		if _, ok, err := sdk.Host(ctx).Storage().GetJSON(ctx, projectKey(pid), &sp); err != nil {
			return nil, err
		} else if !ok || sp.Status == statusFailed || sp.Status == statusDraft {
			continue
		}
		pls, err := s.pledgesOf(ctx, pid)
		if err != nil {
			return nil, err
		}
		byPerson := map[string]int64{}
		for _, pl := range pls {
			if active(pl.Status) {
				byPerson[pl.Person] += pl.AmountCents
			}
		}
		cs := make([]int64, 0, len(byPerson))
		for _, c := range byPerson {
			cs = append(cs, c)
		}
		amounts[pid] = clr(cs)
	}
	return quadraticShares(f.BudgetCents, amounts), nil
}

// closeProject closes an open project: funded when its pledges and matches (quadratic ones
// included) reach its minimum, else failed and every pledge released. force closes before
// the deadline (staff); without it, a project before its deadline is left as it is.
func (s *service) closeProject(ctx context.Context, id string, force bool) (Project, error) {
	p, err := s.loadProject(ctx, id)
	if err != nil {
		return p, err
	}
	var q map[string]int64
	if p.Status == statusOpen {
		if q, err = s.quadraticFor(ctx, p); err != nil {
			return p, err
		}
	}
	var out storedProject
	closedNow := false
	err = s.run(ctx, func(t *txn) error {
		closedNow = false
		sp, err := getProject(t, id)
		if err != nil {
			return err
		}
		out = sp
		if sp.Status == statusFailed && !sp.Settled {
			return nil // the release below carries on
		}
		if sp.Status != statusOpen {
			return conflict("status", "only an open project can be closed; this one is %s", sp.Status)
		}
		if !force && t.now.Before(sp.Deadline) {
			return nil
		}
		var extra int64
		type qm struct {
			fund  string
			f     Fund
			cents int64
		}
		var qms []qm
		for _, fid := range sp.Funds {
			share := q[fid]
			if share <= 0 {
				continue
			}
			var f Fund
			if ok, err := t.get(fundKey(fid), &f); err != nil || !ok {
				return cmpErr(err, errNoFund)
			}
			m := min(share, f.BudgetCents-f.CommittedCents, sp.OptimumCents-sp.PledgedCents-sp.MatchedCents-extra)
			if f.Rule.CapPerProjectCents > 0 {
				m = min(m, f.Rule.CapPerProjectCents-f.PerProject[id])
			}
			if m > 0 {
				qms = append(qms, qm{fid, f, m})
				extra += m
			}
		}
		at := t.now
		sp.ClosedAt = &at
		if sp.PledgedCents+sp.MatchedCents+extra >= sp.MinimumCents {
			sp.Status, sp.Settled = statusFunded, true
			for _, x := range qms {
				if x.f.PerProject == nil {
					x.f.PerProject = map[string]int64{}
				}
				x.f.CommittedCents += x.cents
				x.f.PerProject[id] += x.cents
				sp.MatchedCents += x.cents
				t.put(fundKey(x.fund), x.f)
				t.log(LedgerEntry{Kind: moveMatch, Project: id, Fund: x.fund, AmountCents: x.cents})
			}
		} else {
			sp.Status, sp.Settled = statusFailed, false
		}
		sp.setRound()
		t.put(projectKey(id), sp)
		out, closedNow = sp, true
		return nil
	})
	if err != nil {
		return out.Project, err
	}
	if closedNow {
		s.closed.WithLabelValues(out.Status).Inc()
		_ = sdk.Host(ctx).Audit(ctx, "project.close", "project:"+id, map[string]any{"status": out.Status,
			"pledged_cents": out.PledgedCents, "matched_cents": out.MatchedCents, "early": force && s.now().Before(out.Deadline)})
	}
	if out.Status == statusFailed && !out.Settled {
		return s.release(ctx, id)
	}
	return out.Project, nil
}

// release releases every active pledge of a failed project, one transaction each (so a
// project of any size settles, and an interrupted release carries on at the next run), then
// marks the project settled.
func (s *service) release(ctx context.Context, id string) (Project, error) {
	pls, err := s.pledgesOf(ctx, id)
	if err != nil {
		return Project{}, err
	}
	for _, x := range pls {
		if !active(x.Status) {
			continue
		}
		var released Pledge
		err := s.run(ctx, func(t *txn) error {
			released = Pledge{}
			pl, err := getPledge(t, x.ID)
			if err != nil || !active(pl.Status) {
				return err
			}
			sp, err := getProject(t, id)
			if err != nil {
				return err
			}
			if err := unwind(t, &sp, &pl, moveRelease, pledgeReleased); err != nil {
				return err
			}
			t.put(projectKey(id), sp)
			released = pl.Pledge
			return nil
		})
		if err != nil {
			return Project{}, fmt.Errorf("release pledge %s: %w", x.ID, err)
		}
		if released.ID != "" {
			if err := s.provider.Release(ctx, released); err != nil {
				sdk.Log(ctx).Warn("payment provider", "pledge", released.ID, "error", err.Error())
			}
		}
	}
	var out Project
	err = s.run(ctx, func(t *txn) error {
		sp, err := getProject(t, id)
		if err != nil {
			return err
		}
		sp.Settled = true
		t.put(projectKey(id), sp)
		out = sp.Project
		return nil
	})
	return out, err
}

// settle is the scheduled job: it closes the open projects whose deadline has passed and
// finishes the release of failed projects an earlier run left unsettled.
func (s *service) settle(ctx context.Context) error {
	entries, err := sdk.Host(ctx).Storage().ListAll(ctx, projectPrefix)
	if err != nil {
		return err
	}
	var errs []error
	now := s.now()
	for _, e := range entries {
		var sp storedProject
		if json.Unmarshal(e.Value, &sp) != nil {
			continue
		}
		due := sp.Status == statusOpen && !now.Before(sp.Deadline)
		if !due && !(sp.Status == statusFailed && !sp.Settled) {
			continue
		}
		if _, err := s.closeProject(ctx, sp.ID, false); err != nil {
			errs = append(errs, fmt.Errorf("project %s: %w", sp.ID, err))
		}
	}
	return errors.Join(errs...)
}
