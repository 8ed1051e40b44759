// Package loadgen drives a running Concorde server over HTTP the way participants do: each
// simulated participant has its own cookies, asks for a sequence, and votes on every card with
// the key the server signed for it. It measures throughput, latency and errors.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config says what load to send.
type Config struct {
	BaseURL      string        // e.g. http://127.0.0.1:8080
	Host         string        // the tenant's host name, sent as Host
	Consultation string        // consultation slug
	Mode         string        // "vote" (sequence then votes), "sequence" (sequences only) or "plain" (GET Path)
	Path         string        // for plain mode
	Concurrency  int           // parallel participants
	Duration     time.Duration // stop after this long
	MaxRequests  int64         // or after this many measured requests (0: no limit)
	Seed         uint64
	// Rate caps measured requests per second over all participants (0: as fast as the
	// server answers), for soak tests at a chosen fraction of the capacity.
	Rate float64
}

// Report is what a run measured.
type Report struct {
	Mode       string        `json:"mode"`
	Requests   int64         `json:"requests"`
	Errors     int64         `json:"errors"`
	Elapsed    time.Duration `json:"elapsed"`
	Throughput float64       `json:"throughput"` // measured requests per second
	P50        time.Duration `json:"p50"`
	P99        time.Duration `json:"p99"`
	FirstError string        `json:"first_error,omitempty"`
	Acked      []Ack         `json:"-"` // every vote the server acknowledged
}

// Ack is one acknowledged vote.
type Ack struct {
	Participant string // loadgen's own label for the simulated participant
	Session     string // the participant id the server gave it (its cookie's id); "" if unknown
	ProposalID  int64
	Vote        string
}

func (r Report) String() string {
	return fmt.Sprintf("%-8s %8d req  %6d err  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms",
		r.Mode, r.Requests, r.Errors, r.Throughput, ms(r.P50), ms(r.P99))
}

// Add is r and o together, as one run of their combined length: requests and errors added up,
// the throughput over both, the first error of either; percentiles, which cannot be combined
// from two summaries, are the worse of the two, and acknowledged votes are left out.
func (r Report) Add(o Report) Report {
	if r.Mode == "" {
		r.Mode = o.Mode
	}
	r.Requests += o.Requests
	r.Errors += o.Errors
	r.Elapsed += o.Elapsed
	if r.Elapsed > 0 {
		r.Throughput = float64(r.Requests) / r.Elapsed.Seconds()
	}
	r.P50, r.P99 = max(r.P50, o.P50), max(r.P99, o.P99)
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	r.Acked = nil
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type card struct {
	ID  int64  `json:"id"`
	Key string `json:"key"`
}

type sequenceResponse struct {
	Proposals []card `json:"proposals"`
	CSRFToken string `json:"csrf_token"`
}

var votes = []string{"agree", "disagree", "neutral"}
var quals = map[string][]string{"agree": {"likeIt", "doable", "platitudeAgree"}, "disagree": {"noWay", "impossible", "platitudeDisagree"}, "neutral": {"doNotUnderstand", "noOpinion", "doNotCare"}}

// Run sends load until the duration or request budget is spent.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Duration <= 0 && cfg.MaxRequests <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        cfg.Concurrency * 2,
		MaxIdleConnsPerHost: cfg.Concurrency * 2,
		IdleConnTimeout:     30 * time.Second,
	}
	defer transport.CloseIdleConnections()
	var (
		count, errCount atomic.Int64
		mu              sync.Mutex
		lat             []time.Duration
		acks            []Ack
		firstErr        string
		wg              sync.WaitGroup
	)
	record := func(d time.Duration, err error) bool {
		n := count.Add(1)
		if err != nil {
			errCount.Add(1)
			mu.Lock()
			if firstErr == "" {
				firstErr = err.Error()
			}
			mu.Unlock()
		}
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
		return cfg.MaxRequests <= 0 || n < cfg.MaxRequests
	}
	// pace waits for the next slot of the rate, if there is one; false once ctx ends.
	pace := func() bool { return ctx.Err() == nil }
	if cfg.Rate > 0 {
		// Slots accumulate up to one second's worth while every participant is busy (a slow
		// answer, a sequence), so the rate is kept on average rather than lost.
		slots := make(chan struct{}, max(1, int(cfg.Rate)))
		go func() {
			tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					select {
					case slots <- struct{}{}:
					default:
					}
				case <-ctx.Done():
					return
				}
			}
		}()
		pace = func() bool {
			select {
			case <-slots:
				return true
			case <-ctx.Done():
				return false
			}
		}
	}
	start := time.Now()
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(w)))
			for ctx.Err() == nil {
				jar, _ := cookiejar.New(nil)
				cl := &client{http: &http.Client{Transport: transport, Jar: jar, Timeout: 30 * time.Second}, cfg: cfg}
				participant := fmt.Sprintf("w%d-%d", w, rng.Uint64())
				if cfg.Mode == "plain" {
					if !pace() {
						return
					}
					t0 := time.Now()
					_, err := cl.do(ctx, "GET", cfg.Path, nil, "")
					if ctx.Err() != nil || !record(time.Since(t0), err) {
						return
					}
					continue
				}
				if cfg.Mode == "sequence" && !pace() {
					return
				}
				t0 := time.Now()
				var seq sequenceResponse
				body, err := cl.do(ctx, "GET", "/api/v1/consultations/"+cfg.Consultation+"/sequence", nil, "")
				if err == nil {
					err = json.Unmarshal(body, &seq)
				}
				if ctx.Err() != nil {
					return
				}
				if cfg.Mode == "sequence" {
					if !record(time.Since(t0), err) {
						return
					}
					continue
				}
				if err != nil {
					record(time.Since(t0), err)
					continue
				}
				if len(seq.Proposals) == 0 {
					record(time.Since(t0), fmt.Errorf("empty sequence"))
					continue
				}
				session := participantID(jar, cfg.BaseURL, cfg.Host)
				for _, c := range seq.Proposals {
					v := votes[rng.IntN(3)]
					req := map[string]any{"vote": v, "key": c.Key, "qualifications": []string{}}
					if rng.IntN(3) == 0 {
						req["qualifications"] = []string{quals[v][rng.IntN(3)]}
					}
					if !pace() {
						return
					}
					t1 := time.Now()
					_, err := cl.do(ctx, "POST", fmt.Sprintf("/api/v1/proposals/%d/vote", c.ID), req, seq.CSRFToken)
					if ctx.Err() != nil {
						return
					}
					if err == nil {
						mu.Lock()
						acks = append(acks, Ack{Participant: participant, Session: session, ProposalID: c.ID, Vote: v})
						mu.Unlock()
					}
					if !record(time.Since(t1), err) {
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := Report{Mode: cfg.Mode, Requests: count.Load(), Errors: errCount.Load(), Elapsed: elapsed, FirstError: firstErr, Acked: acks}
	if len(lat) > 0 {
		r.P50, r.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
		r.Throughput = float64(r.Requests) / elapsed.Seconds()
	}
	return r, nil
}

// participantID reads the id the server put in the participant cookie (before the dot), so a
// test can find the participant's votes in the database ("p:" + id). The client files
// cookies under the Host it sent, when that differs from the URL's.
func participantID(jar http.CookieJar, base, host string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	if host != "" {
		u.Host = host
	}
	for _, c := range jar.Cookies(u) {
		if c.Name == "concorde_participant" {
			id, _, _ := strings.Cut(c.Value, ".")
			return id
		}
	}
	return ""
}

type client struct {
	http *http.Client
	cfg  Config
}

func (c *client) do(ctx context.Context, method, path string, body any, csrf string) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Host = c.cfg.Host
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 300 {
		return b, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}
