package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// Storage keys, in the host's storage view of the calling tenant:
//
//	election/<eid>                 an Election, frozen at creation
//	candidate/<eid>/<cid>          a candidate with their current positions
//	invite/<sha256 of the token>   which candidate an invitation link names
//	history/<eid>/<time>-<cid>-<sid> one change of a position, never rewritten
const (
	electionPrefix  = "election/"
	candidatePrefix = "candidate/"
	invitePrefix    = "invite/"
	historyPrefix   = "history/"
)

// Limits of what an election holds.
const (
	maxStatements    = 30
	maxCandidates    = 40
	maxJustification = 500
	maxSourceURL     = 2000
	minText, maxText = 5, 500
	maxTitle         = 200
	maxName          = 120
)

// Statement is a statement candidates take positions on and citizens answer.
type Statement struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	// ProposalID is the consultation's proposal it comes from (0: given explicitly), with its
	// published scores as they were when the election froze it.
	ProposalID    int64    `json:"proposal_id,omitempty"`
	Top           *float64 `json:"top,omitempty"`
	TopLow        *float64 `json:"top_low,omitempty"`
	TopHigh       *float64 `json:"top_high,omitempty"`
	PublishedRank int      `json:"published_rank,omitempty"`
}

// Source says where an election's statements come from, for anyone to check.
type Source struct {
	Consultation   string `json:"consultation"`
	ConsultationID int64  `json:"consultation_id"`
	Question       string `json:"question"`
	SnapshotSHA256 string `json:"results_sha256"`
	ResultsRules   string `json:"results_rules,omitempty"`
	Rule           string `json:"rule"`
	Count          int    `json:"statements_count"`
	Votes          int64  `json:"votes"`
}

// Election is an election with its frozen statements.
type Election struct {
	ID                string      `json:"id"`
	Title             string      `json:"title"`
	Date              string      `json:"date"`
	PositionsDeadline time.Time   `json:"positions_deadline"`
	Statements        []Statement `json:"statements"`
	Source            *Source     `json:"source,omitempty"`
	CreatedAt         time.Time   `json:"created_at"`
}

// statement returns the statement id of e, if any.
func (e *Election) statement(id string) (Statement, bool) {
	for _, s := range e.Statements {
		if s.ID == id {
			return s, true
		}
	}
	return Statement{}, false
}

// Position is a candidate's position on one statement.
type Position struct {
	Position      string    `json:"position"`
	Justification string    `json:"justification"`
	SourceURL     string    `json:"source_url,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Candidate is a candidate as stored: Email, InviteHash and Subject stay with the staff.
type Candidate struct {
	ID         string              `json:"id"`
	ElectionID string              `json:"election_id"`
	Name       string              `json:"name"`
	List       string              `json:"list"`
	Email      string              `json:"email"`
	InviteHash string              `json:"invite_hash"`
	Subject    string              `json:"subject,omitempty"` // the account that accepted the invitation
	AcceptedAt *time.Time          `json:"accepted_at,omitempty"`
	Positions  map[string]Position `json:"positions"`
	CreatedAt  time.Time           `json:"created_at"`
}

// Change is one change of a position, as the public history shows it.
type Change struct {
	At            time.Time `json:"at"`
	CandidateID   string    `json:"candidate_id"`
	CandidateName string    `json:"candidate_name"`
	StatementID   string    `json:"statement_id"`
	Position      string    `json:"position"`
	Justification string    `json:"justification"`
	SourceURL     string    `json:"source_url,omitempty"`
	Previous      string    `json:"previous_position,omitempty"`
}

// invite is what an invitation link names.
type invite struct {
	ElectionID  string `json:"election_id"`
	CandidateID string `json:"candidate_id"`
}

// fieldError is bad input, about one field.
type fieldError struct{ Field, Message string }

func (e *fieldError) Error() string { return e.Field + ": " + e.Message }

func bad(field, format string, args ...any) error {
	return &fieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

var (
	errNotFound  = errors.New("not found")
	errForbidden = errors.New("forbidden")
	errClosed    = errors.New("the positions deadline has passed")
	errTaken     = errors.New("invitation already accepted")
)

var idRE = regexp.MustCompile(`^[a-z0-9]{6,32}$`)

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte("candidates-invite\x00" + token))
	return hex.EncodeToString(h[:])
}

func (c *Candidate) public() map[string]any {
	return map[string]any{"id": c.ID, "name": c.Name, "list": c.List, "accepted": c.AcceptedAt != nil}
}

// loadElection reads an election of the calling tenant.
func loadElection(ctx context.Context, id string) (*Election, error) {
	if !idRE.MatchString(id) {
		return nil, errNotFound
	}
	var e Election
	_, ok, err := sdk.Host(ctx).Storage().GetJSON(ctx, electionPrefix+id, &e)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNotFound
	}
	return &e, nil
}

func listElections(ctx context.Context) ([]Election, error) {
	entries, err := sdk.Host(ctx).Storage().ListAll(ctx, electionPrefix)
	if err != nil {
		return nil, err
	}
	out := []Election{}
	for _, en := range entries {
		var e Election
		if err := json.Unmarshal(en.Value, &e); err != nil {
			return nil, fmt.Errorf("stored %s: %w", en.Key, err)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Date != out[j].Date {
			return out[i].Date > out[j].Date
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// candidates lists an election's candidates in id order (callers shuffle for display).
func candidates(ctx context.Context, eid string) ([]Candidate, error) {
	entries, err := sdk.Host(ctx).Storage().ListAll(ctx, candidatePrefix+eid+"/")
	if err != nil {
		return nil, err
	}
	out := []Candidate{}
	for _, en := range entries {
		var c Candidate
		if err := json.Unmarshal(en.Value, &c); err != nil {
			return nil, fmt.Errorf("stored %s: %w", en.Key, err)
		}
		if c.Positions == nil {
			c.Positions = map[string]Position{}
		}
		out = append(out, c)
	}
	return out, nil
}

// inOrder returns cs in the order of seed (see order).
func inOrder(cs []Candidate, seed string) []Candidate {
	ids := make([]string, len(cs))
	by := map[string]Candidate{}
	for i, c := range cs {
		ids[i], by[c.ID] = c.ID, c
	}
	out := make([]Candidate, 0, len(cs))
	for _, id := range order(ids, seed) {
		out = append(out, by[id])
	}
	return out
}

func history(ctx context.Context, eid string) ([]Change, error) {
	entries, err := sdk.Host(ctx).Storage().ListAll(ctx, historyPrefix+eid+"/")
	if err != nil {
		return nil, err
	}
	out := []Change{}
	for _, en := range entries {
		var c Change
		if err := json.Unmarshal(en.Value, &c); err != nil {
			return nil, fmt.Errorf("stored %s: %w", en.Key, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// ElectionInput is the body of POST /api/elections.
type ElectionInput struct {
	Title             string `json:"title"`
	Date              string `json:"date"`
	Consultation      string `json:"consultation"`
	StatementsCount   int    `json:"statements_count"`
	PositionsDeadline string `json:"positions_deadline"`
	Statements        []struct {
		Text string `json:"text"`
	} `json:"statements"`
}

// parseDeadline reads an RFC 3339 time, or a day (the end of that day in the tenant's zone).
func parseDeadline(v string, zone *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseInLocation("2006-01-02", v, zone); err == nil {
		return d.AddDate(0, 0, 1).Add(-time.Second).UTC(), nil
	}
	return time.Time{}, bad("positions_deadline", "positions_deadline must be a date (2026-03-01) or a time (2026-03-01T18:00:00+01:00)")
}

// createElection validates in and stores the election, its statements frozen from the
// consultation's published results by StatementRule, or given explicitly.
func createElection(ctx context.Context, in ElectionInput, now time.Time) (*Election, error) {
	e := &Election{ID: newID(), Title: strings.TrimSpace(in.Title), Date: strings.TrimSpace(in.Date), CreatedAt: now.UTC()}
	if n := utf8.RuneCountInString(e.Title); n < 3 || n > maxTitle {
		return nil, bad("title", "the title must be 3 to %d characters", maxTitle)
	}
	if _, err := time.Parse("2006-01-02", e.Date); err != nil {
		return nil, bad("date", "the date must be a day such as 2026-03-15")
	}
	dl, err := parseDeadline(strings.TrimSpace(in.PositionsDeadline), sdk.Location(ctx))
	if err != nil {
		return nil, err
	}
	e.PositionsDeadline = dl
	slug := strings.TrimSpace(in.Consultation)
	switch {
	case slug != "" && len(in.Statements) > 0:
		return nil, bad("statements", "give either a consultation and a statements_count, or statements, not both")
	case slug != "":
		if in.StatementsCount < 1 || in.StatementsCount > maxStatements {
			return nil, bad("statements_count", "statements_count must be 1 to %d", maxStatements)
		}
		res, err := sdk.Host(ctx).Results().Published(ctx, slug)
		switch {
		case sdk.IsNotFound(err):
			return nil, bad("consultation", "this site has no consultation %q", slug)
		case sdk.IsNotPublished(err):
			return nil, bad("consultation", "the results of consultation %q are not published: statements come from published results only", slug)
		case err != nil:
			return nil, err
		}
		if e.Statements, err = selectStatements(res.GetConsensus(), res.GetPrefix(), in.StatementsCount); err != nil {
			return nil, err
		}
		c := res.GetConsultation()
		e.Source = &Source{Consultation: c.GetSlug(), ConsultationID: c.GetId(), Question: c.GetQuestion(), SnapshotSHA256: res.GetSnapshotSha256(),
			ResultsRules: res.GetRules(), Rule: StatementRule, Count: in.StatementsCount, Votes: res.GetVotes()}
	case len(in.Statements) > 0:
		if len(in.Statements) > maxStatements {
			return nil, bad("statements", "an election holds at most %d statements", maxStatements)
		}
		seen := map[string]bool{}
		for i, s := range in.Statements {
			text := strings.TrimSpace(s.Text)
			if n := utf8.RuneCountInString(text); n < minText || n > maxText {
				return nil, bad(fmt.Sprintf("statements[%d].text", i), "a statement must be %d to %d characters", minText, maxText)
			}
			if seen[strings.ToLower(text)] {
				return nil, bad(fmt.Sprintf("statements[%d].text", i), "this statement is given twice")
			}
			seen[strings.ToLower(text)] = true
			e.Statements = append(e.Statements, Statement{ID: fmt.Sprintf("s%d", i+1), Text: text})
		}
	default:
		return nil, bad("statements", "give a consultation (its published consensus gives the statements) or the statements themselves")
	}
	if _, err := sdk.Host(ctx).Storage().CompareAndSet(ctx, electionPrefix+e.ID, 0, mustJSON(e)); err != nil {
		return nil, err
	}
	detail := map[string]any{"title": e.Title, "statements": len(e.Statements)}
	if e.Source != nil {
		detail["consultation"], detail["results_sha256"] = e.Source.Consultation, e.Source.SnapshotSHA256
	}
	if err := sdk.Host(ctx).Audit(ctx, "election.create", "election:"+e.ID, detail); err != nil {
		return nil, err
	}
	return e, nil
}

// CandidateInput is the body of POST /api/elections/{id}/candidates.
type CandidateInput struct {
	Name  string `json:"name"`
	List  string `json:"list"`
	Email string `json:"email"`
}

var emailRE = regexp.MustCompile(`^[^@\s<>"]{1,64}@[^@\s<>"]{1,190}\.[^@\s<>".]{2,}$`)

// invite adds a candidate to an election and returns them with the invitation token, which
// is shown once: only its hash is kept.
func inviteCandidate(ctx context.Context, e *Election, in CandidateInput, now time.Time) (*Candidate, string, error) {
	c := &Candidate{ID: newID(), ElectionID: e.ID, Name: strings.TrimSpace(in.Name), List: strings.TrimSpace(in.List),
		Email: strings.ToLower(strings.TrimSpace(in.Email)), Positions: map[string]Position{}, CreatedAt: now.UTC()}
	if n := utf8.RuneCountInString(c.Name); n < 2 || n > maxName {
		return nil, "", bad("name", "the name must be 2 to %d characters", maxName)
	}
	if utf8.RuneCountInString(c.List) > maxName {
		return nil, "", bad("list", "the list's name must be at most %d characters", maxName)
	}
	if !emailRE.MatchString(c.Email) {
		return nil, "", bad("email", "give the candidate's email address, where the invitation link is sent")
	}
	existing, err := candidates(ctx, e.ID)
	if err != nil {
		return nil, "", err
	}
	if len(existing) >= maxCandidates {
		return nil, "", bad("name", "an election holds at most %d candidates", maxCandidates)
	}
	for _, x := range existing {
		if strings.EqualFold(x.Name, c.Name) {
			return nil, "", bad("name", "%q is a candidate already", c.Name)
		}
	}
	token := newToken()
	c.InviteHash = tokenHash(token)
	if _, _, err := sdk.Host(ctx).Storage().Batch(ctx, []sdk.Op{
		{Key: candidatePrefix + e.ID + "/" + c.ID, Value: mustJSON(c), CheckVersion: true},
		{Key: invitePrefix + c.InviteHash, Value: mustJSON(invite{ElectionID: e.ID, CandidateID: c.ID}), CheckVersion: true},
	}); err != nil {
		return nil, "", err
	}
	if err := sdk.Host(ctx).Audit(ctx, "candidate.invite", "election:"+e.ID, map[string]any{"candidate": c.ID, "name": c.Name, "list": c.List}); err != nil {
		return nil, "", err
	}
	return c, token, nil
}

// lookupInvite finds the candidate an invitation token names.
func lookupInvite(ctx context.Context, token string) (*Election, *Candidate, int64, error) {
	if len(token) != 48 || strings.Trim(token, "0123456789abcdef") != "" {
		return nil, nil, 0, errNotFound
	}
	var inv invite
	_, ok, err := sdk.Host(ctx).Storage().GetJSON(ctx, invitePrefix+tokenHash(token), &inv)
	if err != nil {
		return nil, nil, 0, err
	}
	if !ok {
		return nil, nil, 0, errNotFound
	}
	e, err := loadElection(ctx, inv.ElectionID)
	if err != nil {
		return nil, nil, 0, err
	}
	var c Candidate
	v, ok, err := sdk.Host(ctx).Storage().GetJSON(ctx, candidatePrefix+inv.ElectionID+"/"+inv.CandidateID, &c)
	if err != nil {
		return nil, nil, 0, err
	}
	if !ok {
		return nil, nil, 0, errNotFound
	}
	return e, &c, v, nil
}

// accept binds the signed-in account to the candidate the token names: from then on, this
// account (and no other) sets this candidate's positions, in this election only.
func accept(ctx context.Context, token string, now time.Time) (*Election, *Candidate, error) {
	subject := sdk.CallOf(ctx).Principal.Subject
	if sdk.CallOf(ctx).Principal.Anonymous || subject == "" {
		return nil, nil, sdk.E(sdk.Unauthorized, "sign in to accept the invitation")
	}
	e, c, version, err := lookupInvite(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if c.Subject == subject {
		return e, c, nil // accepted already, by this account
	}
	if c.Subject != "" {
		return nil, nil, errTaken
	}
	others, err := candidates(ctx, e.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range others {
		if o.Subject == subject {
			return nil, nil, sdk.E(sdk.Conflict, "your account speaks for another candidate of this election already")
		}
	}
	at := now.UTC()
	c.Subject, c.AcceptedAt = subject, &at
	if _, err := sdk.Host(ctx).Storage().CompareAndSet(ctx, candidatePrefix+e.ID+"/"+c.ID, version, mustJSON(c)); err != nil {
		return nil, nil, err
	}
	if err := sdk.Host(ctx).Audit(ctx, "candidate.accept", "election:"+e.ID, map[string]any{"candidate": c.ID, "subject": subject}); err != nil {
		return nil, nil, err
	}
	return e, c, nil
}

// mine is the candidate of election eid whose invitation the caller accepted.
func mine(ctx context.Context, eid string) (*Candidate, error) {
	p := sdk.CallOf(ctx).Principal
	if p.Anonymous || p.Subject == "" {
		return nil, errForbidden
	}
	cs, err := candidates(ctx, eid)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.Subject == p.Subject {
			return &c, nil
		}
	}
	return nil, errForbidden
}

// PositionInput is the body of PUT …/positions/{statement_id}.
type PositionInput struct {
	Position      string `json:"position"`
	Justification string `json:"justification"`
	SourceURL     string `json:"source_url"`
}

func validSourceURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(v) > maxSourceURL || strings.ContainsAny(v, " \t\r\n") {
		return bad("source_url", "the source must be an https:// address of at most %d characters", maxSourceURL)
	}
	return nil
}

// setPosition records the caller's position on a statement, as candidate cid (empty: the
// caller's own candidacy), and appends the change to the public history, in one batch.
func setPosition(ctx context.Context, eid, cid, sid string, in PositionInput, now time.Time) (*Candidate, Change, error) {
	e, err := loadElection(ctx, eid)
	if err != nil {
		return nil, Change{}, err
	}
	me, err := mine(ctx, eid)
	if err != nil {
		return nil, Change{}, err
	}
	if cid != "" && cid != me.ID {
		return nil, Change{}, errForbidden // another candidate's positions
	}
	if _, ok := e.statement(sid); !ok {
		return nil, Change{}, errNotFound
	}
	in.Justification = strings.TrimSpace(in.Justification)
	in.SourceURL = strings.TrimSpace(in.SourceURL)
	switch in.Position {
	case Agree, Disagree, Neutral:
	default:
		return nil, Change{}, bad("position", "position must be agree, disagree or neutral")
	}
	if utf8.RuneCountInString(in.Justification) > maxJustification {
		return nil, Change{}, bad("justification", "a justification holds at most %d characters", maxJustification)
	}
	if err := validSourceURL(in.SourceURL); err != nil {
		return nil, Change{}, err
	}
	if now.After(e.PositionsDeadline) {
		return nil, Change{}, errClosed
	}
	key := candidatePrefix + eid + "/" + me.ID
	for range 10 {
		var c Candidate
		v, ok, err := sdk.Host(ctx).Storage().GetJSON(ctx, key, &c)
		if err != nil {
			return nil, Change{}, err
		}
		if !ok || c.Subject != me.Subject {
			return nil, Change{}, errForbidden
		}
		if c.Positions == nil {
			c.Positions = map[string]Position{}
		}
		at := now.UTC()
		ch := Change{At: at, CandidateID: c.ID, CandidateName: c.Name, StatementID: sid, Position: in.Position,
			Justification: in.Justification, SourceURL: in.SourceURL, Previous: c.Positions[sid].Position}
		c.Positions[sid] = Position{Position: in.Position, Justification: in.Justification, SourceURL: in.SourceURL, UpdatedAt: at}
		hkey := fmt.Sprintf("%s%s/%s-%s-%s", historyPrefix, eid, at.Format("20060102T150405.000000000Z"), c.ID, sid)
		_, _, err = sdk.Host(ctx).Storage().Batch(ctx, []sdk.Op{
			{Key: key, Value: mustJSON(c), CheckVersion: true, ExpectedVersion: v},
			{Key: hkey, Value: mustJSON(ch), CheckVersion: true},
		})
		if errors.Is(err, sdk.ErrConflict) {
			now = now.Add(time.Nanosecond)
			continue
		}
		if err != nil {
			return nil, Change{}, err
		}
		if err := sdk.Host(ctx).Audit(ctx, "position.set", "election:"+eid, map[string]any{"candidate": c.ID, "statement": sid, "position": in.Position}); err != nil {
			return nil, Change{}, err
		}
		return &c, ch, nil
	}
	return nil, Change{}, sdk.ErrConflict
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	return b
}
