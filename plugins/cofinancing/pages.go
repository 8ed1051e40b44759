package main

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// Pages are HTML fragments the host sanitises and wraps in the site's layout (whose
// site.css styles its classes: btn, panel, field, tiles, table…). Texts come from t, in the
// site's language (i18n.go); amounts from eur ("1 234,50 €" in French).
var pages = template.Must(template.New("").Funcs(funcs("fr", time.UTC)).Parse(publicTemplates + staffTemplates))

func funcs(l string, zone *time.Location) template.FuncMap {
	return template.FuncMap{
		"t":    func(key string, args ...any) string { return textf(l, key, args...) },
		"raw":  func(key string, args ...any) template.HTML { return template.HTML(textf(l, key, escapeAll(args)...)) },
		"eur":  func(c int64) string { return formatCents(l, c) },
		"when": func(t time.Time) string { return when(l, zone, t) },
		"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"pct":  percent,
		"add":  func(a, b int64) int64 { return a + b },
		"minc": func(a, b int64) int64 { return min(a, b) },
		"neg":  func(a int64) int64 { return -a },
		"short": func(h string) string {
			if len(h) > 12 {
				return h[:12] + "…"
			}
			return h
		},
	}
}

const publicTemplates = `
{{define "list"}}
<section aria-labelledby="cof-title">
<h1 id="cof-title">{{t "title"}}</h1>
<p>{{t "intro"}}</p>
<ul class="subnav">{{if not .Anonymous}}<li><a href="{{.Base}}/my">{{t "my_link"}}</a></li>{{end}}{{if .Staff}}<li><a href="{{.Base}}/staff">{{t "staff_link"}}</a></li>{{end}}</ul>
{{if not .Projects}}<p class="muted">{{t "no_projects"}}</p>{{end}}
<ul class="tiles">
{{range .Projects}}
<li class="tile"><article aria-labelledby="p-{{.ID}}">
<h2 id="p-{{.ID}}" class="tile-link"><a href="{{$.Base}}/projects/{{.ID}}">{{.Title}}</a></h2>
<p><span class="badge">{{t (printf "status_%s" .Status)}}</span></p>
<p><progress value="{{minc (add .PledgedCents .MatchedCents) .OptimumCents}}" max="{{.OptimumCents}}" aria-label="{{t "optimum"}}"></progress></p>
<p><strong>{{eur (add .PledgedCents .MatchedCents)}}</strong> {{t "of"}} {{eur .MinimumCents}} · {{t "backers_n" .Backers}}</p>
<p class="muted">{{t "deadline"}} : <time datetime="{{iso .Deadline}}">{{when .Deadline}}</time></p>
</article></li>
{{end}}
</ul>
{{if .Funds}}<h2>{{t "funds"}}</h2><ul>{{range .Funds}}<li><a href="{{$.Base}}/funds/{{.ID}}">{{.Name}}</a> — {{t "fund_remaining"}} : {{eur .RemainingCents}}</li>{{end}}</ul>{{end}}
</section>
{{end}}

{{define "project"}}
<article aria-labelledby="project-title" class="cofinancing-project">
<p><a href="{{.Base}}/">{{t "back"}}</a></p>
<h1 id="project-title">{{.P.Title}}</h1>
<p><span class="badge" id="project-status">{{t (printf "status_%s" .P.Status)}}</span>{{if .P.Round}} <span class="badge">{{t (printf "round_%s" .P.Round)}}</span>{{end}}</p>
{{if .Done}}<p class="notice" role="status">{{t "pledge_done" (eur .Done)}}{{if .DoneMatched}} {{t "pledge_matched" (eur .DoneMatched)}}{{end}}</p>{{end}}
{{with .Error}}<p class="error-msg" role="alert">{{.}}</p>{{end}}
<p>{{.P.Description}}</p>
{{if eq .P.Source.Kind "culture_event"}}<p>{{raw "source_event" (printf "/p/culture/events/%s" .P.Source.ID)}}</p>{{else if eq .P.Source.Kind "proposal"}}<p>{{t "source_proposal"}}</p>{{end}}
<section class="panel" aria-labelledby="progress-title">
<h2 id="progress-title">{{eur .Total}} <span class="muted">({{eur .P.PledgedCents}} {{t "pledged"}}, {{eur .P.MatchedCents}} {{t "matched"}})</span></h2>
<p><label for="bar-min">{{t "minimum"}} : {{eur .P.MinimumCents}} ({{pct .Total .P.MinimumCents}} %)</label><br>
<progress id="bar-min" value="{{minc .Total .P.MinimumCents}}" max="{{.P.MinimumCents}}"></progress></p>
<p><label for="bar-opt">{{t "optimum"}} : {{eur .P.OptimumCents}} ({{pct .Total .P.OptimumCents}} %)</label><br>
<progress id="bar-opt" value="{{minc .Total .P.OptimumCents}}" max="{{.P.OptimumCents}}"></progress></p>
<p>{{t "backers_n" .P.Backers}} · {{t "deadline"}} : <time datetime="{{iso .P.Deadline}}">{{when .P.Deadline}}</time></p>
{{if eq .P.Status "failed"}}<p>{{t "failed_note" (eur .P.ReleasedCents) (eur .P.ReturnedCents)}}</p>{{end}}
</section>

<section aria-labelledby="pledge-title" class="panel">
<h2 id="pledge-title">{{t "pledge_title"}}</h2>
{{if not .Open}}<p>{{t "pledge_closed"}}</p>
{{else if .Anonymous}}<p><a class="btn" href="{{.SignIn}}">{{t "pledge_signin"}}</a></p>
{{else}}
<form method="post" action="{{.Base}}/projects/{{.P.ID}}/pledges" id="pledge-form">
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<input type="hidden" name="idempotency_key" value="{{.Key}}">
<div class="field"><label for="pl-amount">{{t "pledge_amount"}}</label><input id="pl-amount" name="amount" type="text" inputmode="decimal" required maxlength="16" value="{{.Amount}}"></div>
<div class="field"><label for="pl-name">{{t "pledge_name"}}</label><input id="pl-name" name="public_name" type="text" maxlength="60" aria-describedby="pl-name-help" value="{{.Name}}">
<span id="pl-name-help" class="muted">{{t "pledge_name_help"}}</span></div>
<p class="muted">{{t "pledge_how"}}</p>
<button type="submit" class="btn">{{t "pledge_submit"}}</button>
</form>
{{end}}
</section>

<section aria-labelledby="budget-title">
<h2 id="budget-title">{{t "budget"}}</h2>
<div class="table-wrap"><table class="table" id="budget">
<thead><tr><th scope="col">{{t "item"}}</th><th scope="col">{{t "kind"}}</th><th scope="col">{{t "amount"}}</th></tr></thead>
<tbody>{{range .P.Budget}}<tr><td>{{.Label}}</td><td>{{t (printf "kind_%s" .Kind)}}</td><td>{{eur .Cents}}</td></tr>{{end}}</tbody>
</table></div>
</section>

<section aria-labelledby="backers-title">
<h2 id="backers-title">{{t "backers_title"}}</h2>
{{if not .Backers}}<p class="muted">{{t "no_backers"}}</p>{{else}}
<ul id="backers">{{range .Backers}}<li>{{if .PublicName}}{{.PublicName}}{{else}}{{t "anonymous"}}{{end}} — {{eur .AmountCents}}{{if .MatchedCents}} (+ {{eur .MatchedCents}}){{end}}</li>{{end}}</ul>{{end}}
{{if .Funds}}<p>{{t "funds"}} : {{range $i, $f := .Funds}}{{if $i}}, {{end}}<a href="{{$.Base}}/funds/{{$f.ID}}">{{$f.Name}}</a>{{end}}</p>{{end}}
</section>

<section aria-labelledby="ledger-title">
<h2 id="ledger-title">{{t "ledger"}}</h2>
<p class="muted">{{t "ledger_intro"}}</p>
{{if not .Ledger}}<p class="muted">{{t "no_ledger"}}</p>{{else}}
<div class="table-wrap"><table class="table" id="ledger">
<thead><tr><th scope="col">#</th><th scope="col">{{t "when"}}</th><th scope="col">{{t "what"}}</th><th scope="col">{{t "who"}}</th><th scope="col">{{t "amount"}}</th><th scope="col">{{t "hash"}}</th></tr></thead>
<tbody>{{range .Ledger}}<tr><td>{{.Seq}}</td><td><time datetime="{{iso .At}}">{{when .At}}</time></td><td>{{t (printf "move_%s" .Kind)}}{{if .Purpose}} : {{.Purpose}}{{end}}</td>
<td>{{if .Fund}}{{index $.FundNames .Fund}}{{else if eq .Backer "anonyme"}}{{t "anonymous"}}{{else}}{{.Backer}}{{end}}</td><td>{{eur .AmountCents}}</td><td><code title="{{.Hash}}">{{short .Hash}}</code></td></tr>{{end}}</tbody>
</table></div>{{end}}
</section>
</article>
{{end}}

{{define "fund"}}
<section aria-labelledby="fund-title">
<p><a href="{{.Base}}/">{{t "back"}}</a></p>
<h1 id="fund-title">{{.F.Name}}</h1>
<p>{{t "rule"}} : {{.RuleText}}</p>
<p><progress value="{{.F.CommittedCents}}" max="{{.F.BudgetCents}}" aria-label="{{t "fund_committed"}}"></progress></p>
<ul><li>{{t "fund_budget"}} : {{eur .F.BudgetCents}}</li><li>{{t "fund_committed"}} : {{eur .F.CommittedCents}}</li><li>{{t "fund_remaining"}} : {{eur .F.RemainingCents}}</li></ul>
<h2>{{t "fund_projects"}}</h2>
<ul>{{range .Projects}}<li><a href="{{$.Base}}/projects/{{.ID}}">{{.Title}}</a> — {{eur (index $.F.PerProject .ID)}}{{with index $.Estimates .ID}} ({{t "estimate" (eur .)}}){{end}}</li>{{end}}</ul>
</section>
{{end}}

{{define "my"}}
<section aria-labelledby="my-title">
<p><a href="{{.Base}}/">{{t "back"}}</a></p>
<h1 id="my-title">{{t "my_title"}}</h1>
{{if .Cancelled}}<p class="notice" role="status">{{t "cancelled_done"}}</p>{{end}}
{{if not .Pledges}}<p class="muted">{{t "my_none"}}</p>{{else}}
<div class="table-wrap"><table class="table">
<thead><tr><th scope="col">{{t "project"}}</th><th scope="col">{{t "amount"}}</th><th scope="col">{{t "status"}}</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>{{range .Pledges}}<tr><td><a href="{{$.Base}}/projects/{{.Project}}">{{index $.Titles .Project}}</a></td><td>{{eur .AmountCents}}{{if .MatchedCents}} (+ {{eur .MatchedCents}}){{end}}</td><td>{{t (printf "pledge_%s" .Status)}}</td>
<td>{{if and (eq .Status "promised") (index $.Cancellable .Project)}}<form method="post" action="{{$.Base}}/pledges/{{.ID}}/cancel" class="inline"><input type="hidden" name="_csrf" value="{{$.CSRF}}"><button type="submit" class="btn secondary small">{{t "cancel"}}</button></form>{{end}}</td></tr>{{end}}</tbody>
</table></div>{{end}}
</section>
{{end}}
`

// render writes page name in the call's language, with its title.
func render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	l := lang(r.Context())
	t := template.Must(pages.Clone()).Funcs(funcs(l, sdk.Location(r.Context())))
	_ = sdk.WritePage(w, r, status, title, t, name, data)
}

func textf(l, key string, args ...any) string {
	if len(args) == 0 {
		return tr(l, key)
	}
	return fmt.Sprintf(tr(l, key), args...)
}

func escapeAll(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = template.HTMLEscapeString(fmt.Sprint(a))
	}
	return out
}

// pageError answers an error on a page: its message in the site's language and a way back.
func pageError(w http.ResponseWriter, r *http.Request, err error) {
	l := lang(r.Context())
	kind := sdk.KindOf(err)
	status := map[sdk.Kind]int{sdk.Invalid: 400, sdk.NotFound: 404, sdk.Conflict: 409, sdk.Unauthorized: 401, sdk.Forbidden: 403, sdk.Unavailable: 503}[kind]
	if status == 0 {
		status = 500
		sdk.Log(r.Context()).Error("page failed", "error", err.Error())
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l)
	w.WriteHeader(status)
	_ = template.Must(template.New("").Parse(`<p class="error-msg" role="alert">{{.Msg}}</p><p><a href="{{.Back}}">{{.Again}}</a></p>`)).Execute(w,
		map[string]string{"Msg": message(l, err), "Back": basePath(sdk.CallOf(r.Context())) + "/", "Again": tr(l, "try_again")})
}

func basePath(c *sdk.Call) string {
	if p := c.BasePath(); p != "" {
		return p
	}
	return "/p/cofinancing"
}

func redirect(w http.ResponseWriter, to string) {
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusSeeOther)
}

func (s *service) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.pageList)
	mux.HandleFunc("GET /projects/{id}", s.pageProject)
	mux.HandleFunc("POST /projects/{id}/pledges", s.pagePledge)
	mux.HandleFunc("GET /my", s.pageMy)
	mux.HandleFunc("POST /pledges/{id}/cancel", s.pageCancel)
	mux.HandleFunc("GET /funds/{id}", s.pageFund)
	s.staffRoutes(mux)
}

func (s *service) pageList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ps, err := s.projects(ctx)
	if err != nil {
		pageError(w, r, err)
		return
	}
	fs, err := s.funds(ctx)
	if err != nil {
		pageError(w, r, err)
		return
	}
	var shown []Project
	for _, p := range ps {
		if p.Status != statusDraft {
			shown = append(shown, p)
		}
	}
	call := sdk.CallOf(ctx)
	render(w, r, http.StatusOK, "list", tr(lang(ctx), "title"), map[string]any{"Projects": shown, "Funds": fs, "Base": basePath(call),
		"Anonymous": call.Principal.Anonymous, "Staff": call.Principal.HasRole(staffRoles...)})
}

// projectPage is the data of a project's page.
type projectPage struct {
	P                  Project
	Total              int64
	Base, CSRF, SignIn string
	Key, Amount, Name  string
	Error              string
	Anonymous, Open    bool
	Done, DoneMatched  int64
	Backers            []Pledge
	Funds              []Fund
	FundNames          map[string]string
	Ledger             []publicEntry
}

func (s *service) projectData(r *http.Request) (projectPage, error) {
	ctx := r.Context()
	p, ledger, err := s.projectLedger(r)
	if err != nil {
		return projectPage{}, err
	}
	call := sdk.CallOf(ctx)
	d := projectPage{P: p, Total: p.PledgedCents + p.MatchedCents, Base: basePath(call), CSRF: call.Principal.CSRFToken,
		Anonymous: call.Principal.Anonymous, Open: p.Status == statusOpen && s.now().Before(p.Deadline), Ledger: ledger,
		SignIn: "/account/signin?next=" + url.QueryEscape(basePath(call)+"/projects/"+p.ID), Key: newID(s.now()) + "-" + randomSuffix()}
	pls, err := s.pledgesOf(ctx, p.ID)
	if err != nil {
		return d, err
	}
	for _, pl := range pls {
		if active(pl.Status) {
			d.Backers = append(d.Backers, pl.Pledge)
		}
	}
	d.FundNames = map[string]string{}
	for _, fid := range p.Funds {
		if f, err := s.loadFund(ctx, fid); err == nil {
			d.Funds = append(d.Funds, f)
			d.FundNames[f.ID] = f.Name
		}
	}
	return d, nil
}

func (s *service) pageProject(w http.ResponseWriter, r *http.Request) {
	d, err := s.projectData(r)
	if err != nil {
		pageError(w, r, err)
		return
	}
	q := r.URL.Query()
	if id := q.Get("pledged"); id != "" {
		// The pledge just made, read back: the notice shows what was recorded, not the query.
		for _, b := range d.Backers {
			if b.ID == id {
				d.Done, d.DoneMatched = b.AmountCents, b.MatchedCents
			}
		}
	}
	render(w, r, http.StatusOK, "project", d.P.Title, d)
}

func (s *service) pagePledge(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		pageError(w, r, bad("form", "%s", tr(lang(ctx), "bad_form")))
		return
	}
	f := r.PostForm
	cents, err := parseEuros("amount", f.Get("amount"))
	var p Pledge
	if err == nil {
		p, _, err = s.pledge(ctx, id, pledgeInput{AmountCents: jsonInt(cents), IdempotencyKey: f.Get("idempotency_key"), PublicName: f.Get("public_name")})
	}
	if err != nil {
		var se *sdk.Error
		if !errors.As(err, &se) || (se.Kind != sdk.Invalid && se.Kind != sdk.Conflict) {
			pageError(w, r, err)
			return
		}
		// The page again, with the message and what was typed.
		d, derr := s.projectData(r)
		if derr != nil {
			pageError(w, r, derr)
			return
		}
		d.Error, d.Amount, d.Name = message(lang(ctx), err), f.Get("amount"), f.Get("public_name")
		status := http.StatusBadRequest
		if se.Kind == sdk.Conflict {
			status = http.StatusConflict
		}
		render(w, r, status, "project", d.P.Title, d)
		return
	}
	redirect(w, basePath(sdk.CallOf(ctx))+"/projects/"+id+"?pledged="+url.QueryEscape(p.ID)+"#pledge-title")
}

func jsonInt(n int64) Number { return Number(fmt.Sprint(n)) }

func (s *service) pageMy(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pls, err := s.myPledges(ctx)
	if err != nil {
		pageError(w, r, err)
		return
	}
	titles, cancellable := map[string]string{}, map[string]bool{}
	for _, pl := range pls {
		if _, ok := titles[pl.Project]; ok {
			continue
		}
		if p, err := s.loadProject(ctx, pl.Project); err == nil {
			titles[p.ID] = p.Title
			cancellable[p.ID] = p.Status == statusOpen && s.now().Before(p.Deadline)
		}
	}
	call := sdk.CallOf(ctx)
	render(w, r, http.StatusOK, "my", tr(lang(ctx), "my_title"), map[string]any{"Pledges": pls, "Titles": titles, "Cancellable": cancellable,
		"Base": basePath(call), "CSRF": call.Principal.CSRFToken, "Cancelled": r.URL.Query().Get("cancelled") == "1"})
}

func (s *service) pageCancel(w http.ResponseWriter, r *http.Request) {
	if _, err := s.cancel(r.Context(), r.PathValue("id")); err != nil {
		pageError(w, r, err)
		return
	}
	redirect(w, basePath(sdk.CallOf(r.Context()))+"/my?cancelled=1")
}

// ruleText describes a fund's rule in the page's language.
func ruleText(l string, r Rule) string {
	var parts []string
	switch r.Kind {
	case ruleFactor:
		parts = append(parts, textf(l, "rule_factor", r.Factor))
	case ruleCriteria:
		parts = append(parts, textf(l, "rule_criteria", r.Factor))
		if r.MinBackers > 0 {
			parts = append(parts, textf(l, "min_backers", r.MinBackers))
		}
		if r.TargetPercent > 0 {
			parts = append(parts, textf(l, "target_percent", r.TargetPercent))
		}
	case ruleQuadratic:
		parts = append(parts, tr(l, "rule_quadratic"))
	}
	if r.CapPerPledgeCents > 0 {
		parts = append(parts, textf(l, "cap_pledge", formatCents(l, r.CapPerPledgeCents)))
	}
	if r.CapPerProjectCents > 0 {
		parts = append(parts, textf(l, "cap_project", formatCents(l, r.CapPerProjectCents)))
	}
	if r.OnePerPerson {
		parts = append(parts, tr(l, "one_per_person"))
	}
	return strings.Join(parts, ", ")
}

func (s *service) pageFund(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v, err := s.fundView(r)
	if err != nil {
		pageError(w, r, err)
		return
	}
	var ps []Project
	for _, id := range v.Projects {
		if p, err := s.loadProject(ctx, id); err == nil {
			ps = append(ps, p)
		}
	}
	render(w, r, http.StatusOK, "fund", v.Name, map[string]any{"F": v.Fund, "Estimates": v.Estimates, "Projects": ps,
		"RuleText": ruleText(lang(ctx), v.Rule), "Base": basePath(sdk.CallOf(ctx))})
}
