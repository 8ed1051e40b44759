package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/core/e2e"
)

// tenantsRun is what many tenants, each with a tenant admin, cost the real server, beside the
// same measures on an empty installation.
type tenantsRun struct {
	name                string
	tenants             int
	admins              bool
	startup, startEmpty time.Duration // from exec to /readyz answering 200
	create, createEmpty time.Duration // `concorde tenant create`, process start included
	idle                time.Duration
	idleCPU             float64 // share of one core used by the idle server
}

// measureTenants seeds tenants tenants (with an admin each if admins) on the database newURL
// gives (and an empty one beside it), starts the server on each, and times start-up, the idle
// processor time and `concorde tenant create`.
func measureTenants(ctx context.Context, o options, bin, dir, name string, tenants int, admins bool, newURL func() (string, func(), error)) (*tenantsRun, error) {
	r := &tenantsRun{name: name, tenants: tenants, admins: admins, idle: o.idle}
	for _, n := range []int{0, tenants} {
		url, drop, err := newURL()
		if err != nil {
			return nil, err
		}
		if !o.keep {
			defer drop()
		}
		logf("%s: seeding %d tenants (admins: %v)", name, n, admins)
		if err := e2e.SeedTenants(ctx, url, n, admins); err != nil {
			return nil, err
		}
		t0 := time.Now()
		srv, err := e2e.Start(bin, url, filepath.Join(dir, fmt.Sprintf("%s-tenants-%d.log", strings.ToLower(name), n)), false)
		if err != nil {
			return nil, err
		}
		startup := time.Since(t0)
		if n > 0 {
			time.Sleep(time.Second) // let the first refresh finish
			c0, err := srv.CPUTime()
			if err == nil {
				time.Sleep(o.idle)
				var c1 time.Duration
				if c1, err = srv.CPUTime(); err == nil {
					r.idleCPU = float64(c1-c0) / float64(o.idle)
				}
			}
			if err != nil {
				_ = srv.Kill()
				return nil, err
			}
		}
		// The quickest of three: on a shared machine the others measure the neighbours.
		var create time.Duration
		for i := range 3 {
			slug := fmt.Sprintf("bench-new-%d", i)
			t0 = time.Now()
			if _, err = srv.Command(ctx, "tenant", "create", "--slug", slug, "--kind", "city", "--name", "Ville nouvelle", "--host", slug+".localhost"); err != nil {
				break
			}
			if d := time.Since(t0); i == 0 || d < create {
				create = d
			}
		}
		_ = srv.Kill()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			r.startEmpty, r.createEmpty = startup, create
		} else {
			r.startup, r.create = startup, create
		}
		logf("%s: %d tenants: start-up %v, tenant create %v", name, n, startup.Round(time.Millisecond), create.Round(time.Millisecond))
	}
	return r, nil
}

// reportTenants prints the Markdown table of the tenants part.
func reportTenants(w io.Writer, runs []*tenantsRun) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nMany tenants, against an empty installation (issue 15):\n\n")
	fmt.Fprintln(w, "| Dialect | Tenants | Measure | with the tenants | empty | × empty | target | |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---|---|")
	s := func(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }
	for _, r := range runs {
		who := fmt.Sprintf("%d with an admin each", r.tenants)
		if !r.admins {
			who = fmt.Sprintf("%d without accounts", r.tenants)
		}
		fmt.Fprintf(w, "| %s | %s | start-up (exec to /readyz) | %s | %s | %.1f | ≤ 2 s | %s |\n",
			r.name, who, s(r.startup), s(r.startEmpty), r.startup.Seconds()/r.startEmpty.Seconds(), verdict(r.startup <= 2*time.Second))
		fmt.Fprintf(w, "| %s | %s | `concorde tenant create` (process included, quickest of 3) | %s | %s | %.1f | ≤ 0.5 s | %s |\n",
			r.name, who, s(r.create), s(r.createEmpty), r.create.Seconds()/r.createEmpty.Seconds(), verdict(r.create <= 500*time.Millisecond))
		fmt.Fprintf(w, "| %s | %s | idle server, over %s | %.2f %% of a core | | | ≤ 2 %% | %s |\n",
			r.name, who, r.idle, 100*r.idleCPU, verdict(r.idleCPU <= 0.02))
	}
}
