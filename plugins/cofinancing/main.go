// Command cofinancing is the co-financing plugin of Concorde: citizens and partners pledge
// to the cultural projects of their territory, with Goteo's two rounds (the minimum by the
// deadline or nothing is collected, then the optimum) and itemised budgets; match-funding
// funds add to pledges (a factor with caps, criteria, or quadratic funding); every movement
// of money goes into a public, hash-chained ledger; a scheduled job settles projects at
// their deadline. Money is integer cents throughout. It is written against plugins/sdk only.
package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

const version = "1.0.0"

func manifest() *sdk.Manifest {
	page, api := sdk.PageRoute, sdk.APIRoute
	admins := []string{"tenant-admin"}
	people := []string{"citizen", "partner", "moderator", "tenant-admin"}
	return &sdk.Manifest{
		Name: "cofinancing", Version: version, Title: "Co-financement",
		Description: "Co-financement des projets culturels : deux tours (minimum, optimum), fonds d'abondement, registre public vérifiable.",
		Permissions: []*sdk.Permission{
			{Object: "projects", Action: sdk.Read, Description: "see projects, their backers, funds and public ledger", DefaultRoles: []string{"anonymous"}},
			{Object: "projects", Action: sdk.Create, Description: "create projects (grant it to partners to let them propose projects)", DefaultRoles: admins},
			{Object: "projects", Action: sdk.Update, Description: "open and close projects", DefaultRoles: admins},
			{Object: "pledges", Action: sdk.Create, Description: "pledge to a project, list one's pledges", DefaultRoles: people},
			{Object: "pledges", Action: sdk.Delete, Description: "withdraw one's own pledge before the deadline", DefaultRoles: people},
			{Object: "pledges", Action: sdk.Update, Description: "confirm that a pledge's money arrived", DefaultRoles: admins},
			{Object: "funds", Action: sdk.Read, Description: "see match-funding funds", DefaultRoles: []string{"anonymous"}},
			{Object: "funds", Action: sdk.Create, Description: "create match-funding funds", DefaultRoles: admins},
			{Object: "funds", Action: sdk.Update, Description: "attach projects to funds", DefaultRoles: admins},
			{Object: "disbursements", Action: sdk.Create, Description: "record money paid out for a funded project", DefaultRoles: admins},
			{Object: "ledger", Action: sdk.Read, Description: "export the whole ledger and verify its chain", DefaultRoles: []string{"auditor", "tenant-admin"}},
			{Object: "staff", Action: sdk.Read, Description: "open the staff screen", DefaultRoles: admins},
		},
		Routes: []*sdk.Route{
			page("GET", "/", "projects", sdk.Read),
			page("GET", "/projects/{id}", "projects", sdk.Read),
			page("POST", "/projects/{id}/pledges", "pledges", sdk.Create),
			page("GET", "/my", "pledges", sdk.Create),
			page("POST", "/pledges/{id}/cancel", "pledges", sdk.Delete),
			page("GET", "/funds/{id}", "funds", sdk.Read),
			page("GET", "/staff", "staff", sdk.Read),
			page("POST", "/staff/projects", "projects", sdk.Create),
			page("POST", "/staff/projects/{id}/open", "projects", sdk.Update),
			page("POST", "/staff/projects/{id}/close", "projects", sdk.Update),
			page("POST", "/staff/projects/{id}/disbursements", "disbursements", sdk.Create),
			page("POST", "/staff/funds", "funds", sdk.Create),
			page("POST", "/staff/funds/{id}/projects", "funds", sdk.Update),
			page("POST", "/staff/pledges/{id}/confirm", "pledges", sdk.Update),
			api("GET", "/api/projects", "projects", sdk.Read),
			api("POST", "/api/projects", "projects", sdk.Create),
			api("GET", "/api/projects/{id}", "projects", sdk.Read),
			api("POST", "/api/projects/{id}/open", "projects", sdk.Update),
			api("POST", "/api/projects/{id}/close", "projects", sdk.Update),
			api("GET", "/api/projects/{id}/ledger", "projects", sdk.Read),
			api("POST", "/api/projects/{id}/pledges", "pledges", sdk.Create),
			api("POST", "/api/projects/{id}/disbursements", "disbursements", sdk.Create),
			api("DELETE", "/api/pledges/{id}", "pledges", sdk.Delete),
			api("POST", "/api/pledges/{id}/confirm", "pledges", sdk.Update),
			api("GET", "/api/my/pledges", "pledges", sdk.Create),
			api("GET", "/api/funds", "funds", sdk.Read),
			api("POST", "/api/funds", "funds", sdk.Create),
			api("GET", "/api/funds/{id}", "funds", sdk.Read),
			api("POST", "/api/funds/{id}/projects", "funds", sdk.Update),
			api("GET", "/api/ledger.csv", "ledger", sdk.Read),
			api("GET", "/api/ledger/verify", "ledger", sdk.Read),
		},
		Jobs: []*sdk.Job{{Name: "settle", EverySeconds: 60,
			Description: "Closes the projects whose deadline passed: funded if the minimum is reached, else every pledge released and every match returned."}},
		SettingsSchema: `{"type":"object","properties":{
			"min_pledge_cents":{"type":"integer","title":"Smallest pledge (cents)","minimum":1,"maximum":100000,"default":100},
			"max_pledge_cents":{"type":"integer","title":"Largest pledge (cents)","minimum":100,"maximum":100000000,"default":1000000}}}`,
	}
}

func main() {
	reg := prometheus.NewRegistry()
	s := newService(reg)
	sdk.Serve(sdk.Plugin{Manifest: manifest(), Handler: s.routes(), Metrics: reg,
		Jobs: map[string]func(context.Context) error{"settle": s.settle}})
}
