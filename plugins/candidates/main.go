// Command candidates is the candidate positioning plugin of Concorde (Grand Débat, seeds 001
// and 003): before an election, candidates take positions on statements that come from the
// citizens' own consensus (a consultation's top consensus proposals, by a published rule), each
// with a justification and a source; every change is kept in a public history; citizens answer
// the same statements and see who stands closest to them, Wahl-O-Mat's way, with the
// candidates in an order that favours nobody. It is written against plugins/sdk only: the
// consultation's results are read through the host (Results().Published), never computed here.
package main

import (
	"net/http"
	"time"
	_ "time/tzdata" // tenants' time zones (sdk.Location) on any machine

	"github.com/prometheus/client_golang/prometheus"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

const version = "1.0.0"

func manifest() *sdk.Manifest {
	page, api := sdk.PageRoute, sdk.APIRoute
	admins := []string{"tenant-admin"}
	// Any signed-in account may accept an invitation and then speak for that candidate only:
	// the plugin checks, election by election, that the account is the one that accepted.
	accounts := []string{"citizen", "partner", "moderator", "tenant-admin"}
	return &sdk.Manifest{
		Name: "candidates", Version: version, Title: "Positions des candidats",
		Description: "Les candidats prennent position sur le consensus des citoyens ; chacun trouve qui est le plus proche de ses réponses.",
		Permissions: []*sdk.Permission{
			{Object: "elections", Action: sdk.Read, Description: "read elections, statements, positions and their history", DefaultRoles: []string{"anonymous"}},
			// The host lends anonymous permissions to everyone for reading only: posting answers is
			// listed for each role that posts.
			{Object: "match", Action: sdk.Create, Description: "compare one's answers with the candidates' positions (stored only when one asks to keep them)", DefaultRoles: append([]string{"anonymous"}, accounts...)},
			{Object: "my-answers", Action: sdk.Read, Description: "read the answers one asked to keep", DefaultRoles: accounts},
			{Object: "my-answers", Action: sdk.Delete, Description: "delete the answers one kept", DefaultRoles: accounts},
			{Object: "elections", Action: sdk.Create, Description: "create elections (statements frozen from a consultation's published consensus)", DefaultRoles: admins},
			{Object: "candidates", Action: sdk.Create, Description: "invite candidates", DefaultRoles: admins},
			{Object: "staff", Action: sdk.Read, Description: "read the staff screens: candidates' emails and invitation status", DefaultRoles: []string{"tenant-admin", "auditor"}},
			{Object: "invitations", Action: sdk.Create, Description: "accept an invitation to speak for a candidate", DefaultRoles: accounts},
			{Object: "candidate", Action: sdk.Update, Description: "set one's positions, as a candidate of an election whose invitation one accepted (that election only)", DefaultRoles: accounts},
		},
		Routes: []*sdk.Route{
			api("GET", "/api/elections", "elections", sdk.Read),
			api("POST", "/api/elections", "elections", sdk.Create),
			api("GET", "/api/elections/{id}", "elections", sdk.Read),
			api("GET", "/api/elections/{id}/positions", "elections", sdk.Read),
			api("GET", "/api/elections/{id}/positions/history", "elections", sdk.Read),
			api("PUT", "/api/elections/{id}/positions/{statement}", "candidate", sdk.Update),
			api("PUT", "/api/elections/{id}/candidates/{candidate}/positions/{statement}", "candidate", sdk.Update),
			api("POST", "/api/elections/{id}/match", "match", sdk.Create),
			api("GET", "/api/elections/{id}/my-answers", "my-answers", sdk.Read),
			api("DELETE", "/api/elections/{id}/my-answers", "my-answers", sdk.Delete),
			api("POST", "/api/elections/{id}/candidates", "candidates", sdk.Create),
			api("GET", "/api/elections/{id}/candidates", "staff", sdk.Read),
			api("POST", "/api/invitations/{token}/accept", "invitations", sdk.Create),
			page("GET", "/", "elections", sdk.Read),
			page("GET", "/method", "elections", sdk.Read),
			page("GET", "/elections/{id}", "elections", sdk.Read),
			page("GET", "/elections/{id}/history", "elections", sdk.Read),
			page("GET", "/elections/{id}/quiz", "elections", sdk.Read),
			page("POST", "/elections/{id}/quiz", "match", sdk.Create),
			page("GET", "/elections/{id}/me", "candidate", sdk.Update),
			page("POST", "/elections/{id}/me/{statement}", "candidate", sdk.Update),
			page("GET", "/invitations/{token}", "elections", sdk.Read),
			page("POST", "/invitations/{token}", "invitations", sdk.Create),
			page("GET", "/staff", "staff", sdk.Read),
			page("POST", "/staff/elections", "elections", sdk.Create),
			page("GET", "/staff/elections/{id}", "staff", sdk.Read),
			page("POST", "/staff/elections/{id}/candidates", "candidates", sdk.Create),
		},
	}
}

// plugin serves the routes. It holds no tenant data: everything is in the host's storage
// view of the calling tenant.
type plugin struct {
	now       func() time.Time
	matches   prometheus.Counter
	positions prometheus.Counter
	elections prometheus.Counter
}

func newPlugin(reg prometheus.Registerer) *plugin {
	p := &plugin{now: time.Now,
		matches:   prometheus.NewCounter(prometheus.CounterOpts{Name: "candidates_matches_total", Help: "Matchings computed (answers are never stored)."}),
		positions: prometheus.NewCounter(prometheus.CounterOpts{Name: "candidates_positions_set_total", Help: "Positions set or changed by candidates."}),
		elections: prometheus.NewCounter(prometheus.CounterOpts{Name: "candidates_elections_created_total", Help: "Elections created."}),
	}
	reg.MustRegister(p.matches, p.positions, p.elections)
	return p
}

func (p *plugin) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/elections", p.apiList)
	mux.HandleFunc("POST /api/elections", p.apiCreate)
	mux.HandleFunc("GET /api/elections/{id}", p.apiGet)
	mux.HandleFunc("GET /api/elections/{id}/positions", p.apiPositions)
	mux.HandleFunc("GET /api/elections/{id}/positions/history", p.apiHistory)
	mux.HandleFunc("PUT /api/elections/{id}/positions/{statement}", p.apiSetPosition)
	mux.HandleFunc("PUT /api/elections/{id}/candidates/{candidate}/positions/{statement}", p.apiSetPosition)
	mux.HandleFunc("POST /api/elections/{id}/match", p.apiMatch)
	mux.HandleFunc("GET /api/elections/{id}/my-answers", p.apiMyAnswers)
	mux.HandleFunc("DELETE /api/elections/{id}/my-answers", p.apiMyAnswers)
	mux.HandleFunc("POST /api/elections/{id}/candidates", p.apiInvite)
	mux.HandleFunc("GET /api/elections/{id}/candidates", p.apiCandidates)
	mux.HandleFunc("POST /api/invitations/{token}/accept", p.apiAccept)
	p.pageRoutes(mux)
	return mux
}

func main() {
	reg := prometheus.NewRegistry()
	sdk.Serve(sdk.Plugin{Manifest: manifest(), Handler: newPlugin(reg).routes(), Metrics: reg})
}
