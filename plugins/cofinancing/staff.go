package main

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// The staff screens: create projects and funds, open and close projects, attach projects
// to funds, confirm pledges whose money arrived, record disbursements. Every form posts
// to /p/cofinancing/staff/…, where the host checks the route's permission as for the API.

var staffTexts = map[string]map[string]string{
	"fr": {
		"staff_title": "Co-financement : espace équipe", "new_project": "Nouveau projet", "p_title": "Titre", "p_desc": "Description",
		"p_deadline": "Date limite", "p_lines": "Budget détaillé", "p_lines_help": "Les postes « minimum » font l'objectif minimum ; tous les postes, l'objectif optimum.",
		"p_label": "Poste %d", "p_amount": "Montant du poste %d (€)", "p_kind": "Objectif du poste %d", "p_source": "Source", "p_source_none": "Aucune",
		"p_source_event": "Événement de l'agenda culturel", "p_source_proposal": "Proposition retenue (consultation/proposition)", "p_source_id": "Identifiant de la source",
		"create": "Créer", "projects": "Projets", "open": "Ouvrir aux contributions", "close": "Clôturer maintenant",
		"disburse": "Enregistrer une dépense", "d_amount": "Montant (€)", "d_purpose": "Objet", "available": "disponible : %s",
		"new_fund": "Nouveau fonds d'abondement", "f_name": "Nom", "f_budget": "Budget (€)", "f_kind": "Règle",
		"f_kind_factor": "Coefficient (« Duplicate »)", "f_kind_criteria": "Coefficient, sous critères", "f_kind_quadratic": "Quadratique (CLR)",
		"f_factor": "Coefficient (1 double la contribution)", "f_cap_pledge": "Plafond par contribution (€)", "f_cap_project": "Plafond par projet (€)",
		"f_one": "Une contribution abondée par personne", "f_min_backers": "Contributeurs minimum", "f_target": "Pourcentage de l'objectif minimum atteint",
		"attach": "Rattacher", "attach_label": "Projet à rattacher à « %s »", "to_confirm": "Contributions à confirmer",
		"to_confirm_help": "Quand l'argent d'une contribution arrive, confirmez-la : elle apparaît comme versée dans le registre.",
		"none_to_confirm": "Aucune contribution en attente de versement.", "confirm": "Confirmer le versement", "no_projects_staff": "Aucun projet.",
		"done_created": "Projet créé en brouillon.", "done_opened": "Projet ouvert aux contributions.", "done_closed": "Projet clôturé.",
		"done_fund": "Fonds créé.", "done_attached": "Projet rattaché au fonds.", "done_confirmed": "Versement confirmé.", "done_disbursed": "Dépense enregistrée.",
		"ledger_tools": "Registre : <a href=\"%s\">export CSV</a> · <a href=\"%s\">vérification de la chaîne</a>",
	},
	"en": {
		"staff_title": "Co-financing: staff area", "new_project": "New project", "p_title": "Title", "p_desc": "Description",
		"p_deadline": "Deadline", "p_lines": "Itemised budget", "p_lines_help": "The “minimum” items make the minimum goal; all items, the optimum.",
		"p_label": "Item %d", "p_amount": "Amount of item %d (€)", "p_kind": "Goal of item %d", "p_source": "Source", "p_source_none": "None",
		"p_source_event": "Event of the cultural agenda", "p_source_proposal": "Accepted proposal (consultation/proposal)", "p_source_id": "Source id",
		"create": "Create", "projects": "Projects", "open": "Open for pledges", "close": "Close now",
		"disburse": "Record a disbursement", "d_amount": "Amount (€)", "d_purpose": "Purpose", "available": "available: %s",
		"new_fund": "New match-funding fund", "f_name": "Name", "f_budget": "Budget (€)", "f_kind": "Rule",
		"f_kind_factor": "Factor (“Duplicate”)", "f_kind_criteria": "Factor, with criteria", "f_kind_quadratic": "Quadratic (CLR)",
		"f_factor": "Factor (1 doubles each pledge)", "f_cap_pledge": "Cap per pledge (€)", "f_cap_project": "Cap per project (€)",
		"f_one": "One matched pledge per person", "f_min_backers": "Minimum backers", "f_target": "Percent of the minimum goal reached",
		"attach": "Attach", "attach_label": "Project to attach to “%s”", "to_confirm": "Pledges to confirm",
		"to_confirm_help": "When a pledge's money arrives, confirm it: the ledger shows it as paid.",
		"none_to_confirm": "No pledge waiting for payment.", "confirm": "Confirm payment", "no_projects_staff": "No projects.",
		"done_created": "Project created as a draft.", "done_opened": "Project open for pledges.", "done_closed": "Project closed.",
		"done_fund": "Fund created.", "done_attached": "Project attached to the fund.", "done_confirmed": "Payment confirmed.", "done_disbursed": "Disbursement recorded.",
		"ledger_tools": "Ledger: <a href=\"%s\">CSV export</a> · <a href=\"%s\">chain verification</a>",
	},
}

const staffTemplates = `
{{define "staff"}}
<section aria-labelledby="staff-title">
<p><a href="{{.Base}}/">{{t "back"}}</a></p>
<h1 id="staff-title">{{t "staff_title"}}</h1>
{{with .Done}}<p class="notice" role="status">{{t (printf "done_%s" .)}}</p>{{end}}
<p>{{raw "ledger_tools" (printf "%s/ledger.csv" .API) (printf "%s/ledger/verify" .API)}}</p>

<section aria-labelledby="s-projects"><h2 id="s-projects">{{t "projects"}}</h2>
{{if not .Projects}}<p class="muted">{{t "no_projects_staff"}}</p>{{end}}
<ul class="tiles">{{range .Projects}}
<li class="tile"><article aria-labelledby="sp-{{.ID}}">
<h3 id="sp-{{.ID}}">{{if eq .Status "draft"}}{{.Title}}{{else}}<a href="{{$.Base}}/projects/{{.ID}}">{{.Title}}</a>{{end}}</h3>
<p><span class="badge">{{t (printf "status_%s" .Status)}}</span> {{eur (add .PledgedCents .MatchedCents)}} / {{eur .MinimumCents}} · <time datetime="{{iso .Deadline}}">{{when .Deadline}}</time></p>
{{if eq .Status "draft"}}<form method="post" action="{{$.Base}}/staff/projects/{{.ID}}/open" class="inline"><input type="hidden" name="_csrf" value="{{$.CSRF}}"><button type="submit" class="btn small">{{t "open"}}</button></form>{{end}}
{{if eq .Status "open"}}<form method="post" action="{{$.Base}}/staff/projects/{{.ID}}/close" class="inline"><input type="hidden" name="_csrf" value="{{$.CSRF}}"><button type="submit" class="btn secondary small">{{t "close"}}</button></form>{{end}}
{{if eq .Status "funded"}}<form method="post" action="{{$.Base}}/staff/projects/{{.ID}}/disbursements">
<input type="hidden" name="_csrf" value="{{$.CSRF}}"><p class="muted">{{t "available" (eur (add .ConfirmedCents (add .MatchedCents (neg .DisbursedCents))))}}</p>
<div class="field"><label for="d-amount-{{.ID}}">{{t "d_amount"}}</label><input id="d-amount-{{.ID}}" name="amount" type="text" inputmode="decimal" required maxlength="16"></div>
<div class="field"><label for="d-purpose-{{.ID}}">{{t "d_purpose"}}</label><input id="d-purpose-{{.ID}}" name="purpose" type="text" required minlength="3" maxlength="300"></div>
<button type="submit" class="btn small">{{t "disburse"}}</button></form>{{end}}
</article></li>{{end}}</ul>
</section>

<section id="confirm" aria-labelledby="s-confirm"><h2 id="s-confirm">{{t "to_confirm"}}</h2>
<p class="muted">{{t "to_confirm_help"}}</p>
{{if not .ToConfirm}}<p class="muted">{{t "none_to_confirm"}}</p>{{else}}
<ul class="proposal-list">{{range .ToConfirm}}<li><form method="post" action="{{$.Base}}/staff/pledges/{{.ID}}/confirm" class="inline"><input type="hidden" name="_csrf" value="{{$.CSRF}}">
<span>{{index $.Titles .Project}} — {{if .PublicName}}{{.PublicName}}{{else}}{{t "anonymous"}}{{end}} — {{eur .AmountCents}} <span class="muted">({{.ID}})</span></span>
<button type="submit" class="btn small">{{t "confirm"}}</button></form></li>{{end}}</ul>{{end}}
</section>

<section aria-labelledby="s-funds"><h2 id="s-funds">{{t "funds"}}</h2>
<ul class="tiles">{{range .Funds}}{{$f := .}}
<li class="tile"><article aria-labelledby="sf-{{.ID}}"><h3 id="sf-{{.ID}}"><a href="{{$.Base}}/funds/{{.ID}}">{{.Name}}</a></h3>
<p>{{eur .CommittedCents}} / {{eur .BudgetCents}}</p>
{{if $.Attachable}}<form method="post" action="{{$.Base}}/staff/funds/{{.ID}}/projects"><input type="hidden" name="_csrf" value="{{$.CSRF}}">
<div class="field"><label for="att-{{.ID}}">{{t "attach_label" .Name}}</label><select id="att-{{.ID}}" name="project_id">{{range $.Attachable}}<option value="{{.ID}}">{{.Title}}</option>{{end}}</select></div>
<button type="submit" class="btn secondary small">{{t "attach"}}</button></form>{{end}}
</article></li>{{end}}</ul>
<form method="post" action="{{.Base}}/staff/funds">
<fieldset class="panel" aria-labelledby="fs-fund"><h3 id="fs-fund">{{t "new_fund"}}</h3>
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<div class="field"><label for="f-name">{{t "f_name"}}</label><input id="f-name" name="name" type="text" required minlength="3" maxlength="140"></div>
<div class="field"><label for="f-budget">{{t "f_budget"}}</label><input id="f-budget" name="budget" type="text" inputmode="decimal" required maxlength="16"></div>
<div class="field"><label for="f-kind">{{t "f_kind"}}</label><select id="f-kind" name="kind"><option value="factor">{{t "f_kind_factor"}}</option><option value="criteria">{{t "f_kind_criteria"}}</option><option value="quadratic">{{t "f_kind_quadratic"}}</option></select></div>
<div class="field"><label for="f-factor">{{t "f_factor"}}</label><input id="f-factor" name="factor" type="number" min="1" max="10" step="1" value="1"></div>
<div class="field"><label for="f-cap-pledge">{{t "f_cap_pledge"}}</label><input id="f-cap-pledge" name="cap_per_pledge" type="text" inputmode="decimal" maxlength="16"></div>
<div class="field"><label for="f-cap-project">{{t "f_cap_project"}}</label><input id="f-cap-project" name="cap_per_project" type="text" inputmode="decimal" maxlength="16"></div>
<div class="check"><input id="f-one" name="one_per_person" type="checkbox" value="1"><label for="f-one">{{t "f_one"}}</label></div>
<div class="field"><label for="f-minb">{{t "f_min_backers"}}</label><input id="f-minb" name="min_backers" type="number" min="0" step="1"></div>
<div class="field"><label for="f-target">{{t "f_target"}}</label><input id="f-target" name="target_percent" type="number" min="0" max="100" step="1"></div>
<button type="submit" class="btn">{{t "create"}}</button>
</fieldset></form>
</section>

<form method="post" action="{{.Base}}/staff/projects">
<fieldset class="panel" aria-labelledby="fs-project"><h2 id="fs-project">{{t "new_project"}}</h2>
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<div class="field"><label for="p-title">{{t "p_title"}}</label><input id="p-title" name="title" type="text" required minlength="3" maxlength="140"></div>
<div class="field"><label for="p-desc">{{t "p_desc"}}</label><textarea id="p-desc" name="description" maxlength="5000" rows="4"></textarea></div>
<div class="field"><label for="p-deadline">{{t "p_deadline"}}</label><input id="p-deadline" name="deadline" type="datetime-local" required></div>
<fieldset class="quals" aria-labelledby="fs-lines"><h3 id="fs-lines">{{t "p_lines"}}</h3><p class="muted">{{t "p_lines_help"}}</p>
{{range .Lines}}<div class="two-cols">
<div class="field"><label for="l-label-{{.}}">{{t "p_label" .}}</label><input id="l-label-{{.}}" name="line_label" type="text" maxlength="200"></div>
<div class="field"><label for="l-amount-{{.}}">{{t "p_amount" .}}</label><input id="l-amount-{{.}}" name="line_amount" type="text" inputmode="decimal" maxlength="16"></div>
<div class="field"><label for="l-kind-{{.}}">{{t "p_kind" .}}</label><select id="l-kind-{{.}}" name="line_kind"><option value="minimum">{{t "kind_minimum"}}</option><option value="optimum">{{t "kind_optimum"}}</option></select></div>
</div>{{end}}
</fieldset>
<div class="field"><label for="p-source">{{t "p_source"}}</label><select id="p-source" name="source_kind"><option value="none">{{t "p_source_none"}}</option><option value="culture_event">{{t "p_source_event"}}</option><option value="proposal">{{t "p_source_proposal"}}</option></select></div>
<div class="field"><label for="p-source-id">{{t "p_source_id"}}</label><input id="p-source-id" name="source_id" type="text" maxlength="80"></div>
<button type="submit" class="btn">{{t "create"}}</button>
</fieldset></form>
</section>
{{end}}
`

const staffLines = 5

func (s *service) staffRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /staff", s.pageStaff)
	mux.HandleFunc("POST /staff/projects", s.staffCreateProject)
	mux.HandleFunc("POST /staff/projects/{id}/open", s.staffAction(func(r *http.Request) (string, error) {
		_, err := s.openProject(r.Context(), r.PathValue("id"))
		return "opened", err
	}))
	mux.HandleFunc("POST /staff/projects/{id}/close", s.staffAction(func(r *http.Request) (string, error) {
		_, err := s.closeProject(r.Context(), r.PathValue("id"), true)
		return "closed", err
	}))
	mux.HandleFunc("POST /staff/projects/{id}/disbursements", s.staffAction(func(r *http.Request) (string, error) {
		c, err := parseEuros("amount_cents", r.PostForm.Get("amount"))
		if err != nil {
			return "", err
		}
		_, err = s.disburse(r.Context(), r.PathValue("id"), disbursementInput{AmountCents: jsonInt(c), Purpose: r.PostForm.Get("purpose")})
		return "disbursed", err
	}))
	mux.HandleFunc("POST /staff/funds", s.staffAction(func(r *http.Request) (string, error) {
		f := r.PostForm
		in := fundInput{Name: f.Get("name"), Rule: ruleInput{Kind: f.Get("kind"), OnePerPerson: f.Get("one_per_person") == "1",
			MinBackers: Number(strings.TrimSpace(f.Get("min_backers"))), TargetPercent: Number(strings.TrimSpace(f.Get("target_percent")))}}
		if in.Rule.Kind != ruleQuadratic {
			in.Rule.Factor = Number(strings.TrimSpace(f.Get("factor")))
		}
		for field, dst := range map[string]*Number{"budget": &in.BudgetCents, "cap_per_pledge": &in.Rule.CapPerPledgeCents, "cap_per_project": &in.Rule.CapPerProjectCents} {
			if v := strings.TrimSpace(f.Get(field)); v != "" {
				c, err := parseEuros(field, v)
				if err != nil {
					return "", err
				}
				*dst = jsonInt(c)
			}
		}
		_, err := s.createFund(r.Context(), in)
		return "fund", err
	}))
	mux.HandleFunc("POST /staff/funds/{id}/projects", s.staffAction(func(r *http.Request) (string, error) {
		_, err := s.attach(r.Context(), r.PathValue("id"), r.PostForm.Get("project_id"))
		return "attached", err
	}))
	mux.HandleFunc("POST /staff/pledges/{id}/confirm", s.staffAction(func(r *http.Request) (string, error) {
		_, err := s.confirm(r.Context(), r.PathValue("id"))
		return "confirmed", err
	}))
}

// staffAction runs a staff form's action and goes back to the staff screen with a notice.
func (s *service) staffAction(do func(r *http.Request) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			pageError(w, r, bad("form", "%s", tr(lang(r.Context()), "bad_form")))
			return
		}
		done, err := do(r)
		if err != nil {
			pageError(w, r, err)
			return
		}
		redirect(w, basePath(sdk.CallOf(r.Context()))+"/staff?done="+done)
	}
}

func (s *service) staffCreateProject(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		pageError(w, r, bad("form", "%s", tr(lang(ctx), "bad_form")))
		return
	}
	f := r.PostForm
	in := projectInput{Title: f.Get("title"), Description: f.Get("description"), Source: &Source{Kind: f.Get("source_kind"), ID: strings.TrimSpace(f.Get("source_id"))}}
	if d, err := time.ParseInLocation("2006-01-02T15:04", f.Get("deadline"), sdk.Location(ctx)); err == nil {
		in.Deadline = d.Format(time.RFC3339)
	} else {
		in.Deadline = f.Get("deadline")
	}
	labels, amounts, kinds := f["line_label"], f["line_amount"], f["line_kind"]
	var sumMin, sumAll int64
	for i := range labels {
		if strings.TrimSpace(labels[i]) == "" && (i >= len(amounts) || strings.TrimSpace(amounts[i]) == "") {
			continue // an empty row of the form
		}
		a := ""
		if i < len(amounts) {
			a = amounts[i]
		}
		c, err := parseEuros("budget["+strconv.Itoa(i)+"].cents", a)
		if err != nil {
			pageError(w, r, err)
			return
		}
		k := roundMinimum
		if i < len(kinds) {
			k = kinds[i]
		}
		in.Budget = append(in.Budget, budgetInput{Label: labels[i], Cents: jsonInt(c), Kind: k})
		if k == roundMinimum {
			sumMin += c
		}
		sumAll += c
	}
	in.MinimumCents, in.OptimumCents = jsonInt(sumMin), jsonInt(sumAll)
	if _, err := s.createProject(ctx, in); err != nil {
		pageError(w, r, err)
		return
	}
	redirect(w, basePath(sdk.CallOf(ctx))+"/staff?done=created")
}

func (s *service) pageStaff(w http.ResponseWriter, r *http.Request) {
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
	titles := map[string]string{}
	var attachable []Project
	var toConfirm []Pledge
	for _, p := range ps {
		titles[p.ID] = p.Title
		if p.Status == statusDraft || p.Status == statusOpen {
			attachable = append(attachable, p)
		}
		if p.Status != statusFunded {
			continue
		}
		pls, err := s.pledgesOf(ctx, p.ID)
		if err != nil {
			pageError(w, r, err)
			return
		}
		for _, pl := range pls {
			if pl.Status == pledgePromised {
				toConfirm = append(toConfirm, pl.Pledge)
			}
		}
	}
	sort.SliceStable(toConfirm, func(i, j int) bool { return toConfirm[i].CreatedAt.Before(toConfirm[j].CreatedAt) })
	done := r.URL.Query().Get("done")
	if _, ok := staffTexts["fr"]["done_"+done]; !ok {
		done = ""
	}
	call := sdk.CallOf(ctx)
	lines := make([]int, staffLines)
	for i := range lines {
		lines[i] = i + 1
	}
	render(w, r, http.StatusOK, "staff", tr(lang(ctx), "staff_title"), map[string]any{"Projects": ps, "Funds": fs, "Attachable": attachable,
		"ToConfirm": toConfirm, "Titles": titles, "Done": done, "Lines": lines, "Base": basePath(call), "API": call.APIBasePath(),
		"CSRF": call.Principal.CSRFToken})
}
