package main

// staffTemplates are the staff screens' pages; pages.go parses them with the public ones.
const staffTemplates = `
{{define "staff"}}
<section aria-labelledby="staff-title">
<h1 id="staff-title">{{t "staff_title"}}</h1>
{{with .Done}}<p class="notice" role="status">{{t (printf "done_%s" .)}}</p>{{end}}
<ul class="subnav"><li><a href="{{.Base}}/">{{t "see_agenda"}}</a></li><li><a href="#submissions">{{t "staff_submissions"}}</a></li><li><a href="#ideas">{{t "staff_ideas"}}</a></li></ul>

<section id="events" aria-labelledby="staff-events">
<h2 id="staff-events">{{t "staff_events"}}</h2>
<p><a class="btn" href="{{.Base}}/staff/events/new">{{t "staff_new"}}</a></p>
{{if not .Events}}<p class="muted">{{t "staff_no_events"}}</p>{{else}}
<div class="table-wrap"><table class="table">
<thead><tr><th scope="col">{{t "what"}}</th><th scope="col">{{t "when_where"}}</th><th scope="col">{{t "status"}}</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>
{{range .Events}}<tr>
<td>{{if .Draft}}{{.Title}}{{else}}<a href="{{$.Base}}/events/{{.ID}}">{{.Title}}</a>{{end}}<br><span class="muted">{{cat .Category}}</span></td>
<td>{{with .First}}<time datetime="{{iso .Start}}">{{when .Start}}</time><br>{{end}}<span class="muted">{{.Venue.Name}}</span></td>
<td><span class="badge">{{if .Draft}}{{t "draft"}}{{else}}{{t "published"}}{{end}}</span>{{if ne .Status "scheduled"}} <span class="badge">{{status .Status}}</span>{{end}}</td>
<td><div class="actions"><a class="btn secondary small" href="{{$.Base}}/staff/events/{{.ID}}" aria-label="{{t "edit"}} : {{.Title}}">{{t "edit"}}</a>
{{if .Draft}}<form method="post" action="{{$.Base}}/staff/events/{{.ID}}/publish" class="inline"><input type="hidden" name="_csrf" value="{{$.CSRF}}"><button type="submit" class="btn small" aria-label="{{t "publish"}} : {{.Title}}">{{t "publish"}}</button></form>{{end}}</div></td>
</tr>{{end}}
</tbody></table></div>
{{end}}
</section>

<section id="submissions" aria-labelledby="staff-subs">
<h2 id="staff-subs">{{t "staff_submissions"}}</h2>
{{if not .Submissions}}<p class="muted">{{t "staff_no_submissions"}}</p>{{end}}
<ul class="tiles">
{{range .Submissions}}
<li class="tile"><article aria-labelledby="sub-{{.ID}}">
<h3 id="sub-{{.ID}}">{{.Event.Title}}</h3>
<p><span class="badge">{{cat .Event.Category}}</span> {{.Event.Venue.Name}}{{if .Event.Venue.City}}, {{.Event.Venue.City}}{{end}} · {{if .Event.Free}}{{t "free"}}{{else}}{{price .Event.PriceEUR}}{{end}}</p>
<p class="muted">{{t "by_partner" (when .SubmittedAt)}}</p>
<p>{{.Event.Description}}</p>
<form method="post" action="{{$.Base}}/staff/submissions/{{.ID}}/approve" class="actions decision"><input type="hidden" name="_csrf" value="{{$.CSRF}}"><button type="submit" class="btn agree">{{t "approve"}}</button></form>
<form method="post" action="{{$.Base}}/staff/submissions/{{.ID}}/reject" class="decision">
<input type="hidden" name="_csrf" value="{{$.CSRF}}">
<div class="field"><label for="reason-{{.ID}}">{{t "reason_partner"}}</label><textarea id="reason-{{.ID}}" name="reason" required maxlength="500" rows="2"></textarea></div>
<button type="submit" class="btn danger">{{t "reject"}}</button>
</form>
</article></li>
{{end}}
</ul>
</section>

<section id="ideas" aria-labelledby="staff-ideas">
<h2 id="staff-ideas">{{t "staff_ideas"}}</h2>
{{if not .Queue}}<p class="muted">{{t "staff_no_ideas"}}</p>{{end}}
<ul class="tiles">
{{range .Queue}}
<li class="tile"><article aria-labelledby="q-{{.ID}}">
<h3 id="q-{{.ID}}">{{.Title}}</h3>
<p><span class="badge">{{cat .Category}}</span> <span class="muted">{{when .CreatedAt}}</span></p>
<p>{{.Description}}</p>
<form method="post" action="{{$.Base}}/staff/ideas/{{.ID}}/accept" class="actions decision"><input type="hidden" name="_csrf" value="{{$.CSRF}}"><button type="submit" class="btn agree">{{t "accept"}}</button></form>
<form method="post" action="{{$.Base}}/staff/ideas/{{.ID}}/refuse" class="decision">
<input type="hidden" name="_csrf" value="{{$.CSRF}}">
<div class="field"><label for="refuse-{{.ID}}">{{t "reason"}}</label><textarea id="refuse-{{.ID}}" name="reason" required maxlength="500" rows="2"></textarea></div>
<button type="submit" class="btn danger">{{t "refuse"}}</button>
</form>
</article></li>
{{end}}
</ul>
<h3>{{t "staff_public_ideas"}}</h3>
{{if not .Public}}<p class="muted">{{t "staff_no_public_ideas"}}</p>{{end}}
<ul class="proposal-list">
{{range .Public}}
<li><form method="post" action="{{$.Base}}/staff/ideas/{{.ID}}/remove" class="inline">
<input type="hidden" name="_csrf" value="{{$.CSRF}}">
<span><strong>{{.Title}}</strong> <span class="muted">({{.Votes}} {{t "votes_label"}})</span></span>
<label for="remove-{{.ID}}" class="sr-only">{{t "reason_optional"}} : {{.Title}}</label><input id="remove-{{.ID}}" name="reason" type="text" maxlength="500" placeholder="{{t "reason_optional"}}" size="24">
<button type="submit" class="btn danger small">{{t "remove"}}</button>
</form></li>
{{end}}
</ul>
</section>
</section>
{{end}}

{{define "eventform"}}
<section aria-labelledby="form-title">
<p><a href="{{.Base}}/staff">{{t "back_staff"}}</a></p>
<h1 id="form-title">{{if .New}}{{t "new_title"}}{{else}}{{t "edit_title"}}{{end}}</h1>
{{with .Error}}<p class="error-msg" role="alert">{{.}}</p>{{end}}
<form method="post" action="{{.Base}}/staff/events{{if not .New}}/{{.E.ID}}{{end}}">
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<fieldset class="panel" aria-labelledby="fs-what"><h2 id="fs-what">{{t "what"}}</h2>
<div class="field"><label for="e-title">{{t "title"}}</label><input id="e-title" name="title" type="text" required minlength="3" maxlength="140" value="{{.E.Title}}"></div>
<div class="field"><label for="e-cat">{{t "filter_category"}}</label><select id="e-cat" name="category">{{range .Categories}}<option value="{{.}}"{{if eq . $.E.Category}} selected{{end}}>{{cat .}}</option>{{end}}</select></div>
<div class="field"><label for="e-desc">{{t "description"}}</label><textarea id="e-desc" name="description" maxlength="5000" rows="5">{{.E.Description}}</textarea></div>
{{if not .New}}<div class="field"><label for="e-status">{{t "status"}}</label><select id="e-status" name="status">{{range .Statuses}}<option value="{{.}}"{{if eq . $.E.Status}} selected{{end}}>{{status .}}</option>{{end}}</select></div>{{end}}
</fieldset>
<fieldset class="panel" aria-labelledby="fs-when"><h2 id="fs-when">{{t "when_where"}}</h2>
{{if .FixedSchedule}}<p class="muted">{{t "fixed_schedule"}}</p>{{else}}
<div class="two-cols">
<div class="field"><label for="e-start">{{t "start"}}</label><input id="e-start" name="start" type="datetime-local" required value="{{.Start}}"></div>
<div class="field"><label for="e-end">{{t "end"}}</label><input id="e-end" name="end" type="datetime-local" required value="{{.End}}"></div>
</div>{{end}}
<div class="field"><label for="e-venue">{{t "venue_name"}}</label><input id="e-venue" name="venue_name" type="text" required maxlength="200" value="{{.E.Venue.Name}}"></div>
<div class="field"><label for="e-address">{{t "venue_address"}}</label><input id="e-address" name="venue_address" type="text" maxlength="300" autocomplete="street-address" value="{{.E.Venue.Address}}"></div>
<div class="two-cols">
<div class="field"><label for="e-postal">{{t "venue_postal_code"}}</label><input id="e-postal" name="venue_postal_code" type="text" maxlength="10" autocomplete="postal-code" value="{{.E.Venue.PostalCode}}"></div>
<div class="field"><label for="e-city">{{t "venue_city"}}</label><input id="e-city" name="venue_city" type="text" maxlength="100" value="{{.E.Venue.City}}"></div>
</div>
</fieldset>
<fieldset class="panel" aria-labelledby="fs-price"><h2 id="fs-price">{{t "price_access"}}</h2>
<div class="check"><input id="e-free" name="free" type="checkbox" value="1"{{if .E.Free}} checked{{end}}><label for="e-free">{{t "is_free"}}</label></div>
<div class="field"><label for="e-price">{{t "price"}}</label><input id="e-price" name="price" type="number" min="0" max="10000" step="0.01" value="{{.Price}}"></div>
<div class="two-cols">
<div class="field"><label for="e-agemin">{{t "age_min"}}</label><input id="e-agemin" name="age_min" type="number" min="0" max="120" step="1" value="{{.AgeMin}}"></div>
<div class="field"><label for="e-agemax">{{t "age_max"}}</label><input id="e-agemax" name="age_max" type="number" min="0" max="120" step="1" value="{{.AgeMax}}"></div>
</div>
<fieldset class="quals" aria-labelledby="fs-access"><h3 id="fs-access">{{t "accessibility"}}</h3>
{{range .AccessCodes}}<label class="qual" for="acc-{{.}}"><input id="acc-{{.}}" type="checkbox" name="accessibility" value="{{.}}"{{if index $.Access .}} checked{{end}}> {{access .}}</label>{{end}}
</fieldset>
<div class="field"><label for="e-link">{{t "link"}}</label><input id="e-link" name="link" type="url" maxlength="500" value="{{.E.Link}}"></div>
</fieldset>
<div class="actions">
{{if or .New .E.Draft}}<button type="submit" class="btn secondary">{{t "save_draft"}}</button>
<button type="submit" name="publish" value="1" class="btn">{{t "save_publish"}}</button>
{{else}}<button type="submit" class="btn">{{t "save"}}</button>{{end}}
</div>
</form>
</section>
{{end}}
`
