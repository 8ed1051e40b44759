package ratelimit

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/errs"
)

func TestLimiter_SequencesAreLimitedPerParticipantAndSourceWithAWait(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 20, 0, time.UTC)
	l := NewLimiter(0, func() time.Time { return now })
	lim := Limits{PerParticipant: 3, PerSource: 5, Window: time.Minute}

	for i := range 3 {
		if err := l.AllowSequence(2, "p:a", "10.0.0.1", lim); err != nil {
			t.Fatalf("sequence %d refused under a limit of 3: %v", i+1, err)
		}
	}
	err := l.AllowSequence(2, "p:a", "10.0.0.1", lim)
	wait := errs.RetryAfterOf(err)
	if !errs.Is(err, errs.TooMany) || wait <= 0 || wait > 2*time.Minute {
		t.Fatalf("4th sequence of one participant: %v, wait %s; want errs.TooMany with a wait", err, wait)
	}
	if msg, _ := errs.MessageOf(err); msg == "" {
		t.Fatal("no message for the participant")
	}
	// Waiting less than asked is not enough; waiting what was asked is.
	now = now.Add(wait - time.Second)
	if err := l.AllowSequence(2, "p:a", "", lim); !errs.Is(err, errs.TooMany) {
		t.Fatalf("a second too early: %v", err)
	}
	now = now.Add(time.Second)
	if err := l.AllowSequence(2, "p:a", "", lim); err != nil {
		t.Fatalf("after the wait it asked for: %v", err)
	}
	// The same participant on another site has its own count.
	if err := l.AllowSequence(3, "p:a", "10.0.0.1", lim); err != nil {
		t.Fatalf("another tenant: %v", err)
	}

	// Fresh sessions from one address share its limit.
	for i := range lim.PerSource {
		if err := l.AllowSequence(2, fmt.Sprintf("p:fresh%d", i), "10.0.0.5", lim); err != nil {
			t.Fatalf("fresh session %d: %v", i, err)
		}
	}
	err = l.AllowSequence(2, "p:fresh-again", "10.0.0.5", lim)
	if !errs.Is(err, errs.TooMany) || errs.RetryAfterOf(err) <= 0 {
		t.Fatalf("over the source limit with fresh sessions: %v", err)
	}
	if err := l.AllowSequence(2, "p:fresh-again", "10.0.0.2", lim); err != nil {
		t.Fatalf("another address: %v", err)
	}

	// Zero takes the defaults; negative turns a limit off.
	for i := range DefaultSequenceLimits.PerParticipant {
		if err := l.AllowSequence(2, "p:default", "", Limits{}); err != nil {
			t.Fatalf("sequence %d under the default limit: %v", i+1, err)
		}
	}
	if err := l.AllowSequence(2, "p:default", "", Limits{}); !errs.Is(err, errs.TooMany) {
		t.Fatalf("over the default limit: %v", err)
	}
	for range 1000 {
		if err := l.AllowSequence(2, "p:free", "10.0.0.9", Limits{PerParticipant: -1, PerSource: -1}); err != nil {
			t.Fatalf("limits off: %v", err)
		}
	}
}

func TestLimiter_WaitIsWhenTheNextEventFits(t *testing.T) {
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		before   int           // events in the previous window
		now      int           // events at the start of this one
		at       time.Duration // into this window
		limit    int
		wantWait time.Duration
	}{
		{"this window full", 0, 4, 15 * time.Second, 4, 45*time.Second + 15*time.Second},
		{"previous window sliding out", 4, 0, 0, 4, 15 * time.Second},
		{"both", 4, 2, 30 * time.Second, 4, 15 * time.Second},
		{"room left", 4, 1, 30 * time.Second, 4, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := start.Add(-time.Minute)
			l := NewLimiter(0, func() time.Time { return now })
			for range tc.before {
				l.Allow("k", 100, time.Minute)
			}
			now = start
			for range tc.now {
				l.Allow("k", 100, time.Minute)
			}
			now = start.Add(tc.at)
			ok, wait := l.allow("k", tc.limit, time.Minute)
			if tc.wantWait == 0 {
				if !ok {
					t.Fatalf("refused, wait %s", wait)
				}
				return
			}
			if ok || wait < tc.wantWait-time.Millisecond || wait > tc.wantWait+time.Millisecond {
				t.Fatalf("allowed %v, wait %s, want %s", ok, wait, tc.wantWait)
			}
			now = now.Add(wait)
			if ok, _ := l.allow("k", tc.limit, time.Minute); !ok {
				t.Fatal("refused after the wait")
			}
		})
	}
}

func TestLimiter_AllowsUpToLimit(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l := NewLimiter(0, func() time.Time { return now })
	for i := range 5 {
		if !l.Allow("a", 5, time.Minute) {
			t.Fatalf("event %d refused under a limit of 5", i+1)
		}
	}
	if l.Allow("a", 5, time.Minute) {
		t.Fatal("6th event allowed under a limit of 5")
	}
	if !l.Allow("b", 5, time.Minute) {
		t.Fatal("another key was refused")
	}
	now = now.Add(time.Minute) // the previous minute still weighs fully at the window's start
	if l.Allow("a", 5, time.Minute) {
		t.Fatal("allowed right after the window turned: the sliding window should still count the last minute")
	}
	now = now.Add(30 * time.Second) // half of the last minute's 5 still counts: 2 more fit
	first, second, third := l.Allow("a", 5, time.Minute), l.Allow("a", 5, time.Minute), l.Allow("a", 5, time.Minute)
	if !first || !second || third {
		t.Fatal("half a window later, want exactly 2 more events")
	}
	now = now.Add(3 * time.Minute)
	for i := range 5 {
		if !l.Allow("a", 5, time.Minute) {
			t.Fatalf("event %d refused after the windows passed", i+1)
		}
	}
	if err := l.AllowVote(2, "p", "10.0.0.1", Limits{PerParticipant: 1, PerSource: 10, Window: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := l.AllowVote(2, "p", "10.0.0.1", Limits{PerParticipant: 1, PerSource: 10, Window: time.Minute}); !errs.Is(err, errs.TooMany) {
		t.Fatalf("over the participant limit: %v, want errs.TooMany", err)
	}

	for i := range DefaultLimits.PerParticipant { // zero limits take the defaults
		if err := l.AllowVote(2, "q", "", Limits{}); err != nil {
			t.Fatalf("vote %d refused under the default limit: %v", i+1, err)
		}
	}
	if err := l.AllowVote(2, "q", "", Limits{}); !errs.Is(err, errs.TooMany) {
		t.Fatalf("over the default limit: %v, want errs.TooMany", err)
	}

	// Concurrent callers share one count.
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if l.Allow("shared", 100, time.Hour) {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 100 {
		t.Fatalf("%d concurrent events allowed under a limit of 100", allowed.Load())
	}

	// Memory stays bounded, whatever the number of keys.
	small := NewLimiter(640, func() time.Time { return now })
	for i := range 20_000 {
		small.Allow(fmt.Sprintf("k%d", i), 1, time.Hour)
	}
	if n := small.Len(); n > 640 {
		t.Fatalf("limiter holds %d keys, want at most 640", n)
	}
	// Expired windows are swept out first: once every shard has seen a new key, no stale
	// key is left.
	now = now.Add(3 * time.Hour)
	for i := range limiterShards * 20 {
		small.Allow(fmt.Sprintf("new%d", i), 1, time.Hour)
	}
	for i := range small.local.shards {
		for k := range small.local.shards[i].entries {
			if strings.HasPrefix(k, "k") {
				t.Fatalf("key %q outlived its window", k)
			}
		}
	}
}
