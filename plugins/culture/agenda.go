package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// agenda serves the plugin's routes. It holds no tenant data: everything is in the host's
// storage view of the calling tenant.
type agenda struct {
	created  prometheus.Counter
	interest prometheus.Counter
	ideas    prometheus.Counter
	now      func() time.Time
}

func newAgenda(reg *prometheus.Registry) *agenda {
	a := &agenda{
		created:  prometheus.NewCounter(prometheus.CounterOpts{Name: "culture_events_created_total", Help: "Events added to agendas."}),
		interest: prometheus.NewCounter(prometheus.CounterOpts{Name: "culture_interest_total", Help: "\"I'm interested\" marks."}),
		ideas:    prometheus.NewCounter(prometheus.CounterOpts{Name: "culture_ideas_total", Help: "Activities proposed by citizens."}),
		now:      time.Now,
	}
	reg.MustRegister(a.created, a.interest, a.ideas)
	return a
}

func (a *agenda) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/events", a.apiList)
	mux.HandleFunc("GET /api/events/{id}", a.apiGet)
	mux.HandleFunc("POST /api/events", a.apiCreate)
	mux.HandleFunc("PUT /api/events/{id}", a.apiUpdate)
	mux.HandleFunc("DELETE /api/events/{id}", a.apiDelete)
	mux.HandleFunc("POST /api/events/{id}/interest", a.apiInterest)
	mux.HandleFunc("GET /api/ideas", a.apiIdeas)
	mux.HandleFunc("POST /api/ideas", a.apiPropose)
	mux.HandleFunc("POST /api/ideas/{id}/vote", a.apiVote)
	mux.HandleFunc("POST /api/ideas/{id}/schedule", a.apiSchedule)
	mux.HandleFunc("GET /api/inspiration", a.apiInspiration)
	a.submissionRoutes(mux)
	mux.HandleFunc("GET /{$}", a.pageAgenda)
	mux.HandleFunc("GET /events/{id}", a.pageEvent)
	mux.HandleFunc("POST /events/{id}/interest", a.pageInterest)
	mux.HandleFunc("GET /events/{id}/interest", a.pageInterestSignIn)
	mux.HandleFunc("GET /ideas", a.pageIdeas)
	mux.HandleFunc("POST /ideas", a.pagePropose)
	mux.HandleFunc("POST /ideas/{id}/vote", a.pageVote)
	mux.HandleFunc("GET /agenda.ics", a.feed)
	mux.HandleFunc("GET /categories/{category}/agenda.ics", a.feed)
	a.staffRoutes(mux)
	return mux
}

// ---- storage ----

const (
	eventPrefix    = "event/"
	interestPrefix = "interest/" // interest/<event>/<subject>
	countPrefix    = "count/"    // count/<event>: how many are interested
	ideaPrefix     = "idea/"
	votePrefix     = "vote/" // vote/<idea>/<subject>
)

func newID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%013d-%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 40 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}

var errNotFound = errors.New("not found")

func (a *agenda) load(ctx context.Context, id string) (Event, int64, error) {
	var e Event
	if !validID(id) {
		return e, 0, errNotFound
	}
	v, ok, err := sdk.Host(ctx).Storage().GetJSON(ctx, eventPrefix+id, &e)
	if err != nil {
		return e, 0, err
	}
	if !ok {
		return e, 0, errNotFound
	}
	e.Interested = a.count(ctx, id)
	return e, v, nil
}

func (a *agenda) count(ctx context.Context, id string) int64 {
	var n int64
	_, _, _ = sdk.Host(ctx).Storage().GetJSON(ctx, countPrefix+id, &n)
	return n
}

func (a *agenda) all(ctx context.Context) ([]Event, error) {
	st := sdk.Host(ctx).Storage()
	entries, err := st.ListAll(ctx, eventPrefix)
	if err != nil {
		return nil, err
	}
	counts, err := st.ListAll(ctx, countPrefix)
	if err != nil {
		return nil, err
	}
	byID := map[string]int64{}
	for _, c := range counts {
		var n int64
		_ = json.Unmarshal(c.Value, &n)
		byID[strings.TrimPrefix(c.Key, countPrefix)] = n
	}
	out := make([]Event, 0, len(entries))
	for _, en := range entries {
		var e Event
		if json.Unmarshal(en.Value, &e) == nil {
			e.Interested = byID[e.ID]
			out = append(out, e)
		}
	}
	return out, nil
}

// Filter selects events of the agenda.
type Filter struct {
	From, To time.Time
	Category string
	Place    string // matches the venue's name, city or postal code
}

func (a *agenda) filter(r *http.Request) (Filter, error) {
	q := r.URL.Query()
	f := Filter{From: a.now().Add(-24 * time.Hour), Category: q.Get("category"), Place: strings.TrimSpace(q.Get("place"))}
	days := 60
	var s struct {
		DefaultDays int `json:"default_days"`
	}
	if json.Unmarshal(sdk.CallOf(r.Context()).Settings, &s) == nil && s.DefaultDays > 0 {
		days = s.DefaultDays
	}
	var err error
	if v := q.Get("from"); v != "" {
		if f.From, err = parseDay(v); err != nil {
			return f, bad("from", "from must be a date (2026-05-01) or an RFC 3339 time")
		}
	}
	f.To = f.From.AddDate(0, 0, days)
	if v := q.Get("to"); v != "" {
		if f.To, err = parseDay(v); err != nil {
			return f, bad("to", "to must be a date (2026-05-01) or an RFC 3339 time")
		}
	}
	if !f.To.After(f.From) {
		return f, bad("to", "to must come after from")
	}
	if f.To.Sub(f.From) > 2*366*24*time.Hour {
		return f, bad("to", "ask for at most two years at a time")
	}
	if f.Category != "" && !contains(categories, f.Category) {
		return f, bad("category", "category must be one of %s", strings.Join(categories, ", "))
	}
	return f, nil
}

func parseDay(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// listing is an event with its occurrences in the requested range.
type listing struct {
	Event
	Next []Slot `json:"occurrences"`
}

func (a *agenda) list(ctx context.Context, f Filter) ([]listing, error) {
	events, err := a.all(ctx)
	if err != nil {
		return nil, err
	}
	place := strings.ToLower(f.Place)
	var out []listing
	for _, e := range events {
		if e.Draft || f.Category != "" && e.Category != f.Category {
			continue
		}
		if place != "" && !strings.Contains(strings.ToLower(e.Venue.Name+" "+e.Venue.City+" "+e.Venue.PostalCode+" "+e.Venue.Address), place) {
			continue
		}
		occ := e.Occurrences(f.From, f.To)
		if len(occ) == 0 {
			continue
		}
		sort.Slice(occ, func(i, j int) bool { return occ[i].Start.Before(occ[j].Start) })
		out = append(out, listing{Event: e, Next: occ})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Next[0].Start.Before(out[j].Next[0].Start) })
	return out, nil
}

// ---- JSON API ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers err as the host answers its own errors (sdk.WriteError), naming this
// plugin's own failures in the host's kinds.
func writeError(w http.ResponseWriter, err error) {
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		err = sdk.Field(fe.Field, "%s", fe.Message)
	case errors.Is(err, errNotFound):
		err = sdk.E(sdk.NotFound, "no such event or idea")
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

func (a *agenda) apiList(w http.ResponseWriter, r *http.Request) {
	f, err := a.filter(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ls, err := a.list(r.Context(), f)
	if err != nil {
		writeError(w, err)
		return
	}
	if ls == nil {
		ls = []listing{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": ls, "from": f.From, "to": f.To})
}

func (a *agenda) apiGet(w http.ResponseWriter, r *http.Request) {
	e, _, err := a.load(r.Context(), r.PathValue("id"))
	if err == nil && e.Draft {
		err = errNotFound // drafts are for the staff screens
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (a *agenda) create(ctx context.Context, e Event) (Event, error) {
	if err := e.Validate(); err != nil {
		return e, err
	}
	now := a.now().UTC()
	e.ID, e.CreatedAt, e.UpdatedAt, e.Interested = newID(now), now, now, 0
	b, _ := json.Marshal(e)
	if _, err := sdk.Host(ctx).Storage().CompareAndSet(ctx, eventPrefix+e.ID, 0, b); err != nil {
		return e, err
	}
	_ = sdk.Host(ctx).Audit(ctx, "event.create", "event:"+e.ID, map[string]any{"title": e.Title})
	a.created.Inc()
	return e, nil
}

func (a *agenda) apiCreate(w http.ResponseWriter, r *http.Request) {
	var e Event
	if err := decodeJSON(r, &e); err != nil {
		writeError(w, err)
		return
	}
	e.IdeaID = ""
	e, err := a.create(r.Context(), e)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

func (a *agenda) apiUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	old, version, err := a.load(ctx, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	var e Event
	if err := decodeJSON(r, &e); err != nil {
		writeError(w, err)
		return
	}
	if err := e.Validate(); err != nil {
		writeError(w, err)
		return
	}
	e.ID, e.CreatedAt, e.IdeaID, e.UpdatedAt, e.Interested = old.ID, old.CreatedAt, old.IdeaID, a.now().UTC(), 0
	b, _ := json.Marshal(e)
	if _, err := sdk.Host(ctx).Storage().CompareAndSet(ctx, eventPrefix+e.ID, version, b); err != nil {
		writeError(w, err)
		return
	}
	_ = sdk.Host(ctx).Audit(ctx, "event.update", "event:"+e.ID, map[string]any{"status": e.Status})
	e.Interested = old.Interested
	writeJSON(w, http.StatusOK, e)
}

func (a *agenda) apiDelete(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, _, err := a.load(ctx, id); err != nil {
		writeError(w, err)
		return
	}
	if _, _, err := sdk.Host(ctx).Storage().Batch(ctx, []sdk.Op{{Key: eventPrefix + id, Delete: true}, {Key: countPrefix + id, Delete: true}}); err != nil {
		writeError(w, err)
		return
	}
	_ = sdk.Host(ctx).Audit(ctx, "event.delete", "event:"+id, nil)
	w.WriteHeader(http.StatusNoContent)
}

// markOnce records subject's mark under marker and increments the counter, atomically; a
// second mark by the same subject changes nothing. It returns the count.
func markOnce(ctx context.Context, marker, counter string) (int64, bool, error) {
	st := sdk.Host(ctx).Storage()
	for attempt := range markAttempts {
		if attempt > 0 {
			// Many people on one popular event at once: back off a random while, growing,
			// so that the retries spread out instead of colliding again.
			select {
			case <-time.After(time.Duration(mrand.Int64N(int64(attempt)*int64(2*time.Millisecond) + 1))):
			case <-ctx.Done():
				return 0, false, ctx.Err()
			}
		}
		var n int64
		version, _, err := st.GetJSON(ctx, counter, &n)
		if err != nil {
			return 0, false, err
		}
		next, _ := json.Marshal(n + 1)
		_, conflict, err := st.Batch(ctx, []sdk.Op{
			{Key: marker, Value: []byte("1"), CheckVersion: true, ExpectedVersion: 0},
			{Key: counter, Value: next, CheckVersion: true, ExpectedVersion: version},
		})
		switch {
		case err == nil:
			return n + 1, true, nil
		case errors.Is(err, sdk.ErrConflict) && conflict == marker:
			return n, false, nil
		case errors.Is(err, sdk.ErrConflict):
			continue
		default:
			return 0, false, err
		}
	}
	return 0, false, sdk.ErrConflict
}

// markAttempts bounds the compare-and-set retries of markOnce: with the back-off they cover a
// few hundred concurrent clicks on one counter within the call's time.
const markAttempts = 40

func (a *agenda) interested(ctx context.Context, id string) (int64, error) {
	if e, _, err := a.load(ctx, id); err != nil || e.Draft {
		return 0, cmp.Or(err, errNotFound)
	}
	n, added, err := markOnce(ctx, interestPrefix+id+"/"+sdk.CallOf(ctx).Principal.Subject, countPrefix+id)
	if added {
		a.interest.Inc()
	}
	return n, err
}

func (a *agenda) apiInterest(w http.ResponseWriter, r *http.Request) {
	n, err := a.interested(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"interested": n})
}

// ---- citizen programming ----

// Idea is an activity a citizen proposes for the local programme.
type Idea struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Category    string `json:"category"`
	Votes       int64  `json:"votes"`
	EventID     string `json:"event_id,omitempty"` // set once staff scheduled it: the public link
	// Status is pending until staff accept it (then it is public) or refuse it (see ideas.go).
	Status    string    `json:"status,omitempty"`
	Reason    string    `json:"reason,omitempty"` // why staff refused it
	CreatedAt time.Time `json:"created_at"`
	// Author is kept to stop self-votes; it is never shown.
	Author string `json:"-"`
}

type storedIdea struct {
	Idea
	Author string `json:"author"`
}

func (a *agenda) ideasList(ctx context.Context) ([]Idea, error) {
	st := sdk.Host(ctx).Storage()
	entries, err := st.ListAll(ctx, ideaPrefix)
	if err != nil {
		return nil, err
	}
	counts, err := st.ListAll(ctx, countPrefix+"idea/")
	if err != nil {
		return nil, err
	}
	byID := map[string]int64{}
	for _, c := range counts {
		var n int64
		_ = json.Unmarshal(c.Value, &n)
		byID[strings.TrimPrefix(c.Key, countPrefix+"idea/")] = n
	}
	out := []Idea{}
	for _, en := range entries {
		var si storedIdea
		if json.Unmarshal(en.Value, &si) == nil {
			si.Idea.Votes = byID[si.ID]
			out = append(out, si.Idea)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Votes > out[j].Votes })
	return out, nil
}

func (a *agenda) apiIdeas(w http.ResponseWriter, r *http.Request) {
	ideas, err := a.publicIdeas(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ideas": ideas})
}

func ideasOpen(ctx context.Context) bool {
	var s struct {
		IdeasOpen *bool `json:"ideas_open"`
	}
	_ = json.Unmarshal(sdk.CallOf(ctx).Settings, &s)
	return s.IdeasOpen == nil || *s.IdeasOpen
}

func (a *agenda) propose(ctx context.Context, in Idea) (Idea, error) {
	if !ideasOpen(ctx) {
		return in, bad("ideas", "this site does not take proposals for activities at the moment")
	}
	in.Title = strings.TrimSpace(in.Title)
	if n := utf8.RuneCountInString(in.Title); n < 5 || n > 140 {
		return in, bad("title", "the title must have 5 to 140 characters")
	}
	if utf8.RuneCountInString(in.Description) > 2000 {
		return in, bad("description", "the description must have at most 2000 characters")
	}
	if !contains(categories, in.Category) {
		return in, bad("category", "category must be one of %s", strings.Join(categories, ", "))
	}
	now := a.now().UTC()
	in.ID, in.CreatedAt, in.Votes, in.EventID, in.Status, in.Reason = newID(now), now, 0, "", ideaPending, ""
	si := storedIdea{Idea: in, Author: sdk.CallOf(ctx).Principal.Subject}
	b, _ := json.Marshal(si)
	if _, err := sdk.Host(ctx).Storage().CompareAndSet(ctx, ideaPrefix+in.ID, 0, b); err != nil {
		return in, err
	}
	a.ideas.Inc()
	return in, nil
}

func (a *agenda) apiPropose(w http.ResponseWriter, r *http.Request) {
	var in Idea
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, err)
		return
	}
	idea, err := a.propose(r.Context(), in)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, idea)
}

func (a *agenda) loadIdea(ctx context.Context, id string) (storedIdea, int64, error) {
	var si storedIdea
	if !validID(id) {
		return si, 0, errNotFound
	}
	v, ok, err := sdk.Host(ctx).Storage().GetJSON(ctx, ideaPrefix+id, &si)
	if err == nil && !ok {
		err = errNotFound
	}
	return si, v, err
}

func (a *agenda) vote(ctx context.Context, id string) (int64, error) {
	si, _, err := a.loadIdea(ctx, id)
	if err != nil {
		return 0, err
	}
	if !si.public() {
		return 0, errNotFound
	}
	subject := sdk.CallOf(ctx).Principal.Subject
	if si.Author == subject {
		return 0, bad("vote", "you cannot vote for your own idea")
	}
	n, _, err := markOnce(ctx, votePrefix+id+"/"+subject, countPrefix+"idea/"+id)
	return n, err
}

func (a *agenda) apiVote(w http.ResponseWriter, r *http.Request) {
	n, err := a.vote(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"votes": n})
}

// apiSchedule turns an idea into an event: staff give the event's details; the idea then
// links to the event, publicly.
func (a *agenda) apiSchedule(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	si, version, err := a.loadIdea(ctx, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	if si.EventID != "" {
		writeError(w, bad("idea", "this idea is already scheduled as event %s", si.EventID))
		return
	}
	var e Event
	if err := decodeJSON(r, &e); err != nil {
		writeError(w, err)
		return
	}
	if e.Title == "" {
		e.Title = si.Title
	}
	if e.Description == "" {
		e.Description = si.Description
	}
	if e.Category == "" {
		e.Category = si.Category
	}
	if err := e.Validate(); err != nil {
		writeError(w, err)
		return
	}
	now := a.now().UTC()
	e.ID, e.IdeaID, e.CreatedAt, e.UpdatedAt = newID(now), si.ID, now, now
	si.EventID, si.Status = e.ID, ideaAccepted // scheduling an idea accepts it
	eb, _ := json.Marshal(e)
	ib, _ := json.Marshal(si)
	if _, _, err := sdk.Host(ctx).Storage().Batch(ctx, []sdk.Op{
		{Key: eventPrefix + e.ID, Value: eb, CheckVersion: true},
		{Key: ideaPrefix + si.ID, Value: ib, CheckVersion: true, ExpectedVersion: version},
	}); err != nil {
		writeError(w, err)
		return
	}
	_ = sdk.Host(ctx).Audit(ctx, "idea.schedule", "event:"+e.ID, map[string]any{"idea": si.ID})
	_ = sdk.Host(ctx).Publish(ctx, "culture.event-scheduled", map[string]string{"event": e.ID, "idea": si.ID})
	a.created.Inc()
	writeJSON(w, http.StatusCreated, e)
}

// apiInspiration lists accepted proposals of the tenant's consultations, read through the
// host, to inspire ideas.
func (a *agenda) apiInspiration(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cs, err := sdk.Host(ctx).Consultations().List(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	type item struct {
		Consultation string   `json:"consultation"`
		Proposals    []string `json:"proposals"`
	}
	out := []item{}
	for _, c := range cs {
		ps, err := sdk.Host(ctx).Consultations().AcceptedProposals(ctx, c.GetId(), 20)
		if err != nil {
			writeError(w, err)
			return
		}
		it := item{Consultation: c.GetQuestion(), Proposals: []string{}}
		for _, p := range ps {
			it.Proposals = append(it.Proposals, p.GetContent())
		}
		out = append(out, it)
	}
	pub, err := a.published(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"consultations": out, "published_results": pub})
}
