package main

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

func (p *plugin) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.pageIndex)
	mux.HandleFunc("GET /method", p.pageMethod)
	mux.HandleFunc("GET /elections/{id}", p.pageElection)
	mux.HandleFunc("GET /elections/{id}/history", p.pageHistory)
	mux.HandleFunc("GET /elections/{id}/quiz", p.pageQuizStart)
	mux.HandleFunc("POST /elections/{id}/quiz", p.pageQuiz)
	mux.HandleFunc("GET /elections/{id}/me", p.pageMe)
	mux.HandleFunc("POST /elections/{id}/me/{statement}", p.pageSetPosition)
	mux.HandleFunc("GET /invitations/{token}", p.pageInvitation)
	mux.HandleFunc("POST /invitations/{token}", p.pageAccept)
	mux.HandleFunc("GET /staff", p.pageStaff)
	mux.HandleFunc("POST /staff/elections", p.pageCreate)
	mux.HandleFunc("GET /staff/elections/{id}", p.pageStaffElection)
	mux.HandleFunc("POST /staff/elections/{id}/candidates", p.pageInvite)
}

// render writes page name in the language of the call, with its title.
func render(w http.ResponseWriter, r *http.Request, status int, name, title string, data map[string]any) {
	l := lang(r.Context())
	t := template.Must(pages.Clone()).Funcs(template.FuncMap{
		"t":    func(key string, args ...any) string { return textf(l, key, args...) },
		"pct":  func(n int) string { return percent(l, n) },
		"dec":  func(f float64) string { return decimal(l, f) },
		"day":  func(d string) string { return day(l, d) },
		"when": func(t time.Time) string { return when(l, sdk.Location(r.Context()), t) },
	})
	call := sdk.CallOf(r.Context())
	data["Base"], data["CSRF"] = basePath(call), call.Principal.CSRFToken
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		sdk.Log(r.Context()).Error("render", "page", name, "error", err.Error())
		pageError(w, r, err)
		return
	}
	sdk.SetPageTitle(w, title)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// basePath is the path of the plugin's pages on the tenant's site ("/p/candidates").
func basePath(c *sdk.Call) string {
	if p := c.BasePath(); p != "" {
		return p
	}
	return "/p/candidates"
}

// pageMessage is what a page says of err, with its status.
func pageMessage(l string, err error) (int, string) {
	var fe *fieldError
	if errors.As(err, &fe) {
		return http.StatusBadRequest, message(l, fe)
	}
	switch sdk.KindOf(asSDK(err)) {
	case sdk.NotFound:
		return http.StatusNotFound, tr(l, "not_found")
	case sdk.Forbidden:
		return http.StatusForbidden, tr(l, "forbidden")
	case sdk.Unauthorized:
		return http.StatusUnauthorized, tr(l, "invite_signin")
	case sdk.Conflict:
		switch {
		case errors.Is(err, errClosed):
			return http.StatusConflict, tr(l, "closed")
		case errors.Is(err, errTaken):
			return http.StatusConflict, tr(l, "invite_taken")
		}
		return http.StatusConflict, tr(l, "conflict")
	}
	return http.StatusInternalServerError, tr(l, "error")
}

func pageError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := pageMessage(lang(r.Context()), err)
	if status == http.StatusInternalServerError {
		sdk.Log(r.Context()).Error("page failed", "error", err.Error())
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`<p class="error-msg" role="alert">` + template.HTMLEscapeString(msg) + `</p>`))
}

func seeOther(w http.ResponseWriter, to string) {
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusSeeOther)
}

// staffRoles are the roles the manifest gives the staff screens by default: pages link them
// there. The host alone decides who may open them.
var staffRoles = []string{"tenant-admin", "auditor"}

func (p *plugin) pageIndex(w http.ResponseWriter, r *http.Request) {
	es, err := listElections(r.Context())
	if err != nil {
		pageError(w, r, err)
		return
	}
	render(w, r, http.StatusOK, "index", tr(lang(r.Context()), "elections_title"), map[string]any{"Elections": es,
		"Staff": sdk.CallOf(r.Context()).Principal.HasRole(staffRoles...)})
}

func (p *plugin) pageMethod(w http.ResponseWriter, r *http.Request) {
	render(w, r, http.StatusOK, "method", tr(lang(r.Context()), "method_title"), map[string]any{})
}

func (p *plugin) pageElection(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	e, err := loadElection(ctx, r.PathValue("id"))
	if err != nil {
		pageError(w, r, err)
		return
	}
	cs, err := candidates(ctx, e.ID)
	if err != nil {
		pageError(w, r, err)
		return
	}
	seed := callerSeed(ctx, e.ID)
	me := sdk.CallOf(ctx).Principal.Subject
	mine := false
	for _, c := range cs {
		mine = mine || (c.Subject != "" && c.Subject == me && !sdk.CallOf(ctx).Principal.Anonymous)
	}
	render(w, r, http.StatusOK, "election", e.Title, map[string]any{"E": e, "Candidates": inOrder(cs, seed), "Seed": seed,
		"Open": !p.now().After(e.PositionsDeadline), "Mine": mine, "Staff": sdk.CallOf(ctx).Principal.HasRole(staffRoles...)})
}

func (p *plugin) pageHistory(w http.ResponseWriter, r *http.Request) {
	e, err := loadElection(r.Context(), r.PathValue("id"))
	if err != nil {
		pageError(w, r, err)
		return
	}
	h, err := history(r.Context(), e.ID)
	if err != nil {
		pageError(w, r, err)
		return
	}
	render(w, r, http.StatusOK, "history", tr(lang(r.Context()), "history_title"), map[string]any{"E": e, "Changes": h})
}

// ---- the questionnaire ----

type hidden struct{ Name, Value string }

// quizState is the questionnaire's state, carried by the form from one statement to the
// next: the answers so far (a_<statement>) and the statements marked important (d_<statement>).
type quizState struct {
	answers map[string]string
	double  map[string]bool
}

func readQuiz(e *Election, form url.Values) (quizState, int, error) {
	st := quizState{answers: map[string]string{}, double: map[string]bool{}}
	var dbl []string
	for k, vs := range form {
		switch {
		case strings.HasPrefix(k, "a_"):
			st.answers[k[2:]] = vs[0]
		case strings.HasPrefix(k, "d_"):
			dbl = append(dbl, k[2:])
		}
	}
	d, err := validateAnswers(e, st.answers, dbl)
	if err != nil {
		return st, 0, err
	}
	st.double = d
	step, err := strconv.Atoi(form.Get("step"))
	if err != nil || step < 0 || step >= len(e.Statements) {
		return st, 0, bad("form", "the questionnaire's step is out of range")
	}
	return st, step, nil
}

// hiddenFields carries st, except the statement shown (its answer is in the form's controls).
func (st quizState) hiddenFields(e *Election, except string) []hidden {
	var out []hidden
	for _, s := range e.Statements {
		if s.ID == except {
			continue
		}
		if a, ok := st.answers[s.ID]; ok {
			out = append(out, hidden{"a_" + s.ID, a})
		}
		if st.double[s.ID] {
			out = append(out, hidden{"d_" + s.ID, "1"})
		}
	}
	return out
}

var choices = []string{Agree, Neutral, Disagree, Skip}

func (p *plugin) renderQuiz(w http.ResponseWriter, r *http.Request, e *Election, st quizState, step int, notice, errMsg string, status int) {
	s := e.Statements[step]
	render(w, r, status, "quiz", tr(lang(r.Context()), "quiz_title")+" — "+e.Title, map[string]any{"E": e, "Step": step, "N": len(e.Statements),
		"S": s, "Answer": st.answers[s.ID], "Important": st.double[s.ID], "Hidden": st.hiddenFields(e, s.ID), "Choices": choices,
		"Last": step == len(e.Statements)-1, "CanUseVotes": e.Source != nil, "Notice": notice, "Error": errMsg})
}

func (p *plugin) pageQuizStart(w http.ResponseWriter, r *http.Request) {
	e, err := loadElection(r.Context(), r.PathValue("id"))
	if err != nil {
		pageError(w, r, err)
		return
	}
	if len(e.Statements) == 0 {
		pageError(w, r, errNotFound)
		return
	}
	p.renderQuiz(w, r, e, quizState{answers: map[string]string{}, double: map[string]bool{}}, 0, "", "", http.StatusOK)
}

// pageQuiz moves the questionnaire one statement on or back, fills it with the visitor's
// votes, or shows the result after the last statement. Nothing is stored.
func (p *plugin) pageQuiz(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l := lang(ctx)
	e, err := loadElection(ctx, r.PathValue("id"))
	if err != nil {
		pageError(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		pageError(w, r, bad("form", "%s", tr(l, "bad_form")))
		return
	}
	st, step, err := readQuiz(e, r.PostForm)
	if err != nil {
		pageError(w, r, err)
		return
	}
	cur := e.Statements[step]
	goTo := r.PostForm.Get("go")
	if goTo == "next" || goTo == "back" {
		switch a := r.PostForm.Get("answer"); a {
		case Agree, Disagree, Neutral, Skip:
			st.answers[cur.ID] = a
		case "":
			st.answers[cur.ID] = Skip // no choice made: the statement is skipped
		default:
			pageError(w, r, bad("answers", "unknown answer %q", a))
			return
		}
		st.double[cur.ID] = r.PostForm.Get("important") == "1"
	}
	switch goTo {
	case "mine":
		mv, err := myVotes(ctx, e)
		if err != nil {
			pageError(w, r, err)
			return
		}
		n := 0
		for sid, a := range mv {
			if _, given := st.answers[sid]; !given {
				st.answers[sid], n = a, n+1
			}
		}
		notice := tr(l, "no_votes")
		if n > 0 {
			notice = textf(l, "votes_used", n)
		}
		p.renderQuiz(w, r, e, st, step, notice, "", http.StatusOK)
	case "back":
		p.renderQuiz(w, r, e, st, max(step-1, 0), "", "", http.StatusOK)
	case "edit":
		p.renderQuiz(w, r, e, st, 0, "", "", http.StatusOK)
	case "next":
		if step+1 < len(e.Statements) {
			p.renderQuiz(w, r, e, st, step+1, "", "", http.StatusOK)
			return
		}
		var dbl []string
		for sid, d := range st.double {
			if d {
				dbl = append(dbl, sid)
			}
		}
		sort.Strings(dbl)
		out, err := match(ctx, e, MatchInput{Answers: st.answers, Double: dbl})
		var fe *fieldError
		if errors.As(err, &fe) {
			// Nothing answered: back to the first statement, saying why.
			p.renderQuiz(w, r, e, st, 0, "", message(l, fe), http.StatusBadRequest)
			return
		}
		if err != nil {
			pageError(w, r, err)
			return
		}
		p.matches.Inc()
		p.renderResult(w, r, e, st, out)
	default:
		pageError(w, r, bad("form", "%s", tr(l, "bad_form")))
	}
}

type resultRow struct {
	S      Statement
	Answer string
	Double bool
	Cells  []Position
}

func (p *plugin) renderResult(w http.ResponseWriter, r *http.Request, e *Election, st quizState, out *MatchOutput) {
	var rows []resultRow
	for _, s := range e.Statements {
		a := st.answers[s.ID]
		if a == "" {
			a = Skip
		}
		row := resultRow{S: s, Answer: a, Double: st.double[s.ID]}
		for _, c := range out.Ordered {
			row.Cells = append(row.Cells, c.Positions[s.ID])
		}
		rows = append(rows, row)
	}
	render(w, r, http.StatusOK, "result", tr(lang(r.Context()), "result_title")+" — "+e.Title, map[string]any{"E": e, "M": out,
		"Cols": out.Ordered, "Rows": rows, "Hidden": st.hiddenFields(e, "")})
}

// ---- invitations and the candidate's screen ----

func (p *plugin) pageInvitation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PathValue("token")
	e, c, _, err := lookupInvite(ctx, token)
	if err != nil {
		pageError(w, r, err)
		return
	}
	call := sdk.CallOf(ctx)
	suffix := ""
	if c.List != "" {
		suffix = " (" + c.List + ")"
	}
	render(w, r, http.StatusOK, "invitation", tr(lang(ctx), "invite_title"), map[string]any{"E": e, "C": c, "ListSuffix": suffix, "Token": token,
		"Taken": c.Subject != "" && c.Subject != call.Principal.Subject, "Anonymous": call.Principal.Anonymous,
		"SignIn": "/account/signin?next=" + url.QueryEscape(basePath(call)+"/invitations/"+token)})
}

func (p *plugin) pageAccept(w http.ResponseWriter, r *http.Request) {
	e, _, err := accept(r.Context(), r.PathValue("token"), p.now())
	if err != nil {
		pageError(w, r, err)
		return
	}
	seeOther(w, basePath(sdk.CallOf(r.Context()))+"/elections/"+e.ID+"/me")
}

type positionItem struct {
	S Statement
	P Position
}

func (p *plugin) pageMe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	e, err := loadElection(ctx, r.PathValue("id"))
	if err != nil {
		pageError(w, r, err)
		return
	}
	c, err := mine(ctx, e.ID)
	if err != nil {
		pageError(w, r, err)
		return
	}
	var items []positionItem
	for _, s := range e.Statements {
		items = append(items, positionItem{S: s, P: c.Positions[s.ID]})
	}
	render(w, r, http.StatusOK, "me", tr(lang(ctx), "me_title"), map[string]any{"E": e, "C": c, "Items": items,
		"Choices": []string{Agree, Neutral, Disagree}, "Open": !p.now().After(e.PositionsDeadline), "Saved": r.URL.Query().Get("saved") != ""})
}

func (p *plugin) pageSetPosition(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		pageError(w, r, bad("form", "%s", tr(lang(r.Context()), "bad_form")))
		return
	}
	eid, sid := r.PathValue("id"), r.PathValue("statement")
	_, _, err := setPosition(r.Context(), eid, "", sid, PositionInput{Position: r.PostForm.Get("position"),
		Justification: r.PostForm.Get("justification"), SourceURL: r.PostForm.Get("source_url")}, p.now())
	if err != nil {
		pageError(w, r, err)
		return
	}
	p.positions.Inc()
	seeOther(w, basePath(sdk.CallOf(r.Context()))+"/elections/"+eid+"/me?saved="+url.QueryEscape(sid)+"#pos-"+url.QueryEscape(sid))
}

// ---- staff screens ----

func (p *plugin) pageStaff(w http.ResponseWriter, r *http.Request) {
	p.renderStaff(w, r, http.StatusOK, "")
}

func (p *plugin) renderStaff(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	ctx := r.Context()
	es, err := listElections(ctx)
	if err != nil {
		pageError(w, r, err)
		return
	}
	cs, err := sdk.Host(ctx).Consultations().List(ctx)
	if err != nil {
		pageError(w, r, err)
		return
	}
	var published []*sdk.Consultation
	for _, c := range cs {
		if c.GetStatus() == "published" {
			published = append(published, c)
		}
	}
	render(w, r, status, "staff", tr(lang(ctx), "staff_title"), map[string]any{"Elections": es, "Consultations": published,
		"CanCreate": sdk.CallOf(ctx).Principal.HasRole("tenant-admin"), "Error": errMsg})
}

func (p *plugin) pageCreate(w http.ResponseWriter, r *http.Request) {
	l := lang(r.Context())
	if err := r.ParseForm(); err != nil {
		pageError(w, r, bad("form", "%s", tr(l, "bad_form")))
		return
	}
	f := r.PostForm
	in := ElectionInput{Title: f.Get("title"), Date: f.Get("date"), Consultation: f.Get("consultation"), PositionsDeadline: f.Get("positions_deadline")}
	if in.Consultation != "" {
		n, err := strconv.Atoi(f.Get("statements_count"))
		if err != nil {
			n = 0
		}
		in.StatementsCount = n
	} else {
		for _, line := range strings.Split(f.Get("statements"), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				in.Statements = append(in.Statements, struct {
					Text string `json:"text"`
				}{line})
			}
		}
	}
	e, err := createElection(r.Context(), in, p.now())
	if err != nil {
		status, msg := pageMessage(l, err)
		if status == http.StatusInternalServerError {
			pageError(w, r, err)
			return
		}
		p.renderStaff(w, r, status, msg)
		return
	}
	p.elections.Inc()
	seeOther(w, basePath(sdk.CallOf(r.Context()))+"/staff/elections/"+e.ID+"?created=1")
}

func (p *plugin) pageStaffElection(w http.ResponseWriter, r *http.Request) {
	e, err := loadElection(r.Context(), r.PathValue("id"))
	if err != nil {
		pageError(w, r, err)
		return
	}
	p.renderStaffElection(w, r, e, http.StatusOK, map[string]any{"Created": r.URL.Query().Get("created") == "1"})
}

func (p *plugin) renderStaffElection(w http.ResponseWriter, r *http.Request, e *Election, status int, data map[string]any) {
	cs, err := candidates(r.Context(), e.ID)
	if err != nil {
		pageError(w, r, err)
		return
	}
	data["E"], data["Candidates"] = e, cs
	data["CanInvite"] = sdk.CallOf(r.Context()).Principal.HasRole("tenant-admin")
	render(w, r, status, "staff-election", e.Title, data)
}

func (p *plugin) pageInvite(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l := lang(ctx)
	e, err := loadElection(ctx, r.PathValue("id"))
	if err != nil {
		pageError(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		pageError(w, r, bad("form", "%s", tr(l, "bad_form")))
		return
	}
	c, token, err := inviteCandidate(ctx, e, CandidateInput{Name: r.PostForm.Get("name"), List: r.PostForm.Get("list"), Email: r.PostForm.Get("email")}, p.now())
	if err != nil {
		status, msg := pageMessage(l, err)
		if status == http.StatusInternalServerError {
			pageError(w, r, err)
			return
		}
		p.renderStaffElection(w, r, e, status, map[string]any{"Error": msg})
		return
	}
	// Shown once: only the token's hash is kept.
	p.renderStaffElection(w, r, e, http.StatusCreated, map[string]any{"Link": invitationURL(sdk.CallOf(ctx), token), "LinkFor": c.Name})
}
