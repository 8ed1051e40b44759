package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/e2e"
	"github.com/concorde-civic/concorde/core/redislimit"
	"github.com/concorde-civic/concorde/core/storetest"
)

// Two real nodes behind a real nginx (round-robin), on one PostgreSQL and one Redis, as
// ops/deploy/nginx.conf deploys them: what is moderated through nginx is served by both
// nodes, both give the same results, the nodes see the client addresses nginx forwards
// (not nginx's, not what a client claims), and a per-address limit of N is reached after N
// requests in total across the nodes, not N per node.
func TestNginx_TwoNodesShareDatabaseAndLimits(t *testing.T) {
	nginx := nginxBinary(t)
	url := storetest.URL(t, "postgres") // skips without TEST_DATABASE_URL
	redisURL := reachableRedis(t)
	const votesPerSource, proposalsPerSource = 8, 3
	env := []string{
		"CONCORDE_TRUSTED_PROXIES=127.0.0.1", // nginx reaches the nodes from 127.0.0.1
		"CONCORDE_REDIS_URL=" + redisURL,
		"CONCORDE_REDIS_PREFIX=" + randomPrefix(),
		fmt.Sprintf("CONCORDE_VOTE_LIMIT_PER_SOURCE=%d", votesPerSource),
		fmt.Sprintf("CONCORDE_PROPOSAL_LIMIT_PER_SOURCE=%d", proposalsPerSource),
		"CONCORDE_LOG_LEVEL=info", // one line per request, with the client address
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	// The tenant and its staff exist before the nodes start: each loads the tenants then.
	var admin, moderator string
	for _, args := range [][]string{
		{"tenant", "create", "--slug", tenantSlug, "--kind", "region", "--name", "Région Bretagne", "--host", host},
		{"user", "create", "--tenant", tenantSlug, "--email", adminEmail, "--role", "tenant-admin", "--password", "correct horse battery"},
		{"user", "create", "--tenant", tenantSlug, "--email", "moderation@bretagne.localhost", "--role", "moderator", "--password", "correct horse battery"},
		{"token", "create", "--tenant", tenantSlug, "--email", adminEmail},
		{"token", "create", "--tenant", tenantSlug, "--email", "moderation@bretagne.localhost"},
	} {
		out, err := e2e.Command(ctx, binary, url, env, args...)
		if err != nil {
			t.Fatal(err)
		}
		if args[0] == "token" {
			admin, moderator = moderator, strings.TrimSpace(out)
		}
	}
	n1 := startWith(t, url, e2e.Options{Env: env})
	n2 := startWith(t, url, e2e.Options{Env: env})
	lb := startNginx(t, nginx, n1.Addr, n2.Addr)

	// through is a client of the site through nginx, connecting from src (a loopback
	// address of its own: nginx forwards it in X-Forwarded-For).
	through := func(src, token string) *e2e.Client { return e2e.ClientAt(ctx, lb, host, src, token) }
	participant := func(src string) *e2e.Client {
		c := through(src, "")
		if err := c.Participate(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The admin opens a consultation through nginx; the node that did not create it finds
	// it in the database (at once with LISTEN/NOTIFY, after its polling interval without).
	for _, step := range []struct {
		path string
		body any
	}{
		{"/api/v1/consultations", map[string]any{"slug": "culture", "question": "Comment rendre la culture accessible à tous ?",
			"themes": []map[string]string{{"slug": "lieux", "label": "Lieux et horaires"}}}},
		{"/api/v1/consultations/culture/open", nil},
	} {
		if _, err := through("127.0.0.9", admin).Do("POST", step.path, step.body, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []*e2e.Server{n1, n2} {
		eventually(t, 20*time.Second, func() error {
			_, err := n.Client(ctx, host, "").Do("GET", "/api/v1/consultations/culture/sequence", nil, nil)
			return err
		})
	}
	// Citizens propose and the moderator accepts, through nginx (one address per citizen:
	// this is not the per-address limit's test yet).
	const proposals = 12
	ids := make([]int64, 0, proposals+1)
	for i := range proposals {
		var p struct {
			ID int64 `json:"id"`
		}
		if _, err := participant(fmt.Sprintf("127.0.1.%d", i+1)).Do("POST", "/api/v1/consultations/culture/proposals",
			map[string]string{"content": fmt.Sprintf("Il faut ouvrir la médiathèque numéro %d le dimanche matin", i+1)}, &p); err != nil {
			t.Fatal(err)
		}
		if _, err := through("127.0.0.9", moderator).Do("POST", fmt.Sprintf("/api/v1/moderation/proposals/%d/accept", p.ID),
			map[string]any{"themes": []string{"lieux"}}, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	before := agreedResults(t, ctx, n1, n2, admin, -1)

	// One more, and both nodes serve it as accepted.
	var created struct {
		ID int64 `json:"id"`
	}
	if _, err := participant("127.0.0.2").Do("POST", "/api/v1/consultations/culture/proposals",
		map[string]string{"content": "Il faut ouvrir les médiathèques de Brest le dimanche matin"}, &created); err != nil {
		t.Fatal(err)
	}
	if _, err := through("127.0.0.9", moderator).Do("POST", fmt.Sprintf("/api/v1/moderation/proposals/%d/accept", created.ID),
		map[string]any{"themes": []string{"lieux"}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*e2e.Server{n1, n2} {
		eventually(t, 20*time.Second, func() error {
			var p struct {
				Status string `json:"status"`
			}
			if _, err := n.Client(ctx, host, "").Do("GET", fmt.Sprintf("/api/v1/proposals/%d", created.ID), nil, &p); err != nil {
				return err
			}
			if p.Status != "accepted" {
				return fmt.Errorf("node %s serves proposal %d as %q", n.Addr, created.ID, p.Status)
			}
			return nil
		})
	}

	// Votes from one address (two participants of one household), in a row so that
	// round-robin alternates the nodes: the per-source limit counts them together.
	household := []*e2e.Client{participant("127.0.0.3"), participant("127.0.0.3")}
	keys := make([][]card, len(household))
	for i, c := range household {
		var seq struct {
			Proposals []card `json:"proposals"`
		}
		if _, err := c.Do("GET", "/api/v1/consultations/culture/sequence", nil, &seq); err != nil {
			t.Fatal(err)
		}
		if len(seq.Proposals) < votesPerSource {
			t.Fatalf("sequence of %d proposals (of %d accepted), want at least %d", len(seq.Proposals), len(ids)+1, votesPerSource)
		}
		keys[i] = seq.Proposals
	}
	accepted, refusedAt := 0, -1
	for i := 0; i < 2*votesPerSource && refusedAt < 0; i++ {
		c, k := household[i%2], keys[i%2][i/2]
		st, err := c.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", k.ID), map[string]any{"vote": "agree", "key": k.Key}, nil)
		switch {
		case err == nil:
			accepted++
		case st == http.StatusTooManyRequests:
			refusedAt = i
		default:
			t.Fatal(err)
		}
	}
	if accepted != votesPerSource || refusedAt != votesPerSource {
		t.Fatalf("one address had %d votes accepted (first refusal at attempt %d, 0: none) under a limit of %d a minute for the two nodes together",
			accepted, refusedAt+1, votesPerSource)
	}
	// Another address behind the same nginx is not limited by the first one's votes.
	other := participant("127.0.0.6")
	var seq struct {
		Proposals []card `json:"proposals"`
	}
	if _, err := other.Do("GET", "/api/v1/consultations/culture/sequence", nil, &seq); err != nil || len(seq.Proposals) == 0 {
		t.Fatalf("sequence: %v", err)
	}
	if _, err := other.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", seq.Proposals[0].ID), map[string]any{"vote": "disagree", "key": seq.Proposals[0].Key}, nil); err != nil {
		t.Fatalf("another client behind the same proxy: %v", err)
	}
	accepted++

	// Proposals per address and hour, shared the same way.
	for i := range proposalsPerSource + 1 {
		st, err := participant("127.0.0.4").Do("POST", "/api/v1/consultations/culture/proposals",
			map[string]string{"content": fmt.Sprintf("Il faut un festival de musique bretonne dans chaque canton, édition %d", i+1)}, nil)
		if i < proposalsPerSource && err != nil {
			t.Fatalf("proposal %d of %d from one address: %v", i+1, proposalsPerSource, err)
		}
		if i == proposalsPerSource && st != http.StatusTooManyRequests {
			t.Fatalf("proposal %d from one address across two nodes: %d %v, want 429", i+1, st, err)
		}
	}

	// A client that claims another address: nginx appends the real one, the nodes take it.
	liar := through("127.0.0.5", "")
	liar.Header = http.Header{"X-Forwarded-For": {"203.0.113.66"}}
	for range 2 { // one request per node
		if _, err := liar.Do("GET", "/api/v1/auth/me", nil, nil); err != nil {
			t.Fatal(err)
		}
	}

	// Both nodes give the same results, with every vote accepted above.
	after := agreedResults(t, ctx, n1, n2, admin, before.Votes+int64(accepted))
	if after.Votes != before.Votes+int64(accepted) {
		t.Fatalf("results count %d votes, want %d + %d", after.Votes, before.Votes, accepted)
	}

	t.Logf("two nodes behind nginx: %s", time.Since(start).Round(time.Millisecond))

	// What each node logged: votes on both nodes, every one under the address nginx
	// forwarded, never nginx's own nor the one a client typed.
	for _, n := range []*e2e.Server{n1, n2} {
		clients := requestClients(t, n.LogPath)
		votes := clients["POST /api/v1/proposals/:id/vote"]
		if len(votes) == 0 {
			t.Errorf("node %s took no vote: round-robin did not reach it", n.Addr)
		}
		for _, c := range votes {
			if c != "127.0.0.3" && c != "127.0.0.6" {
				t.Errorf("node %s saw a vote from %q, want the forwarded client address", n.Addr, c)
			}
		}
		for _, c := range clients["POST /api/v1/consultations/:slug/proposals"] {
			if c != "127.0.0.2" && c != "127.0.0.4" && !strings.HasPrefix(c, "127.0.1.") {
				t.Errorf("node %s saw a proposal from %q, want the forwarded client address", n.Addr, c)
			}
		}
		for route, cs := range clients {
			if slices.Contains(cs, "203.0.113.66") {
				t.Errorf("node %s believed a client-typed X-Forwarded-For on %s", n.Addr, route)
			}
		}
		if !slices.Contains(clients["GET /api/v1/auth/me"], "127.0.0.5") {
			t.Errorf("node %s did not see the lying client's real address 127.0.0.5: %v", n.Addr, clients["GET /api/v1/auth/me"])
		}
	}
	for _, n := range []*e2e.Server{n1, n2} {
		if b, _ := os.ReadFile(n.LogPath); bytes.Contains(b, []byte("rate-limit store failed")) {
			t.Errorf("node %s fell back to local limits during the test: Redis did not answer in time", n.Addr)
		}
	}
}

type card struct {
	ID  int64  `json:"id"`
	Key string `json:"key"`
}

type resultCounts struct {
	Votes      int64 `json:"votes"`
	TrollVotes int64 `json:"troll_votes"`
}

// agreedResults waits until both nodes answer the same results (and, if votes is not
// negative, with that many votes), and returns them. Each node reloads a consultation's
// data every 2 s: reading both at once may catch one before its reload.
func agreedResults(t *testing.T, ctx context.Context, n1, n2 *e2e.Server, token string, votes int64) resultCounts {
	t.Helper()
	var got resultCounts
	eventually(t, 20*time.Second, func() error {
		var bodies [2]json.RawMessage
		for i, n := range []*e2e.Server{n1, n2} {
			if _, err := n.Client(ctx, host, token).Do("GET", "/api/v1/consultations/culture/results", nil, &bodies[i]); err != nil {
				return err
			}
		}
		// Each node computes the opinion groups in the background, at its own time: the groups
		// (digest included) must agree, not when each node computed them.
		var cmp [2][]byte
		for i, b := range bodies {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			if og, ok := m["opinion_groups"].(map[string]any); ok {
				delete(og, "computed_at")
			}
			cmp[i], _ = json.Marshal(m)
		}
		if !bytes.Equal(cmp[0], cmp[1]) {
			return fmt.Errorf("the nodes give different results:\n%.300s\n%.300s", cmp[0], cmp[1])
		}
		if err := json.Unmarshal(bodies[0], &got); err != nil {
			return err
		}
		if votes >= 0 && got.Votes != votes {
			return fmt.Errorf("results count %d votes, want %d", got.Votes, votes)
		}
		return nil
	})
	return got
}

// eventually retries fn until it succeeds or the time is up.
func eventually(t *testing.T, within time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// requestClients reads a node's JSON log: for each "METHOD route", the client address of
// every request line, in order.
func requestClients(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Method string `json:"method"`
			Route  string `json:"route"`
			Client string `json:"client"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "request" {
			continue
		}
		out[line.Method+" "+line.Route] = append(out[line.Method+" "+line.Route], line.Client)
	}
	return out
}

// startWith runs a node with more settings; it is killed when the test ends.
func startWith(t *testing.T, url string, o e2e.Options) *e2e.Server {
	t.Helper()
	s, err := e2e.StartWith(binary, url, filepath.Join(t.TempDir(), "concorde.log"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Kill()
		if t.Failed() {
			t.Logf("node %s output:\n%s", s.Addr, s.LogTail())
		}
	})
	return s
}

// nginxBinary finds nginx (Debian installs it in /usr/sbin, often outside a user's PATH).
func nginxBinary(t *testing.T) string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("nginx is not installed (Debian: apt-get install nginx-light): the two-nodes-behind-nginx test needs it")
	return ""
}

// reachableRedis returns the Redis URL of the tests (TEST_REDIS_URL, or the local default),
// or skips the test if it does not answer.
func reachableRedis(t *testing.T) string {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	s, err := redislimit.Open(url, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		t.Skipf("Redis is not reachable at %s (%v): the shared-limits test needs it (apt-get install redis-server)", url, err)
	}
	return url
}

func randomPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "concorde-test:" + hex.EncodeToString(b[:]) + ":"
}

// startNginx runs nginx in the foreground on a free port of 127.0.0.1, in front of the
// given nodes, with the proxy settings of ops/deploy/nginx.conf; it returns its base URL.
func startNginx(t *testing.T, bin string, nodes ...string) string {
	t.Helper()
	location := deployedLocation(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var conf strings.Builder
	if os.Geteuid() == 0 {
		// As root, nginx's workers would switch to nobody, who cannot read this test's
		// temporary directory (mode 0700).
		conf.WriteString("user root;\n")
	}
	fmt.Fprintf(&conf, `daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    upstream concorde {
`, dir)
	for _, n := range nodes {
		// max_fails=0: a node slowed down by a busy test machine stays in the rotation.
		fmt.Fprintf(&conf, "        server %s max_fails=0;\n", n)
	}
	fmt.Fprintf(&conf, `        keepalive 8;
    }
    server {
        listen %s;
%s
    }
}
`, addr, location)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", out.String(), b)
		}
	})
	base := "http://" + addr
	cl := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited:\n%s\n%s\nconfig:\n%s", out.String(), b, conf.String())
		default:
		}
		if res, err := cl.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not answer on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deployedLocation is the `location / { … }` block of ops/deploy/nginx.conf, so that the
// test runs the settings the documentation gives.
func deployedLocation(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../ops/deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "    location / {")
	if start < 0 {
		t.Fatal("ops/deploy/nginx.conf has no `location / {` block")
	}
	end := strings.Index(s[start:], "\n    }\n")
	if end < 0 {
		t.Fatal("ops/deploy/nginx.conf: the `location / {` block does not end")
	}
	return s[start : start+end+len("\n    }")]
}
