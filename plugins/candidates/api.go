package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// asSDK names this plugin's own failures in the host's kinds.
func asSDK(err error) error {
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		return sdk.Field(fe.Field, "%s", fe.Message)
	case errors.Is(err, errNotFound):
		return sdk.E(sdk.NotFound, "no such election, statement or invitation")
	case errors.Is(err, errForbidden):
		return sdk.E(sdk.Forbidden, "only the candidate who accepted the invitation sets their positions, in that election only")
	case errors.Is(err, errClosed):
		return sdk.E(sdk.Conflict, "the deadline for positions has passed: they are final")
	case errors.Is(err, errTaken):
		return sdk.E(sdk.Conflict, "this invitation was accepted by another account")
	}
	return err
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = asSDK(err)
	if sdk.KindOf(err) == sdk.Internal {
		sdk.Log(r.Context()).Error("request failed", "error", err.Error())
	}
	sdk.WriteError(w, err)
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 256<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad("body", "the body must be a JSON object of the right shape: %v", err)
	}
	return nil
}

// electionView is an election as the API shows it to everyone.
type electionView struct {
	*Election
	Candidates []map[string]any `json:"candidates"`
	// Order says how candidates are listed: shuffled for each visitor with OrderSeed.
	Order     string `json:"order"`
	OrderSeed string `json:"order_seed"`
	Open      bool   `json:"positions_open"`
}

func (p *plugin) view(r *http.Request, e *Election) (*electionView, []Candidate, error) {
	cs, err := candidates(r.Context(), e.ID)
	if err != nil {
		return nil, nil, err
	}
	seed := r.URL.Query().Get("seed")
	if seed == "" || len(seed) > 64 {
		seed = callerSeed(r.Context(), e.ID)
	}
	cs = inOrder(cs, seed)
	v := &electionView{Election: e, Candidates: []map[string]any{}, Order: "shuffled per visitor (Fisher–Yates, PCG seeded by SHA-256 of order_seed)",
		OrderSeed: seed, Open: !p.now().After(e.PositionsDeadline)}
	for i := range cs {
		v.Candidates = append(v.Candidates, cs[i].public())
	}
	return v, cs, nil
}

func (p *plugin) apiList(w http.ResponseWriter, r *http.Request) {
	es, err := listElections(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"elections": es})
}

func (p *plugin) apiCreate(w http.ResponseWriter, r *http.Request) {
	var in ElectionInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	e, err := createElection(r.Context(), in, p.now())
	if err != nil {
		writeError(w, r, err)
		return
	}
	p.elections.Inc()
	writeJSON(w, http.StatusCreated, e)
}

func (p *plugin) apiGet(w http.ResponseWriter, r *http.Request) {
	e, err := loadElection(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, _, err := p.view(r, e)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// apiPositions is every candidate's current positions, by candidate then statement.
func (p *plugin) apiPositions(w http.ResponseWriter, r *http.Request) {
	e, err := loadElection(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, cs, err := p.view(r, e)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, c := range cs {
		m := c.public()
		m["positions"] = c.Positions
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"election": e.ID, "statements": e.Statements, "candidates": out, "order_seed": v.OrderSeed})
}

func (p *plugin) apiHistory(w http.ResponseWriter, r *http.Request) {
	e, err := loadElection(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	h, err := history(r.Context(), e.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"election": e.ID, "changes": h})
}

func (p *plugin) apiSetPosition(w http.ResponseWriter, r *http.Request) {
	var in PositionInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	c, ch, err := setPosition(r.Context(), r.PathValue("id"), r.PathValue("candidate"), r.PathValue("statement"), in, p.now())
	if err != nil {
		writeError(w, r, err)
		return
	}
	p.positions.Inc()
	writeJSON(w, http.StatusOK, map[string]any{"candidate": c.public(), "statement_id": ch.StatementID, "position": c.Positions[ch.StatementID], "change": ch})
}

func (p *plugin) apiMatch(w http.ResponseWriter, r *http.Request) {
	e, err := loadElection(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	var in MatchInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if in.Save {
		// Checked before matching, so that a visitor who cannot keep answers learns it at once.
		if pr := sdk.CallOf(r.Context()).Principal; pr.Anonymous || pr.Subject == "" {
			writeError(w, r, sdk.E(sdk.Unauthorized, "sign in to keep your answers"))
			return
		}
	}
	out, err := match(r.Context(), e, in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if in.Save {
		if err := saveAnswers(r.Context(), e, out.Answers, out.Double, p.now()); err != nil {
			writeError(w, r, err)
			return
		}
	}
	p.matches.Inc()
	writeJSON(w, http.StatusOK, struct {
		*MatchOutput
		Saved bool `json:"saved"`
	}{out, in.Save})
}

// apiMyAnswers is GET and DELETE /api/elections/{id}/my-answers: the answers the signed-in
// caller asked to keep, and their deletion.
func (p *plugin) apiMyAnswers(w http.ResponseWriter, r *http.Request) {
	e, err := loadElection(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if r.Method == http.MethodDelete {
		if err := forgetAnswers(r.Context(), e); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s, ok, err := loadAnswers(r.Context(), e)
	switch {
	case err != nil:
		writeError(w, r, err)
	case !ok:
		writeError(w, r, sdk.E(sdk.NotFound, "you have kept no answers for this election"))
	default:
		writeJSON(w, http.StatusOK, s)
	}
}

func (p *plugin) apiInvite(w http.ResponseWriter, r *http.Request) {
	e, err := loadElection(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	var in CandidateInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	c, token, err := inviteCandidate(r.Context(), e, in, p.now())
	if err != nil {
		writeError(w, r, err)
		return
	}
	m := c.public()
	m["email"] = c.Email
	m["invitation_url"] = invitationURL(sdk.CallOf(r.Context()), token)
	writeJSON(w, http.StatusCreated, m)
}

// invitationURL is the link a candidate opens to accept: shown once, to the staff.
func invitationURL(c *sdk.Call, token string) string {
	return strings.TrimSuffix(c.BaseURL, "/") + "/invitations/" + token
}

// apiCandidates is the staff's view of the candidates: emails and invitation status.
func (p *plugin) apiCandidates(w http.ResponseWriter, r *http.Request) {
	e, err := loadElection(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	cs, err := candidates(r.Context(), e.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, c := range cs {
		m := c.public()
		m["email"], m["accepted_at"], m["positions_taken"] = c.Email, c.AcceptedAt, len(c.Positions)
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"candidates": out})
}

func (p *plugin) apiAccept(w http.ResponseWriter, r *http.Request) {
	e, c, err := accept(r.Context(), r.PathValue("token"), p.now())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"election": e.ID, "candidate": c.public()})
}
