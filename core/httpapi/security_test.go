package httpapi_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// cookie is the named cookie a response sets, or nil.
func cookie(res testsupport.Response, name string) *http.Cookie {
	for _, c := range res.Cookie {
		if c.Name == name && c.Value != "" && c.MaxAge >= 0 {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	return nil
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// formPost sends an HTML form as a browser does.
func formPost(e *testsupport.Env, host, path string, form url.Values, header map[string]string, cookies ...*http.Cookie) testsupport.Response {
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range header {
		h[k] = v
	}
	return e.Do(testsupport.Request{Method: "POST", Host: host, Path: path, Body: []byte(form.Encode()), Header: h, Cookies: cookies})
}

// A signed-in visitor whose participant cookie is gone gets a new one on their next GET. The
// CSRF token that GET hands out must stay bound to the session, or their next write is refused.
func TestCSRF_TokenStaysBoundToTheSessionWhenTheParticipantCookieIsRenewed(t *testing.T) {
	e := testsupport.New(t, storetest.Dialects()[0])
	a := e.Site("ay")
	email := a.Users[authz.Citizen].Email
	res := e.Do(testsupport.Request{Method: "POST", Host: a.Host, Path: "/api/v1/auth/login", Body: map[string]string{"email": email, "password": testsupport.Password}})
	session := cookie(res, "concorde_session")
	if res.Status != http.StatusOK || session == nil {
		t.Fatalf("login: %d %s", res.Status, res.Body)
	}
	res = e.Do(testsupport.Request{Method: "GET", Host: a.Host, Path: "/api/v1/auth/me", Cookies: []*http.Cookie{session}})
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	res.JSON(t, &me)
	participant := cookie(res, "concorde_participant")
	if participant == nil || me.CSRF == "" {
		t.Fatalf("the GET gave no participant cookie or no token: %s", res.Body)
	}
	res = e.Do(testsupport.Request{Method: "POST", Host: a.Host, Path: "/api/v1/auth/logout", Cookies: []*http.Cookie{session, participant},
		Header: map[string]string{"X-CSRF-Token": me.CSRF}})
	if res.Status != http.StatusNoContent {
		t.Fatalf("write with the token the last GET gave: %d %s", res.Status, res.Body)
	}
}

// Login CSRF: a cross-site form posted to the sign-in or sign-up form must not sign the
// victim into the attacker's account, with or without the victim's cookies.
func TestCSRF_CrossSiteSignInAndSignUpAreRefused(t *testing.T) {
	e := testsupport.New(t, storetest.Dialects()[0])
	a := e.Site("ay")
	e.Site("bee")
	attacker := a.Users[authz.Citizen].Email
	signin := url.Values{"email": {attacker}, "password": {testsupport.Password}}
	signup := func(email string) url.Values {
		return url.Values{"email": {email}, "name": {"Eve"}, "password": {"a long enough password"}}
	}
	// A visitor of the site: a participant cookie and the form's token bound to it.
	page := e.Do(testsupport.Request{Method: "GET", Host: a.Host, Path: "/account"})
	participant := cookie(page, "concorde_participant")
	m := csrfInput.FindSubmatch(page.Body)
	if participant == nil || m == nil {
		t.Fatalf("the account page gives no participant cookie or no form token")
	}
	token := string(m[1])
	withToken := func(v url.Values) url.Values {
		out := url.Values{"_csrf": {token}}
		for k, x := range v {
			out[k] = x
		}
		return out
	}

	refused := []struct {
		name    string
		path    string
		form    url.Values
		header  map[string]string
		cookies []*http.Cookie
	}{
		{"sign-in from another site, cookies withheld (SameSite)", "/account/signin", signin, map[string]string{"Origin": "https://evil.example"}, nil},
		{"sign-in, Sec-Fetch-Site cross-site", "/account/signin", signin, map[string]string{"Sec-Fetch-Site": "cross-site"}, nil},
		{"sign-in from no page at all (no token, no cookie)", "/account/signin", signin, nil, nil},
		{"sign-up from another site", "/account/signup", signup("eve1@example.org"), map[string]string{"Origin": "https://evil.example"}, nil},
		{"sign-up with no token", "/account/signup", signup("eve2@example.org"), nil, nil},
		{"sign-in from another tenant's site, with the victim's cookie and token", "/account/signin", withToken(signin),
			map[string]string{"Origin": "http://bee.test", "Sec-Fetch-Site": "same-site"}, []*http.Cookie{participant}},
		{"sign-in with the cookie but a null origin", "/account/signin", withToken(signin), map[string]string{"Origin": "null"}, []*http.Cookie{participant}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			res := formPost(e, a.Host, tc.path, tc.form, tc.header, tc.cookies...)
			if res.Status != http.StatusForbidden || cookie(res, "concorde_session") != nil {
				t.Fatalf("%d, session cookie %v: %s", res.Status, cookie(res, "concorde_session"), res.Body)
			}
		})
	}
	if res := e.Do(testsupport.Request{Method: "GET", Host: a.Host, Path: "/api/v1/users", Token: a.Tokens[authz.TenantAdmin]}); strings.Contains(string(res.Body), "eve") {
		t.Fatalf("a refused sign-up created an account: %s", res.Body)
	}
	// JSON sign-in from another site's script is refused too.
	res := e.Do(testsupport.Request{Method: "POST", Host: a.Host, Path: "/api/v1/auth/login", Body: map[string]string{"email": attacker, "password": testsupport.Password},
		Header: map[string]string{"Origin": "https://evil.example"}})
	if res.Status != http.StatusForbidden {
		t.Fatalf("cross-site JSON login: %d %s", res.Status, res.Body)
	}

	// What still works: the site's own form, a script without cookies, a bearer token.
	res = formPost(e, a.Host, "/account/signin", withToken(signin), map[string]string{"Origin": "http://" + a.Host, "Sec-Fetch-Site": "same-origin"}, participant)
	if res.Status != http.StatusSeeOther || cookie(res, "concorde_session") == nil {
		t.Fatalf("the site's own sign-in form: %d %s", res.Status, res.Body)
	}
	res = e.Do(testsupport.Request{Method: "POST", Host: a.Host, Path: "/api/v1/auth/login", Body: map[string]string{"email": attacker, "password": testsupport.Password}})
	if res.Status != http.StatusOK {
		t.Fatalf("a script's JSON sign-in: %d %s", res.Status, res.Body)
	}
	res = e.Do(testsupport.Request{Method: "POST", Host: a.Host, Path: "/api/v1/consultations", Token: a.Tokens[authz.TenantAdmin],
		Header: map[string]string{"Origin": "https://tools.example"},
		Body:   map[string]any{"slug": "bearer", "question": "Une question posée avec un jeton ?", "themes": []map[string]string{}}})
	if res.Status != http.StatusCreated {
		t.Fatalf("a bearer-token write: %d %s", res.Status, res.Body)
	}
}

// A return address may only lead to a path of this site, whatever a browser would make of it.
func TestRedirects_NextAndReturnStayOnTheSite(t *testing.T) {
	e := testsupport.New(t, storetest.Dialects()[0])
	a := e.Site("ay")
	for _, next := range []string{
		"//evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example", "\t//evil.example",
		" //evil.example", "/ /evil.example", "/\\/evil.example", "/\\\tevil.example", "http://evil.example/", "https:evil.example",
		"javascript:alert(1)", "/\u00a0/evil.example", "/c/x\x7f", "", "c/relative",
	} {
		res := e.Do(testsupport.Request{Method: "GET", Host: a.Host, Path: "/lang/fr?next=" + url.QueryEscape(next)})
		loc := res.Header.Get("Location")
		if res.Status != http.StatusSeeOther || loc != "/" {
			t.Errorf("next=%q: %d Location %q, want the fallback /", next, res.Status, loc)
		}
	}
	for _, next := range []string{"/c/culture", "/c/culture/proposals?q=mus%C3%A9e&page=2#p-3", "/account"} {
		res := e.Do(testsupport.Request{Method: "GET", Host: a.Host, Path: "/lang/fr?next=" + url.QueryEscape(next)})
		loc := res.Header.Get("Location")
		u, err := url.Parse(loc)
		if res.Status != http.StatusSeeOther || err != nil || u.Host != "" || !strings.HasPrefix(loc, "/c/") && loc != "/account" {
			t.Errorf("next=%q: %d Location %q", next, res.Status, loc)
		}
	}
}

// The tenant comes from the Host header: an absolute URI in the request line naming another
// tenant's host must not switch tenants.
func TestTenant_AbsoluteRequestLineCannotOverrideHost(t *testing.T) {
	e := testsupport.New(t, storetest.Dialects()[0])
	a, b := e.Site("ay"), e.Site("bee")
	addr := serve(t, e)
	raw := func(requestLine, host string) (int, string) {
		return rawDo(t, addr, requestLine+"\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
	}
	status, body := raw("GET http://"+b.Host+"/ HTTP/1.1", a.Host)
	if status == http.StatusOK && strings.Contains(body, b.Tenant.Name) {
		t.Fatalf("the request line chose tenant %s over the Host header %s", b.Host, a.Host)
	}
	if status != http.StatusBadRequest {
		t.Fatalf("absolute URI naming another host: %d, want 400", status)
	}
	// The same host in both places is an ordinary request.
	if status, body := raw("GET http://"+a.Host+"/ HTTP/1.1", a.Host); status != http.StatusOK || !strings.Contains(body, a.Tenant.Name) {
		t.Fatalf("absolute URI naming the same host: %d", status)
	}
}

// serve runs the env's app on a real listener (for requests app.Test cannot send) until the
// test ends, and returns its address.
func serve(t *testing.T, e *testsupport.Env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.Server.App.Listener(ln) }()
	t.Cleanup(func() { _ = e.Server.App.Shutdown() })
	return ln.Addr().String()
}

// rawDo sends request as is and returns the response's status and body.
func rawDo(t *testing.T, addr, request string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
