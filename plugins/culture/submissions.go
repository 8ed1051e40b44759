package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// Partner organisations (venues, associations) submit events; staff review them before they
// reach the public agenda. A submission keeps the event as submitted, who submitted it, and
// the review's outcome, which the partner sees.
const submissionPrefix = "submission/"

// Submission is an event waiting for review, or reviewed.
type Submission struct {
	ID          string    `json:"id"`
	Event       Event     `json:"event"`
	Status      string    `json:"status"` // pending, approved, rejected
	Reason      string    `json:"reason,omitempty"`
	EventID     string    `json:"event_id,omitempty"` // the published event, once approved
	SubmittedAt time.Time `json:"submitted_at"`
	ReviewedAt  time.Time `json:"reviewed_at,omitempty"`
	Submitter   string    `json:"-"`
}

type storedSubmission struct {
	Submission
	By string `json:"by"`
}

func (a *agenda) submissionRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/submissions", a.apiSubmit)
	mux.HandleFunc("GET /api/submissions", a.apiSubmissions)
	mux.HandleFunc("GET /api/my-submissions", a.apiMySubmissions)
	mux.HandleFunc("POST /api/submissions/{id}/approve", a.apiApprove)
	mux.HandleFunc("POST /api/submissions/{id}/reject", a.apiReject)
}

func (a *agenda) apiSubmit(w http.ResponseWriter, r *http.Request) {
	var e Event
	if err := decodeJSON(r, &e); err != nil {
		writeError(w, err)
		return
	}
	e.IdeaID = ""
	if err := e.Validate(); err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	now := a.now().UTC()
	s := storedSubmission{Submission: Submission{ID: newID(now), Event: e, Status: "pending", SubmittedAt: now},
		By: sdk.CallOf(ctx).Principal.Subject}
	b, _ := json.Marshal(s)
	if _, err := sdk.Host(ctx).Storage().CompareAndSet(ctx, submissionPrefix+s.ID, 0, b); err != nil {
		writeError(w, err)
		return
	}
	_ = sdk.Host(ctx).Audit(ctx, "event.submit", "submission:"+s.ID, map[string]any{"title": e.Title})
	writeJSON(w, http.StatusCreated, s.Submission)
}

func (a *agenda) submissions(ctx context.Context) ([]storedSubmission, error) {
	entries, err := sdk.Host(ctx).Storage().ListAll(ctx, submissionPrefix)
	if err != nil {
		return nil, err
	}
	out := []storedSubmission{}
	for _, en := range entries {
		var s storedSubmission
		if json.Unmarshal(en.Value, &s) == nil {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SubmittedAt.Before(out[j].SubmittedAt) })
	return out, nil
}

// apiSubmissions lists the submissions waiting for review (staff).
func (a *agenda) apiSubmissions(w http.ResponseWriter, r *http.Request) {
	all, err := a.submissions(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "pending"
	}
	out := []Submission{}
	for _, s := range all {
		if s.Status == status {
			out = append(out, s.Submission)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"submissions": out})
}

// apiMySubmissions lists the caller's own submissions with their review.
func (a *agenda) apiMySubmissions(w http.ResponseWriter, r *http.Request) {
	all, err := a.submissions(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	me := sdk.CallOf(r.Context()).Principal.Subject
	out := []Submission{}
	for _, s := range all {
		if s.By == me {
			out = append(out, s.Submission)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"submissions": out})
}

// errReviewed is a second decision on a submission.
var errReviewed = fmt.Errorf("this submission was reviewed already: %w", sdk.ErrConflict)

func (a *agenda) review(w http.ResponseWriter, r *http.Request, approve bool) {
	var in struct {
		Reason string `json:"reason"`
	}
	if !approve {
		if err := decodeJSON(r, &in); err != nil {
			writeError(w, err)
			return
		}
	}
	s, err := a.decide(r.Context(), r.PathValue("id"), approve, in.Reason)
	if errors.Is(err, errReviewed) {
		sdk.WriteError(w, sdk.E(sdk.Conflict, "this submission was reviewed already"))
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// decide approves a pending submission (its event is published) or rejects it with a reason
// the partner sees.
func (a *agenda) decide(ctx context.Context, id string, approve bool, reason string) (Submission, error) {
	if !validID(id) {
		return Submission{}, errNotFound
	}
	reason = strings.TrimSpace(reason)
	if !approve && (reason == "" || len(reason) > 500) {
		return Submission{}, bad("reason", "give the partner a reason of at most 500 characters")
	}
	st := sdk.Host(ctx).Storage()
	var s storedSubmission
	version, ok, err := st.GetJSON(ctx, submissionPrefix+id, &s)
	if err != nil || !ok {
		return Submission{}, errNotFound
	}
	if s.Status != "pending" {
		return s.Submission, errReviewed
	}
	s.ReviewedAt = a.now().UTC()
	if approve {
		e, err := a.create(ctx, s.Event)
		if err != nil {
			return s.Submission, err
		}
		s.Status, s.EventID = "approved", e.ID
	} else {
		s.Status, s.Reason = "rejected", reason
	}
	b, _ := json.Marshal(s)
	if _, err := st.CompareAndSet(ctx, submissionPrefix+id, version, b); err != nil {
		return s.Submission, err
	}
	_ = sdk.Host(ctx).Audit(ctx, "event.submission."+s.Status, "submission:"+id, map[string]any{"reason": s.Reason, "event_id": s.EventID})
	return s.Submission, nil
}

func (a *agenda) apiApprove(w http.ResponseWriter, r *http.Request) { a.review(w, r, true) }
func (a *agenda) apiReject(w http.ResponseWriter, r *http.Request)  { a.review(w, r, false) }
