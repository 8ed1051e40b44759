package main

import (
	"html/template"
	"time"
)

// Pages are HTML fragments: the host sanitises them (class kept, never style or script) and
// wraps them in the tenant's layout, whose site.css styles them through its own classes
// (btn, panel, field, tiles, table, quals…). Nothing needs JavaScript: the questionnaire is a
// form posted one statement at a time, its earlier answers carried in hidden fields (never
// stored). Texts come from t, in the page's language (i18n.go).
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"t": func(string, ...any) string { return "" }, "pct": func(int) string { return "" },
	"dec": func(float64) string { return "" }, "day": func(string) string { return "" },
	"when": func(time.Time) string { return "" },
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"add":  func(a, b int) int { return a + b },
	"deref": func(f *float64) float64 {
		if f == nil {
			return 0
		}
		return *f
	},
}).Parse(publicTemplates + quizTemplates + candidateTemplates + staffTemplates))

const publicTemplates = `
{{define "index"}}
<section aria-labelledby="el-title">
<h1 id="el-title">{{t "elections_title"}}</h1>
<p>{{t "elections_intro"}}</p>
<ul class="subnav"><li><a href="{{.Base}}/method">{{t "method_link"}}</a></li>{{if .Staff}}<li><a href="{{.Base}}/staff">{{t "staff_link"}}</a></li>{{end}}</ul>
{{if not .Elections}}<p class="muted">{{t "no_elections"}}</p>{{end}}
<ul class="tiles">
{{range .Elections}}<li class="tile"><article aria-labelledby="e-{{.ID}}">
<h2 id="e-{{.ID}}" class="tile-link"><a href="{{$.Base}}/elections/{{.ID}}">{{.Title}}</a></h2>
<p>{{t "election_date" (day .Date)}}</p>
</article></li>{{end}}
</ul>
</section>
{{end}}

{{define "election"}}
<article aria-labelledby="el-title">
<h1 id="el-title">{{.E.Title}}</h1>
<p>{{t "election_date" (day .E.Date)}} · {{if .Open}}{{t "deadline" (when .E.PositionsDeadline)}}{{else}}{{t "deadline_passed"}}{{end}}</p>
<p><a class="btn" href="{{.Base}}/elections/{{.E.ID}}/quiz">{{t "start_quiz"}}</a></p>
<ul class="subnav">
<li><a href="{{.Base}}/elections/{{.E.ID}}/history">{{t "history_link"}}</a></li>
<li><a href="{{.Base}}/method">{{t "method_link"}}</a></li>
{{if .Mine}}<li><a href="{{.Base}}/elections/{{.E.ID}}/me">{{t "my_positions"}}</a></li>{{end}}
{{if .Staff}}<li><a href="{{.Base}}/staff/elections/{{.E.ID}}">{{t "staff_link"}}</a></li>{{end}}
</ul>
<section class="panel" aria-labelledby="st-title">
<h2 id="st-title">{{t "statements"}}</h2>
{{with .E.Source}}<p>{{t "from_consultation" .Count .Question .Votes}}</p>
<p class="muted snapshot">{{t "results_sha"}} <code>{{.SnapshotSHA256}}</code></p>{{else}}<p class="muted">{{t "explicit_statements"}}</p>{{end}}
<ol class="steps">
{{range .E.Statements}}<li id="st-{{.ID}}">{{.Text}}{{if .ProposalID}} <span class="muted">({{t "proposal_ref" .ProposalID (dec (deref .Top)) (dec (deref .TopLow)) (dec (deref .TopHigh))}})</span>{{end}}</li>{{end}}
</ol>
</section>
<section aria-labelledby="cand-title">
<h2 id="cand-title">{{t "candidates"}}</h2>
<p class="muted">{{t "order_note"}} {{t "order_seed" .Seed}}</p>
{{if not .Candidates}}<p class="muted">{{t "no_candidates_yet"}}</p>{{end}}
<ul class="tiles candidates">
{{range .Candidates}}<li class="tile"><p class="tile-link"><strong>{{.Name}}</strong></p><p>{{.List}}</p>{{if not .AcceptedAt}}<p class="muted">{{t "pending"}}</p>{{end}}</li>{{end}}
</ul>
</section>
</article>
{{end}}

{{define "history"}}
<section aria-labelledby="h-title">
<h1 id="h-title">{{t "history_title"}} — {{.E.Title}}</h1>
<p>{{t "history_intro"}}</p>
<p><a href="{{.Base}}/elections/{{.E.ID}}">{{.E.Title}}</a></p>
{{if not .Changes}}<p class="muted">{{t "no_changes"}}</p>{{else}}
<div class="table-wrap"><table class="table">
<caption class="sr-only">{{t "history_title"}}</caption>
<thead><tr><th scope="col">{{t "at"}}</th><th scope="col">{{t "candidate"}}</th><th scope="col">{{t "statement"}}</th><th scope="col">{{t "position"}}</th><th scope="col">{{t "previous"}}</th><th scope="col">{{t "justification"}}</th></tr></thead>
<tbody>
{{range .Changes}}<tr><td><time datetime="{{iso .At}}">{{when .At}}</time></td><td>{{.CandidateName}}</td><td>{{.StatementID}}</td><td>{{t .Position}}</td><td>{{if .Previous}}{{t .Previous}}{{end}}</td>
<td>{{.Justification}}{{if .SourceURL}} (<a href="{{.SourceURL}}" rel="nofollow noopener">{{t "source"}}</a>){{end}}</td></tr>{{end}}
</tbody></table></div>{{end}}
</section>
{{end}}

{{define "method"}}
<article aria-labelledby="m-title">
<h1 id="m-title">{{t "method_title"}}</h1>
<p>{{t "method_statements"}}</p>
<p>{{t "method_scoring"}}</p>
<p>{{t "method_example"}}</p>
<p>{{t "method_order"}}</p>
<p>{{t "method_history"}}</p>
<p><a href="{{.Base}}/">{{t "elections_title"}}</a></p>
</article>
{{end}}

{{define "invitation"}}
<section aria-labelledby="inv-title" class="panel">
<h1 id="inv-title">{{t "invite_title"}}</h1>
<p>{{t "invite_text" .C.Name .ListSuffix .E.Title}}</p>
{{if .Taken}}<p class="error-msg" role="alert">{{t "invite_taken"}}</p>
{{else if .Anonymous}}<p><a class="btn" href="{{.SignIn}}">{{t "invite_signin"}}</a></p>
{{else}}<form method="post" action="{{.Base}}/invitations/{{.Token}}" class="actions">
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<button type="submit" class="btn">{{t "invite_accept"}}</button>
</form>{{end}}
</section>
{{end}}
`

const quizTemplates = `
{{define "quiz"}}
<section aria-labelledby="q-title">
<h1 id="q-title">{{t "quiz_title"}} — {{.E.Title}}</h1>
<p class="muted">{{t "nothing_stored"}}</p>
{{if .Notice}}<p class="notice" role="status">{{.Notice}}</p>{{end}}
{{if .Error}}<p class="error-msg" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Base}}/elections/{{.E.ID}}/quiz" id="quiz">
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<input type="hidden" name="step" value="{{.Step}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}
<p id="q-progress" aria-live="polite">{{t "progress" (add .Step 1) .N}}</p>
<fieldset class="quals" aria-describedby="q-progress">
<legend id="q-statement">{{.S.Text}}</legend>
{{range .Choices}}<label class="qual" for="q-{{.}}"><input type="radio" id="q-{{.}}" name="answer" value="{{.}}"{{if eq . $.Answer}} checked{{end}}> {{t .}}</label>
{{end}}
<label class="check" for="q-important"><input type="checkbox" id="q-important" name="important" value="1"{{if .Important}} checked{{end}}> {{t "important"}}</label>
</fieldset>
<div class="actions">
{{if gt .Step 0}}<button type="submit" name="go" value="back" class="btn secondary">{{t "back"}}</button>{{end}}
{{if .Last}}<button type="submit" name="go" value="next" class="btn" id="q-next">{{t "see_result"}}</button>{{else}}<button type="submit" name="go" value="next" class="btn" id="q-next">{{t "next"}}</button>{{end}}
{{if .CanUseVotes}}<button type="submit" name="go" value="mine" class="btn secondary" id="q-mine">{{t "use_votes"}}</button>{{end}}
</div>
</form>
</section>
{{end}}

{{define "result"}}
<section aria-labelledby="r-title">
<h1 id="r-title">{{t "result_title"}} — {{.E.Title}}</h1>
<p>{{t "answered_n" .M.Answered}} {{t "nothing_stored"}}</p>
{{if not .M.Candidates}}<p class="muted">{{t "no_candidates"}}</p>{{else}}
<p class="muted">{{t "result_order"}}</p>
<ol class="tiles scores">
{{range .M.Candidates}}<li class="tile"><p class="tile-link"><strong>{{.Name}}</strong></p><p>{{.List}}</p>
<p class="score"><strong>{{pct .Percent}}</strong> <span class="muted">({{t "points" .Points .Max}})</span></p></li>{{end}}
</ol>
<div class="table-wrap"><table class="table" id="side-by-side">
<caption>{{t "table_caption"}}</caption>
<thead><tr><th scope="col">{{t "statement"}}</th><th scope="col">{{t "you"}}</th>{{range .Cols}}<th scope="col">{{.Name}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><th scope="row">{{.S.Text}}</th><td>{{t .Answer}}{{if .Double}} <span class="badge">{{t "counts_double"}}</span>{{end}}</td>
{{range .Cells}}<td>{{if .Position}}<strong>{{t .Position}}</strong>{{else}}<span class="muted">{{t "no_position"}}</span>{{end}}{{if .Justification}}<br>{{.Justification}}{{end}}{{if .SourceURL}}<br><a href="{{.SourceURL}}" rel="nofollow noopener">{{t "source"}}</a>{{end}}</td>{{end}}</tr>
{{end}}
</tbody></table></div>{{end}}
<form method="post" action="{{.Base}}/elections/{{.E.ID}}/quiz" class="actions">
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<input type="hidden" name="step" value="0">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}
<button type="submit" name="go" value="edit" class="btn secondary">{{t "edit_answers"}}</button>
</form>
<p><a href="{{.Base}}/method">{{t "method_link"}}</a> · <a href="{{.Base}}/elections/{{.E.ID}}/history">{{t "history_link"}}</a></p>
</section>
{{end}}
`

const candidateTemplates = `
{{define "me"}}
<section aria-labelledby="me-title">
<h1 id="me-title">{{t "me_title"}} — {{.E.Title}}</h1>
<p>{{t "me_intro" .C.Name}}</p>
{{if .Saved}}<p class="notice" role="status">{{t "saved"}}</p>{{end}}
{{if not .Open}}<p class="notice" role="status">{{t "closed"}}</p>{{end}}
{{range .Items}}
<form method="post" action="{{$.Base}}/elections/{{$.E.ID}}/me/{{.S.ID}}" id="pos-{{.S.ID}}" class="panel">
<input type="hidden" name="_csrf" value="{{$.CSRF}}">
<fieldset class="quals"><legend>{{.S.Text}}</legend>
{{$sid := .S.ID}}{{$cur := .P.Position}}
{{range $.Choices}}<label class="qual" for="p-{{$sid}}-{{.}}"><input type="radio" id="p-{{$sid}}-{{.}}" name="position" value="{{.}}" required{{if eq . $cur}} checked{{end}}{{if not $.Open}} disabled{{end}}> {{t .}}</label>
{{end}}
<div class="field"><label for="j-{{.S.ID}}">{{t "justification_field"}}</label><textarea id="j-{{.S.ID}}" name="justification" maxlength="500" rows="3"{{if not $.Open}} disabled{{end}}>{{.P.Justification}}</textarea></div>
<div class="field"><label for="u-{{.S.ID}}">{{t "source_field"}}</label><input id="u-{{.S.ID}}" type="url" name="source_url" value="{{.P.SourceURL}}" pattern="https://.*"{{if not $.Open}} disabled{{end}}></div>
</fieldset>
{{if $.Open}}<button type="submit" class="btn">{{t "save"}}</button>{{end}}
</form>
{{end}}
</section>
{{end}}
`

const staffTemplates = `
{{define "staff"}}
<section aria-labelledby="staff-title">
<h1 id="staff-title">{{t "staff_title"}}</h1>
{{if .Elections}}<div class="table-wrap"><table class="table"><caption class="sr-only">{{t "elections_title"}}</caption>
<thead><tr><th scope="col">{{t "title"}}</th><th scope="col">{{t "date"}}</th><th scope="col">{{t "deadline_field"}}</th><th scope="col"></th></tr></thead><tbody>
{{range .Elections}}<tr><td>{{.Title}}</td><td>{{day .Date}}</td><td>{{when .PositionsDeadline}}</td><td><a href="{{$.Base}}/staff/elections/{{.ID}}">{{t "manage"}}</a> · <a href="{{$.Base}}/elections/{{.ID}}">{{t "open_election"}}</a></td></tr>{{end}}
</tbody></table></div>{{else}}<p class="muted">{{t "no_elections"}}</p>{{end}}
{{if .Error}}<p class="error-msg" role="alert">{{.Error}}</p>{{end}}
{{if .CanCreate}}
<form method="post" action="{{.Base}}/staff/elections" class="panel">
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<fieldset class="quals"><legend>{{t "new_election"}}</legend>
<div class="field"><label for="n-title">{{t "title"}}</label><input id="n-title" name="title" required minlength="3" maxlength="200"></div>
<div class="field"><label for="n-date">{{t "date"}}</label><input id="n-date" type="date" name="date" required></div>
<div class="field"><label for="n-deadline">{{t "deadline_field"}}</label><input id="n-deadline" type="date" name="positions_deadline" required></div>
<div class="field"><label for="n-cons">{{t "consultation"}}</label><select id="n-cons" name="consultation"><option value="">{{t "none"}}</option>{{range .Consultations}}<option value="{{.Slug}}">{{.Question}}</option>{{end}}</select></div>
<div class="field"><label for="n-count">{{t "count"}}</label><input id="n-count" type="number" name="statements_count" min="1" max="30" value="10"></div>
<div class="field"><label for="n-stmts">{{t "or_statements"}}</label><textarea id="n-stmts" name="statements" rows="5"></textarea></div>
<button type="submit" class="btn">{{t "create"}}</button>
</fieldset>
</form>{{end}}
</section>
{{end}}

{{define "staff-election"}}
<section aria-labelledby="se-title">
<h1 id="se-title">{{.E.Title}}</h1>
{{if .Created}}<p class="notice" role="status">{{t "created"}}</p>{{end}}
{{if .Link}}<div class="notice" role="status"><p>{{t "invitation_link" .LinkFor}}</p><p class="snapshot"><code id="invitation-link">{{.Link}}</code></p></div>{{end}}
{{if .Error}}<p class="error-msg" role="alert">{{.Error}}</p>{{end}}
<p><a href="{{.Base}}/elections/{{.E.ID}}">{{t "open_election"}}</a> · <a href="{{.Base}}/staff">{{t "staff_link"}}</a></p>
<div class="table-wrap"><table class="table"><caption>{{t "candidates"}}</caption>
<thead><tr><th scope="col">{{t "name"}}</th><th scope="col">{{t "list"}}</th><th scope="col">{{t "email"}}</th><th scope="col">{{t "position"}}</th></tr></thead><tbody>
{{range .Candidates}}<tr><td>{{.Name}}</td><td>{{.List}}</td><td>{{.Email}}</td><td>{{if .AcceptedAt}}{{t "accepted"}}, {{t "positions_n" (len .Positions)}}{{else}}{{t "pending"}}{{end}}</td></tr>{{end}}
</tbody></table></div>
{{if .CanInvite}}
<form method="post" action="{{.Base}}/staff/elections/{{.E.ID}}/candidates" class="panel">
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<fieldset class="quals"><legend>{{t "invite_legend"}}</legend>
<div class="field"><label for="c-name">{{t "name"}}</label><input id="c-name" name="name" required minlength="2" maxlength="120"></div>
<div class="field"><label for="c-list">{{t "list"}}</label><input id="c-list" name="list" maxlength="120"></div>
<div class="field"><label for="c-email">{{t "email"}}</label><input id="c-email" type="email" name="email" required></div>
<button type="submit" class="btn">{{t "invite"}}</button>
</fieldset>
</form>{{end}}
</section>
{{end}}
`
