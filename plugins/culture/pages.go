package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// Pages are HTML fragments: the host sanitises them and wraps them in the tenant's layout.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.Format("02/01/2006 15:04") },
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).Parse(`
{{define "agenda"}}
<section aria-labelledby="agenda-title">
<h1 id="agenda-title">{{.Title}}</h1>
<form method="get" action="{{.Base}}/" class="filters">
  <label for="f-from">Du</label> <input id="f-from" type="date" name="from" value="{{.From}}">
  <label for="f-to">au</label> <input id="f-to" type="date" name="to" value="{{.To}}">
  <label for="f-cat">Catégorie</label>
  <select id="f-cat" name="category"><option value="">toutes</option>{{range .Categories}}<option value="{{.}}"{{if eq . $.Category}} selected{{end}}>{{.}}</option>{{end}}</select>
  <label for="f-place">Lieu</label> <input id="f-place" type="search" name="place" value="{{.Place}}">
  <button type="submit">Filtrer</button>
</form>
<p><a href="{{.Base}}/agenda.ics">Calendrier iCalendar</a>{{if .Category}} · <a href="{{.Base}}/categories/{{.Category}}/agenda.ics">Calendrier « {{.Category}} »</a>{{end}} · <a href="{{.Base}}/ideas">Programmation citoyenne</a></p>
{{if not .Events}}<p class="muted">Aucun événement sur cette période.</p>{{end}}
<ul class="events">
{{range .Events}}
<li class="event"><article>
  <h2><a href="{{$.Base}}/events/{{.ID}}">{{.Title}}</a></h2>
  <p>{{.Category}} · {{.Venue.Name}}{{if .Venue.City}}, {{.Venue.City}}{{end}} · {{if .Free}}gratuit{{else}}{{.PriceEUR | printf "%v"}} €{{end}}{{if ne .Status "scheduled"}} · <strong>{{.Status}}</strong>{{end}}</p>
  <p>{{range $i, $s := .Next}}{{if lt $i 3}}<time datetime="{{iso $s.Start}}">{{when $s.Start}}</time> {{end}}{{end}}</p>
  <p>{{.Interested}} intéressé·e·s</p>
</article></li>
{{end}}
</ul>
</section>
{{end}}

{{define "event"}}
<article aria-labelledby="event-title">
<h1 id="event-title">{{.E.Title}}</h1>
<p>{{.E.Category}}{{if ne .E.Status "scheduled"}} · <strong>{{.E.Status}}</strong>{{end}}</p>
<p>{{.E.Description}}</p>
<address>{{.E.Venue.Name}}<br>{{.E.Venue.Address}}<br>{{.E.Venue.PostalCode}} {{.E.Venue.City}}</address>
<ul>{{range .Next}}<li><time datetime="{{iso .Start}}">{{when .Start}}</time> – <time datetime="{{iso .End}}">{{when .End}}</time></li>{{end}}</ul>
<p>{{if .E.Free}}Gratuit{{else}}{{.E.PriceEUR | printf "%v"}} €{{end}}{{if .E.AgeMin}} · dès {{.E.AgeMin}} ans{{end}}{{if .E.AgeMax}} · jusqu'à {{.E.AgeMax}} ans{{end}}</p>
{{if .E.Accessibility}}<p>Accessibilité : {{range .E.Accessibility}}{{.}} {{end}}</p>{{end}}
{{if .E.Link}}<p><a href="{{.E.Link}}">Plus d'informations</a></p>{{end}}
{{if .E.IdeaID}}<p>Cet événement vient d'une <a href="{{.Base}}/ideas#idea-{{.E.IdeaID}}">proposition citoyenne</a>.</p>{{end}}
<form method="post" action="{{.Base}}/events/{{.E.ID}}/interest">
  <input type="hidden" name="_csrf" value="{{.CSRF}}">
  <button type="submit">Ça m'intéresse ({{.E.Interested}})</button>
</form>
</article>
{{end}}

{{define "ideas"}}
<section aria-labelledby="ideas-title">
<h1 id="ideas-title">Programmation citoyenne</h1>
<p>Proposez des activités pour l'agenda culturel et votez pour celles que vous voulez voir programmées.</p>
<ol class="ideas">
{{range .Ideas}}
<li id="idea-{{.ID}}"><article>
  <h2>{{.Title}}</h2><p>{{.Category}} · {{.Votes}} vote(s)</p><p>{{.Description}}</p>
  {{if .EventID}}<p>Programmée : <a href="{{$.Base}}/events/{{.EventID}}">voir l'événement</a></p>{{else}}
  <form method="post" action="{{$.Base}}/ideas/{{.ID}}/vote"><input type="hidden" name="_csrf" value="{{$.CSRF}}"><button type="submit">Je vote pour</button></form>{{end}}
</article></li>
{{end}}
</ol>
{{if .Open}}
<form method="post" action="{{.Base}}/ideas">
  <fieldset><legend>Proposer une activité</legend>
  <input type="hidden" name="_csrf" value="{{.CSRF}}">
  <label for="i-title">Titre</label> <input id="i-title" name="title" required minlength="5" maxlength="140">
  <label for="i-cat">Catégorie</label> <select id="i-cat" name="category">{{range .Categories}}<option value="{{.}}">{{.}}</option>{{end}}</select>
  <label for="i-desc">Description</label> <textarea id="i-desc" name="description" maxlength="2000"></textarea>
  <button type="submit">Proposer</button>
  </fieldset>
</form>
{{end}}
</section>
{{end}}
`))

func render(w http.ResponseWriter, status int, name, title string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	sdk.SetPageTitle(w, title)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func pageError(w http.ResponseWriter, err error) {
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		writeFragmentError(w, err)
	case errors.Is(err, errNotFound):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<p>Cet événement n'existe pas.</p>"))
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<p>Une erreur est survenue.</p>"))
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
	return "Agenda culturel"
}

func (a *agenda) pageAgenda(w http.ResponseWriter, r *http.Request) {
	f, err := a.filter(r)
	if err != nil {
		writeFragmentError(w, err)
		return
	}
	ls, err := a.list(r.Context(), f)
	if err != nil {
		pageError(w, err)
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
	render(w, http.StatusOK, "agenda", title, map[string]any{
		"Title": title, "Base": basePath(call), "Events": ls, "Categories": categories, "Category": f.Category,
		"Place": f.Place, "From": f.From.Format("2006-01-02"), "To": f.To.Format("2006-01-02"),
	})
}

func writeFragmentError(w http.ResponseWriter, err error) {
	var fe *fieldError
	msg := "Une erreur est survenue."
	status := http.StatusInternalServerError
	if errors.As(err, &fe) {
		msg, status = fe.Message, http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = template.Must(template.New("").Parse(`<p role="alert">{{.}}</p>`)).Execute(w, msg)
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
	if err != nil {
		pageError(w, err)
		return
	}
	call := sdk.CallOf(ctx)
	now := a.now()
	next := e.Occurrences(now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	// SetJSONLD before render: headers must be set before the body is written.
	_ = sdk.SetJSONLD(w, jsonLD(call, e, next))
	render(w, http.StatusOK, "event", e.Title, map[string]any{"E": e, "Next": next, "Base": basePath(call), "CSRF": call.Principal.CSRFToken})
}

func (a *agenda) pageInterest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.interested(r.Context(), id); err != nil {
		pageError(w, err)
		return
	}
	w.Header().Set("Location", basePath(sdk.CallOf(r.Context()))+"/events/"+id)
	w.WriteHeader(http.StatusSeeOther)
}

func (a *agenda) pageIdeas(w http.ResponseWriter, r *http.Request) {
	ideas, err := a.ideasList(r.Context())
	if err != nil {
		pageError(w, err)
		return
	}
	call := sdk.CallOf(r.Context())
	render(w, http.StatusOK, "ideas", "Programmation citoyenne", map[string]any{"Ideas": ideas, "Base": basePath(call),
		"CSRF": call.Principal.CSRFToken, "Categories": categories, "Open": ideasOpen(r.Context())})
}

func (a *agenda) pagePropose(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeFragmentError(w, bad("form", "the form could not be read"))
		return
	}
	_, err := a.propose(r.Context(), Idea{Title: r.PostForm.Get("title"), Category: r.PostForm.Get("category"), Description: r.PostForm.Get("description")})
	if err != nil {
		writeFragmentError(w, err)
		return
	}
	w.Header().Set("Location", basePath(sdk.CallOf(r.Context()))+"/ideas")
	w.WriteHeader(http.StatusSeeOther)
}

func (a *agenda) pageVote(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.vote(r.Context(), id); err != nil {
		writeFragmentError(w, err)
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
		pageError(w, errNotFound)
		return
	}
	events, err := a.all(ctx)
	if err != nil {
		pageError(w, err)
		return
	}
	var sel []Event
	for _, e := range events {
		if cat == "" || e.Category == cat {
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
