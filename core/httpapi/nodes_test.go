package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

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
			if res := n2.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/"}); res.Status != http.StatusNotFound {
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
