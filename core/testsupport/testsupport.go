// Package testsupport builds what tests need once, for every package: a wired application on
// a real database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set), tenants, accounts of
// every role with their API tokens, and HTTP requests through app.Test.
package testsupport

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/app"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/config"
	"github.com/concorde-civic/concorde/core/httpapi"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/tenants"
)

// Secret is the server secret of test apps.
const Secret = "test-secret-test-secret-test-secret-0123"

// CheapHasher keeps password hashing fast in tests.
var CheapHasher = identity.Hasher{Memory: 1024, Time: 1, Threads: 1}

// Env is a wired application with its HTTP server.
type Env struct {
	T      testing.TB
	App    *app.App
	Server *httpapi.Server
}

// New wires an application on a fresh database of the given dialect ("sqlite" or "postgres").
func New(t testing.TB, dialect string) *Env {
	t.Helper()
	return NewAt(t, storetest.URL(t, dialect))
}

// NewAt wires an application on an existing database: two Envs on one URL are two nodes of
// one installation.
func NewAt(t testing.TB, databaseURL string) *Env {
	t.Helper()
	return NewConfigured(t, databaseURL, nil)
}

// NewConfigured is NewAt with the test configuration changed by change (if not nil) first,
// for tests of a setting (such as CONCORDE_ENV=production).
func NewConfigured(t testing.TB, databaseURL string, change func(*config.Config)) *Env {
	t.Helper()
	cfg := config.Config{
		Addr: ":0", DatabaseURL: databaseURL, Secret: Secret, Env: "development",
		PlatformHost: "admin.test", CookieSecure: false, SessionTTL: time.Hour, LogLevel: "error",
	}
	if change != nil {
		change(&cfg)
	}
	log := slog.New(slog.NewTextHandler(logOutput(), nil))
	a, err := app.Open(context.Background(), cfg, log, app.Options{Hasher: &CheapHasher})
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	srv, err := a.HTTP()
	if err != nil {
		t.Fatalf("http: %v", err)
	}
	return &Env{T: t, App: a, Server: srv}
}

// Each runs fn on a fresh Env per available dialect.
func Each(t *testing.T, fn func(t *testing.T, e *Env)) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) { fn(t, New(t, d)) })
	}
}

// Site is a tenant with one account and API token per role.
type Site struct {
	Tenant tenants.Tenant
	Host   string
	Users  map[authz.Role]staff.Member
	Tokens map[authz.Role]string
}

// TenantRoles are the roles a tenant's own staff can hold.
var TenantRoles = []authz.Role{authz.TenantAdmin, authz.Moderator, authz.Auditor, authz.Citizen}

// Site creates a tenant served at <slug>.test with an account and token for every tenant role.
func (e *Env) Site(slug string) *Site {
	e.T.Helper()
	ctx := context.Background()
	t, err := e.App.Tenants.Create(ctx, "test", tenants.NewTenant{Slug: slug, Kind: "city", Name: "Ville de " + slug, Hosts: []string{slug + ".test"}})
	if err != nil {
		e.T.Fatalf("create tenant %s: %v", slug, err)
	}
	s := &Site{Tenant: t, Host: slug + ".test", Users: map[authz.Role]staff.Member{}, Tokens: map[authz.Role]string{}}
	for _, r := range TenantRoles {
		s.Users[r], s.Tokens[r] = e.Account(t.ID, string(r)+"@"+slug+".test", r)
	}
	return s
}

// Account creates an account with a role in a tenant and returns it with an API token.
func (e *Env) Account(tenantID int64, email string, role authz.Role) (staff.Member, string) {
	e.T.Helper()
	ctx := context.Background()
	m, err := e.App.Staff.Create(ctx, "test", tenantID, staff.NewUser{Email: email, Name: string(role), Password: Password, Role: string(role)})
	if err != nil {
		e.T.Fatalf("create %s: %v", email, err)
	}
	// As the account itself: citizens and partners get tokens only for themselves.
	self := caller.WithPrincipal(ctx, caller.Principal{Subject: authz.UserSubject(tenantID, m.ID), UserTenantID: tenantID, UserID: m.ID, Email: m.Email})
	tok, _, err := e.App.Staff.CreateToken(self, "test", tenantID, m.ID, "test")
	if err != nil {
		e.T.Fatalf("token for %s: %v", email, err)
	}
	return m, tok
}

// Password is every test account's password.
const Password = "correct horse battery"

// Request is one HTTP request to the test server.
type Request struct {
	Method, Host, Path string
	Token              string            // sent as Authorization: Bearer
	Body               any               // marshalled to JSON unless it is a string or []byte
	Header             map[string]string // extra headers
	Cookies            []*http.Cookie
}

// Response is a read response.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
	Cookie []*http.Cookie
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Do sends a request through app.Test.
func (e *Env) Do(r Request) Response {
	e.T.Helper()
	var body io.Reader
	ct := ""
	switch b := r.Body.(type) {
	case nil:
	case string:
		body, ct = strings.NewReader(b), "application/json"
	case []byte:
		body, ct = bytes.NewReader(b), "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		body, ct = bytes.NewReader(raw), "application/json"
	}
	req := httptest.NewRequest(r.Method, "http://"+r.Host+r.Path, body)
	req.Host = r.Host
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	for _, c := range r.Cookies {
		req.AddCookie(c)
	}
	resp, err := e.Server.App.Test(req, 10000)
	if err != nil {
		e.T.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Body: b, Header: resp.Header, Cookie: resp.Cookies()}
}

// Visitor is a browser-like client of one site: it keeps its cookies and sends the CSRF
// token with every write, as the site's pages do.
type Visitor struct {
	env     *Env
	Host    string
	cookies map[string]*http.Cookie
	csrf    string
	// Header is sent with every request (for instance the X-Forwarded-For a proxy would add).
	Header map[string]string
}

// Visitor returns a new visitor of host with no cookies yet.
func (e *Env) Visitor(host string) *Visitor {
	return &Visitor{env: e, Host: host, cookies: map[string]*http.Cookie{}}
}

// Do sends a request with the visitor's cookies and CSRF token, and keeps the cookies set.
func (v *Visitor) Do(method, path string, body any) Response {
	v.env.T.Helper()
	if v.csrf == "" && method != http.MethodGet {
		v.refreshCSRF()
	}
	r := Request{Method: method, Host: v.Host, Path: path, Body: body, Header: map[string]string{}}
	for k, h := range v.Header {
		r.Header[k] = h
	}
	if v.csrf != "" {
		r.Header["X-CSRF-Token"] = v.csrf
	}
	for _, c := range v.cookies {
		r.Cookies = append(r.Cookies, c)
	}
	res := v.env.Do(r)
	for _, c := range res.Cookie {
		if c.MaxAge < 0 || c.Value == "" {
			delete(v.cookies, c.Name)
			v.csrf = ""
			continue
		}
		if old, ok := v.cookies[c.Name]; !ok || old.Value != c.Value {
			v.csrf = ""
		}
		v.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
	return res
}

// SignIn signs the visitor in.
func (v *Visitor) SignIn(email, password string) Response {
	v.env.T.Helper()
	return v.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": password})
}

func (v *Visitor) refreshCSRF() {
	res := v.Do(http.MethodGet, "/api/v1/auth/me", nil)
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.Unmarshal(res.Body, &me)
	v.csrf = me.CSRF
}

// logOutput is where test apps log: nowhere, unless CONCORDE_TEST_LOG=1.
func logOutput() io.Writer {
	if os.Getenv("CONCORDE_TEST_LOG") == "1" {
		return os.Stderr
	}
	return io.Discard
}

// WithCSRF returns the same visitor sending another CSRF token (a plugin's, a forged one).
func (v *Visitor) WithCSRF(token string) *Visitor {
	return &Visitor{env: v.env, Host: v.Host, cookies: v.cookies, csrf: token}
}

// Clone returns a copy of the visitor with its cookies as they are now: a browser that keeps
// them whatever later answers ask it to forget.
func (v *Visitor) Clone() *Visitor {
	cookies := make(map[string]*http.Cookie, len(v.cookies))
	for k, c := range v.cookies {
		cookies[k] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
	return &Visitor{env: v.env, Host: v.Host, cookies: cookies, csrf: v.csrf}
}

// On returns the same visitor (cookies and CSRF token) talking to another node.
func (v *Visitor) On(e *Env) *Visitor {
	return &Visitor{env: e, Host: v.Host, cookies: v.cookies, csrf: v.csrf}
}
