package e2e_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/e2e"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/storetest"
)

// scaleGoals are issue 15's goals for many tenants.
var scaleGoals = struct {
	startup, tenantCreate, slowest time.Duration
	idleCPU                        float64 // share of one core
}{startup: 2 * time.Second, tenantCreate: 500 * time.Millisecond, slowest: 50 * time.Millisecond, idleCPU: 0.02}

// scaleRun is one measurement of the real server over many tenants.
type scaleRun struct {
	tenants int
	admins  bool
	// idle is how long the idle processor time is measured; busy, how long requests run
	// while the policy changes (on PostgreSQL every change is applied at once; on SQLite at
	// the next 15 s refresh, so busy should cover one).
	idle, busy time.Duration
}

// Many tenants, each with a tenant admin: start-up, idle processor time, the slowest request
// while other accounts get roles (each change reloads the policy on every node), and
// `concorde tenant create`, against the goals. The 10,000-tenant run is in long_test.go.
func TestScale_2000TenantsWithAnAdminEach(t *testing.T) {
	eachDialect(t, func(t *testing.T, url string) {
		measureScale(t, url, scaleRun{tenants: 2000, admins: true, idle: 2 * time.Second, busy: 3 * time.Second})
	})
}

func measureScale(t *testing.T, url string, r scaleRun) {
	ctx := context.Background()
	// The same installation without tenants, on this machine now: the goals are held, unless
	// the machine is so busy (other tests, other jobs) that even the empty installation takes
	// more than half of one; then twice the empty installation's time is the limit.
	emptyStart, emptyCreate := measureEmpty(t, store.IsPostgresURL(url))
	within := func(goal, empty time.Duration) time.Duration { return max(goal, 2*empty) }

	t0 := time.Now()
	if err := e2e.SeedTenants(ctx, url, r.tenants, r.admins); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d tenants (admins: %v) in %v", r.tenants, r.admins, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	s := start(t, url, false)
	startup := time.Since(t0)
	// On SQLite the policy is reloaded at the 15 s ticks, the first right after start-up.
	var ticks []window
	for k := 0; k < 10; k++ {
		at := t0.Add(time.Duration(k) * 15 * time.Second)
		ticks = append(ticks, window{at, at.Add(startup + 500*time.Millisecond)})
	}

	time.Sleep(500 * time.Millisecond) // let start-up work (first tick, listener) finish
	cpu0, err := s.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(r.idle)
	cpu1, err := s.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	idle := float64(cpu1-cpu0) / float64(r.idle)

	b := busyWhilePolicyChanges(t, s, r)
	if !store.IsPostgresURL(url) {
		b.reloads = ticks
	}
	during, outside := b.split()

	create := timeTenantCreate(t, s)
	// The running server serves the new tenant: at once on PostgreSQL (NOTIFY), at its next
	// refresh (15 s) on SQLite, which only runs covering one wait for.
	// (Reading 100,000 tenants again takes a few seconds on a busy machine.)
	if store.IsPostgresURL(url) {
		waitServed(t, s, "scale-new.localhost", 10*time.Second)
	} else if r.busy > 15*time.Second {
		waitServed(t, s, "scale-new.localhost", 30*time.Second)
	}

	t.Logf("%d tenants (admins: %v): start-up %v (empty: %v), idle CPU %.2f %% of a core over %v, %d requests during %d policy changes: while reloading %s, otherwise %s; tenant create %v (empty: %v)",
		r.tenants, r.admins, startup.Round(time.Millisecond), emptyStart.Round(time.Millisecond), 100*idle, r.idle, len(b.took), b.changes,
		during, outside, create.Round(time.Millisecond), emptyCreate.Round(time.Millisecond))
	if limit := within(scaleGoals.startup, emptyStart); startup > limit {
		t.Errorf("start-up took %v (empty installation: %v), goal ≤ %v", startup, emptyStart, limit)
	}
	if idle > scaleGoals.idleCPU {
		t.Errorf("idle server used %.2f %% of a core, goal ≤ %.0f %%", 100*idle, 100*scaleGoals.idleCPU)
	}
	// The machine is shared (two cores, and the test's own processes): what it does to
	// requests without any reload is the floor, and a single request can stall for reasons
	// of its own, so the 99th percentile is held to the goal and the slowest is reported.
	if limit := within(scaleGoals.slowest, outside.p99()); len(during.d) > 0 && during.p99() > limit {
		t.Errorf("99th percentile of the requests while the policy reloaded: %v (%v otherwise), goal ≤ %v", during.p99(), outside.p99(), limit)
	}
	if limit := within(scaleGoals.tenantCreate, emptyCreate); create > limit {
		t.Errorf("tenant create took %v (empty installation: %v), goal ≤ %v", create, emptyCreate, limit)
	}
}

// measureEmpty times the start-up and `concorde tenant create` of an installation without
// tenants, on a new database of the dialect.
func measureEmpty(t *testing.T, postgres bool) (startup, create time.Duration) {
	t.Helper()
	url := storetest.URL(t, map[bool]string{false: "sqlite", true: "postgres"}[postgres])
	if err := e2e.SeedTenants(context.Background(), url, 0, false); err != nil { // migrates
		t.Fatal(err)
	}
	t0 := time.Now()
	s := start(t, url, false)
	startup = time.Since(t0)
	create = timeTenantCreate(t, s)
	_ = s.Kill()
	return startup, create
}

// timeTenantCreate runs `concorde tenant create` three times (scale-new, scale-new-2,
// scale-new-3) and returns the quickest: on a shared machine the other runs measure the
// neighbours.
func timeTenantCreate(t *testing.T, s *e2e.Server) time.Duration {
	t.Helper()
	var best time.Duration
	for i, slug := range []string{"scale-new", "scale-new-2", "scale-new-3"} {
		t0 := time.Now()
		if _, err := s.Command(context.Background(), "tenant", "create", "--slug", slug, "--kind", "city", "--name", "Ville nouvelle", "--host", slug+".localhost"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); i == 0 || d < best {
			best = d
		}
	}
	return best
}

// busyWhilePolicyChanges sends requests for r.busy, one at a time, alternately an authorised
// API call by one tenant admin and a health check on a random tenant's host, while the
// policy changes every second, as another node would change it (through the policy store:
// the version moves, and on PostgreSQL a NOTIFY goes out). Every other change gives two roles
// at once, which makes the server read the whole policy again (one role is applied in place
// on PostgreSQL). On PostgreSQL each change is acted on at once: the reload windows are the
// changes.
func busyWhilePolicyChanges(t *testing.T, s *e2e.Server, r scaleRun) *busy {
	t.Helper()
	slug := e2e.ScaleSlug(1)
	var admin *e2e.Client
	if r.admins {
		tok, err := s.Token(context.Background(), slug, "admin@"+slug+".localhost")
		if err != nil {
			t.Fatal(err)
		}
		admin = s.Client(context.Background(), slug+".localhost", tok)
	}
	db, err := store.Open(context.Background(), s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	policy := authz.NewAdapter(db)

	ctx, cancel := context.WithTimeout(context.Background(), r.busy)
	defer cancel()
	var wg sync.WaitGroup
	b := &busy{}
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			rules := [][]string{authz.GrantRule(authz.UserSubject(1, int64(1_000_000+i)), authz.Auditor, authz.AllDomains)}
			if i%2 == 1 {
				rules = append(rules, authz.GrantRule(authz.UserSubject(1, int64(2_000_000+i)), authz.Auditor, authz.AllDomains))
			}
			at := time.Now()
			if err := policy.AddPoliciesCtx(context.Background(), "g", "g", rules); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			b.changes++
			b.reloads = append(b.reloads, window{at, time.Now().Add(300 * time.Millisecond)})
			mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	rnd := rand.New(rand.NewPCG(1, 2))
	anyone := s.Client(context.Background(), "", "") // one connection pool for every host
	for i := 0; ctx.Err() == nil; i++ {
		t0 := time.Now()
		if admin != nil && i%2 == 0 {
			if st, err := admin.Do("GET", "/api/v1/users", nil, nil); err != nil || st != http.StatusOK {
				t.Fatalf("tenant admin lists users: %d %v", st, err)
			}
		} else {
			host := e2e.ScaleSlug(1+rnd.IntN(r.tenants)) + ".localhost"
			if st, err := anyone.On(host).Do("GET", "/healthz", nil, nil); err != nil || st != http.StatusOK {
				t.Fatalf("GET %s/healthz: %d %v", host, st, err)
			}
		}
		b.took = append(b.took, window{t0, time.Now()})
	}
	wg.Wait()
	d := make([]time.Duration, len(b.took))
	for i, w := range b.took {
		d[i] = w.to.Sub(w.from)
	}
	slices.Sort(d)
	t.Logf("request times: median %v, 99th percentile %v, 5 slowest %v", d[len(d)/2], d[len(d)*99/100], d[max(0, len(d)-5):])
	return b
}

type window struct{ from, to time.Time }

func (w window) overlaps(x window) bool { return w.from.Before(x.to) && x.from.Before(w.to) }

// busy is what busyWhilePolicyChanges saw.
type busy struct {
	took    []window // each request
	reloads []window // when the server may have been reloading the policy
	changes int
}

// split sorts the request times into those that overlapped a reload and the others.
func (b *busy) split() (during, outside times) {
	for _, r := range b.took {
		d := r.to.Sub(r.from)
		if slices.ContainsFunc(b.reloads, r.overlaps) {
			during.d = append(during.d, d)
		} else {
			outside.d = append(outside.d, d)
		}
	}
	slices.Sort(during.d)
	slices.Sort(outside.d)
	return during, outside
}

// times are request times, sorted.
type times struct{ d []time.Duration }

func (t times) p99() time.Duration {
	if len(t.d) == 0 {
		return 0
	}
	return t.d[len(t.d)*99/100]
}

func (t times) String() string {
	if len(t.d) == 0 {
		return "no request"
	}
	return fmt.Sprintf("%d requests, p50 %v, p99 %v, slowest %v", len(t.d), t.d[len(t.d)/2].Round(10*time.Microsecond),
		t.p99().Round(10*time.Microsecond), t.d[len(t.d)-1].Round(10*time.Microsecond))
}

// waitServed waits until host's home page answers 200.
func waitServed(t *testing.T, s *e2e.Server, host string, timeout time.Duration) {
	t.Helper()
	c := s.Client(context.Background(), host, "")
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		if st, _ := c.Do("GET", "/", nil, nil); st == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not served %v after its creation", host, timeout)
		}
	}
}

// The scale suite's reuse (ops/bench -scale-sqlite, -scale-pg-schema): a second run on the same
// database measures what the first seeded without seeding or recounting it again, counters
// left short by a stopped run are rebuilt, and a database whose seeding did not finish is
// refused rather than measured.
func TestScaleSuite_ASecondRunReusesWhatTheFirstSeeded(t *testing.T) {
	eachDialect(t, func(t *testing.T, url string) {
		ctx := context.Background()
		sizes := []e2e.ScaleSize{{Proposals: 20, Votes: 200}}
		o := e2e.ScaleOptions{Concurrency: 2, Duration: 200 * time.Millisecond, Reuse: true, Log: t.Logf}
		logPath := filepath.Join(t.TempDir(), "scale.log")
		first, err := e2e.ScaleSuite(ctx, binary, url, logPath, sizes, o)
		if err != nil {
			t.Fatal(err)
		}
		keep := o
		keep.Drift = -1 // the votes the first run's load added stay
		second, err := e2e.ScaleSuite(ctx, binary, url, logPath, sizes, keep)
		if err != nil {
			t.Fatal(err)
		}
		for i := range sizes {
			if first[i].Kept || !second[i].Kept {
				t.Errorf("%v: kept by the first run %v, by the second %v; want false, then true", sizes[i], first[i].Kept, second[i].Kept)
			}
			if second[i].Vote.Requests == 0 || second[i].Sequence.Requests == 0 || second[i].Vote.Errors+second[i].Sequence.Errors > 0 {
				t.Errorf("%v, second run: %d votes (%d errors), %d sequences (%d errors)", sizes[i],
					second[i].Vote.Requests, second[i].Vote.Errors, second[i].Sequence.Requests, second[i].Sequence.Errors)
			}
		}
		if second[0].Recount != 0 || second[0].Trimmed != 0 {
			t.Errorf("the second run recounted kept votes whose counters were exact (%v), or removed votes (%d)", second[0].Recount, second[0].Trimmed)
		}
		// The loads of two runs added far more than a twentieth of the size's 200 votes: the
		// next run removes them, and only them, and recounts.
		trimmed, err := e2e.ScaleSuite(ctx, binary, url, logPath, sizes, o)
		if err != nil {
			t.Fatal(err)
		}
		loads := first[0].Vote.Requests - first[0].Vote.Errors + second[0].Vote.Requests - second[0].Vote.Errors // their measures; their warm-ups added more
		if !trimmed[0].Kept || int64(trimmed[0].Trimmed) < loads || trimmed[0].Recount == 0 {
			t.Errorf("after two loads of %d and %d votes: kept %v, %d votes removed, recounted in %v; want kept, them removed, recounted",
				first[0].Vote.Requests, second[0].Vote.Requests, trimmed[0].Kept, trimmed[0].Trimmed, trimmed[0].Recount)
		}
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		// The seeded votes are all there: only the loads' were removed.
		var seededLeft int
		if err := db.NewRaw("SELECT COUNT(*) FROM votes WHERE consultation_id = (SELECT id FROM consultations WHERE slug = 'scale-20') AND participant LIKE 'p:scale%'").
			Scan(ctx, &seededLeft); err != nil {
			t.Fatal(err)
		}
		if seededLeft != sizes[0].Votes {
			t.Errorf("after removing %d votes: %d seeded votes left, want %d", trimmed[0].Trimmed, seededLeft, sizes[0].Votes)
		}
		// A run stopped during the recompute leaves counters short: the next run recounts.
		_, err = db.ExecContext(ctx, "DELETE FROM proposal_counts")
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		third, err := e2e.ScaleSuite(ctx, binary, url, logPath, sizes, keep)
		if err != nil {
			t.Fatal(err)
		}
		if !third[0].Kept || third[0].Recount == 0 {
			t.Errorf("counters emptied: kept %v, recounted in %v; want kept and recounted", third[0].Kept, third[0].Recount)
		}
		// A size whose consultation exists with other figures (a seeding cut short) is refused.
		_, err = e2e.ScaleSuite(ctx, binary, url, logPath, []e2e.ScaleSize{{Proposals: 20, Votes: 100_000}}, o)
		if err == nil || !strings.Contains(err.Error(), "use a new database") {
			t.Errorf("a consultation with fewer votes than asked: %v, want a refusal", err)
		}
	})
}
