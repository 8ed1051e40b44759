package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// Project statuses. An open project is in its minimum round until pledges and matches reach
// its minimum, then in its optimum round; at its deadline (or when staff close it) it is
// funded if the minimum is reached, else failed: every pledge is released and every match
// goes back to its fund.
const (
	statusDraft  = "draft"
	statusOpen   = "open"
	statusFunded = "funded"
	statusFailed = "failed"

	roundMinimum = "minimum"
	roundOptimum = "optimum"
)

// Pledge statuses: promised when made, confirmed when staff saw the money arrive, cancelled
// by the backer before the deadline, released when the project failed.
const (
	pledgePromised  = "promised"
	pledgeConfirmed = "confirmed"
	pledgeCancelled = "cancelled"
	pledgeReleased  = "released"
)

// BudgetLine is one item of a project's costs: needed for the minimum, or wished for the
// optimum.
type BudgetLine struct {
	Label string `json:"label"`
	Cents int64  `json:"cents"`
	Kind  string `json:"kind"` // "minimum" or "optimum"
}

// Source is what the project comes from: a culture event, a consultation's proposal, none.
type Source struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// Project is a project people co-finance.
type Project struct {
	ID           string       `json:"id"`
	Title        string       `json:"title"`
	Description  string       `json:"description"`
	Status       string       `json:"status"`
	Round        string       `json:"round,omitempty"`
	MinimumCents int64        `json:"minimum_cents"`
	OptimumCents int64        `json:"optimum_cents"`
	Deadline     time.Time    `json:"deadline"`
	Budget       []BudgetLine `json:"budget"`
	Source       Source       `json:"source"`
	// Totals of the active pledges (promised or confirmed) and of the funds' matches.
	PledgedCents   int64    `json:"pledged_cents"`
	MatchedCents   int64    `json:"matched_cents"`
	Backers        int64    `json:"backers"`
	ConfirmedCents int64    `json:"confirmed_cents"`
	DisbursedCents int64    `json:"disbursed_cents"`
	ReleasedCents  int64    `json:"released_cents,omitempty"` // pledges released when it failed
	ReturnedCents  int64    `json:"returned_cents,omitempty"` // matches returned to their funds
	Funds          []string `json:"funds"`
	// Settled is false while a failed project still has pledges to release.
	Settled   bool       `json:"settled"`
	CreatedAt time.Time  `json:"created_at"`
	OpenedAt  *time.Time `json:"opened_at,omitempty"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	CreatedBy string     `json:"-"`
}

type storedProject struct {
	Project
	CreatedBy string `json:"created_by"`
}

func (p *Project) setRound() {
	p.Round = ""
	if p.Status == statusOpen {
		p.Round = roundMinimum
		if p.PledgedCents+p.MatchedCents >= p.MinimumCents {
			p.Round = roundOptimum
		}
	}
}

// Match is what one fund gave one pledge.
type Match struct {
	Fund  string `json:"fund"`
	Cents int64  `json:"cents"`
}

// Pledge is a backer's promise to a project.
type Pledge struct {
	ID           string    `json:"id"`
	Project      string    `json:"project"`
	AmountCents  int64     `json:"amount_cents"`
	MatchedCents int64     `json:"matched_cents"`
	Matches      []Match   `json:"matches,omitempty"`
	Status       string    `json:"status"`
	PublicName   string    `json:"public_name,omitempty"`
	Provider     string    `json:"provider"`
	CreatedAt    time.Time `json:"created_at"`
	Person       string    `json:"-"`
}

type storedPledge struct {
	Pledge
	Person string `json:"person"`
}

// Fund is a match-funding fund.
type Fund struct {
	ID             string           `json:"id"`
	Name           string           `json:"name"`
	BudgetCents    int64            `json:"budget_cents"`
	CommittedCents int64            `json:"committed_cents"`
	RemainingCents int64            `json:"remaining_cents"`
	Rule           Rule             `json:"rule"`
	Projects       []string         `json:"projects"`
	PerProject     map[string]int64 `json:"per_project_cents"`
	CreatedAt      time.Time        `json:"created_at"`
}

// idemRecord is what an idempotency key points to.
type idemRecord struct {
	Project string `json:"project"`
	Pledge  string `json:"pledge"`
	Amount  int64  `json:"amount_cents"`
}

// service is the plugin's logic; it holds no tenant data.
type service struct {
	now      func() time.Time
	provider Provider
	locks    locks

	pledges   prometheus.Counter
	pledged   prometheus.Counter
	matched   prometheus.Counter
	closed    *prometheus.CounterVec
	conflicts prometheus.Counter
}

func newService(reg prometheus.Registerer) *service {
	s := &service{
		now:       time.Now,
		provider:  promiseProvider{},
		pledges:   prometheus.NewCounter(prometheus.CounterOpts{Name: "cofinancing_pledges_total", Help: "Pledges made."}),
		pledged:   prometheus.NewCounter(prometheus.CounterOpts{Name: "cofinancing_pledged_cents_total", Help: "Cents pledged."}),
		matched:   prometheus.NewCounter(prometheus.CounterOpts{Name: "cofinancing_matched_cents_total", Help: "Cents matched by funds."}),
		closed:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cofinancing_projects_closed_total", Help: "Projects closed, by outcome."}, []string{"outcome"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{Name: "cofinancing_write_conflicts_total", Help: "Writes run again because a record changed meanwhile."}),
	}
	if reg != nil {
		reg.MustRegister(s.pledges, s.pledged, s.matched, s.closed, s.conflicts)
	}
	return s
}

// ---- settings ----

type settings struct {
	MinPledgeCents int64 `json:"min_pledge_cents"`
	MaxPledgeCents int64 `json:"max_pledge_cents"`
}

func settingsOf(ctx context.Context) settings {
	s, _ := sdk.Settings[settings](ctx)
	if s.MinPledgeCents <= 0 {
		s.MinPledgeCents = 100
	}
	if s.MaxPledgeCents <= 0 || s.MaxPledgeCents > maxCents {
		s.MaxPledgeCents = 1_000_000
	}
	return s
}

// ---- validation ----

func bad(field, format string, args ...any) *sdk.Error { return sdk.Field(field, format, args...) }

func conflict(field, format string, args ...any) *sdk.Error {
	e := sdk.E(sdk.Conflict, format, args...)
	e.Field = field
	return e
}

var errNoProject = sdk.E(sdk.NotFound, "no such project")

// cleanText trims s and checks its length in characters and that it holds no control
// character but newlines (when multiline).
func cleanText(field, s string, minLen, maxLen int, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) || n < minLen || n > maxLen {
		return s, bad(field, "%s must have %d to %d characters", field, minLen, maxLen)
	}
	for _, c := range s {
		if unicode.IsControl(c) && !(multiline && (c == '\n' || c == '\r' || c == '\t')) {
			return s, bad(field, "%s holds a control character", field)
		}
	}
	return s, nil
}

// projectInput is the body of POST /projects.
type projectInput struct {
	Title        string        `json:"title"`
	Description  string        `json:"description"`
	MinimumCents Number        `json:"minimum_cents"`
	OptimumCents Number        `json:"optimum_cents"`
	Deadline     string        `json:"deadline"`
	Budget       []budgetInput `json:"budget"`
	Source       *Source       `json:"source"`
}

type budgetInput struct {
	Label string `json:"label"`
	Cents Number `json:"cents"`
	Kind  string `json:"kind"`
}

const maxBudgetLines = 50

func (s *service) validateProject(ctx context.Context, in projectInput) (Project, error) {
	var p Project
	var err error
	if p.Title, err = cleanText("title", in.Title, 3, 140, false); err != nil {
		return p, err
	}
	if p.Description, err = cleanText("description", in.Description, 0, 5000, true); err != nil {
		return p, err
	}
	if p.MinimumCents, err = centsOf("minimum_cents", in.MinimumCents, 100, maxCents); err != nil {
		return p, err
	}
	if p.OptimumCents, err = centsOf("optimum_cents", in.OptimumCents, 100, maxCents); err != nil {
		return p, err
	}
	if p.OptimumCents < p.MinimumCents {
		return p, bad("optimum_cents", "optimum_cents must be at least minimum_cents")
	}
	if p.Deadline, err = time.Parse(time.RFC3339, in.Deadline); err != nil {
		return p, bad("deadline", "deadline must be an RFC 3339 time (2026-06-30T18:00:00+02:00)")
	}
	now := s.now()
	if !p.Deadline.After(now) || p.Deadline.After(now.AddDate(2, 0, 0)) {
		return p, bad("deadline", "deadline must be in the future, within two years")
	}
	p.Deadline = p.Deadline.UTC()
	if len(in.Budget) == 0 || len(in.Budget) > maxBudgetLines {
		return p, bad("budget", "budget must list 1 to %d items", maxBudgetLines)
	}
	var sumMin, sumAll int64
	for i, b := range in.Budget {
		f := "budget[" + strconv.Itoa(i) + "]"
		label, err := cleanText(f+".label", b.Label, 1, 200, false)
		if err != nil {
			return p, err
		}
		c, err := centsOf(f+".cents", b.Cents, 1, maxCents)
		if err != nil {
			return p, err
		}
		if b.Kind != roundMinimum && b.Kind != roundOptimum {
			return p, bad(f+".kind", "kind must be minimum or optimum")
		}
		if b.Kind == roundMinimum {
			sumMin += c
		}
		sumAll += c
		p.Budget = append(p.Budget, BudgetLine{Label: label, Cents: c, Kind: b.Kind})
	}
	if sumMin != p.MinimumCents {
		return p, bad("budget", "the minimum items add up to %d cents, not minimum_cents (%d)", sumMin, p.MinimumCents)
	}
	if sumAll != p.OptimumCents {
		return p, bad("budget", "all items add up to %d cents, not optimum_cents (%d)", sumAll, p.OptimumCents)
	}
	p.Source = Source{Kind: "none"}
	if in.Source != nil {
		if p.Source, err = checkSource(ctx, *in.Source); err != nil {
			return p, err
		}
	}
	return p, nil
}

// checkSource checks a project's source: a proposal must be an accepted proposal of one of
// the tenant's consultations ("CONSULTATION/PROPOSAL", read through the host); a culture
// event is named by its id in the culture plugin, which the project links to (plugins do not
// read each other's storage, so the link is not checked).
func checkSource(ctx context.Context, src Source) (Source, error) {
	switch src.Kind {
	case "", "none":
		return Source{Kind: "none"}, nil
	case "culture_event":
		if !validID(src.ID) {
			return src, bad("source.id", "a culture event's id is 1 to 40 characters of 0-9, a-f and -")
		}
		return src, nil
	case "proposal":
		c, p, ok := strings.Cut(src.ID, "/")
		cid, err1 := strconv.ParseInt(c, 10, 64)
		pid, err2 := strconv.ParseInt(p, 10, 64)
		if !ok || err1 != nil || err2 != nil || cid <= 0 || pid <= 0 {
			return src, bad("source.id", "a proposal is named CONSULTATION_ID/PROPOSAL_ID")
		}
		ps, err := sdk.Host(ctx).Consultations().AcceptedProposals(ctx, cid, sdk.MaxProposalsListed)
		if err != nil && !sdk.IsNotFound(err) {
			return src, err
		}
		for _, x := range ps {
			if x.GetId() == pid {
				return src, nil
			}
		}
		return src, bad("source.id", "no accepted proposal %s in this site's consultations", src.ID)
	}
	return src, bad("source.kind", "source.kind must be culture_event, proposal or none")
}

// ---- projects ----

func (s *service) createProject(ctx context.Context, in projectInput) (Project, error) {
	p, err := s.validateProject(ctx, in)
	if err != nil {
		return p, err
	}
	now := s.now().UTC()
	p.ID, p.Status, p.CreatedAt, p.Funds = newID(now), statusDraft, now, []string{}
	sp := storedProject{Project: p, CreatedBy: sdk.CallOf(ctx).Principal.Subject}
	b, _ := json.Marshal(sp)
	if _, err := sdk.Host(ctx).Storage().CompareAndSet(ctx, projectKey(p.ID), 0, b); err != nil {
		return p, err
	}
	_ = sdk.Host(ctx).Audit(ctx, "project.create", "project:"+p.ID, map[string]any{"title": p.Title, "minimum_cents": p.MinimumCents, "optimum_cents": p.OptimumCents})
	return p, nil
}

// loadProject reads a project; drafts only for staff and their author.
func (s *service) loadProject(ctx context.Context, id string) (Project, error) {
	var sp storedProject
	if !validID(id) {
		return sp.Project, errNoProject
	}
	_, ok, err := sdk.Host(ctx).Storage().GetJSON(ctx, projectKey(id), &sp)
	if err != nil {
		return sp.Project, err
	}
	if !ok || (sp.Status == statusDraft && !canSeeDrafts(ctx, sp.CreatedBy)) {
		return sp.Project, errNoProject
	}
	sp.Project.CreatedBy = sp.CreatedBy
	return sp.Project, nil
}

// staffRoles hold the staff permissions by default; they see drafts and the staff links.
var staffRoles = []string{"tenant-admin"}

func canSeeDrafts(ctx context.Context, author string) bool {
	p := sdk.CallOf(ctx).Principal
	return p.HasRole(staffRoles...) || p.HasRole("auditor") || (!p.Anonymous && p.Subject == author)
}

func (s *service) projects(ctx context.Context) ([]Project, error) {
	entries, err := sdk.Host(ctx).Storage().ListAll(ctx, projectPrefix)
	if err != nil {
		return nil, err
	}
	out := []Project{}
	for _, e := range entries {
		var sp storedProject
		if json.Unmarshal(e.Value, &sp) != nil {
			continue
		}
		if sp.Status == statusDraft && !canSeeDrafts(ctx, sp.CreatedBy) {
			continue
		}
		out = append(out, sp.Project)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

// getProject reads a project in a transaction, with its author kept.
func getProject(t *txn, id string) (storedProject, error) {
	var sp storedProject
	if !validID(id) {
		return sp, errNoProject
	}
	ok, err := t.get(projectKey(id), &sp)
	if err == nil && !ok {
		err = errNoProject
	}
	return sp, err
}

func (s *service) openProject(ctx context.Context, id string) (Project, error) {
	var out Project
	err := s.run(ctx, func(t *txn) error {
		sp, err := getProject(t, id)
		if err != nil {
			return err
		}
		if sp.Status != statusDraft {
			return conflict("status", "only a draft can be opened; this project is %s", sp.Status)
		}
		if !sp.Deadline.After(t.now) {
			return bad("deadline", "the deadline has passed; a project opens before its deadline")
		}
		at := t.now
		sp.Status, sp.OpenedAt = statusOpen, &at
		sp.setRound()
		t.put(projectKey(id), sp)
		out = sp.Project
		return nil
	})
	if err == nil {
		_ = sdk.Host(ctx).Audit(ctx, "project.open", "project:"+id, nil)
	}
	return out, err
}

// ---- funds ----

type fundInput struct {
	Name        string    `json:"name"`
	BudgetCents Number    `json:"budget_cents"`
	Rule        ruleInput `json:"rule"`
}

type ruleInput struct {
	Kind               string `json:"kind"`
	Factor             Number `json:"factor"`
	CapPerPledgeCents  Number `json:"cap_per_pledge_cents"`
	CapPerProjectCents Number `json:"cap_per_project_cents"`
	OnePerPerson       bool   `json:"one_per_person"`
	MinBackers         Number `json:"min_backers"`
	TargetPercent      Number `json:"target_percent"`
}

func validateRule(in ruleInput) (Rule, error) {
	r := Rule{Kind: in.Kind, OnePerPerson: in.OnePerPerson}
	var err error
	if r.CapPerPledgeCents, err = optCents("rule.cap_per_pledge_cents", in.CapPerPledgeCents, maxCents); err != nil {
		return r, err
	}
	if r.CapPerProjectCents, err = optCents("rule.cap_per_project_cents", in.CapPerProjectCents, maxCents); err != nil {
		return r, err
	}
	if r.MinBackers, err = optCents("rule.min_backers", in.MinBackers, 1_000_000); err != nil {
		return r, err
	}
	if r.TargetPercent, err = optCents("rule.target_percent", in.TargetPercent, 100); err != nil {
		return r, err
	}
	switch r.Kind {
	case ruleFactor, ruleCriteria:
		if r.Factor, err = centsOf("rule.factor", in.Factor, 1, 10); err != nil {
			return r, bad("rule.factor", "rule.factor must be a whole number from 1 to 10 (1 doubles each pledge)")
		}
		if r.Kind == ruleFactor && (r.MinBackers != 0 || r.TargetPercent != 0) {
			return r, bad("rule.kind", "min_backers and target_percent belong to the criteria rule")
		}
		if r.Kind == ruleCriteria && r.MinBackers == 0 && r.TargetPercent == 0 {
			return r, bad("rule.min_backers", "the criteria rule needs min_backers or target_percent")
		}
	case ruleQuadratic:
		if in.Factor != "" || r.CapPerPledgeCents != 0 || r.OnePerPerson || r.MinBackers != 0 || r.TargetPercent != 0 {
			return r, bad("rule.kind", "a quadratic fund takes only cap_per_project_cents")
		}
	default:
		return r, bad("rule.kind", "rule.kind must be factor, criteria or quadratic")
	}
	return r, nil
}

func (s *service) createFund(ctx context.Context, in fundInput) (Fund, error) {
	var f Fund
	var err error
	if f.Name, err = cleanText("name", in.Name, 3, 140, false); err != nil {
		return f, err
	}
	if f.BudgetCents, err = centsOf("budget_cents", in.BudgetCents, 100, maxCents); err != nil {
		return f, err
	}
	if f.Rule, err = validateRule(in.Rule); err != nil {
		return f, err
	}
	now := s.now().UTC()
	f.ID, f.CreatedAt, f.Projects, f.PerProject = newID(now), now, []string{}, map[string]int64{}
	f.RemainingCents = f.BudgetCents
	b, _ := json.Marshal(f)
	if _, err := sdk.Host(ctx).Storage().CompareAndSet(ctx, fundKey(f.ID), 0, b); err != nil {
		return f, err
	}
	_ = sdk.Host(ctx).Audit(ctx, "fund.create", "fund:"+f.ID, map[string]any{"name": f.Name, "budget_cents": f.BudgetCents, "rule": f.Rule.Kind})
	return f, nil
}

var errNoFund = sdk.E(sdk.NotFound, "no such fund")

func (s *service) loadFund(ctx context.Context, id string) (Fund, error) {
	var f Fund
	if !validID(id) {
		return f, errNoFund
	}
	_, ok, err := sdk.Host(ctx).Storage().GetJSON(ctx, fundKey(id), &f)
	if err == nil && !ok {
		err = errNoFund
	}
	f.RemainingCents = f.BudgetCents - f.CommittedCents
	return f, err
}

func (s *service) funds(ctx context.Context) ([]Fund, error) {
	entries, err := sdk.Host(ctx).Storage().ListAll(ctx, fundPrefix)
	if err != nil {
		return nil, err
	}
	out := []Fund{}
	for _, e := range entries {
		var f Fund
		if json.Unmarshal(e.Value, &f) == nil {
			f.RemainingCents = f.BudgetCents - f.CommittedCents
			out = append(out, f)
		}
	}
	return out, nil
}

const maxFundsPerProject = 10

func (s *service) attach(ctx context.Context, fundID, projectID string) (Fund, error) {
	var out Fund
	err := s.run(ctx, func(t *txn) error {
		var f Fund
		if !validID(fundID) {
			return errNoFund
		}
		if ok, err := t.get(fundKey(fundID), &f); err != nil || !ok {
			return cmpErr(err, errNoFund)
		}
		sp, err := getProject(t, projectID)
		if err != nil {
			return bad("project_id", "no such project")
		}
		if sp.Status != statusDraft && sp.Status != statusOpen {
			return conflict("project_id", "the project is %s: funds attach to drafts and open projects", sp.Status)
		}
		for _, id := range sp.Funds {
			if id == fundID {
				return conflict("project_id", "the project is already attached to this fund")
			}
		}
		if len(sp.Funds) >= maxFundsPerProject {
			return bad("project_id", "a project takes at most %d funds", maxFundsPerProject)
		}
		sp.Funds = append(sp.Funds, fundID)
		f.Projects = append(f.Projects, projectID)
		t.put(projectKey(projectID), sp)
		t.put(fundKey(fundID), f)
		f.RemainingCents = f.BudgetCents - f.CommittedCents
		out = f
		return nil
	})
	if err == nil {
		_ = sdk.Host(ctx).Audit(ctx, "fund.attach", "fund:"+fundID, map[string]any{"project": projectID})
	}
	return out, err
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// ---- pledges ----

type pledgeInput struct {
	AmountCents    Number `json:"amount_cents"`
	IdempotencyKey string `json:"idempotency_key"`
	PublicName     string `json:"public_name"`
}

// principal is the signed-in person making a call, as a storage key.
func principal(ctx context.Context) (string, error) {
	p := sdk.CallOf(ctx).Principal
	if p.Anonymous || p.Subject == "" || p.Subject == "anonymous" {
		return "", sdk.E(sdk.Unauthorized, "sign in to pledge")
	}
	return person(p.Subject), nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pledge records a pledge and its matches, or returns the pledge already made with the same
// idempotency key by the same person (replayed true).
func (s *service) pledge(ctx context.Context, projectID string, in pledgeInput) (out Pledge, replayed bool, err error) {
	who, err := principal(ctx)
	if err != nil {
		return out, false, err
	}
	set := settingsOf(ctx)
	amount, err := centsOf("amount_cents", in.AmountCents, 1, maxCents)
	if err != nil {
		return out, false, err
	}
	if amount < set.MinPledgeCents || amount > set.MaxPledgeCents {
		return out, false, bad("amount_cents", "a pledge is from %d to %d cents", set.MinPledgeCents, set.MaxPledgeCents)
	}
	key := strings.TrimSpace(in.IdempotencyKey)
	if n := len(key); n < 8 || n > 100 || strings.ContainsFunc(key, unicode.IsControl) {
		return out, false, bad("idempotency_key", "idempotency_key must be 8 to 100 characters, unique to this pledge")
	}
	name := ""
	if in.PublicName != "" {
		if name, err = cleanText("public_name", in.PublicName, 1, 60, false); err != nil {
			return out, false, err
		}
	}
	ik := idemKey(who, key)
	var matchedNow int64
	err = s.run(ctx, func(t *txn) error {
		replayed, matchedNow = false, 0
		var rec idemRecord
		if found, err := t.get(ik, &rec); err != nil {
			return err
		} else if found {
			var sp storedPledge
			if ok, err := t.get(pledgeKey(rec.Project, rec.Pledge), &sp); err != nil || !ok {
				return cmpErr(err, errors.New("an idempotency key names a missing pledge"))
			}
			if rec.Project != projectID || rec.Amount != amount {
				return conflict("idempotency_key", "this idempotency key was used for another pledge")
			}
			out, replayed = sp.Pledge, true
			return nil
		}
		sp, err := getProject(t, projectID)
		if err != nil {
			return err
		}
		if sp.Status == statusDraft && !canSeeDrafts(ctx, sp.CreatedBy) {
			return errNoProject
		}
		if sp.Status != statusOpen {
			return conflict("status", "this project does not take pledges: it is %s", sp.Status)
		}
		if !t.now.Before(sp.Deadline) {
			return conflict("status", "this project does not take pledges: its deadline has passed")
		}
		room := sp.OptimumCents - sp.PledgedCents - sp.MatchedCents
		if amount > room {
			return bad("amount_cents", "the project needs only %d more cents to reach its optimum", max(room, 0))
		}
		var active int64
		if _, err := t.get(backerKey(projectID, who), &active); err != nil {
			return err
		}
		if active == 0 {
			sp.Backers++
		}
		sp.PledgedCents += amount
		p := Pledge{ID: projectID + "." + randomSuffix(), Project: projectID, AmountCents: amount, Status: pledgePromised,
			PublicName: name, Provider: s.provider.Name(), CreatedAt: t.now}
		t.log(LedgerEntry{Kind: movePledge, Project: projectID, Pledge: p.ID, AmountCents: amount, Backer: name})
		for _, fid := range sp.Funds {
			var f Fund
			if ok, err := t.get(fundKey(fid), &f); err != nil {
				return err
			} else if !ok {
				continue
			}
			var already string
			personMatched := false
			if f.Rule.OnePerPerson {
				if personMatched, err = t.get(matchedKey(fid, who), &already); err != nil {
					return err
				}
			}
			m := matchPledge(f.Rule, pledgeState{Amount: amount, Backers: sp.Backers, Pledged: sp.PledgedCents, Matched: sp.MatchedCents,
				Minimum: sp.MinimumCents, Optimum: sp.OptimumCents, FundRemaining: f.BudgetCents - f.CommittedCents,
				FundForProject: f.PerProject[projectID], PersonMatched: personMatched})
			if m <= 0 {
				continue
			}
			if f.PerProject == nil {
				f.PerProject = map[string]int64{}
			}
			f.CommittedCents += m
			f.PerProject[projectID] += m
			sp.MatchedCents += m
			p.MatchedCents += m
			p.Matches = append(p.Matches, Match{Fund: fid, Cents: m})
			t.put(fundKey(fid), f)
			if f.Rule.OnePerPerson {
				t.put(matchedKey(fid, who), p.ID)
			}
			t.log(LedgerEntry{Kind: moveMatch, Project: projectID, Pledge: p.ID, Fund: fid, AmountCents: m})
			matchedNow += m
		}
		sp.setRound()
		t.put(projectKey(projectID), sp)
		t.put(pledgeKey(projectID, p.ID), storedPledge{Pledge: p, Person: who})
		t.put(ik, idemRecord{Project: projectID, Pledge: p.ID, Amount: amount})
		t.put(backerKey(projectID, who), active+1)
		t.put(mineKey(who, p.ID), projectID)
		out = p
		return nil
	})
	if err != nil || replayed {
		return out, replayed, err
	}
	s.pledges.Inc()
	s.pledged.Add(float64(amount))
	s.matched.Add(float64(matchedNow))
	if err := s.provider.Start(ctx, out); err != nil {
		sdk.Log(ctx).Warn("payment provider", "pledge", out.ID, "error", err.Error())
	}
	return out, false, nil
}

// unwind takes an active pledge out of its project's totals and gives its matches back to
// their funds, logging kind (cancel or release) and a match_return per match.
func unwind(t *txn, sp *storedProject, pl *storedPledge, kind, status string) error {
	pl.Status = status
	sp.PledgedCents -= pl.AmountCents
	sp.MatchedCents -= pl.MatchedCents
	var active int64
	if _, err := t.get(backerKey(sp.ID, pl.Person), &active); err != nil {
		return err
	}
	if active <= 1 {
		t.del(backerKey(sp.ID, pl.Person))
		sp.Backers--
	} else {
		t.put(backerKey(sp.ID, pl.Person), active-1)
	}
	t.log(LedgerEntry{Kind: kind, Project: sp.ID, Pledge: pl.ID, AmountCents: pl.AmountCents, Backer: pl.PublicName})
	for _, m := range pl.Matches {
		var f Fund
		if ok, err := t.get(fundKey(m.Fund), &f); err != nil || !ok {
			return cmpErr(err, errors.New("a pledge names a missing fund"))
		}
		if f.PerProject == nil {
			f.PerProject = map[string]int64{}
		}
		f.CommittedCents -= m.Cents
		f.PerProject[sp.ID] -= m.Cents
		t.put(fundKey(m.Fund), f)
		if f.Rule.OnePerPerson {
			var matchedPledge string
			if ok, err := t.get(matchedKey(m.Fund, pl.Person), &matchedPledge); err != nil {
				return err
			} else if ok && matchedPledge == pl.ID {
				t.del(matchedKey(m.Fund, pl.Person))
			}
		}
		t.log(LedgerEntry{Kind: moveMatchReturn, Project: sp.ID, Pledge: pl.ID, Fund: m.Fund, AmountCents: m.Cents})
		if status == pledgeReleased {
			sp.ReturnedCents += m.Cents
		}
	}
	if status == pledgeReleased {
		sp.ReleasedCents += pl.AmountCents
	}
	sp.setRound()
	t.put(pledgeKey(sp.ID, pl.ID), pl)
	return nil
}

var errNoPledge = sdk.E(sdk.NotFound, "no such pledge")

func getPledge(t *txn, id string) (storedPledge, error) {
	var pl storedPledge
	project, ok := splitPledgeID(id)
	if !ok {
		return pl, errNoPledge
	}
	found, err := t.get(pledgeKey(project, id), &pl)
	if err == nil && !found {
		err = errNoPledge
	}
	return pl, err
}

// cancel withdraws one's own pledge before the deadline.
func (s *service) cancel(ctx context.Context, id string) (Pledge, error) {
	who, err := principal(ctx)
	if err != nil {
		return Pledge{}, err
	}
	var out Pledge
	err = s.run(ctx, func(t *txn) error {
		pl, err := getPledge(t, id)
		if err != nil || pl.Person != who {
			return cmpErr(err, errNoPledge) // someone else's pledge: as if there were none
		}
		if pl.Status != pledgePromised {
			return conflict("status", "this pledge is %s: only a promised pledge can be withdrawn", pl.Status)
		}
		sp, err := getProject(t, pl.Project)
		if err != nil {
			return err
		}
		if sp.Status != statusOpen || !t.now.Before(sp.Deadline) {
			return conflict("status", "the project is closed: pledges can no longer be withdrawn")
		}
		if err := unwind(t, &sp, &pl, moveCancel, pledgeCancelled); err != nil {
			return err
		}
		t.put(projectKey(sp.ID), sp)
		out = pl.Pledge
		return nil
	})
	if err == nil {
		if err := s.provider.Release(ctx, out); err != nil {
			sdk.Log(ctx).Warn("payment provider", "pledge", out.ID, "error", err.Error())
		}
	}
	return out, err
}

// confirm records that a funded project's pledge was paid.
func (s *service) confirm(ctx context.Context, id string) (Pledge, error) {
	var out Pledge
	err := s.run(ctx, func(t *txn) error {
		pl, err := getPledge(t, id)
		if err != nil {
			return err
		}
		if pl.Status != pledgePromised {
			return conflict("status", "this pledge is %s: only a promised pledge can be confirmed", pl.Status)
		}
		sp, err := getProject(t, pl.Project)
		if err != nil {
			return err
		}
		if sp.Status != statusFunded {
			return conflict("status", "pledges are confirmed once their project is funded; this one is %s", sp.Status)
		}
		pl.Status = pledgeConfirmed
		sp.ConfirmedCents += pl.AmountCents
		t.log(LedgerEntry{Kind: moveConfirm, Project: sp.ID, Pledge: pl.ID, AmountCents: pl.AmountCents, Backer: pl.PublicName})
		t.put(pledgeKey(sp.ID, pl.ID), pl)
		t.put(projectKey(sp.ID), sp)
		out = pl.Pledge
		return nil
	})
	if err == nil {
		_ = sdk.Host(ctx).Audit(ctx, "pledge.confirm", "pledge:"+id, map[string]any{"amount_cents": out.AmountCents})
	}
	return out, err
}

type disbursementInput struct {
	AmountCents Number `json:"amount_cents"`
	Purpose     string `json:"purpose"`
}

// disburse records money paid out for a funded project: at most what was confirmed and
// matched, less what was paid out already.
func (s *service) disburse(ctx context.Context, id string, in disbursementInput) (LedgerEntry, error) {
	amount, err := centsOf("amount_cents", in.AmountCents, 1, maxCents)
	if err != nil {
		return LedgerEntry{}, err
	}
	purpose, err := cleanText("purpose", in.Purpose, 3, 300, false)
	if err != nil {
		return LedgerEntry{}, err
	}
	var out LedgerEntry
	err = s.run(ctx, func(t *txn) error {
		sp, err := getProject(t, id)
		if err != nil {
			return err
		}
		if sp.Status != statusFunded {
			return conflict("status", "money is paid out for funded projects; this one is %s", sp.Status)
		}
		if avail := sp.ConfirmedCents + sp.MatchedCents - sp.DisbursedCents; amount > avail {
			return bad("amount_cents", "only %d cents are available (confirmed pledges and matches, less what was paid out)", avail)
		}
		sp.DisbursedCents += amount
		out = LedgerEntry{Kind: moveDisbursement, Project: id, AmountCents: amount, Purpose: purpose}
		t.log(out)
		t.put(projectKey(id), sp)
		return nil
	})
	if err == nil {
		_ = sdk.Host(ctx).Audit(ctx, "project.disburse", "project:"+id, map[string]any{"amount_cents": amount, "purpose": purpose})
	}
	return out, err
}

// pledgesOf lists a project's pledges.
func (s *service) pledgesOf(ctx context.Context, projectID string) ([]storedPledge, error) {
	entries, err := sdk.Host(ctx).Storage().ListAll(ctx, pledgePrefix+projectID+"/")
	if err != nil {
		return nil, err
	}
	out := make([]storedPledge, 0, len(entries))
	for _, e := range entries {
		var pl storedPledge
		if json.Unmarshal(e.Value, &pl) == nil {
			out = append(out, pl)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// myPledges lists the caller's pledges, newest first.
func (s *service) myPledges(ctx context.Context) ([]Pledge, error) {
	who, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	st := sdk.Host(ctx).Storage()
	entries, err := st.ListAll(ctx, minePrefix+who+"/")
	if err != nil {
		return nil, err
	}
	out := []Pledge{}
	for _, e := range entries {
		var project string
		if json.Unmarshal(e.Value, &project) != nil {
			continue
		}
		id := e.Key[len(minePrefix+who+"/"):]
		var pl storedPledge
		if _, ok, err := st.GetJSON(ctx, pledgeKey(project, id), &pl); err != nil {
			return nil, err
		} else if ok {
			out = append(out, pl.Pledge)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

func active(status string) bool { return status == pledgePromised || status == pledgeConfirmed }
