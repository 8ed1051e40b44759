//go:build long

package e2e_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/ops/loadgen"
)

// soakDuration is 10 minutes; CONCORDE_SOAK_DURATION (such as 1m) shortens it to try the test.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("CONCORDE_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CONCORDE_SOAK_DURATION: %v", err)
		}
		return d
	}
	return 10 * time.Minute
}

// Run by `make test-long`: votes through the real server for ten minutes at half the
// capacity measured just before, with no error, every vote kept, and memory that stays flat
// (what a leak or an unbounded cache would break long before a short test sees it).
func TestSoak_HalfCapacityForTenMinutes(t *testing.T) {
	eachDialect(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := start(t, url, true)
		capacity, err := loadgen.Run(ctx, loadgen.Config{BaseURL: s.URL, Host: host, Consultation: "culture", Mode: "vote",
			Concurrency: 32, Duration: 20 * time.Second, Seed: 3})
		if err != nil || capacity.Errors != 0 || capacity.Throughput == 0 {
			t.Fatalf("capacity run: %v %s (first error: %s)", err, capacity, capacity.FirstError)
		}
		rate := capacity.Throughput / 2
		d := soakDuration(t)
		t.Logf("capacity %s; soak at %.0f votes/s for %s", capacity, rate, d)

		type sample struct {
			at  time.Duration
			rss int64
		}
		var samples []sample
		done := make(chan loadgen.Report, 1)
		began := time.Now()
		go func() {
			r, _ := loadgen.Run(ctx, loadgen.Config{BaseURL: s.URL, Host: host, Consultation: "culture", Mode: "vote",
				Concurrency: 64, Duration: d, Seed: 4, Rate: rate})
			done <- r
		}()
		tick := time.NewTicker(max(d/60, time.Second))
		defer tick.Stop()
		var r loadgen.Report
	wait:
		for {
			select {
			case r = <-done:
				break wait
			case <-tick.C:
				rss, err := s.RSS()
				if err != nil {
					t.Fatalf("read the server's memory: %v", err)
				}
				samples = append(samples, sample{time.Since(began), rss})
			}
		}
		t.Logf("soak: %s", r)
		if r.Errors != 0 {
			t.Fatalf("%d of %d votes failed; first: %s", r.Errors, r.Requests, r.FirstError)
		}
		// On a shared machine the capacity measured a minute ago is only an estimate: the
		// soak counts if it carried at least half the planned load.
		if r.Throughput < rate/2 {
			t.Errorf("the soak carried %.0f votes/s, under half the %.0f planned: it proves little", r.Throughput, rate)
		}
		if log, _ := os.ReadFile(s.LogPath); strings.Contains(string(log), `"level":"ERROR"`) {
			t.Errorf("the server logged errors:\n%s", s.LogTail())
		}

		// Flat memory: after a warm-up (the first fifth: caches, connection pools, the Go
		// heap finding its size), the highest RSS of the last fifth may not exceed the
		// highest of the second fifth by more than 20 % + 16 MiB (the garbage collector's
		// swings); a leak proportional to traffic grows far more over eight minutes.
		window := func(from, to float64) int64 {
			var m int64
			for _, s := range samples {
				if f := float64(s.at) / float64(d); f >= from && f < to {
					m = max(m, s.rss)
				}
			}
			return m
		}
		early, late := window(0.2, 0.4), window(0.8, 1.01)
		var all []int64
		for _, s := range samples {
			all = append(all, s.rss>>20)
		}
		t.Logf("RSS (MiB) every %s: %v", max(d/60, time.Second), all)
		if early == 0 || late == 0 {
			t.Fatalf("too few memory samples: %d", len(samples))
		}
		if late > early*12/10+16<<20 {
			t.Errorf("memory grew from %d MiB (after warm-up) to %d MiB (end)", early>>20, late>>20)
		}
		requireAcked(t, url, "culture", append(capacity.Acked, r.Acked...))
		requireCountersMatch(t, s, "culture")
	})
}
