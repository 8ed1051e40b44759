package pluginhost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/pluginhost"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// The co-financing plugin through the real host and a real plugin process, over real HTTP.

var buildCofinancing sync.Once

func cofinancingBinary(t *testing.T) string {
	t.Helper()
	buildCofinancing.Do(func() {
		out := filepath.Join(filepath.Dir(binaries["culture"]), "cofinancing")
		if b, err := exec.Command("go", "build", "-o", out, "github.com/concorde-civic/concorde/plugins/cofinancing").CombinedOutput(); err != nil {
			t.Fatalf("build the cofinancing plugin: %v\n%s", err, b)
		}
		binaries["cofinancing"] = out
	})
	if binaries["cofinancing"] == "" {
		t.Fatal("the cofinancing plugin did not build")
	}
	return binaries["cofinancing"]
}

func cofinancingLimits() pluginhost.Limits {
	l := testLimits()
	l.CallTimeout = 30 * time.Second // 200 pledges at once queue behind one tenant's lock
	l.JobTick = time.Hour            // the test runs the jobs itself
	return l
}

// listen serves an Env on a real listener and returns its address.
func listen(t *testing.T, e *testsupport.Env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.Server.App.Listener(ln) }()
	t.Cleanup(func() { _ = e.Server.App.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

// cofinancingWorld is two tenants with the cofinancing plugin enabled on the first, served
// on a real listener; base is its address.
func cofinancingWorld(t *testing.T, dialect string) (*world, string) {
	t.Helper()
	cofinancingBinary(t)
	w := newWorldOn(t, dialect, "cofinancing")
	w.App.Plugins.SetLimits(cofinancingLimits())
	w.enable(t, w.A, "cofinancing")
	return w, listen(t, w.Env)
}

var client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// call sends a real HTTP request to host's site and decodes a JSON answer into out.
func call(t *testing.T, base, host, method, path, token string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Host = host
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Errorf("%s %s: %d %s: %v", method, path, res.StatusCode, b, err)
		}
	}
	return res.StatusCode
}

const api = "/api/v1/p/cofinancing"

type cofProject struct {
	ID            string
	Status, Round string
	Pledged       int64 `json:"pledged_cents"`
	Matched       int64 `json:"matched_cents"`
	Backers       int64 `json:"backers"`
	Released      int64 `json:"released_cents"`
	Settled       bool  `json:"settled"`
}

type cofFund struct {
	ID        string
	Budget    int64 `json:"budget_cents"`
	Committed int64 `json:"committed_cents"`
	Remaining int64 `json:"remaining_cents"`
}

type cofPledge struct {
	ID      string
	Amount  int64 `json:"amount_cents"`
	Matched int64 `json:"matched_cents"`
	Status  string
}

func newProject(t *testing.T, base, host, admin string, deadline time.Time, minimum, optimum int64) cofProject {
	t.Helper()
	var p cofProject
	body := map[string]any{"title": "Fresque du lavoir", "description": "Une fresque participative", "minimum_cents": minimum, "optimum_cents": optimum,
		"deadline": deadline.Format(time.RFC3339), "budget": []map[string]any{{"label": "Peinture", "cents": minimum, "kind": "minimum"},
			{"label": "Échafaudage", "cents": optimum - minimum, "kind": "optimum"}}}
	if st := call(t, base, host, "POST", api+"/projects", admin, body, &p); st != 201 || p.Status != "draft" {
		t.Fatalf("create project: %d %+v", st, p)
	}
	if st := call(t, base, host, "POST", api+"/projects/"+p.ID+"/open", admin, nil, &p); st != 200 || p.Status != "open" {
		t.Fatalf("open project: %d %+v", st, p)
	}
	return p
}

// TestCofinancing_ConcurrentPledgesNeverOvercommitAFund sends 200 pledges at once (and a
// retry of each of 50 of them, with the same idempotency key) to one project matched by two
// small funds: every pledge counts once, and each fund commits exactly what its pledges'
// matches add up to, never more than its budget.
func TestCofinancing_ConcurrentPledgesNeverOvercommitAFund(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			// Two nodes on one database, each with its own plugin process: the requests go to
			// both, so the plugin's per-process lock does not order them and only the host's
			// compare-and-set keeps the money exact.
			url := storetest.URL(t, dialect)
			one, two := testsupport.NewAt(t, url), testsupport.NewAt(t, url)
			ctx := context.Background()
			site := one.Site("ay")
			for _, e := range []*testsupport.Env{one, two} {
				e.App.Plugins.SetLimits(cofinancingLimits())
			}
			if _, err := one.App.Plugins.Install(ctx, "test", cofinancingBinary(t)); err != nil {
				t.Fatal(err)
			}
			if _, err := one.App.Plugins.Enable(ctx, "test", site.Tenant.ID, "cofinancing"); err != nil {
				t.Fatal(err)
			}
			bases := []string{listen(t, one), listen(t, two)}
			base := bases[0]
			w := &world{Env: one, A: site}
			admin := w.A.Tokens[authz.TenantAdmin]
			p := newProject(t, base, w.A.Host, admin, time.Now().Add(24*time.Hour), 500000, 1000000)
			var small, perPerson cofFund
			call(t, base, w.A.Host, "POST", api+"/funds", admin, map[string]any{"name": "Petit fonds", "budget_cents": 9999,
				"rule": map[string]any{"kind": "factor", "factor": 1, "cap_per_pledge_cents": 400}}, &small)
			call(t, base, w.A.Host, "POST", api+"/funds", admin, map[string]any{"name": "Un par personne", "budget_cents": 100000,
				"rule": map[string]any{"kind": "factor", "factor": 2, "one_per_person": true}}, &perPerson)
			for _, f := range []string{small.ID, perPerson.ID} {
				if st := call(t, base, w.A.Host, "POST", api+"/funds/"+f+"/projects", admin, map[string]any{"project_id": p.ID}, nil); st != 200 {
					t.Fatalf("attach: %d", st)
				}
			}
			const people, each = 20, 10
			tokens := make([]string, people)
			for i := range tokens {
				_, tokens[i] = w.Account(w.A.Tenant.ID, fmt.Sprintf("backer%d@ay.test", i), authz.Citizen)
			}
			// Node two learns of the tenant, the accounts and the plugin as it does every 15 s.
			two.App.Tick(ctx)
			if err := two.App.Plugins.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			type result struct {
				status int
				p      cofPledge
			}
			results := make([]result, people*each+50)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					n := i
					if i >= people*each {
						n = (i - people*each) * 4 // a retry of pledge n
					}
					results[i].status = call(t, bases[i%2], w.A.Host, "POST", api+"/projects/"+p.ID+"/pledges", tokens[n%people],
						map[string]any{"amount_cents": 100 + n, "idempotency_key": fmt.Sprintf("pledge-key-%05d", n)}, &results[i].p)
				}()
			}
			began := time.Now()
			close(start)
			wg.Wait()
			t.Logf("%s: %d pledges and 50 retries over HTTP to two nodes in %v", dialect, people*each, time.Since(began).Round(time.Millisecond))
			// Each key names one pledge, whichever of its two requests came first (201, the
			// other 200); the pledges add up to what the project and the funds say.
			byKey, ids := map[int]string{}, map[string]bool{}
			var pledged, matched int64
			for i, r := range results {
				n := i
				if i >= people*each {
					n = (i - people*each) * 4
				}
				if r.status != 201 && r.status != 200 {
					t.Fatalf("pledge %d: %d", i, r.status)
				}
				if id, ok := byKey[n]; ok && id != r.p.ID {
					t.Errorf("key %d made two pledges: %s and %s", n, id, r.p.ID)
				}
				byKey[n] = r.p.ID
				if !ids[r.p.ID] {
					ids[r.p.ID] = true
					pledged += r.p.Amount
					matched += r.p.Matched
				}
			}
			if len(ids) != people*each {
				t.Fatalf("%d distinct pledges, want %d: a retry counted twice", len(ids), people*each)
			}
			var got cofProject
			var fs, fp cofFund
			call(t, base, w.A.Host, "GET", api+"/projects/"+p.ID, "", nil, &got)
			call(t, base, w.A.Host, "GET", api+"/funds/"+small.ID, "", nil, &fs)
			call(t, base, w.A.Host, "GET", api+"/funds/"+perPerson.ID, "", nil, &fp)
			if fs.Committed != 9999 || fs.Remaining != 0 {
				t.Errorf("small fund: %+v, want all 9999 committed", fs)
			}
			if fp.Committed > fp.Budget {
				t.Errorf("per-person fund over budget: %+v", fp)
			}
			if got.Pledged != pledged || got.Matched != matched || matched != fs.Committed+fp.Committed || got.Backers != people {
				t.Errorf("project %+v; pledges add up to %d pledged, %d matched; funds committed %d + %d", got, pledged, matched, fs.Committed, fp.Committed)
			}
			// One matched pledge per person for the second fund: 20 people, factor 2.
			var perPersonMatches int64
			for _, r := range results[:people*each] {
				if r.p.Matched > 400 {
					perPersonMatches++
				}
			}
			if fp.Committed == 0 || perPersonMatches > people {
				t.Errorf("per-person fund committed %d over %d pledges", fp.Committed, perPersonMatches)
			}
			var v struct {
				OK      bool  `json:"ok"`
				Entries int64 `json:"entries"`
			}
			if st := call(t, base, w.A.Host, "GET", api+"/ledger/verify", w.A.Tokens[authz.Auditor], nil, &v); st != 200 || !v.OK {
				t.Errorf("ledger: %d %+v", st, v)
			}
			// How often the two processes' writes collided and ran again, as each host
			// collects its plugin's metrics (every health tick).
			series := `plugin_cofinancing_write_conflicts_total{plugin="cofinancing"}`
			for deadline := time.Now().Add(12 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if testutilCount(&world{Env: one}, series) > 0 && testutilCount(&world{Env: two}, series) > 0 {
					break
				}
			}
			t.Logf("%s: %d ledger entries; writes run again after a compare-and-set conflict: %.0f on node one, %.0f on node two",
				dialect, v.Entries, testutilCount(&world{Env: one}, series), testutilCount(&world{Env: two}, series))
		})
	}
}

// TestCofinancing_RulesThroughTheHost: permissions, bad input, tenant isolation, French pages
// and the deadline job, through the real host.
func TestCofinancing_RulesThroughTheHost(t *testing.T) {
	w, base := cofinancingWorld(t, "sqlite")
	a := w.A
	admin, cit, aud := a.Tokens[authz.TenantAdmin], a.Tokens[authz.Citizen], a.Tokens[authz.Auditor]
	// Who may do what.
	body := map[string]any{"title": "x"}
	if st := call(t, base, a.Host, "POST", api+"/projects", cit, body, nil); st != 403 {
		t.Errorf("citizen creating a project: %d", st)
	}
	if st := call(t, base, a.Host, "POST", api+"/projects", "", body, nil); st != 401 {
		t.Errorf("anonymous creating a project: %d", st)
	}
	deadline := time.Now().Add(3 * time.Second)
	p := newProject(t, base, a.Host, admin, deadline, 10000, 20000)
	short := newProject(t, base, a.Host, admin, deadline, 10000, 20000)
	var f cofFund
	call(t, base, a.Host, "POST", api+"/funds", admin, map[string]any{"name": "Fonds", "budget_cents": 3000, "rule": map[string]any{"kind": "factor", "factor": 1}}, &f)
	call(t, base, a.Host, "POST", api+"/funds/"+f.ID+"/projects", admin, map[string]any{"project_id": short.ID}, nil)
	var errBody struct {
		Error struct{ Code, Message, Field string }
	}
	if st := call(t, base, a.Host, "POST", api+"/projects/"+p.ID+"/pledges", "", map[string]any{"amount_cents": 500, "idempotency_key": "anon-key-001"}, &errBody); st != 401 || errBody.Error.Code != "unauthorized" {
		t.Errorf("anonymous pledge: %d %+v", st, errBody)
	}
	if st := call(t, base, a.Host, "POST", api+"/projects/"+p.ID+"/pledges", cit, map[string]any{"amount_cents": 12.5, "idempotency_key": "float-key-01"}, &errBody); st != 400 || errBody.Error.Code != "invalid" {
		t.Errorf("float amount: %d %+v", st, errBody)
	}
	var pl cofPledge
	if st := call(t, base, a.Host, "POST", api+"/projects/"+p.ID+"/pledges", cit, map[string]any{"amount_cents": 12345, "idempotency_key": "cit-key-0001", "public_name": "Camille"}, &pl); st != 201 || pl.Status != "promised" {
		t.Fatalf("pledge: %d %+v", st, pl)
	}
	call(t, base, a.Host, "POST", api+"/projects/"+short.ID+"/pledges", cit, map[string]any{"amount_cents": 2000, "idempotency_key": "cit-key-0002"}, nil)
	if st := call(t, base, a.Host, "POST", api+"/pledges/"+pl.ID+"/confirm", cit, nil, nil); st != 403 {
		t.Errorf("citizen confirming: %d", st)
	}
	if st := call(t, base, a.Host, "GET", api+"/ledger/verify", cit, nil, nil); st != 403 {
		t.Errorf("citizen verifying the ledger: %d", st)
	}
	if st := call(t, base, a.Host, "GET", api+"/ledger/verify", aud, nil, nil); st != 200 {
		t.Errorf("auditor verifying the ledger: %d", st)
	}
	// Another tenant: the plugin is off there, and even on, it sees nothing of the first.
	if st := call(t, base, w.B.Host, "GET", api+"/projects/"+p.ID, "", nil, nil); st != 404 {
		t.Errorf("project on another site (plugin off): %d", st)
	}
	w.enable(t, w.B, "cofinancing")
	if st := call(t, base, w.B.Host, "GET", api+"/projects/"+p.ID, "", nil, nil); st != 404 {
		t.Errorf("project on another site: %d", st)
	}
	if st := call(t, base, w.B.Host, "POST", api+"/projects/"+p.ID+"/pledges", w.B.Tokens[authz.Citizen], map[string]any{"amount_cents": 500, "idempotency_key": "other-key-01"}, nil); st != 404 {
		t.Errorf("pledge from another site: %d", st)
	}
	// The public page, in French, with French amounts and the site's layout.
	res := w.get(a, "/p/cofinancing/projects/"+p.ID, "")
	page := string(res.Body)
	for _, want := range []string{"Objectif minimum", "123,45\u00a0€", "Camille", "Budget détaillé", "<progress", "Connectez-vous pour contribuer", "Registre public"} {
		if !strings.Contains(page, want) {
			t.Errorf("project page lacks %q", want)
		}
	}
	if res.Status != 200 || strings.Contains(page, "Minimum goal") {
		t.Errorf("project page: %d", res.Status)
	}
	// The deadline passes; the host runs the job: p (123,45 € ≥ 100 €) is funded, short
	// (20 € + 20 € matched) failed, its pledge released and its match back in the fund.
	time.Sleep(time.Until(deadline) + 100*time.Millisecond)
	if err := w.App.Plugins.RunDueJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got, failed cofProject
	call(t, base, a.Host, "GET", api+"/projects/"+p.ID, "", nil, &got)
	call(t, base, a.Host, "GET", api+"/projects/"+short.ID, "", nil, &failed)
	if got.Status != "funded" || failed.Status != "failed" || !failed.Settled || failed.Released != 2000 || failed.Pledged != 0 {
		t.Errorf("after the deadline: %+v / %+v", got, failed)
	}
	var fd cofFund
	call(t, base, a.Host, "GET", api+"/funds/"+f.ID, "", nil, &fd)
	if fd.Committed != 0 || fd.Remaining != 3000 {
		t.Errorf("fund after the failure: %+v", fd)
	}
	var mine struct{ Pledges []cofPledge }
	call(t, base, a.Host, "GET", api+"/my/pledges", cit, nil, &mine)
	statuses := []string{}
	for _, x := range mine.Pledges {
		statuses = append(statuses, x.Status)
	}
	if strings.Join(statuses, ",") != "released,promised" && strings.Join(statuses, ",") != "promised,released" {
		t.Errorf("my pledges: %v", statuses)
	}
	if st := call(t, base, a.Host, "POST", api+"/projects/"+p.ID+"/pledges", cit, map[string]any{"amount_cents": 500, "idempotency_key": "late-key-001"}, &errBody); st != 409 {
		t.Errorf("pledge on a closed project: %d %+v", st, errBody)
	}
	if st := call(t, base, a.Host, "POST", api+"/pledges/"+pl.ID+"/confirm", admin, nil, nil); st != 200 {
		t.Errorf("confirm: %d", st)
	}
	var jobs struct {
		Jobs []struct {
			Name       string `json:"name"`
			Runs       int64  `json:"runs"`
			LastStatus string `json:"last_status"`
		} `json:"jobs"`
	}
	call(t, base, a.Host, "GET", "/api/v1/plugins/cofinancing/jobs", admin, nil, &jobs)
	if len(jobs.Jobs) != 1 || jobs.Jobs[0].Name != "settle" || jobs.Jobs[0].Runs != 1 || jobs.Jobs[0].LastStatus != "ok" {
		t.Errorf("jobs: %+v", jobs)
	}
	res = w.Do(testsupport.Request{Method: "GET", Host: a.Host, Path: api + "/ledger.csv", Token: aud})
	if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(res.Body), ",confirm,") {
		t.Errorf("ledger.csv: %d %s", res.Status, res.Body)
	}
	log := string(w.get(a, "/api/v1/audit?actor=plugin:cofinancing", aud).Body)
	for _, want := range []string{"cofinancing.project.create", "cofinancing.project.close", "cofinancing.pledge.confirm", "cofinancing.fund.create"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

// TestCofinancing_StaffScreensThroughForms: a tenant admin runs a project from the staff
// screen's forms, amounts typed the French way; a citizen pledges through the project page.
func TestCofinancing_StaffScreensThroughForms(t *testing.T) {
	w, base := cofinancingWorld(t, "sqlite")
	a := w.A
	admin, cit := a.Tokens[authz.TenantAdmin], a.Tokens[authz.Citizen]
	deadline := time.Now().Add(48 * time.Hour).In(time.UTC).Format("2006-01-02T15:04")
	project := url.Values{"title": {"Affiches du festival"}, "description": {"Impression"}, "deadline": {deadline},
		"line_label": {"Impression", "Collage", "", "", ""}, "line_amount": {"15,00", "5", "", "", ""},
		"line_kind": {"minimum", "optimum", "minimum", "minimum", "minimum"}, "source_kind": {"none"}}
	if res := w.form(a, "/p/cofinancing/staff/projects", cit, project); res.Status != 403 {
		t.Errorf("citizen on a staff form: %d", res.Status)
	}
	bad := url.Values{}
	for k, v := range project {
		bad[k] = v
	}
	bad["line_amount"] = []string{"quinze", "5", "", "", ""}
	if res := w.form(a, "/p/cofinancing/staff/projects", admin, bad); res.Status != 400 || !strings.Contains(string(res.Body), "Donnez au moins un poste") {
		t.Errorf("bad amount: %d %s", res.Status, res.Body)
	}
	if res := w.form(a, "/p/cofinancing/staff/projects", admin, project); res.Status != 303 || res.Header.Get("Location") != "/p/cofinancing/staff?done=created" {
		t.Fatalf("create: %d %v %s", res.Status, res.Header, res.Body)
	}
	var list struct {
		Projects []struct {
			ID, Status string
			Minimum    int64 `json:"minimum_cents"`
			Optimum    int64 `json:"optimum_cents"`
		}
	}
	call(t, base, a.Host, "GET", api+"/projects", admin, nil, &list)
	if len(list.Projects) != 1 || list.Projects[0].Minimum != 1500 || list.Projects[0].Optimum != 2000 || list.Projects[0].Status != "draft" {
		t.Fatalf("projects: %+v", list)
	}
	id := list.Projects[0].ID
	if res := w.get(a, "/p/cofinancing/", ""); strings.Contains(string(res.Body), "Affiches du festival") {
		t.Error("a draft is on the public list")
	}
	steps := []struct {
		path string
		form url.Values
		done string
	}{
		{"/p/cofinancing/staff/projects/" + id + "/open", url.Values{}, "opened"},
		{"/p/cofinancing/staff/funds", url.Values{"name": {"Fonds affiches"}, "budget": {"50"}, "kind": {"factor"}, "factor": {"1"}, "cap_per_pledge": {"10"}}, "fund"},
	}
	for _, s := range steps {
		if res := w.form(a, s.path, admin, s.form); res.Status != 303 || res.Header.Get("Location") != "/p/cofinancing/staff?done="+s.done {
			t.Fatalf("%s: %d %s", s.path, res.Status, res.Body)
		}
	}
	var funds struct{ Funds []cofFund }
	call(t, base, a.Host, "GET", api+"/funds", "", nil, &funds)
	if len(funds.Funds) != 1 || funds.Funds[0].Budget != 5000 {
		t.Fatalf("funds: %+v", funds)
	}
	if res := w.form(a, "/p/cofinancing/staff/funds/"+funds.Funds[0].ID+"/projects", admin, url.Values{"project_id": {id}}); res.Status != 303 {
		t.Fatalf("attach: %d %s", res.Status, res.Body)
	}
	staff := string(w.get(a, "/p/cofinancing/staff", admin).Body)
	if !strings.Contains(staff, "Co-financement : espace équipe") || !strings.Contains(staff, "Fonds affiches") {
		t.Errorf("staff screen: %s", staff)
	}
	// A citizen's pledge through the page's form: 12 € + 8 € matched (the cap is 10 €, but the
	// project's optimum is 20 €) ≥ 15 €.
	res := w.form(a, "/p/cofinancing/projects/"+id+"/pledges", cit, url.Values{"amount": {"12"}, "idempotency_key": {"page-form-key-1"}})
	if res.Status != 303 {
		t.Fatalf("pledge through the page: %d %s", res.Status, res.Body)
	}
	if res := w.form(a, "/p/cofinancing/projects/"+id+"/pledges", cit, url.Values{"amount": {"100"}, "idempotency_key": {"page-form-key-2"}}); res.Status != 400 ||
		!strings.Contains(string(res.Body), "ne dépasse pas ce qu&#39;il manque au projet") {
		t.Errorf("pledge over the optimum: %d %s", res.Status, res.Body)
	}
	if res := w.form(a, "/p/cofinancing/staff/projects/"+id+"/close", admin, url.Values{}); res.Status != 303 {
		t.Fatalf("close: %d %s", res.Status, res.Body)
	}
	staff = string(w.get(a, "/p/cofinancing/staff", admin).Body)
	m := regexp.MustCompile(`action="/p/cofinancing/staff/pledges/([^"]+)/confirm"`).FindStringSubmatch(staff)
	if m == nil {
		t.Fatalf("no pledge to confirm on the staff screen: %s", staff)
	}
	if res := w.form(a, "/p/cofinancing/staff/pledges/"+m[1]+"/confirm", admin, url.Values{}); res.Status != 303 {
		t.Fatalf("confirm: %d %s", res.Status, res.Body)
	}
	if res := w.form(a, "/p/cofinancing/staff/projects/"+id+"/disbursements", admin, url.Values{"amount": {"20,01"}, "purpose": {"Imprimeur"}}); res.Status != 400 {
		t.Errorf("disbursing more than available: %d %s", res.Status, res.Body)
	}
	if res := w.form(a, "/p/cofinancing/staff/projects/"+id+"/disbursements", admin, url.Values{"amount": {"20"}, "purpose": {"Imprimeur"}}); res.Status != 303 {
		t.Fatalf("disburse: %d %s", res.Status, res.Body)
	}
	var p struct {
		Status    string
		Confirmed int64 `json:"confirmed_cents"`
		Disbursed int64 `json:"disbursed_cents"`
		Matched   int64 `json:"matched_cents"`
	}
	call(t, base, a.Host, "GET", api+"/projects/"+id, "", nil, &p)
	if p.Status != "funded" || p.Confirmed != 1200 || p.Matched != 800 || p.Disbursed != 2000 {
		t.Errorf("project after the staff's work: %+v", p)
	}
	page := string(w.get(a, "/p/cofinancing/projects/"+id, "").Body)
	for _, want := range []string{"Financé", "Dépense : Imprimeur", "Versement reçu", "Fonds affiches"} {
		if !strings.Contains(page, want) {
			t.Errorf("project page lacks %q", want)
		}
	}
}
