package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/httpapi"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/web"
)

// englishTells are words and shapes that give English text away on a French page. Each is
// matched on the visible text, as whole words, case-insensitively.
var englishTells = regexp.MustCompile(`(?i)\b(the|not|must|allowed|only|invalid|no such|sign in|sign up|your|you|running|stopped|starting|crashed|tenant-admin|please|cannot|should|choose|between|characters|already|enabled|disabled|unknown|required|at least|at most|too long|too short|this|is|are|with|page not found|error|does|there|and|of|for|to|by|from|which|when|what|yet|here|try again|can't|don't|isn't|has|have|been|will|would)\b` +
	// French counts 0 and 1 as singular, and writes decimals with a comma.
	`|\b[01] (propositions|votes|participants|comptes)\b|\d\.\d`)

// emails and host names are data, not text: "tenant-admin@ay.test" is an address.
var dataTokens = regexp.MustCompile(`[\w.+-]+@[\w.-]+|\b[\w-]+\.test\b|https?://\S+`)

// visibleText is what a reader of the page reads (or hears): text outside scripts, styles
// and code, plus the alt, title, placeholder and aria-label attributes and button values;
// elements in another language (lang="en", the language switch) are left out.
func visibleText(page string) string {
	z := html.NewTokenizer(strings.NewReader(page))
	var b strings.Builder
	var stack []string // open elements whose text is skipped
	skipping := func() bool { return len(stack) > 0 }
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			if !skipping() {
				b.Write(z.Text())
				b.WriteByte(' ')
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			skip := tag == "script" || tag == "style" || tag == "code" || tag == "kbd" || tag == "samp" || tag == "pre" ||
				(attrs["lang"] != "" && attrs["lang"] != "fr")
			if skip && tt == html.StartTagToken {
				stack = append(stack, tag)
				continue
			}
			if skipping() {
				continue
			}
			for _, a := range []string{"alt", "title", "placeholder", "aria-label"} {
				if v := attrs[a]; v != "" {
					b.WriteString(v + " ")
				}
			}
			if tag == "input" && (attrs["type"] == "submit" || attrs["type"] == "button") {
				b.WriteString(attrs["value"] + " ")
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if n := len(stack); n > 0 && stack[n-1] == string(name) {
				stack = stack[:n-1]
			}
		}
	}
}

// englishIn returns the English found in a page's visible text, with some context.
func englishIn(page string, userContent []string) []string {
	text := strings.Join(strings.Fields(visibleText(page)), " ")
	for _, u := range userContent {
		text = strings.ReplaceAll(text, u, " ")
	}
	text = dataTokens.ReplaceAllString(text, " ")
	var out []string
	for _, loc := range englishTells.FindAllStringIndex(text, -1) {
		from, to := max(loc[0]-50, 0), min(loc[1]+50, len(text))
		out = append(out, fmt.Sprintf("%q in …%s…", text[loc[0]:loc[1]], text[from:to]))
	}
	return out
}

func TestFrench_TheGuardFindsEnglish(t *testing.T) {
	for page, want := range map[string]bool{
		`<p>write plain text only: HTML tags such as &lt;b&gt; are not allowed</p>`: true,
		`<p>1 propositions</p>`:                                       true,
		`<td>0.52</td>`:                                               true,
		`<span class="badge">tenant-admin</span>`:                     true,
		`<p>État : running</p>`:                                       true,
		`<button aria-label="Sign in">→</button>`:                     true,
		`<p>Il faut ouvrir les musées</p><p>1 proposition · 0,52</p>`: false,
		`<script>var the = 1.5</script><code>v0.3.0</code>`:           false,
		`<a href="/lang/en" lang="en">English</a>`:                    false,
		`<td>tenant-admin@ay.test</td><td>Administrateur·rice</td>`:   false,
		`<input type="hidden" value="the only">`:                      false,
	} {
		if got := englishIn(page, nil); (len(got) > 0) != want {
			t.Errorf("%s: found %v", page, got)
		}
	}
}

// frenchUserContent is what the test itself seeded (French, but free text all the same), and
// names that are written the same in every language.
var frenchUserContent = []string{"Pol.is", "RGAA 4.1", "Comment rendre la culture accessible à tous ?", "Comment se déplacer à vélo ?", "Ville de ay", "Ville de bee"}

// TestFrench_NoEnglishOnAnyPage opens every page each role can reach on a French site (and
// every form sent back with bad input) and fails on any English text.
func TestFrench_NoEnglishOnAnyPage(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newFrozen(t, e, true)
	// A second consultation, open, with a proposal to vote on and one to moderate.
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations", Token: w.admin, Body: map[string]any{
		"slug": "velo", "question": "Comment se déplacer à vélo ?", "themes": []map[string]string{{"slug": "musees", "label": "Pistes"}}}}); res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/velo/open", Token: w.admin}); res.Status != 200 {
		t.Fatalf("open: %d %s", res.Status, res.Body)
	}
	w.slug = "velo"
	w.propose(t, e.Visitor(w.A.Host), "Il faut des pistes cyclables séparées")
	res := e.Visitor(w.A.Host).Do("POST", "/api/v1/consultations/velo/proposals", map[string]string{"content": "Il faut des arceaux devant chaque école"})
	pendingID := userID(t, res)
	content := append([]string{"Il faut des pistes cyclables séparées", "Il faut des arceaux devant chaque école", "Il faut ouvrir les musées gratuitement le dimanche",
		"Il faut des concerts gratuits dans les parcs", "Il faut une carte culture pour les jeunes", "La culture pour tous", "Les enjeux", "Musées", "Pistes", "Spectacle vivant"}, frenchUserContent...)

	visitors := map[string]*testsupport.Visitor{"signed out": e.Visitor(w.A.Host)}
	for _, role := range testsupport.TenantRoles {
		v := e.Visitor(w.A.Host)
		if res := v.SignIn(string(role)+"@ay.test", testsupport.Password); res.Status != 200 {
			t.Fatalf("sign in as %s: %d", role, res.Status)
		}
		visitors[string(role)] = v
	}
	platform := e.Visitor("admin.test")
	if res := platform.SignIn("root@platform.test", testsupport.Password); res.Status != 200 {
		t.Fatalf("platform sign-in: %d %s", res.Status, res.Body)
	}
	platform.Do("GET", "/lang/fr", nil) // the platform site speaks English by default: its admin chooses French
	visitors["platform admin"] = platform

	var found []string
	pages := 0
	check := func(who, what string, res testsupport.Response) {
		t.Helper()
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			return
		}
		pages++
		if !strings.Contains(string(res.Body), `<html lang="fr"`) {
			found = append(found, fmt.Sprintf("%s, %s: the page is not in French", who, what))
			return
		}
		for _, f := range englishIn(string(res.Body), content) {
			found = append(found, fmt.Sprintf("%s, %s: %s", who, what, f))
		}
	}
	get := func(who string, v *testsupport.Visitor, path string) {
		res := v.Do("GET", path, nil)
		if res.Status == http.StatusSeeOther || res.Status == http.StatusFound {
			if loc := res.Header.Get("Location"); strings.HasPrefix(loc, "/") {
				path, res = loc, v.Do("GET", loc, nil)
			}
		}
		if res.Status >= 500 {
			found = append(found, fmt.Sprintf("%s, GET %s: status %d", who, path, res.Status))
		}
		check(who, "GET "+path+fmt.Sprintf(" (%d)", res.Status), res)
	}

	// Every page of the route table, as every role.
	var paths []string
	for _, r := range e.Server.Routes() {
		if r.Method != http.MethodGet || strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/p/") ||
			strings.Contains(r.Path, "*") || strings.HasPrefix(r.Path, "/lang/") || strings.Contains(r.Path, ".") {
			continue
		}
		p := strings.NewReplacer(":id", itoa64(pendingID), ":name", "mentions-legales").Replace(r.Path)
		if strings.Contains(p, ":slug") {
			paths = append(paths, strings.ReplaceAll(p, ":slug", "velo"), strings.ReplaceAll(p, ":slug", "culture"))
			continue
		}
		paths = append(paths, p)
	}
	paths = append(paths, "/no/such/page", "/c/nope", "/proposals/"+itoa64(w.accepted[0]), "/c/culture/results?dimension=gender", "/admin/moderation?consultation=velo")
	sort.Strings(paths)
	if len(paths) < 25 {
		t.Fatalf("only %d pages enumerated: %v", len(paths), paths)
	}
	for who, v := range visitors {
		for _, p := range paths {
			get(who, v, p)
		}
	}
	// The voting card, the profile questions and the end of the sequence, as a citizen.
	citizen := visitors[string(authz.Citizen)]
	for range 3 {
		get("citizen", citizen, "/c/culture")
		get("citizen", citizen, "/c/velo")
	}

	// Every form, sent back with bad input.
	admin := visitors[string(authz.TenantAdmin)]
	post := func(who string, v *testsupport.Visitor, path string, form url.Values) {
		t.Helper()
		res := v.PostForm(path, form)
		if res.Status < 400 || res.Status >= 500 {
			t.Errorf("%s: POST %s %v was not refused: %d", who, path, form, res.Status)
		}
		check(who, fmt.Sprintf("POST %s %v (%d)", path, form, res.Status), res)
	}
	for _, bad := range []string{"Il faut <b>ouvrir</b> les pistes", "Il faut x", "Il faut " + strings.Repeat("a", 141), "Il faut voir [ici](http://x.org) les pistes", "Bonjour"} {
		post("citizen", citizen, "/c/velo/propose", url.Values{"content": {bad}})
	}
	post("citizen", citizen, "/c/culture/propose", url.Values{"content": {"Il faut des pistes cyclables partout"}})
	post("citizen", citizen, "/c/velo/vote", url.Values{"proposal": {itoa64(w.accepted[0])}, "vote": {"agree"}, "key": {"nope"}})
	post("citizen", citizen, "/c/velo/profile", url.Values{"age_band": {"200-300"}})
	signedOut := e.Visitor(w.A.Host)
	post("signed out", signedOut, "/account/signin", url.Values{"email": {"citizen@ay.test"}, "password": {"faux mot de passe"}})
	post("signed out", signedOut, "/account/signup", url.Values{"email": {"pas-une-adresse"}, "name": {"Zoé"}, "password": {"court"}})
	post("signed out", signedOut, "/account/signup", url.Values{"email": {"zoe@ay.test"}, "name": {"Zoé"}, "password": {"court"}})
	post("signed out", signedOut, "/account/signup", url.Values{"email": {"citizen@ay.test"}, "name": {"Zoé"}, "password": {testsupport.Password}})
	for _, f := range []url.Values{
		{"slug": {"Pas un slug!"}, "question": {"Comment se loger ?"}},
		{"slug": {"logement"}, "question": {"Q"}},
		{"slug": {"velo"}, "question": {"Comment se loger demain ?"}},
		{"slug": {"logement"}, "question": {"Comment se loger demain ?"}, "opens_at": {"demain"}},
		{"slug": {"logement"}, "question": {"Comment se loger demain ?"}, "steps": {"pas de date"}},
		{"slug": {"logement"}, "question": {"Comment se loger demain ?"}, "themes": {"Pas un thème !"}},
		{"slug": {"logement"}, "question": {"Comment se loger demain ?"}, "prefix": {strings.Repeat("p", 200)}},
		{"slug": {"logement"}, "question": {"Comment se loger demain ?"}, "language": {"xx"}},
		{"slug": {"logement"}, "question": {"Comment se loger demain ?"}, "opens_at": {"2026-03-01"}, "closes_at": {"2026-02-01"}},
	} {
		post("tenant-admin", admin, "/admin/consultations", f)
	}
	post("tenant-admin", admin, "/admin/consultations/velo", url.Values{"question": {"Q"}})
	post("tenant-admin", admin, "/admin/consultations/culture", url.Values{"question": {"Comment rendre la culture accessible à tous ?"}})
	post("tenant-admin", admin, "/admin/consultations/velo/status", url.Values{"to": {"ailleurs"}})
	post("tenant-admin", admin, "/admin/consultations/culture/status", url.Values{"to": {"open"}})
	for _, f := range []url.Values{
		{"email": {"pas-une-adresse"}, "name": {"Zoé"}, "password": {testsupport.Password}, "role": {"citizen"}},
		{"email": {"zoe@ay.test"}, "name": {"Zoé"}, "password": {"court"}, "role": {"citizen"}},
		{"email": {"zoe@ay.test"}, "name": {"Zoé"}, "password": {testsupport.Password}, "role": {"roi"}},
		{"email": {"citizen@ay.test"}, "name": {"Zoé"}, "password": {testsupport.Password}, "role": {"citizen"}},
	} {
		post("tenant-admin", admin, "/admin/users", f)
	}
	me := itoa64(w.A.Users[authz.TenantAdmin].ID)
	post("tenant-admin", admin, "/admin/users/"+me+"/roles", url.Values{"role": {"roi"}})
	post("tenant-admin", admin, "/admin/users/"+me+"/roles/tenant-admin/revoke", url.Values{})
	post("tenant-admin", admin, "/admin/users/999999/roles", url.Values{"role": {"moderator"}})
	for _, f := range []url.Values{
		{"name": {"Ville de ay"}, "color_primary": {"#ffff00"}, "color_accent": {"#000000"}, "default_locale": {"fr"}, "time_zone": {"Europe/Paris"}},
		{"name": {"Ville de ay"}, "color_primary": {"jaune"}, "color_accent": {"#000000"}, "default_locale": {"fr"}, "time_zone": {"Europe/Paris"}},
		{"name": {""}, "color_primary": {"#1d4ed8"}, "color_accent": {"#000000"}, "default_locale": {"fr"}, "time_zone": {"Europe/Paris"}},
		{"name": {"Ville de ay"}, "color_primary": {"#1d4ed8"}, "color_accent": {"#000000"}, "default_locale": {"xx"}, "time_zone": {"Europe/Paris"}},
		{"name": {"Ville de ay"}, "color_primary": {"#1d4ed8"}, "color_accent": {"#000000"}, "default_locale": {"fr"}, "time_zone": {"Mars/Olympus"}},
		{"name": {"Ville de ay"}, "logo_url": {"javascript:alert(1)"}, "color_primary": {"#1d4ed8"}, "color_accent": {"#000000"}, "default_locale": {"fr"}, "time_zone": {"Europe/Paris"}},
	} {
		post("tenant-admin", admin, "/admin/branding", f)
	}
	post("tenant-admin", admin, "/admin/pages/mentions-legales", url.Values{"markdown": {strings.Repeat("a", 200_001)}})
	post("tenant-admin", admin, "/admin/pages/nope", url.Values{"markdown": {"Texte"}})
	post("tenant-admin", admin, "/admin/plugins/nope", url.Values{"action": {"enable"}})
	post("tenant-admin", admin, "/admin/plugins/nope", url.Values{"action": {"ailleurs"}})
	moderator := visitors[string(authz.Moderator)]
	post("moderator", moderator, "/admin/moderation/"+itoa64(pendingID)+"/refuse", url.Values{"reason": {""}})
	post("moderator", moderator, "/admin/moderation/"+itoa64(pendingID)+"/accept", url.Values{"theme": {"nope"}})
	post("moderator", moderator, "/admin/moderation/999999/accept", url.Values{})
	post("auditor", visitors[string(authz.Auditor)], "/admin/users", url.Values{"email": {"zoe@ay.test"}})
	post("citizen", citizen, "/admin/branding", url.Values{"name": {"Pirate"}})
	for _, f := range []url.Values{
		{"slug": {"Pas un slug!"}, "name": {"Ville de Tours"}, "kind": {"city"}, "host": {"tours.test"}},
		{"slug": {"tours"}, "name": {"Ville de Tours"}, "kind": {"planet"}, "host": {"tours.test"}},
		{"slug": {"tours"}, "name": {"Ville de Tours"}, "kind": {"city"}, "host": {"ay.test"}},
		{"slug": {"ay"}, "name": {"Ville de Tours"}, "kind": {"city"}, "host": {"tours.test"}},
	} {
		post("platform admin", platform, "/platform/tenants", f)
	}
	post("platform admin", platform, "/platform/tenants/ay/hosts", url.Values{"host": {"pas un hôte"}})
	post("platform admin", platform, "/platform/tenants/nope/suspend", url.Values{})
	// A form without its CSRF token.
	check("citizen", "POST without CSRF", citizen.WithCSRF("faux").Do("POST", "/c/velo/propose", nil))

	if pages < 100 {
		t.Errorf("only %d French pages read", pages)
	}
	for _, f := range found {
		t.Error(f)
	}
	t.Logf("%d French pages read", pages)
}

// The API keeps its error codes whatever the language; its messages follow Accept-Language
// (q-values weighed), and English when the header asks for no language the site has.
func TestAPI_ErrorMessagesFollowAcceptLanguage(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newConsultation(t, e)
	bad := map[string]string{"content": "Il faut <b>ouvrir</b> les musées le soir"}
	for _, c := range []struct{ header, want string }{
		{"fr", "Écrivez du texte simple : les balises HTML comme <b> ne sont pas acceptées."},
		{"fr-FR,fr;q=0.9,en;q=0.8", "Écrivez du texte simple"},
		{"en-GB;q=0.4, fr-CA;q=0.7", "Écrivez du texte simple"},
		{"fr;q=0, en", "write plain text only: HTML tags such as <b> are not allowed"},
		{"en", "write plain text only: HTML tags such as <b> are not allowed"},
		{"de, *;q=0.1", "write plain text only"},
		{"", "write plain text only"},
	} {
		res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/proposals", Token: w.A.Tokens[authz.Citizen],
			Body: bad, Header: map[string]string{"Accept-Language": c.header}})
		var body httpapi.ErrorBody
		res.JSON(t, &body)
		if res.Status != http.StatusBadRequest || body.Error.Code != "invalid" || body.Error.Field != "content" || !strings.Contains(body.Error.Message, c.want) {
			t.Errorf("Accept-Language %q: %d %+v, want code invalid and %q", c.header, res.Status, body.Error, c.want)
		}
	}
	// A message without its own key says what happened by kind, in French; its code stays.
	res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/no/such/endpoint", Header: map[string]string{"Accept-Language": "fr"}})
	var body httpapi.ErrorBody
	res.JSON(t, &body)
	if body.Error.Code != "not_found" || englishTells.MatchString(body.Error.Message) {
		t.Errorf("a message without a key, in French: %+v", body.Error)
	}
	// Numbers in a message are written the French way.
	res = w.Do(testsupport.Request{Method: "PATCH", Host: w.A.Host, Path: "/api/v1/tenant", Token: w.A.Tokens[authz.TenantAdmin],
		Body: map[string]string{"color_primary": "#ffff00"}, Header: map[string]string{"Accept-Language": "fr"}})
	res.JSON(t, &body)
	if res.Status != http.StatusBadRequest || !strings.Contains(body.Error.Message, "1,07:1") || body.Error.Field != "color_primary" {
		t.Errorf("contrast in French: %d %+v", res.Status, body.Error)
	}
}

func TestDecimal_DurationAndPercent(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{web.Decimal("fr", 1.507, 2), "1,51"}, {web.Decimal("en", 1.507, 2), "1.51"}, {web.Decimal("fr", 12345.5, 1), "12\u202f345,5"},
		{web.Decimal("fr", -0.25, 2), "-0,25"}, {web.Decimal("en", 3, 0), "3"},
		{web.Percent("fr", 25), "25\u202f%"}, {web.Percent("en", 25), "25%"},
		{web.Duration("fr", 26*time.Hour+90*time.Second), "1\u00a0j 2\u00a0h 1\u00a0min 30\u00a0s"}, {web.Duration("en", 5*time.Minute), "5\u00a0min"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// The core's messages get their numbers already written for the reader ("2 000", "4,5"):
// their texts take every number as %s, and a French text takes no more values than the English.
func TestMessages_ErrorTextsTakeLocalisedNumbers(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	verb := regexp.MustCompile(`%(\[\d+\])?[a-zA-Z]`)
	en, fr := e.Server.Pages.Keys("en"), e.Server.Pages.Keys("fr")
	n := 0
	for key, text := range en {
		if !strings.HasPrefix(key, "err_") {
			continue
		}
		n++
		for _, loc := range []string{text, fr[key]} {
			for _, v := range verb.FindAllString(loc, -1) {
				if last := v[len(v)-1]; last != 's' && last != 'q' && last != 'v' {
					t.Errorf("%s: %q takes %s: numbers come as text", key, loc, v)
				}
			}
		}
		if len(verb.FindAllString(fr[key], -1)) > len(verb.FindAllString(text, -1)) && !strings.Contains(fr[key], "%[") {
			t.Errorf("%s: the French text takes more values than the English", key)
		}
	}
	if n < 100 {
		t.Errorf("only %d error texts", n)
	}
}
