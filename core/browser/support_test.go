package browser_test

// How to run: `go test ./core/browser/` with Debian's chromium at /usr/bin/chromium and npm
// on the PATH (axe-core is installed once into os.UserCacheDir()/concorde-axe). Without
// them the tests skip, unless CI is set, where they fail. Screenshots go to a folder under
// the test's temp dir, logged at the start (go test -v shows it).

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/demo"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

const chromiumPath = "/usr/bin/chromium"

// site is the demo of `make run` served on a real listener, and a headless Chromium.
type site struct {
	env      *testsupport.Env
	port     int
	axe      string
	shots    string
	browser  context.Context
	tenants  map[string]tenants.Tenant
	password map[string]string // email → password
}

// need skips (or, under CI, fails) when a tool the browser tests use is missing.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (install it: .ci/run does): %v", tool, err)
		}
		t.Skipf("%s is missing, so the browser tests cannot run here (set CI to make this a failure): %v", tool, err)
	}
	return p
}

// axeSource returns axe-core's script, installed with npm into the user's cache once.
func axeSource(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "concorde-axe")
	file := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(file); err != nil {
		npm := need(t, "npm")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "axe-core@4").CombinedOutput()
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("npm install axe-core: %v\n%s", err, out)
			}
			t.Skipf("npm install axe-core failed, so the accessibility checks cannot run: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newSite(t *testing.T) *site {
	t.Helper()
	need(t, chromiumPath)
	s := &site{axe: axeSource(t), tenants: map[string]tenants.Tenant{}, password: map[string]string{}}
	// The screenshots outlive the test (t.TempDir would remove them), so people can look.
	var err error
	if s.shots = os.Getenv("CONCORDE_SCREENSHOTS"); s.shots != "" {
		err = os.MkdirAll(s.shots, 0o755)
	} else {
		s.shots, err = os.MkdirTemp("", "concorde-screenshots-")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots at 360 and 1280 px: %s", s.shots)

	s.env = testsupport.New(t, "sqlite")
	ctx := context.Background()
	logins, err := demo.Ensure(ctx, s.env.App)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	for _, l := range logins {
		s.password[l.Email] = l.Password
	}
	for _, slug := range []string{"bretagne", "bordeaux"} {
		tn, err := s.env.App.Tenants.BySlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		s.tenants[slug] = tn
		for _, r := range []authz.Role{authz.Moderator, authz.Auditor} {
			email := string(r) + "@" + slug + ".localhost"
			s.env.Account(tn.ID, email, r)
			s.password[email] = testsupport.Password
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = s.env.Server.App.Listener(ln) }()
	t.Cleanup(func() { _ = s.env.Server.App.ShutdownWithTimeout(5 * time.Second) })

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		// The platform's own site (testsupport's platform host), on loopback like *.localhost.
		chromedp.Flag("host-resolver-rules", "MAP "+s.env.App.Config.PlatformHost+" 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	s.browser = browser
	return s
}

// url is an address on a demo tenant's host (Chromium resolves *.localhost to loopback).
func (s *site) url(tenant, path string) string {
	return fmt.Sprintf("http://%s.localhost:%d%s", tenant, s.port, path)
}

// tab opens a fresh browser context (its own cookies: one person), JavaScript on or off.
func (s *site) tab(t *testing.T, js bool) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancelTimeout)
	err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		// Without scrollbars, full-page screenshots show the page at the width it is laid out for.
		if _, err := cdp.Call(ctx, tg, emulation.SetScrollbarsHidden, emulation.SetScrollbarsHiddenParams{Hidden: true}); err != nil {
			return err
		}
		if js {
			// Record every Content-Security-Policy violation, so check can fail on them.
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || e.sample)));`})
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	if err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// navigate runs steps that load a page (a click on a link or a submit button) and waits
// until it has loaded; it returns the page's HTTP status.
func navigate(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	t.Helper()
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(wait, steps...)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s (on %s): %v", what, loc, err)
	}
	return res.Status
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signIn signs in through the account page's form.
func (s *site) signIn(t *testing.T, ctx context.Context, tenant, email string) {
	t.Helper()
	do(t, ctx, "sign in as "+email,
		chromedp.Navigate(s.url(tenant, "/account")),
		chromedp.WaitVisible(chromedp.CSS("#signin-email")),
		chromedp.SendKeys(chromedp.CSS("#signin-email"), email),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), s.password[email]),
	)
	navigate(t, ctx, "sign in as "+email, chromedp.Click(chromedp.CSS(`form[action="/account/signin"] button[type=submit]`)))
	do(t, ctx, "signed in as "+email, chromedp.WaitVisible(chromedp.CSS(`form[action="/account/signout"]`)))
}

// participant is the participant key of a tab's visitor, from its cookie.
func (s *site) participant(t *testing.T, ctx context.Context) string {
	t.Helper()
	var cookie string
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{})
		if err != nil {
			return err
		}
		for _, c := range res.Cookies {
			if c.Name == "concorde_participant" {
				cookie = c.Value
			}
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	id, ok := s.env.App.Participants.Parse(cookie)
	if !ok {
		t.Fatalf("no participant cookie in this tab (%q)", cookie)
	}
	return "p:" + id
}

type storedVote struct {
	ProposalID     int64 `bun:"proposal_id"`
	Vote           int   `bun:"vote"`
	Qualifications int   `bun:"qualifications"`
	Trust          int   `bun:"trust"`
	Origin         string
}

// votesOf reads a participant's votes from the database.
func (s *site) votesOf(t *testing.T, tenant, participant string) []storedVote {
	t.Helper()
	var vs []storedVote
	err := s.env.App.DB.NewSelect().TableExpr("votes").Column("proposal_id", "vote", "qualifications", "trust", "origin").
		Where("tenant_id = ? AND participant = ?", s.tenants[tenant].ID, participant).Scan(context.Background(), &vs)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// countedVotes is the number of counted (sequence and trusted) votes the results of a
// consultation are built from, read again from the stored counters.
func (s *site) countedVotes(t *testing.T, tenant, slug string) int64 {
	t.Helper()
	ctx := context.Background()
	tn := s.tenants[tenant]
	c, err := s.env.App.Consultations.Get(ctx, tn.ID, slug)
	if err != nil {
		t.Fatal(err)
	}
	s.env.App.Catalog.Invalidate(tn.ID, c.ID)
	e, err := s.env.App.Catalog.BySlug(ctx, tn.ID, slug)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range e.Counts {
		n += c.Total(results.Trusted) + c.Total(results.Sequence)
	}
	return n
}

type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// violations runs axe-core on the page and returns its serious and critical violations.
func (s *site) violations(t *testing.T, ctx context.Context) []violation {
	t.Helper()
	if !eval[bool](t, ctx, `typeof window.axe !== 'undefined'`) {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](s.axe)); err != nil {
			t.Fatalf("inject axe: %v", err)
		}
	}
	raw := eval[string](t, ctx, `axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
		 .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' ' + (n.failureSummary || ''))}))))`)
	var vs []violation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe result %s: %v", raw, err)
	}
	return vs
}

// check runs axe-core on the page and fails on any serious or critical violation; with a
// name, it also takes screenshots at 360 and 1280 pixels wide.
func (s *site) check(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	vs := s.violations(t, ctx)
	if csp := eval[[]string](t, ctx, `window.__csp || []`); len(csp) > 0 {
		t.Errorf("Content-Security-Policy violations on %s: %v", location(t, ctx), csp)
	}
	page := location(t, ctx)
	for _, v := range vs {
		t.Errorf("axe on %s: %s (%s): %s\n  %s", page, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
	}
	if name == "" {
		return
	}
	for _, w := range []int64{360, 1280} {
		do(t, ctx, "viewport", chromedp.EmulateViewport(w, 800), chromedp.Sleep(50*time.Millisecond))
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(s.shots, fmt.Sprintf("%s-%d.png", name, w)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do(t, ctx, "reset viewport", chromedp.EmulateViewport(1280, 900))
}

// writeControls lists what on the page could change something: forms that post, and
// buttons outside forms that get.
func writeControls(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return eval[[]string](t, ctx, `(() => {
		const out = [];
		document.querySelectorAll('form').forEach(f => { if ((f.getAttribute('method') || 'get').toLowerCase() !== 'get') out.push('form ' + f.getAttribute('action')); });
		document.querySelectorAll('button, input[type=submit], input[type=button]').forEach(b => {
			const f = b.closest('form');
			if (!f || (f.getAttribute('method') || 'get').toLowerCase() !== 'get') out.push('button ' + b.textContent.trim());
		});
		return out;
	})()`)
}
