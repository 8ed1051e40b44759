package pluginhost_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

// The culture plugin's pages in the site's language, its staff screens and its moderation of
// citizen ideas, through the real host and a real plugin process.

// english makes a site English-speaking.
func english(t *testing.T, w *world, s *testsupport.Site) {
	t.Helper()
	en := "en"
	if _, err := w.App.Tenants.Update(context.Background(), "test", s.Tenant.Slug, tenants.Patch{DefaultLocale: &en}); err != nil {
		t.Fatalf("make %s English: %v", s.Host, err)
	}
}

// form posts an HTML form with an API token (no CSRF token needed without a cookie).
func (w *world) form(s *testsupport.Site, path, token string, v url.Values) testsupport.Response {
	return w.Do(testsupport.Request{Method: "POST", Host: s.Host, Path: path, Token: token, Body: []byte(v.Encode()),
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
}

func paidPlay(start time.Time) map[string]any {
	e := concert(start)
	e["title"], e["category"], e["free"], e["price_eur"] = "Le Cid", "theatre", false, 12.5
	e["accessibility"] = []string{"motor", "hearing"}
	return e
}

func TestCulture_PricesAndLabelsInTheSiteLanguage(t *testing.T) {
	w := newWorld(t, "culture")
	english(t, w, w.B)
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	cases := []struct {
		site       *testsupport.Site
		agenda     []string // on the agenda page
		event      []string // on the event's page
		notAgenda  []string
		eventTitle string
	}{
		{w.A, []string{"12,50\u00a0€", "Théâtre", "Filtrer", "Catégorie", "Toutes"}, []string{"12,50\u00a0€", "Handicap moteur", "Handicap auditif", "Théâtre", "Ça m&#39;intéresse (0)"},
			[]string{"Theatre", "12.50", "0x"}, "Le Cid"},
		{w.B, []string{"€12.50", "Theatre", "Filter", "Category", "All"}, []string{"€12.50", "Reduced mobility", "Hearing impairment", "I&#39;m interested (0)"},
			[]string{"Théâtre", "12,50", "0x", "Filtrer"}, "Le Cid"},
	}
	for _, c := range cases {
		t.Run(c.site.Host, func(t *testing.T) {
			w.enable(t, c.site, "culture")
			res := w.Do(testsupport.Request{Method: "POST", Host: c.site.Host, Path: "/api/v1/p/culture/events", Token: c.site.Tokens[authz.TenantAdmin], Body: paidPlay(start)})
			if res.Status != 201 {
				t.Fatalf("create: %d %s", res.Status, res.Body)
			}
			var ev struct{ ID string }
			res.JSON(t, &ev)
			agenda := string(w.get(c.site, "/p/culture/", "").Body)
			for _, want := range c.agenda {
				if !strings.Contains(agenda, want) {
					t.Errorf("agenda lacks %q", want)
				}
			}
			for _, not := range c.notAgenda {
				if strings.Contains(agenda, not) {
					t.Errorf("agenda holds %q", not)
				}
			}
			page := w.get(c.site, "/p/culture/events/"+ev.ID, c.site.Tokens[authz.Citizen])
			for _, want := range c.event {
				if !strings.Contains(string(page.Body), want) {
					t.Errorf("event page lacks %q", want)
				}
			}
			if regexp.MustCompile(`0x[0-9a-f]{6,}`).Match(page.Body) {
				t.Errorf("event page shows a memory address")
			}
			// The pages use the site's classes: styled buttons and filters.
			if !strings.Contains(agenda, `class="filters`) || !strings.Contains(string(page.Body), `class="btn"`) {
				t.Errorf("pages without the site's classes:\n%s", agenda)
			}
		})
	}
}

func TestCulture_IdeasWaitForModeration(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	cit, mod, aud := w.A.Tokens[authz.Citizen], w.A.Tokens[authz.Moderator], w.A.Tokens[authz.Auditor]
	propose := func(title string) string {
		t.Helper()
		res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/ideas", Token: cit,
			Body: map[string]any{"title": title, "category": "cinema", "description": "au parc"}})
		var idea struct{ ID, Status string }
		res.JSON(t, &idea)
		if res.Status != 201 || idea.Status != "pending" {
			t.Fatalf("propose: %d %s", res.Status, res.Body)
		}
		return idea.ID
	}
	kept, refused := propose("Un ciné en plein air"), propose("Une rave au cimetière")
	public := func() string {
		return string(w.get(w.A, "/api/v1/p/culture/ideas", "").Body) + string(w.get(w.A, "/p/culture/ideas", "").Body)
	}
	if p := public(); strings.Contains(p, "plein air") || strings.Contains(p, "rave") {
		t.Fatalf("a pending idea is public: %s", p)
	}
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/ideas/" + kept + "/vote", Token: mod}); res.Status != 404 {
		t.Errorf("vote for a pending idea: %d %s", res.Status, res.Body)
	}
	queue := w.get(w.A, "/p/culture/staff", mod)
	if queue.Status != 200 || !strings.Contains(string(queue.Body), "plein air") || !strings.Contains(string(queue.Body), `action="/p/culture/staff/ideas/`+kept+`/accept"`) {
		t.Fatalf("staff queue: %d %s", queue.Status, queue.Body)
	}
	for _, who := range []struct{ name, token string }{{"citizen", cit}, {"auditor", aud}} {
		if res := w.form(w.A, "/p/culture/staff/ideas/"+kept+"/accept", who.token, url.Values{}); res.Status != 403 {
			t.Errorf("%s accepting: %d", who.name, res.Status)
		}
	}
	// Auditors read everything, the staff screen included, but decide nothing (above).
	if res := w.get(w.A, "/p/culture/staff", cit); res.Status != 403 {
		t.Errorf("citizen on the staff screen: %d", res.Status)
	}
	// A signed-out visitor is sent to sign in, and back to the staff screen after.
	if res := w.get(w.A, "/p/culture/staff", ""); res.Status != 303 || res.Header.Get("Location") != "/account/signin?next=%2Fp%2Fculture%2Fstaff" {
		t.Errorf("anonymous on the staff screen: %d %q", res.Status, res.Header.Get("Location"))
	}
	// Refusing needs a reason; without one nothing changes.
	if res := w.form(w.A, "/p/culture/staff/ideas/"+refused+"/refuse", mod, url.Values{"reason": {"  "}}); res.Status != 400 {
		t.Errorf("refuse without a reason: %d %s", res.Status, res.Body)
	}
	if q := string(w.get(w.A, "/api/v1/p/culture/ideas/pending", mod).Body); !strings.Contains(q, refused) {
		t.Errorf("the idea left the queue after a refused refusal: %s", q)
	}
	if res := w.form(w.A, "/p/culture/staff/ideas/"+refused+"/refuse", mod, url.Values{"reason": {"Hors sujet"}}); res.Status != 303 {
		t.Errorf("refuse: %d %s", res.Status, res.Body)
	}
	if res := w.form(w.A, "/p/culture/staff/ideas/"+kept+"/accept", mod, url.Values{}); res.Status != 303 || res.Header.Get("Location") != "/p/culture/staff?done=accepted#ideas" {
		t.Fatalf("accept: %d %v %s", res.Status, res.Header, res.Body)
	}
	if p := public(); !strings.Contains(p, "plein air") || strings.Contains(p, "rave") {
		t.Fatalf("after moderation, the public sees: %s", p)
	}
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/ideas/" + kept + "/vote", Token: mod}); res.Status != 200 {
		t.Errorf("vote for an accepted idea: %d %s", res.Status, res.Body)
	}
	// Removed: gone for everyone, votes included; a second removal finds nothing.
	if res := w.form(w.A, "/p/culture/staff/ideas/"+kept+"/remove", mod, url.Values{"reason": {"Doublon"}}); res.Status != 303 {
		t.Fatalf("remove: %d %s", res.Status, res.Body)
	}
	if p := public() + string(w.get(w.A, "/p/culture/staff", mod).Body); strings.Contains(p, "plein air") {
		t.Errorf("a removed idea is still shown: %s", p)
	}
	if res := w.form(w.A, "/p/culture/staff/ideas/"+kept+"/remove", mod, url.Values{}); res.Status != 404 {
		t.Errorf("second removal: %d", res.Status)
	}
	log := string(w.get(w.A, "/api/v1/audit?actor=plugin:culture", aud).Body)
	for _, a := range []string{"culture.idea.accept", "culture.idea.refuse", "culture.idea.remove", "Hors sujet", "Doublon"} {
		if !strings.Contains(log, a) {
			t.Errorf("audit log lacks %s", a)
		}
	}
}

func TestCulture_StaffCreateEditAndPublishThroughForms(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	admin := w.A.Tokens[authz.TenantAdmin]
	day := time.Now().In(time.UTC).AddDate(0, 0, 3).Format("2006-01-02")
	ev := url.Values{"title": {"Bal du 14 juillet"}, "category": {"dance"}, "description": {"Sur la place"},
		"venue_name": {"Place de la mairie"}, "venue_city": {"Ay"}, "start": {day + "T20:00"}, "end": {day + "T23:30"},
		"price": {"8,50"}, "accessibility": {"motor", "visual"}}
	if nf := w.get(w.A, "/p/culture/staff/events/new", admin); nf.Status != 200 || !strings.Contains(string(nf.Body), `action="/p/culture/staff/events"`) ||
		!strings.Contains(string(nf.Body), `<label for="e-title">`) {
		t.Fatalf("new event form: %d %s", nf.Status, nf.Body)
	}
	// Bad input: the form again, with the message and what was typed; nothing is created.
	bad := url.Values{}
	for k, v := range ev {
		bad[k] = v
	}
	bad.Set("end", day+"T19:00")
	res := w.form(w.A, "/p/culture/staff/events", admin, bad)
	if res.Status != 400 || !strings.Contains(string(res.Body), "error-msg") || !strings.Contains(string(res.Body), "Bal du 14 juillet") {
		t.Fatalf("bad form: %d %s", res.Status, res.Body)
	}
	if res := w.form(w.A, "/p/culture/staff/events", w.A.Tokens[authz.Citizen], ev); res.Status != 403 {
		t.Errorf("citizen creating: %d", res.Status)
	}
	// A draft: on the staff screen, not on the public agenda, its page or its feed.
	if res := w.form(w.A, "/p/culture/staff/events", admin, ev); res.Status != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/p/culture/staff?done=created") {
		t.Fatalf("create: %d %v %s", res.Status, res.Header, res.Body)
	}
	var list struct {
		Events []struct{ ID string }
	}
	w.get(w.A, "/api/v1/p/culture/events", "").JSON(t, &list)
	staff := string(w.get(w.A, "/p/culture/staff", admin).Body)
	id := regexp.MustCompile(`/p/culture/staff/events/([0-9a-f-]+)/publish`).FindStringSubmatch(staff)
	if len(list.Events) != 0 || id == nil || !strings.Contains(staff, "Brouillon") {
		t.Fatalf("draft: public %+v; staff %s", list, staff)
	}
	for _, p := range []string{"/p/culture/", "/p/culture/events/" + id[1], "/p/culture/agenda.ics", "/api/v1/p/culture/events/" + id[1]} {
		if strings.Contains(string(w.get(w.A, p, "").Body), "Bal du 14") {
			t.Errorf("the draft shows on %s", p)
		}
	}
	// Edit it (free now), then publish it.
	edit := w.get(w.A, "/p/culture/staff/events/"+id[1], admin)
	if edit.Status != 200 || !strings.Contains(string(edit.Body), `value="8.50"`) || !strings.Contains(string(edit.Body), `value="`+day+`T20:00"`) {
		t.Fatalf("edit form: %d %s", edit.Status, edit.Body)
	}
	ev.Set("title", "Grand bal du 14 juillet")
	ev.Set("free", "1")
	ev.Set("status", "scheduled")
	if res := w.form(w.A, "/p/culture/staff/events/"+id[1], admin, ev); res.Status != 303 {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	if res := w.form(w.A, "/p/culture/staff/events/"+id[1]+"/publish", admin, url.Values{}); res.Status != 303 {
		t.Fatalf("publish: %d %s", res.Status, res.Body)
	}
	agenda := string(w.get(w.A, "/p/culture/", "").Body)
	if !strings.Contains(agenda, "Grand bal du 14 juillet") || !strings.Contains(agenda, "Gratuit") || !strings.Contains(agenda, "20:00") {
		t.Fatalf("published event on the agenda: %s", agenda)
	}
	log := string(w.get(w.A, "/api/v1/audit?actor=plugin:culture", w.A.Tokens[authz.Auditor]).Body)
	for _, a := range []string{"culture.event.create", "culture.event.update", "culture.event.publish"} {
		if !strings.Contains(log, a) {
			t.Errorf("audit log lacks %s", a)
		}
	}
}

func TestCulture_PartnerSubmissionReviewedOnTheStaffScreen(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	_, partner := w.Account(w.A.Tenant.ID, "salle@ay.test", authz.Partner)
	admin := w.A.Tokens[authz.TenantAdmin]
	submit := func(title string) string {
		e := paidPlay(time.Now().Add(96 * time.Hour))
		e["title"] = title
		var s struct{ ID string }
		res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/submissions", Token: partner, Body: e})
		res.JSON(t, &s)
		return s.ID
	}
	yes, no := submit("Le Cid"), submit("Phèdre")
	staff := string(w.get(w.A, "/p/culture/staff", admin).Body)
	if !strings.Contains(staff, "Phèdre") || !strings.Contains(staff, "12,50\u00a0€") || !strings.Contains(staff, `action="/p/culture/staff/submissions/`+no+`/reject"`) {
		t.Fatalf("staff screen: %s", staff)
	}
	if res := w.form(w.A, "/p/culture/staff/submissions/"+no+"/reject", admin, url.Values{"reason": {""}}); res.Status != 400 {
		t.Errorf("reject without reason: %d", res.Status)
	}
	if res := w.form(w.A, "/p/culture/staff/submissions/"+no+"/reject", admin, url.Values{"reason": {"Complet cette saison"}}); res.Status != 303 {
		t.Errorf("reject: %d %s", res.Status, res.Body)
	}
	if res := w.form(w.A, "/p/culture/staff/submissions/"+yes+"/approve", admin, url.Values{}); res.Status != 303 {
		t.Errorf("approve: %d %s", res.Status, res.Body)
	}
	// A second decision (two staff on one submission) changes nothing.
	if res := w.form(w.A, "/p/culture/staff/submissions/"+yes+"/approve", admin, url.Values{}); res.Header.Get("Location") != "/p/culture/staff#submissions" {
		t.Errorf("second approval: %d %v", res.Status, res.Header)
	}
	if n := strings.Count(string(w.get(w.A, "/api/v1/p/culture/events", "").Body), "Le Cid"); n != 1 {
		t.Errorf("the approved event is on the agenda %d times", n)
	}
	agenda := string(w.get(w.A, "/p/culture/", "").Body)
	if !strings.Contains(agenda, "Le Cid") || strings.Contains(agenda, "Phèdre") {
		t.Errorf("agenda after review: %s", agenda)
	}
	mine := string(w.get(w.A, "/api/v1/p/culture/my-submissions", partner).Body)
	if !strings.Contains(mine, "Complet cette saison") {
		t.Errorf("the partner does not see the reason: %s", mine)
	}
}

func TestCulture_SignedOutInterestLeadsToSignInAndBack(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/events", Token: w.A.Tokens[authz.TenantAdmin], Body: concert(time.Now().Add(48 * time.Hour))})
	var ev struct{ ID string }
	res.JSON(t, &ev)
	event := "/p/culture/events/" + ev.ID
	v := w.Visitor(w.A.Host)
	page := string(v.Do("GET", event, nil).Body)
	if !strings.Contains(page, `<form method="get" action="`+event+`/interest"`) {
		t.Fatalf("signed-out event page: %s", page)
	}
	// On the ideas page too, a signed-out visitor is offered the sign-in page, not forms that would fail.
	if ideas := string(v.Do("GET", "/p/culture/ideas", nil).Body); !strings.Contains(ideas, `href="/account/signin?next=%2Fp%2Fculture%2Fideas"`) || strings.Contains(ideas, `method="post"`) {
		t.Errorf("signed-out ideas page: %s", ideas)
	}
	res = v.Do("GET", event+"/interest", nil)
	signin := "/account/signin?next=" + url.QueryEscape(event)
	if res.Status != 303 || res.Header.Get("Location") != signin {
		t.Fatalf("signed-out interest: %d %q", res.Status, res.Header.Get("Location"))
	}
	form := v.Do("GET", signin, nil)
	if form.Status != 200 || !strings.Contains(string(form.Body), `name="next" value="`+event+`"`) {
		t.Fatalf("sign-in page: %d %s", form.Status, form.Body)
	}
	// An outside address in next is not followed.
	if f := v.Do("GET", "/account/signin?next=//evil.test/x", nil); strings.Contains(string(f.Body), `name="next" value="//evil`) {
		t.Errorf("the sign-in page carries an outside next")
	}
	res = v.PostForm("/account/signin", url.Values{"email": {"citizen@ay.test"}, "password": {testsupport.Password}, "next": {event}})
	if res.Status != 303 || res.Header.Get("Location") != event {
		t.Fatalf("sign in: %d %q %s", res.Status, res.Header.Get("Location"), res.Body)
	}
	page = string(v.Do("GET", event, nil).Body)
	m := regexp.MustCompile(`<form method="post" action="` + regexp.QuoteMeta(event) + `/interest"[^>]*>\s*<input type="hidden" name="_csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("signed-in event page: %s", page)
	}
	if res := v.PostForm(event+"/interest", url.Values{"_csrf": {m[1]}}); res.Status != 303 || res.Header.Get("Location") != event {
		t.Fatalf("interest: %d %s", res.Status, res.Body)
	}
	if page := string(v.Do("GET", event, nil).Body); !strings.Contains(page, "Ça m&#39;intéresse (1)") {
		t.Errorf("count after interest: %s", page)
	}
	// Signed in, the GET form address leads back to the event.
	if res := v.Do("GET", event+"/interest", nil); res.Status != 303 || res.Header.Get("Location") != event {
		t.Errorf("signed-in GET interest: %d %q", res.Status, res.Header.Get("Location"))
	}
}
