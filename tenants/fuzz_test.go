package tenants_test

import (
	"context"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/tenants"
)

// Seeds are in testdata/fuzz/FuzzHost. A Host header finds a tenant only when it names one
// of the tenant's hosts (any case, any port, a trailing dot); a host an admin enters is
// either refused or a bare host name that validates to itself.
func FuzzHost(f *testing.F) {
	a := &tenants.Tenant{ID: 2, Slug: "bretagne", Status: tenants.Active, Hosts: []string{"bretagne.localhost", "consultation.bretagne.bzh"}}
	b := &tenants.Tenant{ID: 3, Slug: "bordeaux", Status: tenants.Active, Hosts: []string{"bordeaux.localhost"}}
	ix := indexOf([]*tenants.Tenant{a, b}, nil)
	f.Fuzz(func(t *testing.T, host string) {
		if got, _ := ix.ByHost(context.Background(), host); got != nil {
			n := tenants.NormalizeHost(host)
			found := false
			for _, h := range got.Hosts {
				found = found || h == n || h == host
			}
			if !found {
				t.Fatalf("Host %q (normalised %q) found tenant %s, whose hosts are %v", host, n, got.Slug, got.Hosts)
			}
		}
		v, err := tenants.ValidateHost(host)
		if err != nil {
			return
		}
		if strings.ContainsAny(v, ":/\\@ \t\r\n\x00") || v != strings.ToLower(v) || v == "" {
			t.Fatalf("host %q validated as %q", host, v)
		}
		if again, err := tenants.ValidateHost(v); err != nil || again != v {
			t.Fatalf("host %q validated as %q, which validates as %q (%v)", host, v, again, err)
		}
	})
}
