package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// Pages are HTML fragments: the host sanitises them (it keeps class, never style) and wraps
// them in the tenant's layout, whose site.css styles them through its own classes (btn, panel,
// field, tiles, filters, …). Texts come from t, in the site's language (i18n.go).
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"t": func(string, ...any) string { return "" }, "cat": func(string) string { return "" },
	"status": func(string) string { return "" }, "access": func(string) string { return "" },
	"price": func(*float64) string { return "" }, "when": func(time.Time) string { return "" },
	"raw":   func(string, ...any) template.HTML { return "" },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"local": func(time.Time) string { return "" },
}).Parse(publicTemplates + staffTemplates))

const publicTemplates = `
{{define "agenda"}}
<section aria-labelledby="agenda-title">
<h1 id="agenda-title">{{.Title}}</h1>
<form method="get" action="{{.Base}}/" class="filters panel" role="search" aria-label="{{t "filter_submit"}}">
  <div class="field"><label for="f-from">{{t "filter_from"}}</label><input id="f-from" type="date" name="from" value="{{.From}}"></div>
  <div class="field"><label for="f-to">{{t "filter_to"}}</label><input id="f-to" type="date" name="to" value="{{.To}}"></div>
  <div class="field"><label for="f-cat">{{t "filter_category"}}</label>
  <select id="f-cat" name="category"><option value="">{{t "filter_all"}}</option>{{range .Categories}}<option value="{{.}}"{{if eq . $.Category}} selected{{end}}>{{cat .}}</option>{{end}}</select></div>
  <div class="field"><label for="f-place">{{t "filter_place"}}</label><input id="f-place" type="search" name="place" value="{{.Place}}"></div>
  <div class="field"><button type="submit" class="btn">{{t "filter_submit"}}</button></div>
</form>
<ul class="subnav">
<li><a href="{{.Base}}/agenda.ics">{{t "ical"}}</a></li>
{{if .Category}}<li><a href="{{.Base}}/categories/{{.Category}}/agenda.ics">{{t "ical_category" (cat .Category)}}</a></li>{{end}}
<li><a href="{{.Base}}/ideas">{{t "ideas_link"}}</a></li>
{{if .Staff}}<li><a href="{{.Base}}/staff">{{t "staff_link"}}</a></li>{{end}}
</ul>
{{if not .Events}}<p class="muted">{{t "no_events"}}</p>{{end}}
<ul class="tiles">
{{range .Events}}
<li class="tile"><article aria-labelledby="ev-{{.ID}}">
  <h2 id="ev-{{.ID}}" class="tile-link"><a href="{{$.Base}}/events/{{.ID}}">{{.Title}}</a></h2>
  <p><span class="badge">{{cat .Category}}</span>{{if ne .Status "scheduled"}} <strong class="badge">{{status .Status}}</strong>{{end}}</p>
  <p>{{.Venue.Name}}{{if .Venue.City}}, {{.Venue.City}}{{end}} · {{if .Free}}{{t "free"}}{{else if .PriceEUR}}{{price .PriceEUR}}{{end}}</p>
  <p>{{range $i, $s := .Next}}{{if lt $i 3}}<time datetime="{{iso $s.Start}}">{{when $s.Start}}</time><br>{{end}}{{end}}</p>
  <p class="muted">{{t "interested_n" .Interested}}</p>
</article></li>
{{end}}
</ul>
</section>
{{end}}

{{define "event"}}
<article aria-labelledby="event-title">
<h1 id="event-title">{{.E.Title}}</h1>
<p><span class="badge">{{cat .E.Category}}</span>{{if ne .E.Status "scheduled"}} <strong class="badge">{{status .E.Status}}</strong>{{end}}</p>
<p>{{.E.Description}}</p>
<div class="two-cols">
<section class="panel" aria-labelledby="ev-venue"><h2 id="ev-venue">{{t "venue"}}</h2>
<address>{{.E.Venue.Name}}<br>{{.E.Venue.Address}}<br>{{.E.Venue.PostalCode}} {{.E.Venue.City}}</address></section>
<section class="panel" aria-labelledby="ev-dates"><h2 id="ev-dates">{{t "dates"}}</h2>
<ul class="steps">{{range .Next}}<li><time datetime="{{iso .Start}}">{{when .Start}}</time> – <time datetime="{{iso .End}}">{{when .End}}</time></li>{{end}}</ul></section>
</div>
<p>{{if .E.Free}}{{t "free"}}{{else if .E.PriceEUR}}{{price .E.PriceEUR}}{{end}}{{if .E.AgeMin}} · {{t "age_from" .E.AgeMin}}{{end}}{{if .E.AgeMax}} · {{t "age_to" .E.AgeMax}}{{end}}</p>
{{if .E.Accessibility}}<p>{{t "accessibility"}} :</p><ul class="themes">{{range .E.Accessibility}}<li class="badge">{{access .}}</li>{{end}}</ul>{{end}}
{{if .E.Link}}<p><a href="{{.E.Link}}">{{t "more_info"}}</a></p>{{end}}
{{if .E.IdeaID}}<p>{{raw "from_idea" (printf "%s/ideas#idea-%s" .Base .E.IdeaID)}}</p>{{end}}
{{if .Anonymous}}
<form method="get" action="{{.Base}}/events/{{.E.ID}}/interest" class="actions">
  <button type="submit" class="btn" aria-describedby="interest-help">{{t "interest" .E.Interested}}</button>
  <span id="interest-help" class="muted">{{t "interest_signin"}}</span>
</form>
{{else}}
<form method="post" action="{{.Base}}/events/{{.E.ID}}/interest" class="actions">
  <input type="hidden" name="_csrf" value="{{.CSRF}}">
  <button type="submit" class="btn">{{t "interest" .E.Interested}}</button>
</form>
{{end}}
</article>
{{end}}

{{define "ideas"}}
<section aria-labelledby="ideas-title">
<h1 id="ideas-title">{{t "ideas_title"}}</h1>
<p>{{t "ideas_intro"}}</p>
{{if .Sent}}<p class="notice" role="status">{{t "idea_sent"}}</p>{{end}}
{{if not .Ideas}}<p class="muted">{{t "no_ideas"}}</p>{{end}}
<ol class="tiles">
{{range .Ideas}}
<li id="idea-{{.ID}}" class="tile"><article aria-labelledby="idea-t-{{.ID}}">
  <h2 id="idea-t-{{.ID}}" class="tile-link">{{.Title}}</h2><p><span class="badge">{{cat .Category}}</span> {{t "votes_n" .Votes}}</p><p>{{.Description}}</p>
  {{if .EventID}}<p>{{t "scheduled"}} <a href="{{$.Base}}/events/{{.EventID}}">{{t "see_event"}}</a></p>{{else}}
  {{if $.Anonymous}}<p><a class="btn secondary small" href="{{$.SignIn}}">{{t "signin_to_vote"}}</a></p>{{else}}
  <form method="post" action="{{$.Base}}/ideas/{{.ID}}/vote" class="inline"><input type="hidden" name="_csrf" value="{{$.CSRF}}"><button type="submit" class="btn secondary small">{{t "vote_for"}}</button></form>{{end}}{{end}}
</article></li>
{{end}}
</ol>
{{if and .Open .Anonymous}}<p class="panel"><a href="{{.SignIn}}">{{t "signin_to_propose"}}</a></p>
{{else if .Open}}
<form method="post" action="{{.Base}}/ideas">
  <fieldset class="quals" aria-labelledby="fs-propose"><h2 id="fs-propose">{{t "propose_legend"}}</h2>
  <input type="hidden" name="_csrf" value="{{.CSRF}}">
  <div class="field"><label for="i-title">{{t "title"}}</label><input id="i-title" name="title" required minlength="5" maxlength="140"></div>
  <div class="field"><label for="i-cat">{{t "filter_category"}}</label><select id="i-cat" name="category">{{range .Categories}}<option value="{{.}}">{{cat .}}</option>{{end}}</select></div>
  <div class="field"><label for="i-desc">{{t "description"}}</label><textarea id="i-desc" name="description" maxlength="2000" rows="4"></textarea></div>
  <button type="submit" class="btn">{{t "propose"}}</button>
  </fieldset>
</form>
{{end}}
</section>
{{end}}
`

// render writes page name in the language of the call, with its title.
func render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	l, zone := lang(r.Context()), sdk.Location(r.Context())
	t := template.Must(pages.Clone()).Funcs(template.FuncMap{
		"t":      func(key string, args ...any) string { return textf(l, key, args...) },
		"raw":    func(key string, args ...any) template.HTML { return template.HTML(textf(l, key, escapeAll(args)...)) },
		"cat":    func(c string) string { return label(categoryLabels, l, c) },
		"status": func(s string) string { return label(statusLabels, l, s) },
		"access": func(a string) string { return label(accessibilityLabels, l, a) },
		"price": func(eur *float64) string {
			if eur == nil {
				return ""
			}
			return price(l, *eur)
		},
		"when":  func(t time.Time) string { return when(l, zone, t) },
		"local": func(t time.Time) string { return t.In(zone).Format("2006-01-02T15:04") },
	})
	_ = sdk.WritePage(w, r, status, title, t, name, data)
}

// textf is the text of key in language l, formatted with args when it takes any.
func textf(l, key string, args ...any) string {
	if len(args) == 0 {
		return tr(l, key)
	}
	for i, a := range args { // optional numbers are pointers: print the number, not the address
		switch v := a.(type) {
		case *int:
			if v != nil {
				args[i] = *v
			}
		case *float64:
			if v != nil {
				args[i] = *v
			}
		}
	}
	return fmt.Sprintf(tr(l, key), args...)
}

// escapeAll HTML-escapes the arguments of a text that holds markup of its own.
func escapeAll(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = template.HTMLEscapeString(fmt.Sprint(a))
	}
	return out
}

func pageError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *fieldError
	l := lang(r.Context())
	switch {
	case errors.As(err, &fe):
		writeFragmentError(w, r, err)
	case errors.Is(err, errNotFound):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`<p class="error-msg" role="alert">` + template.HTMLEscapeString(tr(l, "not_found")) + `</p>`))
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`<p class="error-msg" role="alert">` + template.HTMLEscapeString(tr(l, "error")) + `</p>`))
	}
}

func agendaTitle(r *http.Request) string {
	var s struct {
		AgendaTitle string `json:"agenda_title"`
	}
	_ = json.Unmarshal(sdk.CallOf(r.Context()).Settings, &s)
	if s.AgendaTitle != "" {
		return s.AgendaTitle
	}
	return tr(lang(r.Context()), "agenda_title")
}

// staffRoles are the roles the manifest gives the staff permissions by default: the agenda
// links them to the staff screens. The host alone decides who may open those (a tenant admin
// may grant the permissions to other roles, who then reach them by their address).
var staffRoles = []string{"tenant-admin", "moderator"}

func (a *agenda) pageAgenda(w http.ResponseWriter, r *http.Request) {
	f, err := a.filter(r)
	if err != nil {
		writeFragmentError(w, r, err)
		return
	}
	ls, err := a.list(r.Context(), f)
	if err != nil {
		pageError(w, r, err)
		return
	}
	call := sdk.CallOf(r.Context())
	title := agendaTitle(r)
	var ld []any
	for _, l := range ls {
		ld = append(ld, jsonLD(call, l.Event, l.Next))
	}
	if len(ld) > 0 {
		_ = sdk.SetJSONLD(w, ld)
	}
	render(w, r, http.StatusOK, "agenda", title, map[string]any{
		"Title": title, "Base": basePath(call), "Events": ls, "Categories": categories, "Category": f.Category,
		"Place": f.Place, "From": f.From.Format("2006-01-02"), "To": f.To.Format("2006-01-02"),
		"Staff": call.Principal.HasRole(staffRoles...),
	})
}

func writeFragmentError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *fieldError
	l := lang(r.Context())
	msg := tr(l, "error")
	status := http.StatusInternalServerError
	if errors.As(err, &fe) {
		msg, status = message(l, fe), http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = template.Must(template.New("").Parse(`<p class="error-msg" role="alert">{{.}}</p>`)).Execute(w, msg)
}

// basePath is the path of the plugin's pages on the tenant's site ("/p/culture").
func basePath(c *sdk.Call) string {
	if i := strings.Index(c.BaseURL, "/p/"); i >= 0 {
		return c.BaseURL[i:]
	}
	return "/p/culture"
}

func (a *agenda) pageEvent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	e, _, err := a.load(ctx, r.PathValue("id"))
	if err == nil && e.Draft {
		err = errNotFound // a draft shows on the staff screens only
	}
	if err != nil {
		pageError(w, r, err)
		return
	}
	call := sdk.CallOf(ctx)
	now := a.now()
	next := e.Occurrences(now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	// SetJSONLD before render: headers must be set before the body is written.
	_ = sdk.SetJSONLD(w, jsonLD(call, e, next))
	render(w, r, http.StatusOK, "event", e.Title, map[string]any{"E": e, "Next": next, "Base": basePath(call),
		"CSRF": call.Principal.CSRFToken, "Anonymous": call.Principal.Anonymous})
}

func (a *agenda) pageInterest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.interested(r.Context(), id); err != nil {
		pageError(w, r, err)
		return
	}
	w.Header().Set("Location", basePath(sdk.CallOf(r.Context()))+"/events/"+id)
	w.WriteHeader(http.StatusSeeOther)
}

// pageInterestSignIn is where a signed-out visitor's "I'm interested" leads (a GET, which
// anyone may send): to the sign-in page, which brings them back to the event. A signed-in
// visitor who lands here goes back to the event, where the button posts.
func (a *agenda) pageInterestSignIn(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validID(id) {
		pageError(w, r, errNotFound)
		return
	}
	call := sdk.CallOf(r.Context())
	back := basePath(call) + "/events/" + id
	if call.Principal.Anonymous {
		back = "/account/signin?next=" + url.QueryEscape(back)
	}
	w.Header().Set("Location", back)
	w.WriteHeader(http.StatusSeeOther)
}

func (a *agenda) pageIdeas(w http.ResponseWriter, r *http.Request) {
	ideas, err := a.publicIdeas(r.Context())
	if err != nil {
		pageError(w, r, err)
		return
	}
	call := sdk.CallOf(r.Context())
	render(w, r, http.StatusOK, "ideas", tr(lang(r.Context()), "ideas_title"), map[string]any{"Ideas": ideas, "Base": basePath(call),
		"CSRF": call.Principal.CSRFToken, "Categories": categories, "Open": ideasOpen(r.Context()), "Sent": r.URL.Query().Get("sent") == "1",
		"Anonymous": call.Principal.Anonymous, "SignIn": "/account/signin?next=" + url.QueryEscape(basePath(call)+"/ideas")})
}

func (a *agenda) pagePropose(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeFragmentError(w, r, bad("form", "%s", tr(lang(r.Context()), "bad_form")))
		return
	}
	_, err := a.propose(r.Context(), Idea{Title: r.PostForm.Get("title"), Category: r.PostForm.Get("category"), Description: r.PostForm.Get("description")})
	if err != nil {
		writeFragmentError(w, r, err)
		return
	}
	w.Header().Set("Location", basePath(sdk.CallOf(r.Context()))+"/ideas?sent=1")
	w.WriteHeader(http.StatusSeeOther)
}

func (a *agenda) pageVote(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.vote(r.Context(), id); err != nil {
		writeFragmentError(w, r, err)
		return
	}
	w.Header().Set("Location", basePath(sdk.CallOf(r.Context()))+"/ideas#idea-"+id)
	w.WriteHeader(http.StatusSeeOther)
}

// feed serves the iCalendar feed of the tenant's agenda, or of one category.
func (a *agenda) feed(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cat := r.PathValue("category")
	if cat != "" && !contains(categories, cat) {
		pageError(w, r, errNotFound)
		return
	}
	events, err := a.all(ctx)
	if err != nil {
		pageError(w, r, err)
		return
	}
	var sel []Event
	for _, e := range events {
		if !e.Draft && (cat == "" || e.Category == cat) {
			if e.Link == "" {
				e.Link = sdk.CallOf(ctx).BaseURL + "/events/" + e.ID
			}
			sel = append(sel, e)
		}
	}
	call := sdk.CallOf(ctx)
	name := agendaTitle(r) + " — " + call.Tenant.Name
	if cat != "" {
		name += " (" + cat + ")"
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="agenda.ics"`)
	_, _ = w.Write([]byte(Calendar(name, call.Tenant.Slug+".concorde", sel, a.now())))
}

// jsonLD is the schema.org Event of an event.
func jsonLD(call *sdk.Call, e Event, next []Slot) map[string]any {
	status := map[string]string{"scheduled": "EventScheduled", "postponed": "EventPostponed", "cancelled": "EventCancelled", "full": "EventScheduled"}[e.Status]
	place := map[string]any{"@type": "Place", "name": e.Venue.Name,
		"address": map[string]any{"@type": "PostalAddress", "streetAddress": e.Venue.Address, "postalCode": e.Venue.PostalCode, "addressLocality": e.Venue.City}}
	if e.Venue.Lat != nil {
		place["geo"] = map[string]any{"@type": "GeoCoordinates", "latitude": *e.Venue.Lat, "longitude": *e.Venue.Lon}
	}
	ld := map[string]any{"@context": "https://schema.org", "@type": "Event", "name": e.Title, "description": e.Description,
		"eventStatus": "https://schema.org/" + status, "location": place, "url": call.BaseURL + "/events/" + e.ID,
		"eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode", "isAccessibleForFree": e.Free}
	if len(next) > 0 {
		ld["startDate"] = next[0].Start.Format(time.RFC3339)
		ld["endDate"] = next[0].End.Format(time.RFC3339)
	}
	offer := map[string]any{"@type": "Offer", "priceCurrency": "EUR", "price": 0}
	if e.PriceEUR != nil {
		offer["price"] = *e.PriceEUR
	}
	if e.Status == "full" {
		offer["availability"] = "https://schema.org/SoldOut"
	}
	ld["offers"] = offer
	if e.AgeMin != nil {
		ld["typicalAgeRange"] = strings.TrimSuffix(jsonInt(*e.AgeMin)+"-"+optInt(e.AgeMax), "-")
	}
	return ld
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func optInt(p *int) string {
	if p == nil {
		return ""
	}
	return jsonInt(*p)
}
