package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

// Two nodes behind one load balancer share one database: what one node changes, the other
// serves after its periodic refresh, and a participant may hit either node.
func TestNodes_TwoNodesShareOneDatabase(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			url := storetest.URL(t, dialect)
			n1, n2 := testsupport.NewAt(t, url), testsupport.NewAt(t, url)
			ctx := context.Background()
			w := newConsultation(t, n1)
			// Hosts are read on first request: node 2, which never served this one, serves it
			// before any refresh.
			if res := n2.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/"}); res.Status != http.StatusOK {
				t.Fatalf("node 2 before refresh: %d", res.Status)
			}
			n2.App.Tick(ctx) // what the server runs every 15 s
			if res := n2.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/"}); res.Status != http.StatusOK {
				t.Fatalf("node 2 after refresh: %d", res.Status)
			}
			// Roles granted on node 1 hold on node 2 after the refresh.
			if res := n2.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/users", Token: w.A.Tokens[authz.TenantAdmin]}); res.Status != http.StatusOK {
				t.Fatalf("tenant admin on node 2: %d %s", res.Status, res.Body)
			}
			// A participant votes alternately through both nodes, with one cookie jar.
			author := n1.Visitor(w.A.Host)
			var ids []int64
			for i := 0; i < 4; i++ {
				ids = append(ids, w.propose(t, author, fmt.Sprintf("Il faut ouvrir la médiathèque numéro %d le dimanche", i))...)
				author = n1.Visitor(w.A.Host)
			}
			v1 := n1.Visitor(w.A.Host)
			for i, id := range ids {
				node := n1
				if i%2 == 1 {
					node = n2
				}
				key := keyFor(t, v1, id)
				v := v1.On(node)
				if res := v.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", id), map[string]any{"vote": "agree", "key": key}); res.Status != 200 {
					t.Fatalf("vote through node %d: %d %s", i%2+1, res.Status, res.Body)
				}
			}
			tn, err := n1.App.Tenants.BySlug(ctx, "ay")
			if err != nil {
				t.Fatal(err)
			}
			cs, err := n1.App.Consultations.Get(ctx, tn.ID, "culture")
			if err != nil {
				t.Fatal(err)
			}
			d, err := n2.App.Votes.Recompute(ctx, tn.ID, cs.ID, false, nil)
			if err != nil || d.Votes != 4 || len(d.Mismatches) != 0 {
				t.Fatalf("votes through two nodes: %+v %v", d, err)
			}
			// Suspending on one node stops the site on the other after its refresh.
			if _, err := n1.App.Tenants.SetStatus(ctx, "test", "ay", tenants.Suspended); err != nil {
				t.Fatal(err)
			}
			n2.App.Tick(ctx)
			if res := n2.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/"}); res.Status != http.StatusServiceUnavailable {
				t.Fatalf("suspended on node 1, node 2 serves: %d", res.Status)
			}
		})
	}
}

// On PostgreSQL a node announces what it changed (NOTIFY) and the other nodes apply it at once
// (LISTEN), long before their periodic refresh (15 s for tenants and policies, 2 s for
// consultations): here neither node ever runs it.
func TestNodes_ChangesReachTheOtherNodeAtOnce(t *testing.T) {
	url := storetest.URL(t, "postgres")
	n1, n2 := testsupport.NewAt(t, url), testsupport.NewAt(t, url)
	// Only announcements can refresh node 2's copy of a consultation: without one, its entry is
	// read again only after an hour.
	n2.App.Catalog.TTL, n2.App.Catalog.ResyncEvery = 10*time.Millisecond, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	var watching sync.WaitGroup
	for _, n := range []*testsupport.Env{n1, n2} {
		ready := make(chan struct{})
		watching.Add(1)
		go func() { defer watching.Done(); n.App.Watch(ctx, ready) }()
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("a node does not listen after 10 s")
		}
	}
	t.Cleanup(func() { cancel(); watching.Wait() }) // before the apps close
	// within waits for cond on node 2 and says how long it took.
	within := func(what string, cond func() bool) {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > time.Second {
				t.Fatalf("%s: not seen on node 2 after 1 s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s: seen on node 2 after %v", what, time.Since(start).Round(time.Millisecond))
	}

	w := newConsultation(t, n1) // tenants, accounts and roles, all made on node 1
	within("a new tenant", func() bool {
		return n2.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/"}).Status == http.StatusOK
	})

	// A role granted on node 1.
	m, tok := n1.Account(w.A.Tenant.ID, "promoted@ay.test", authz.Citizen)
	users := testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/users", Token: tok}
	within("a new account's citizen role", func() bool { return n2.Do(users).Status == http.StatusForbidden })
	if res := n1.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: fmt.Sprintf("/api/v1/users/%d/roles", m.ID),
		Token: w.admin, Body: map[string]any{"role": "tenant-admin"}}); res.Status != http.StatusOK && res.Status != http.StatusCreated {
		t.Fatalf("grant on node 1: %d %s", res.Status, res.Body)
	}
	within("a role granted", func() bool { return n2.Do(users).Status == http.StatusOK })

	// A consultation changed on node 1, which node 2 holds in its catalog.
	before, err := n2.App.Catalog.BySlug(ctx, w.A.Tenant.ID, w.slug)
	if err != nil {
		t.Fatal(err)
	}
	const question = "Comment ouvrir les musées le soir ?"
	if before.Consultation.Question == question {
		t.Fatal("the question is the new one already: the test proves nothing")
	}
	if res := n1.Do(testsupport.Request{Method: "PATCH", Host: w.A.Host, Path: "/api/v1/consultations/" + w.slug,
		Token: w.admin, Body: map[string]any{"question": question}}); res.Status != http.StatusOK {
		t.Fatalf("change on node 1: %d %s", res.Status, res.Body)
	}
	within("a consultation changed", func() bool {
		e, err := n2.App.Catalog.BySlug(ctx, w.A.Tenant.ID, w.slug)
		return err == nil && e.Consultation.Question == question
	})

	// Votes counted on node 1 (its catalog follows its own writer): node 2 reads the counters
	// again when told.
	ids := w.propose(t, n1.Visitor(w.A.Host), "Il faut ouvrir la médiathèque le dimanche matin")
	within("a proposal accepted", func() bool {
		e, err := n2.App.Catalog.BySlug(ctx, w.A.Tenant.ID, w.slug)
		return err == nil && e.Proposals[ids[0]] != nil
	})
	voter := n1.Visitor(w.A.Host)
	if res := voter.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", ids[0]), map[string]any{"vote": "agree", "key": keyFor(t, voter, ids[0])}); res.Status != http.StatusOK {
		t.Fatalf("vote on node 1: %d %s", res.Status, res.Body)
	}
	within("a vote counted", func() bool {
		e, err := n2.App.Catalog.BySlug(ctx, w.A.Tenant.ID, w.slug)
		if err != nil {
			return false
		}
		n := e.Counts[ids[0]]
		return n.Votes != [len(n.Votes)][len(n.Votes[0])]int64{}
	})

	// A tenant suspended on node 1.
	if _, err := n1.App.Tenants.SetStatus(ctx, "test", "ay", tenants.Suspended); err != nil {
		t.Fatal(err)
	}
	within("a tenant suspended", func() bool {
		return n2.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/"}).Status == http.StatusServiceUnavailable
	})
}
