package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// The staff screens: plain HTML forms (they work without JavaScript) through which the
// tenant's staff create, edit and publish events, review partners' submissions and moderate
// citizen ideas. The host lets only holders of the routes' permissions in (manifest: staff,
// events, ideas); every form posts back to the plugin's own paths with the plugin's CSRF token.

func (a *agenda) staffRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /staff", a.pageStaff)
	mux.HandleFunc("GET /staff/events/new", a.pageNewEvent)
	mux.HandleFunc("POST /staff/events", a.pageCreateEvent)
	mux.HandleFunc("GET /staff/events/{id}", a.pageEditEvent)
	mux.HandleFunc("POST /staff/events/{id}", a.pageUpdateEvent)
	mux.HandleFunc("POST /staff/events/{id}/publish", a.pagePublishEvent)
	mux.HandleFunc("POST /staff/submissions/{id}/approve", a.pageReview(true))
	mux.HandleFunc("POST /staff/submissions/{id}/reject", a.pageReview(false))
	for _, d := range []string{"accept", "refuse", "remove"} {
		mux.HandleFunc("POST /staff/ideas/{id}/"+d, a.pageModerate(d))
		mux.HandleFunc("POST /api/ideas/{id}/"+d, a.apiModerate(d))
	}
	mux.HandleFunc("GET /api/ideas/pending", a.apiIdeaQueue)
}

var staffTexts = map[string]map[string]string{
	"fr": {
		"staff_title": "Espace équipe — agenda culturel", "staff_events": "Événements", "staff_new": "Nouvel événement",
		"staff_no_events": "Aucun événement.", "draft": "Brouillon", "published": "Publié", "edit": "Modifier", "publish": "Publier",
		"staff_submissions": "Propositions des partenaires", "staff_no_submissions": "Aucune proposition en attente.",
		"approve": "Approuver et publier", "reject": "Refuser", "reason": "Motif", "reason_partner": "Motif (envoyé au partenaire)",
		"staff_ideas": "Idées citoyennes à modérer", "staff_no_ideas": "Aucune idée en attente.", "accept": "Accepter",
		"refuse": "Refuser", "remove": "Retirer", "reason_optional": "Motif (facultatif)", "staff_public_ideas": "Idées publiées",
		"staff_no_public_ideas": "Aucune idée publiée.", "back_staff": "Retour à l'espace équipe", "see_agenda": "Voir l'agenda public",
		"new_title": "Nouvel événement", "edit_title": "Modifier l'événement", "venue_name": "Nom du lieu", "venue_address": "Adresse",
		"venue_postal_code": "Code postal", "venue_city": "Ville", "start": "Début", "end": "Fin", "is_free": "Entrée gratuite",
		"price": "Prix (€)", "age_min": "Âge minimum", "age_max": "Âge maximum", "status": "État", "link": "Lien (facultatif)",
		"save_draft": "Enregistrer le brouillon", "save_publish": "Enregistrer et publier", "save": "Enregistrer",
		"fixed_schedule": "Cet événement a plusieurs dates ou une récurrence : ses horaires se modifient par l'API.",
		"what":           "Événement", "when_where": "Date et lieu", "price_access": "Tarif et public", "by_partner": "Soumis le %s",
		"done_created": "L'événement est enregistré en brouillon.", "done_published": "L'événement est publié dans l'agenda.",
		"done_updated": "L'événement est modifié.", "done_approved": "La proposition est approuvée : l'événement est publié.",
		"done_rejected": "La proposition est refusée ; le partenaire voit le motif.", "done_accepted": "L'idée est publiée.",
		"done_refused": "L'idée est refusée.", "done_removed": "L'idée est retirée.", "votes_label": "votes",
		"bad_time": "Donnez une date et une heure de début et de fin.", "bad_price": "Le prix doit être un nombre, par exemple 12,50.",
		"bad_age": "Les âges doivent être des nombres entiers.",
	},
	"en": {
		"staff_title": "Staff area — cultural agenda", "staff_events": "Events", "staff_new": "New event",
		"staff_no_events": "No events.", "draft": "Draft", "published": "Published", "edit": "Edit", "publish": "Publish",
		"staff_submissions": "Partner submissions", "staff_no_submissions": "No submission waiting.",
		"approve": "Approve and publish", "reject": "Reject", "reason": "Reason", "reason_partner": "Reason (sent to the partner)",
		"staff_ideas": "Citizen ideas to moderate", "staff_no_ideas": "No idea waiting.", "accept": "Accept",
		"refuse": "Refuse", "remove": "Remove", "reason_optional": "Reason (optional)", "staff_public_ideas": "Published ideas",
		"staff_no_public_ideas": "No published ideas.", "back_staff": "Back to the staff area", "see_agenda": "See the public agenda",
		"new_title": "New event", "edit_title": "Edit the event", "venue_name": "Venue name", "venue_address": "Address",
		"venue_postal_code": "Postal code", "venue_city": "City", "start": "Start", "end": "End", "is_free": "Free entry",
		"price": "Price (€)", "age_min": "Minimum age", "age_max": "Maximum age", "status": "Status", "link": "Link (optional)",
		"save_draft": "Save as draft", "save_publish": "Save and publish", "save": "Save",
		"fixed_schedule": "This event has several dates or a recurrence: change its times through the API.",
		"what":           "Event", "when_where": "Date and place", "price_access": "Price and audience", "by_partner": "Submitted on %s",
		"done_created": "The event is saved as a draft.", "done_published": "The event is published on the agenda.",
		"done_updated": "The event is updated.", "done_approved": "The submission is approved: the event is published.",
		"done_rejected": "The submission is rejected; the partner sees the reason.", "done_accepted": "The idea is published.",
		"done_refused": "The idea is refused.", "done_removed": "The idea is removed.", "votes_label": "votes",
		"bad_time": "Give a start and an end date and time.", "bad_price": "The price must be a number, such as 12.50.",
		"bad_age": "Ages must be whole numbers.",
	},
}

func seeOther(w http.ResponseWriter, path string) {
	w.Header().Set("Location", path)
	w.WriteHeader(http.StatusSeeOther)
}

// staffEvent is an event as the staff list shows it.
type staffEvent struct {
	Event
	First *Slot
}

func (a *agenda) pageStaff(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	events, err := a.all(ctx)
	if err != nil {
		pageError(w, r, err)
		return
	}
	var list []staffEvent
	for _, e := range events {
		se := staffEvent{Event: e}
		if occ := e.Occurrences(a.now().AddDate(-1, 0, 0), a.now().AddDate(2, 0, 0)); len(occ) > 0 {
			sort.Slice(occ, func(i, j int) bool { return occ[i].Start.Before(occ[j].Start) })
			se.First = &occ[0]
		}
		list = append(list, se)
	}
	// Drafts first, then the newest.
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Draft != list[j].Draft {
			return list[i].Draft
		}
		return list[i].CreatedAt.After(list[j].CreatedAt)
	})
	subs, err := a.submissions(ctx)
	if err != nil {
		pageError(w, r, err)
		return
	}
	var pending []Submission
	for _, s := range subs {
		if s.Status == "pending" {
			pending = append(pending, s.Submission)
		}
	}
	queue, err := a.pendingIdeas(ctx)
	if err != nil {
		pageError(w, r, err)
		return
	}
	public, err := a.publicIdeas(ctx)
	if err != nil {
		pageError(w, r, err)
		return
	}
	call := sdk.CallOf(ctx)
	done := r.URL.Query().Get("done")
	if !slices.Contains([]string{"created", "published", "updated", "approved", "rejected", "accepted", "refused", "removed"}, done) {
		done = ""
	}
	l := lang(ctx)
	render(w, r, http.StatusOK, "staff", tr(l, "staff_title"), map[string]any{
		"Base": basePath(call), "CSRF": call.Principal.CSRFToken, "Events": list, "Submissions": pending,
		"Queue": queue, "Public": public, "Done": done,
	})
}

// eventForm is what the event form shows: the event, and the fields as typed.
type eventForm struct {
	New                               bool
	E                                 Event
	Start, End, Price                 string
	AgeMin, AgeMax                    string
	Access                            map[string]bool
	FixedSchedule                     bool // several slots or a recurrence: the form leaves them alone
	Error                             string
	Base, CSRF                        string
	Categories, Statuses, AccessCodes []string
}

func newEventForm(ctx context.Context, e Event, isNew bool) eventForm {
	call := sdk.CallOf(ctx)
	f := eventForm{New: isNew, E: e, Access: map[string]bool{}, Base: basePath(call), CSRF: call.Principal.CSRFToken,
		Categories: categories, Statuses: statuses, AccessCodes: accessibility}
	f.FixedSchedule = e.Recurrence != nil || len(e.Slots) > 1
	if len(e.Slots) == 1 {
		zone := sdk.Location(ctx)
		f.Start, f.End = e.Slots[0].Start.In(zone).Format("2006-01-02T15:04"), e.Slots[0].End.In(zone).Format("2006-01-02T15:04")
	}
	if e.PriceEUR != nil {
		f.Price = strconv.FormatFloat(*e.PriceEUR, 'f', 2, 64)
	}
	if e.AgeMin != nil {
		f.AgeMin = strconv.Itoa(*e.AgeMin)
	}
	if e.AgeMax != nil {
		f.AgeMax = strconv.Itoa(*e.AgeMax)
	}
	for _, x := range e.Accessibility {
		f.Access[x] = true
	}
	return f
}

func (a *agenda) pageNewEvent(w http.ResponseWriter, r *http.Request) {
	l := lang(r.Context())
	render(w, r, http.StatusOK, "eventform", tr(l, "new_title"), newEventForm(r.Context(), Event{Category: "concert", Free: true}, true))
}

// eventFromForm reads the event form over old (the event being edited, or a blank one).
func eventFromForm(r *http.Request, old Event) (Event, error) {
	l := lang(r.Context())
	if err := r.ParseForm(); err != nil {
		return old, bad("form", "%s", tr(l, "bad_form"))
	}
	f := r.PostForm
	e := old
	e.Title, e.Description, e.Category = f.Get("title"), strings.TrimSpace(f.Get("description")), f.Get("category")
	e.Venue.Name, e.Venue.Address = strings.TrimSpace(f.Get("venue_name")), strings.TrimSpace(f.Get("venue_address"))
	e.Venue.PostalCode, e.Venue.City = strings.TrimSpace(f.Get("venue_postal_code")), strings.TrimSpace(f.Get("venue_city"))
	e.Link = strings.TrimSpace(f.Get("link"))
	if s := f.Get("status"); s != "" {
		e.Status = s
	}
	e.Accessibility = f["accessibility"]
	e.Free = f.Get("free") != ""
	e.PriceEUR = nil
	if p := strings.TrimSpace(strings.ReplaceAll(f.Get("price"), ",", ".")); p != "" && !e.Free {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return e, bad("price_eur", "%s", tr(l, "bad_price"))
		}
		e.PriceEUR = &v
	}
	var err error
	if e.AgeMin, err = optAge(f.Get("age_min")); err != nil {
		return e, bad("age_min", "%s", tr(l, "bad_age"))
	}
	if e.AgeMax, err = optAge(f.Get("age_max")); err != nil {
		return e, bad("age_max", "%s", tr(l, "bad_age"))
	}
	if old.Recurrence == nil && len(old.Slots) <= 1 {
		zone := sdk.Location(r.Context())
		start, err1 := time.ParseInLocation("2006-01-02T15:04", f.Get("start"), zone)
		end, err2 := time.ParseInLocation("2006-01-02T15:04", f.Get("end"), zone)
		if err1 != nil || err2 != nil {
			return e, bad("slots", "%s", tr(l, "bad_time"))
		}
		e.Slots = []Slot{{Start: start, End: end}}
	}
	return e, nil
}

func optAge(s string) (*int, error) {
	if s = strings.TrimSpace(s); s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	return &n, err
}

// formError shows the form again with what was typed and what is wrong.
func formError(w http.ResponseWriter, r *http.Request, e Event, isNew bool, err error) {
	var fe *fieldError
	if !errors.As(err, &fe) {
		pageError(w, r, err)
		return
	}
	f := newEventForm(r.Context(), e, isNew)
	if r.PostForm != nil { // what was typed, even if it did not parse
		f.Start, f.End, f.Price = r.PostForm.Get("start"), r.PostForm.Get("end"), r.PostForm.Get("price")
		f.AgeMin, f.AgeMax = r.PostForm.Get("age_min"), r.PostForm.Get("age_max")
	}
	l := lang(r.Context())
	f.Error = message(l, fe)
	title := tr(l, "edit_title")
	if isNew {
		title = tr(l, "new_title")
	}
	render(w, r, http.StatusBadRequest, "eventform", title, f)
}

func (a *agenda) pageCreateEvent(w http.ResponseWriter, r *http.Request) {
	e, err := eventFromForm(r, Event{})
	if err != nil {
		formError(w, r, e, true, err)
		return
	}
	e.Draft = r.PostForm.Get("publish") == ""
	created, err := a.create(r.Context(), e)
	if err != nil {
		formError(w, r, e, true, err)
		return
	}
	done := "created"
	if !created.Draft {
		done = "published"
		_ = sdk.Host(r.Context()).Audit(r.Context(), "event.publish", "event:"+created.ID, map[string]any{"title": created.Title})
	}
	seeOther(w, basePath(sdk.CallOf(r.Context()))+"/staff?done="+done+"#events")
}

func (a *agenda) pageEditEvent(w http.ResponseWriter, r *http.Request) {
	e, _, err := a.load(r.Context(), r.PathValue("id"))
	if err != nil {
		pageError(w, r, err)
		return
	}
	render(w, r, http.StatusOK, "eventform", tr(lang(r.Context()), "edit_title"), newEventForm(r.Context(), e, false))
}

// update stores a changed event over the version read.
func (a *agenda) update(ctx context.Context, e Event, version int64, action string) error {
	if err := e.Validate(); err != nil {
		return err
	}
	e.UpdatedAt, e.Interested = a.now().UTC(), 0
	b, _ := json.Marshal(e)
	if _, err := sdk.Host(ctx).Storage().CompareAndSet(ctx, eventPrefix+e.ID, version, b); err != nil {
		return err
	}
	_ = sdk.Host(ctx).Audit(ctx, action, "event:"+e.ID, map[string]any{"title": e.Title, "status": e.Status, "draft": e.Draft})
	return nil
}

func (a *agenda) pageUpdateEvent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	old, version, err := a.load(ctx, r.PathValue("id"))
	if err != nil {
		pageError(w, r, err)
		return
	}
	e, err := eventFromForm(r, old)
	if err != nil {
		formError(w, r, e, false, err)
		return
	}
	done, action := "updated", "event.update"
	if e.Draft && r.PostForm.Get("publish") != "" {
		e.Draft, done, action = false, "published", "event.publish"
	}
	if err := a.update(ctx, e, version, action); err != nil {
		formError(w, r, e, false, err)
		return
	}
	seeOther(w, basePath(sdk.CallOf(ctx))+"/staff?done="+done+"#events")
}

func (a *agenda) pagePublishEvent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	e, version, err := a.load(ctx, r.PathValue("id"))
	if err != nil {
		pageError(w, r, err)
		return
	}
	if e.Draft {
		e.Draft = false
		if err := a.update(ctx, e, version, "event.publish"); err != nil {
			pageError(w, r, err)
			return
		}
	}
	seeOther(w, basePath(sdk.CallOf(ctx))+"/staff?done=published#events")
}

func (a *agenda) pageReview(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			writeFragmentError(w, r, bad("form", "%s", tr(lang(r.Context()), "bad_form")))
			return
		}
		s, err := a.decide(r.Context(), r.PathValue("id"), approve, r.PostForm.Get("reason"))
		if errors.Is(err, errReviewed) {
			seeOther(w, basePath(sdk.CallOf(r.Context()))+"/staff#submissions") // someone else decided first
			return
		}
		if err != nil {
			pageError(w, r, err)
			return
		}
		seeOther(w, basePath(sdk.CallOf(r.Context()))+"/staff?done="+s.Status+"#submissions")
	}
}

func (a *agenda) pageModerate(decision string) http.HandlerFunc {
	done := map[string]string{"accept": "accepted", "refuse": "refused", "remove": "removed"}[decision]
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			writeFragmentError(w, r, bad("form", "%s", tr(lang(r.Context()), "bad_form")))
			return
		}
		if err := a.moderate(r.Context(), r.PathValue("id"), decision, r.PostForm.Get("reason")); err != nil {
			pageError(w, r, err)
			return
		}
		seeOther(w, basePath(sdk.CallOf(r.Context()))+"/staff?done="+done+"#ideas")
	}
}
