package redislimit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/ratelimit"
	"github.com/concorde-civic/concorde/core/redislimit"
)

// redisURL is the Redis the tests use: TEST_REDIS_URL, or the local default.
func redisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// open returns a store on the test Redis with a prefix of its own (tests never see each
// other's keys, nor an earlier run's), or skips the test if Redis does not answer.
func open(t *testing.T) (*redislimit.Store, string) {
	t.Helper()
	prefix := randomPrefix()
	s := openAt(t, redisURL(), prefix)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		t.Skipf("Redis is not reachable at %s (%v): the shared rate-limit tests need it (apt-get install redis-server)", redisURL(), err)
	}
	return s, prefix
}

func openAt(t *testing.T, url, prefix string) *redislimit.Store {
	t.Helper()
	s, err := redislimit.Open(url, prefix, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func randomPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "concorde-test:" + hex.EncodeToString(b[:]) + ":"
}

// The Redis store gives the same answers as the in-memory one, event by event, across
// windows: a limit means the same thing with or without Redis.
func TestStore_AnswersAsTheMemoryStore(t *testing.T) {
	rs, _ := open(t)
	ms := ratelimit.NewMemoryStore(0)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		at    time.Duration
		key   string
		times int
	}{
		{0, "a", 7},                 // 5 fit, 2 refused
		{0, "b", 2},                 // another key is not affected
		{10 * time.Second, "a", 1},  // still full
		{60 * time.Second, "a", 1},  // the last minute weighs fully at the window's start
		{90 * time.Second, "a", 4},  // half of it still counts: 2 more fit
		{119 * time.Second, "a", 2}, // 5×1/60 + 2 = 2.08: 2 more fit
		{300 * time.Second, "a", 6}, // both windows over: 5 fit again
		{301 * time.Second, "c", 1},
	}
	for _, st := range steps {
		for i := range st.times {
			at := t0.Add(st.at)
			want, _ := ms.Take(ctx, st.key, 5, time.Minute, at)
			got, err := rs.Take(ctx, st.key, 5, time.Minute, at)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("at +%s, event %d on %q: Redis says %v, memory says %v", st.at, i+1, st.key, got, want)
			}
		}
	}
	// A sanity check that the sequence above exercised both answers.
	if ok, _ := rs.Take(ctx, "a", 5, time.Minute, t0.Add(300*time.Second)); ok {
		t.Fatal("a 6th event fitted in a limit of 5")
	}
}

// Two nodes (two limiters, two connections) share one count: the limit holds for the
// installation, under concurrent callers too.
func TestLimiter_NodesShareCountsThroughRedis(t *testing.T) {
	_, prefix := open(t)
	node := func() *ratelimit.Limiter {
		return ratelimit.NewSharedLimiter(0, nil, ratelimit.SharedLimits{Store: openAt(t, redisURL(), prefix), Timeout: 2 * time.Second})
	}
	n1, n2 := node(), node()
	allowed := 0
	for i := range 20 {
		l := n1
		if i%2 == 1 {
			l = n2
		}
		if l.Allow("proposal-source|1|203.0.113.9", 6, time.Hour) {
			allowed++
		}
	}
	if allowed != 6 {
		t.Fatalf("%d events allowed through two nodes under a shared limit of 6 (per node would be 12)", allowed)
	}
	// AllowVote's per-source limit too.
	lim := ratelimit.Limits{PerParticipant: -1, PerSource: 3, Window: time.Minute}
	for i := range 3 {
		l := []*ratelimit.Limiter{n1, n2}[i%2]
		if err := l.AllowVote(7, fmt.Sprintf("p:%d", i), "198.51.100.1", lim); err != nil {
			t.Fatalf("vote %d: %v", i+1, err)
		}
	}
	if err := n2.AllowVote(7, "p:9", "198.51.100.1", lim); !errs.Is(err, errs.TooMany) {
		t.Fatalf("4th vote from one source across nodes: %v, want errs.TooMany", err)
	}
	var got atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := []*ratelimit.Limiter{n1, n2}[g%2]
			for range 50 {
				if l.Allow("concurrent", 100, time.Hour) {
					got.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got.Load() != 100 {
		t.Fatalf("%d of 400 concurrent events allowed under a shared limit of 100", got.Load())
	}
	if n1.Len() != 0 || n2.Len() != 0 {
		t.Fatalf("with Redis up, nodes kept %d and %d keys in memory", n1.Len(), n2.Len())
	}
}

// When Redis fails, the limiter fails open to this node's counts (limits still hold per
// node), says so once in the log and in its metrics, and shares again once Redis answers.
func TestLimiter_FailsOpenToLocalCountsWhileRedisIsDown(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server): cannot stop and restart a Redis here")
	}
	port := freePort(t)
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	l := ratelimit.NewSharedLimiter(0, nil, ratelimit.SharedLimits{Store: openAt(t, url, randomPrefix()),
		Log: slog.New(slog.NewTextHandler(&logs, nil)), Registry: reg, RetryAfter: 100 * time.Millisecond})

	// Down (nothing listens): the node's own count applies.
	allowed := 0
	for range 8 {
		if l.Allow("k", 5, time.Minute) {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("Redis down: %d of 8 allowed under a limit of 5, want the local limit to hold", allowed)
	}
	if n := metric(t, reg, "concorde_rate_limit_store_errors_total"); n < 1 {
		t.Fatalf("store errors counted: %v", n)
	}
	if v := metric(t, reg, "concorde_rate_limit_shared"); v != 0 {
		t.Fatalf("concorde_rate_limit_shared = %v while Redis is down", v)
	}
	if c := strings.Count(logs.String(), "rate-limit store failed"); c != 1 {
		t.Fatalf("want one log line for the outage, got %d:\n%s", c, logs.String())
	}

	// Redis starts: after RetryAfter the limiter shares again, with Redis's (fresh) counts.
	srv := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, reg, "concorde_rate_limit_shared") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the limiter did not share again after Redis started:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
		l.Allow("probe", 1000, time.Minute)
	}
	if !strings.Contains(logs.String(), "rate-limit store answers again") {
		t.Fatalf("no log line when Redis came back:\n%s", logs.String())
	}
	if !l.Allow("k", 5, time.Minute) {
		t.Fatal("Redis back: the first event on a key Redis has not seen was refused")
	}
}

// metric reads a counter's or gauge's value from reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s is not registered", name)
	return 0
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The cost of one limit check in Redis (two per vote: participant and address), beside the
// in-memory one.
func BenchmarkTake(b *testing.B) {
	s, err := redislimit.Open(redisURL(), randomPrefix(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		b.Skipf("Redis is not reachable at %s: %v", redisURL(), err)
	}
	for _, st := range []struct {
		name  string
		store ratelimit.LimitStore
	}{{"redis", s}, {"memory", ratelimit.NewMemoryStore(0)}} {
		b.Run(st.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetParallelism(16) // as many votes in flight as a busy node has
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := st.store.Take(ctx, fmt.Sprintf("vote|s|1|10.0.%d.%d", i%256, i/256%256), 1000, time.Minute, time.Now()); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
