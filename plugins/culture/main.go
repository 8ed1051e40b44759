// Command culture is the cultural programming plugin of Concorde: the tenant's agenda of
// cultural events (with schema.org Event data and iCalendar feeds), "I'm interested" counts,
// and citizen programming, where citizens propose activities (published once staff accept
// them) and vote for them and staff turn the chosen ones into events. Staff work on the
// plugin's own pages (/p/culture/staff). It is written against plugins/sdk only.
//
// Citizen ideas and their votes are kept in the plugin's own storage (the host's consultation
// services are read-only for plugins so far); the tenant's consultations are read through
// the host to suggest ideas (GET /api/inspiration).
package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

const version = "1.1.0"

func manifest() *sdk.Manifest {
	page, api := sdk.PageRoute, sdk.APIRoute
	staff := []string{"tenant-admin", "moderator"}
	people := []string{"citizen", "moderator", "tenant-admin"}
	return &sdk.Manifest{
		Name: "culture", Version: version, Title: "Programmation culturelle",
		Description: "Agenda culturel du territoire, flux iCalendar, « ça m'intéresse » et programmation citoyenne.",
		Permissions: []*sdk.Permission{
			{Object: "agenda", Action: sdk.Read, Description: "read the agenda and the citizen ideas", DefaultRoles: []string{"anonymous"}},
			{Object: "events", Action: sdk.Create, Description: "add events, schedule ideas", DefaultRoles: staff},
			{Object: "events", Action: sdk.Update, Description: "change events", DefaultRoles: staff},
			{Object: "events", Action: sdk.Delete, Description: "remove events", DefaultRoles: staff},
			{Object: "submissions", Action: sdk.Create, Description: "submit an event for review (partner organisations)", DefaultRoles: []string{"partner"}},
			{Object: "submissions", Action: sdk.Read, Description: "review submitted events", DefaultRoles: staff},
			{Object: "interest", Action: sdk.Create, Description: "say \"I'm interested\"", DefaultRoles: people},
			{Object: "ideas", Action: sdk.Create, Description: "propose an activity", DefaultRoles: people},
			{Object: "idea-votes", Action: sdk.Create, Description: "vote for a proposed activity", DefaultRoles: people},
			{Object: "ideas", Action: sdk.Update, Description: "moderate citizen ideas: accept, refuse, remove", DefaultRoles: staff},
			{Object: "staff", Action: sdk.Read, Description: "open the staff screens: drafts, submissions, ideas waiting for moderation", DefaultRoles: staff},
		},
		Routes: []*sdk.Route{
			page("GET", "/", "agenda", sdk.Read),
			page("GET", "/events/{id}", "agenda", sdk.Read),
			page("POST", "/events/{id}/interest", "interest", sdk.Create),
			// A signed-out visitor's "I'm interested": a redirection to the sign-in page and back.
			page("GET", "/events/{id}/interest", "agenda", sdk.Read),
			page("GET", "/ideas", "agenda", sdk.Read),
			page("POST", "/ideas", "ideas", sdk.Create),
			page("POST", "/ideas/{id}/vote", "idea-votes", sdk.Create),
			page("GET", "/agenda.ics", "agenda", sdk.Read),
			page("GET", "/categories/{category}/agenda.ics", "agenda", sdk.Read),
			page("GET", "/staff", "staff", sdk.Read),
			page("GET", "/staff/events/new", "events", sdk.Create), // before /staff/events/{id}: first match wins
			page("POST", "/staff/events", "events", sdk.Create),
			page("GET", "/staff/events/{id}", "events", sdk.Update),
			page("POST", "/staff/events/{id}", "events", sdk.Update),
			page("POST", "/staff/events/{id}/publish", "events", sdk.Update),
			page("POST", "/staff/submissions/{id}/approve", "events", sdk.Create),
			page("POST", "/staff/submissions/{id}/reject", "events", sdk.Update),
			page("POST", "/staff/ideas/{id}/accept", "ideas", sdk.Update),
			page("POST", "/staff/ideas/{id}/refuse", "ideas", sdk.Update),
			page("POST", "/staff/ideas/{id}/remove", "ideas", sdk.Update),
			api("GET", "/api/events", "agenda", sdk.Read),
			api("GET", "/api/events/{id}", "agenda", sdk.Read),
			api("POST", "/api/events", "events", sdk.Create),
			api("PUT", "/api/events/{id}", "events", sdk.Update),
			api("DELETE", "/api/events/{id}", "events", sdk.Delete),
			api("POST", "/api/events/{id}/interest", "interest", sdk.Create),
			api("GET", "/api/ideas", "agenda", sdk.Read),
			api("GET", "/api/ideas/pending", "staff", sdk.Read),
			api("POST", "/api/ideas/{id}/accept", "ideas", sdk.Update),
			api("POST", "/api/ideas/{id}/refuse", "ideas", sdk.Update),
			api("POST", "/api/ideas/{id}/remove", "ideas", sdk.Update),
			api("POST", "/api/ideas", "ideas", sdk.Create),
			api("POST", "/api/ideas/{id}/vote", "idea-votes", sdk.Create),
			api("POST", "/api/ideas/{id}/schedule", "events", sdk.Create),
			api("GET", "/api/inspiration", "agenda", sdk.Read),
			api("POST", "/api/submissions", "submissions", sdk.Create),
			api("GET", "/api/my-submissions", "submissions", sdk.Create),
			api("GET", "/api/submissions", "submissions", sdk.Read),
			api("POST", "/api/submissions/{id}/approve", "events", sdk.Create),
			api("POST", "/api/submissions/{id}/reject", "events", sdk.Update),
		},
		Events: []string{"consultation.publish"},
		SettingsSchema: `{"type":"object","properties":{
			"agenda_title":{"type":"string","title":"Agenda title","maxLength":80},
			"ideas_open":{"type":"boolean","title":"Citizens may propose activities","default":true},
			"default_days":{"type":"integer","title":"Days shown by default","minimum":1,"maximum":365,"default":60}}}`,
	}
}

func main() {
	reg := prometheus.NewRegistry()
	a := newAgenda(reg)
	sdk.Serve(sdk.Plugin{Manifest: manifest(), Handler: a.routes(), Metrics: reg, OnEvent: a.onEvent})
}
