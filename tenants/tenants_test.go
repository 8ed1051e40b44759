package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/concorde-civic/concorde/tenants"
)

// indexOf is an index over a fixed list of tenants; loads counts the database reads it stands
// for.
func indexOf(all []*tenants.Tenant, loads *atomic.Int64) *tenants.Index {
	byHost := map[string]*tenants.Tenant{}
	for _, t := range all {
		for _, h := range t.Hosts {
			byHost[h] = t
		}
	}
	return tenants.NewIndex(func(_ context.Context, host string) (*tenants.Tenant, error) {
		if loads != nil {
			loads.Add(1)
		}
		return byHost[host], nil
	})
}

func TestIndex_FindsEachOf10000TenantsByHostReadingEachOnce(t *testing.T) {
	all := make([]*tenants.Tenant, 10000)
	for i := range all {
		all[i] = &tenants.Tenant{ID: int64(i + 2), Slug: fmt.Sprintf("t%05d", i), Status: tenants.Active,
			Hosts: []string{fmt.Sprintf("t%05d.example.org", i), fmt.Sprintf("www.t%05d.example.org", i)}}
	}
	var loads atomic.Int64
	ix := indexOf(all, &loads)
	ctx := context.Background()
	for round := range 2 {
		for i, want := range all {
			for _, h := range want.Hosts {
				if got, err := ix.ByHost(ctx, h); err != nil || got != want {
					t.Fatalf("host %s: got %v (%v), want tenant %d", h, got, err, i)
				}
			}
		}
		if n := loads.Load(); n != 20000 {
			t.Fatalf("after round %d: %d reads for 20,000 hosts, want each read once", round, n)
		}
	}
	if got, _ := ix.ByHost(ctx, "T00007.Example.org:8080"); got != all[7] {
		t.Fatal("host lookup is not case and port insensitive")
	}
	for _, h := range []string{"t99999.example.org", ""} {
		if got, _ := ix.ByHost(ctx, h); got != nil {
			t.Fatalf("unknown host %q found a tenant", h)
		}
	}
	before := loads.Load()
	if got, _ := ix.ByHost(ctx, "t99999.example.org"); got != nil || loads.Load() != before {
		t.Fatal("an unknown host was read again instead of remembered")
	}
	ix.Drop()
	if got, _ := ix.ByHost(ctx, "t00001.example.org"); got != all[1] || loads.Load() != before+1 {
		t.Fatal("after Drop, a host is not read again")
	}
}

func TestIndex_RemembersAtMostMaxHosts(t *testing.T) {
	var loads atomic.Int64
	ix := tenants.NewIndex(func(_ context.Context, host string) (*tenants.Tenant, error) {
		loads.Add(1)
		return &tenants.Tenant{ID: 2, Slug: "x", Hosts: []string{host}}, nil
	})
	ctx := context.Background()
	for i := range tenants.MaxHosts + 500 {
		if _, err := ix.ByHost(ctx, fmt.Sprintf("h%d.example.org", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := ix.Remembered(); n != tenants.MaxHosts {
		t.Fatalf("%d hosts remembered, want the bound %d", n, tenants.MaxHosts)
	}
	last := fmt.Sprintf("h%d.example.org", tenants.MaxHosts+499)
	before := loads.Load()
	if _, err := ix.ByHost(ctx, last); err != nil || loads.Load() != before {
		t.Fatal("the host remembered last was evicted")
	}
}

func TestIndex_ReadErrorIsReturnedAndNotRemembered(t *testing.T) {
	fail := true
	ix := tenants.NewIndex(func(_ context.Context, host string) (*tenants.Tenant, error) {
		if fail {
			return nil, errors.New("database down")
		}
		return &tenants.Tenant{ID: 2, Slug: "x", Hosts: []string{host}}, nil
	})
	if _, err := ix.ByHost(context.Background(), "a.example.org"); err == nil {
		t.Fatal("a read error was not returned")
	}
	fail = false
	if got, err := ix.ByHost(context.Background(), "a.example.org"); err != nil || got == nil {
		t.Fatalf("after the database came back: %v %v", got, err)
	}
}

func BenchmarkIndex_ByHost10000(b *testing.B) {
	all := make([]*tenants.Tenant, 10000)
	hosts := make([]string, len(all))
	for i := range all {
		hosts[i] = fmt.Sprintf("t%05d.example.org", i)
		all[i] = &tenants.Tenant{ID: int64(i + 2), Slug: fmt.Sprintf("t%05d", i), Hosts: []string{hosts[i]}}
	}
	ix := indexOf(all, nil)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if t, _ := ix.ByHost(ctx, hosts[i%len(hosts)]); t == nil {
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
