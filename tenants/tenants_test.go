package tenants_test

import (
	"fmt"
	"testing"

	"github.com/concorde-civic/concorde/tenants"
)

func TestIndex_FindsEachOf10000TenantsByHost(t *testing.T) {
	ix := tenants.NewIndex()
	all := make([]*tenants.Tenant, 10000)
	for i := range all {
		all[i] = &tenants.Tenant{ID: int64(i + 2), Slug: fmt.Sprintf("t%05d", i), Status: tenants.Active,
			Hosts: []string{fmt.Sprintf("t%05d.example.org", i), fmt.Sprintf("www.t%05d.example.org", i)}}
	}
	all[42].Status = tenants.Suspended
	ix.Replace(all)
	for i, want := range all {
		for _, h := range want.Hosts {
			if got := ix.ByHost(h); got != want {
				t.Fatalf("host %s: got %v, want tenant %d", h, got, i)
			}
		}
	}
	if ix.ByHost("T00007.Example.org:8080") != all[7] {
		t.Fatal("host lookup is not case and port insensitive")
	}
	if ix.ByHost("t99999.example.org") != nil || ix.ByHost("") != nil {
		t.Fatal("an unknown host found a tenant")
	}
	if c := ix.Count(); c[tenants.Active] != 9999 || c[tenants.Suspended] != 1 {
		t.Fatalf("count %v", c)
	}
}

func BenchmarkIndex_ByHost10000(b *testing.B) {
	ix := tenants.NewIndex()
	all := make([]*tenants.Tenant, 10000)
	hosts := make([]string, len(all))
	for i := range all {
		hosts[i] = fmt.Sprintf("t%05d.example.org", i)
		all[i] = &tenants.Tenant{ID: int64(i + 2), Slug: fmt.Sprintf("t%05d", i), Hosts: []string{hosts[i]}}
	}
	ix.Replace(all)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ix.ByHost(hosts[i%len(hosts)]) == nil {
			b.Fatal("miss")
		}
	}
}

func TestValidation_RejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		err  error
	}{
		{"slug with capitals", tenants.ValidateSlug("Nantes")},
		{"slug too short", tenants.ValidateSlug("n")},
		{"reserved slug", tenants.ValidateSlug("admin")},
		{"host with scheme", second(tenants.ValidateHost("https://nantes.fr"))},
		{"host with path", second(tenants.ValidateHost("nantes.fr/x"))},
		{"host with bad label", second(tenants.ValidateHost("-nantes.fr"))},
		{"colour not hex", tenants.ValidateColor("c", "red")},
		{"colour too light for white text", tenants.ValidateColor("c", "#ffcc00")},
		{"logo over http", tenants.ValidateLogoURL("http://x.org/logo.png")},
		{"logo protocol-relative", tenants.ValidateLogoURL("//evil.org/logo.png")},
		{"logo javascript", tenants.ValidateLogoURL("javascript:alert(1)")},
		{"unknown locale", tenants.ValidateLocale("de")},
		{"name too short", tenants.ValidateName("x")},
		{"unknown time zone", tenants.ValidateTimeZone("Europe/Nantes")},
		{"empty time zone", tenants.ValidateTimeZone("")},
		{"the machine's zone", tenants.ValidateTimeZone("Local")},
		{"time zone as a path", tenants.ValidateTimeZone("../../etc/passwd")},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	for _, ok := range []error{tenants.ValidateSlug("nantes-metropole"), second(tenants.ValidateHost("Nantes.FR")),
		tenants.ValidateColor("c", "#1d4ed8"), tenants.ValidateLogoURL("https://x.org/l.png"), tenants.ValidateLogoURL("/static/logo.svg"),
		tenants.ValidateTimeZone("Europe/Paris"), tenants.ValidateTimeZone("Pacific/Noumea")} {
		if ok != nil {
			t.Errorf("rejected good input: %v", ok)
		}
	}
}

func TestContrast_MatchesWCAG(t *testing.T) {
	if r := tenants.Contrast("#000000", "#ffffff"); r < 20.9 || r > 21.1 {
		t.Fatalf("black on white: %v", r)
	}
	if r := tenants.Contrast("#767676", "#ffffff"); r < 4.5 || r > 4.6 {
		t.Fatalf("#767676 on white: %v, WCAG gives 4.54", r)
	}
}

func second(_ string, err error) error { return err }
