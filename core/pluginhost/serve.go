package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/plugins/sdk"
	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
	"github.com/concorde-civic/concorde/tenants"
)

// Request is a request the HTTP layer forwards to a plugin.
type Request struct {
	Tenant    *tenants.Tenant
	Principal caller.Principal
	CSRFToken string
	Plugin    string
	Kind      string // "page" (under /p/NAME) or "api" (under /api/v1/p/NAME)
	Method    string
	Path      string // after the prefix, starting with "/"
	RawQuery  string
	Header    http.Header
	Body      []byte
	Locale    string
	BaseURL   string // absolute URL of /p/NAME on the tenant's site
}

// Response is a plugin's answer, validated.
type Response struct {
	Status int
	Header http.Header // only allowed headers, Content-Type included
	Body   []byte
	// Page is set for an HTML page, to be wrapped in the tenant's layout; Body is then empty.
	Page *Page
}

// Page is a plugin's HTML page: a sanitised fragment with its title and JSON-LD.
type Page struct {
	Title  string
	HTML   string // sanitised: safe to insert as is
	JSONLD string // valid JSON with <, > and & escaped; empty when none
}

// forwardedHeaders are the request headers a plugin gets; never cookies or credentials.
var forwardedHeaders = sdk.ForwardedHeaders

// Serve forwards a request to a plugin: it checks the plugin is enabled for the tenant
// (404 otherwise), that the route exists in its manifest, that the caller holds the
// permission the route declares, and that the plugin runs (503 otherwise); then it calls it
// with a deadline and validates the answer.
func (h *Host) Serve(ctx context.Context, req Request) (*Response, error) {
	p, err := h.installed(ctx, req.Plugin)
	if errs.Is(err, errs.NotFound) {
		return nil, notFound()
	} else if err != nil {
		return nil, err
	}
	enabled, settings, err := h.enabledFor(ctx, req.Tenant.ID, req.Plugin)
	if err != nil {
		return nil, err
	}
	if !enabled {
		return nil, notFound()
	}
	path := req.Path
	if path == "" {
		path = "/"
	}
	if req.Kind == "api" {
		path = "/api" + path
	} else if path == "/api" || strings.HasPrefix(path, "/api/") {
		return nil, notFound()
	}
	route := matchRoute(p.Manifest, req.Method, path)
	if route == nil {
		return nil, notFound()
	}
	dom := authz.Domain(req.Tenant.ID)
	ok, err := h.authz.Allowed(req.Principal.Subject, dom, PermissionObject(p.Name, route.GetObject()), route.GetAction())
	if err != nil {
		return nil, err
	}
	if !ok {
		if req.Principal.Anonymous() {
			return nil, errs.E(errs.Unauthorized, "sign in to do this").Say("err_sign_in")
		}
		return nil, errs.E(errs.Forbidden, "your role does not allow this here").Say("error_msg_forbidden")
	}
	if len(req.Body) > h.limits.MaxRequestBytes {
		return nil, errs.E(errs.TooLarge, "the body is larger than %d KiB", h.limits.MaxRequestBytes>>10).Say("err_body_too_large")
	}

	proc := h.processFor(p, req.Tenant.ID)
	select {
	case proc.sem <- struct{}{}:
		defer func() { <-proc.sem }()
	default:
		h.m.errors.WithLabelValues(p.Name, "busy").Inc()
		return nil, errs.E(errs.Unavailable, "the %s feature is busy; try again in a moment", p.Name)
	}
	startCtx, cancel := context.WithTimeout(ctx, h.limits.StartTimeout)
	l, done, err := proc.client(startCtx)
	cancel()
	if err != nil {
		h.m.errors.WithLabelValues(p.Name, "down").Inc()
		return nil, err
	}
	defer done()

	var roles []string
	for _, r := range h.authz.RolesOf(req.Principal.Subject, dom) {
		roles = append(roles, string(r))
	}
	token, end := h.calls.begin(callScope{tenantID: req.Tenant.ID, plugin: p.Name, participant: req.Principal.Participant()})
	defer end()
	preq := &pluginpb.HandleRequest{
		CallToken: token, Method: req.Method, Path: path, RawQuery: req.RawQuery, Body: req.Body,
		Tenant:    tenantMessage(req.Tenant),
		Principal: &pluginpb.Principal{Subject: req.Principal.Subject, Roles: roles, Anonymous: req.Principal.Anonymous(), Participant: req.Principal.ParticipantID, CsrfToken: req.CSRFToken},
		Settings:  settings, Kind: req.Kind, Locale: req.Locale, BaseUrl: req.BaseURL,
	}
	for _, name := range forwardedHeaders {
		if v := req.Header.Values(name); len(v) > 0 {
			preq.Headers = append(preq.Headers, &pluginpb.Header{Name: name, Values: v})
		}
	}
	cctx, cancel := context.WithTimeout(ctx, h.limits.CallTimeout)
	defer cancel()
	start := time.Now()
	resp, err := l.rpc.Handle(cctx, preq)
	h.m.calls.WithLabelValues(p.Name, "handle").Inc()
	h.m.latency.WithLabelValues(p.Name).Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, h.callError(p.Name, err)
	}
	out, err := h.validate(resp, req.Kind, p.Name)
	if err != nil {
		h.m.errors.WithLabelValues(p.Name, "invalid_response").Inc()
		h.log.Warn("plugin answered badly", "plugin", p.Name, "path", path, "error", err.Error())
		return nil, errs.Wrap(errs.Unavailable, err, "the %s feature answered something this site cannot show; try again later", p.Name)
	}
	return out, nil
}

func (h *Host) callError(name string, err error) error {
	reason, msg := "error", "the %s feature is unavailable; try again in a moment"
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		reason, msg = "timeout", "the %s feature did not answer in time; try again later"
	case codes.ResourceExhausted:
		reason, msg = "too_large", "the %s feature answered more than this site accepts"
	case codes.Canceled:
		reason = "canceled"
	}
	h.m.errors.WithLabelValues(name, reason).Inc()
	h.log.Warn("plugin call failed", "plugin", name, "reason", reason, "error", err.Error())
	return errs.Wrap(errs.Unavailable, err, msg, name)
}

// responseHeaders are the headers a plugin may set (besides Content-Type).
var responseHeaders = map[string]bool{
	"Cache-Control": true, "Etag": true, "Last-Modified": true, "Location": true,
	"Content-Disposition": true, "Content-Language": true, "Vary": true,
}

// contentTypes a plugin may answer with, by kind of route. text/html pages are wrapped.
var contentTypes = map[string]map[string]bool{
	"api":  {"application/json": true, "text/calendar": true, "text/csv": true, "text/plain": true, "application/ld+json": true},
	"page": {"text/html": true, "text/calendar": true, "text/csv": true, "text/plain": true, "application/json": true},
}

// cleanHeaderValue reports whether v holds no control character (no CR or LF to split on).
func cleanHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// validate treats a plugin's response as untrusted input.
func (h *Host) validate(resp *pluginpb.HandleResponse, kind, plugin string) (*Response, error) {
	st := int(resp.GetStatus())
	if st < 200 || st > 599 || (st >= 300 && st < 400 && st != 301 && st != 302 && st != 303 && st != 304 && st != 307 && st != 308) {
		return nil, errors.New("status out of range")
	}
	if len(resp.GetBody()) > h.limits.MaxResponseBytes {
		return nil, errors.New("body too large")
	}
	out := &Response{Status: st, Header: http.Header{}, Body: resp.GetBody()}
	ctype := ""
	for _, hd := range resp.GetHeaders() {
		name := http.CanonicalHeaderKey(hd.GetName())
		if len(hd.GetValues()) == 0 {
			continue
		}
		v := hd.GetValues()[0]
		if len(v) > 1024 || !cleanHeaderValue(v) {
			return nil, errors.New("malformed header value in " + name)
		}
		switch {
		case name == "Content-Type":
			ctype = v
		case name == "Location":
			if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.Contains(v, "\\") {
				return nil, errors.New("redirect away from the site")
			}
			out.Header.Set(name, v)
		case responseHeaders[name]:
			out.Header.Set(name, v)
		}
	}
	if len(out.Body) == 0 && ctype == "" {
		return out, nil
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || !contentTypes[kind][mt] {
		return nil, errors.New("content type not allowed: " + ctype)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, errors.New("charset must be utf-8")
	}
	switch mt {
	case "application/json", "application/ld+json":
		if !json.Valid(out.Body) {
			return nil, errors.New("malformed JSON")
		}
		out.Header.Set("Content-Type", mt)
	case "text/html":
		page := &Page{Title: pageTitle(resp.GetPageTitle()), HTML: sanitizerFor(plugin).Sanitize(string(out.Body))}
		if ld := resp.GetJsonLd(); ld != "" {
			var v any
			if err := json.Unmarshal([]byte(ld), &v); err != nil {
				return nil, errors.New("malformed JSON-LD")
			}
			b, _ := json.Marshal(v) // escapes <, > and &: safe inside a script element
			page.JSONLD = string(b)
		}
		out.Page, out.Body = page, nil
	default:
		out.Header.Set("Content-Type", mt+"; charset=utf-8")
	}
	return out, nil
}

// sanitizers holds one policy per plugin: name → *bluemonday.Policy.
var sanitizers sync.Map

// sanitizerFor lets through the HTML a plugin page needs (structure, text, links, images,
// tables, forms posting back to the plugin's own paths) and nothing that runs: no script,
// style, event handler, iframe or javascript: URL. A form that would post to a core route (say
// /admin/users) loses its action, and so posts back to the plugin's page.
func sanitizerFor(plugin string) *bluemonday.Policy {
	if p, ok := sanitizers.Load(plugin); ok {
		return p.(*bluemonday.Policy)
	}
	p := newSanitizer(regexp.MustCompile(`^/(api/v1/)?p/` + regexp.QuoteMeta(plugin) + `(/|\?|#|$)`))
	actual, _ := sanitizers.LoadOrStore(plugin, p)
	return actual.(*bluemonday.Policy)
}

func newSanitizer(ownPaths *regexp.Regexp) *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	elements := []string{"section", "article", "header", "footer", "nav", "aside", "main", "figure", "figcaption",
		"time", "address", "form", "fieldset", "legend", "label", "input", "select", "optgroup", "option", "textarea",
		"button", "output", "data"}
	p.AllowElements(elements...)
	// bluemonday drops an element that has no attribute left unless told otherwise: without this
	// a bare <legend> or <optgroup> would vanish while its text stays.
	p.AllowNoAttrs().OnElements(elements...)
	p.AllowAttrs("label").OnElements("optgroup", "option")
	p.AllowAttrs("class", "id", "lang", "title", "role", "aria-label", "aria-labelledby", "aria-describedby", "aria-live", "aria-current", "hidden").Globally()
	p.AllowAttrs("datetime").OnElements("time")
	p.AllowElements("progress") // progress bars (a funding goal), drawn by the browser
	p.AllowAttrs("value", "max").Matching(regexp.MustCompile(`^[0-9]{1,19}$`)).OnElements("progress")
	p.AllowAttrs("value").OnElements("data", "input", "option", "button")
	p.AllowAttrs("action").Matching(ownPaths).OnElements("form")
	p.AllowAttrs("method").Matching(regexp.MustCompile(`(?i)^(get|post)$`)).OnElements("form")
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^(text|hidden|email|number|date|datetime-local|time|url|search|checkbox|radio|submit|reset|button)$`)).OnElements("input", "button")
	p.AllowAttrs("name", "required", "disabled", "readonly", "placeholder", "min", "max", "step", "minlength", "maxlength",
		"pattern", "checked", "selected", "multiple", "rows", "cols", "for", "autocomplete", "size").OnElements("input", "select", "option", "textarea", "button", "label", "output")
	p.RequireParseableURLs(true)
	p.AllowURLSchemes("http", "https", "mailto")
	return p
}

// maxTitle bounds a plugin page's title, in bytes.
const maxTitle = 200

// pageTitle is a plugin's page title made fit for the layout: valid UTF-8 (invalid bytes become
// U+FFFD), without surrounding space, cut to maxTitle bytes at a character boundary.
func pageTitle(title string) string {
	title = strings.TrimSpace(strings.ToValidUTF8(title, "\uFFFD"))
	if len(title) <= maxTitle {
		return title
	}
	cut := maxTitle
	for cut > 0 && !utf8.RuneStart(title[cut]) {
		cut--
	}
	return title[:cut]
}
