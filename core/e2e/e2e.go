// Package e2e runs the real concorde binary as a separate process (on a free port, on a given
// database) and seeds it through its command line and JSON API, so that tests and the
// benchmark harness (ops/bench) can drive it over HTTP as browsers and scripts do, and kill it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Module is the import path `go build` is given to build the binary.
const Module = "github.com/concorde-civic/concorde"

// Secret signs cookies and vote keys; it stays the same across restarts of one database so
// participants keep their sessions.
const Secret = "e2e-secret-0123456789abcdef0123456789abcdef"

// Build compiles the concorde binary into dir and returns its path.
func Build(ctx context.Context, dir string) (string, error) {
	bin := dir + "/concorde"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, Module)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", Module, err, out)
	}
	// The culture plugin beside it, where `serve --demo` finds and enables it.
	cmd = exec.CommandContext(ctx, "go", "build", "-o", dir+"/plugins/culture", Module+"/plugins/culture")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build the culture plugin: %v\n%s", err, out)
	}
	return bin, nil
}

// Server is one running concorde process.
type Server struct {
	Bin         string
	DatabaseURL string
	Addr        string // 127.0.0.1:port
	URL         string // http://127.0.0.1:port
	LogPath     string // the process's stdout and stderr
	MetricsAddr string // 127.0.0.1:port of the separate /metrics listener, if started with one

	mu      sync.Mutex
	sources int      // loopback addresses handed out to authors so far (see Seed)
	extra   []string // settings given to StartWith, over the defaults

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // the process's exit, once done is closed
}

// Start runs `concorde serve` (with --demo if demo) on a free port and the given database,
// with no per-source vote limit and no metrics listener, and waits until /readyz answers.
func Start(bin, databaseURL, logPath string, demo bool) (*Server, error) {
	return StartWith(bin, databaseURL, logPath, Options{Demo: demo})
}

// Options tune StartWith.
type Options struct {
	Demo    bool     // serve --demo: create the demo tenants first
	Metrics bool     // a separate /metrics listener on another free port (Server.MetricsAddr)
	Env     []string // KEY=value settings over Start's (CONCORDE_VOTE_LIMIT_PER_SOURCE=600, CONCORDE_REDIS_URL=…)
}

// StartWithMetrics is Start with the separate /metrics listener on another free port
// (Server.MetricsAddr), as a Prometheus server scrapes it in production.
func StartWithMetrics(bin, databaseURL, logPath string, demo bool) (*Server, error) {
	return StartWith(bin, databaseURL, logPath, Options{Demo: demo, Metrics: true})
}

// StartWith is Start with more settings.
func StartWith(bin, databaseURL, logPath string, o Options) (*Server, error) {
	demo, metrics := o.Demo, o.Metrics
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Bin: bin, DatabaseURL: databaseURL, Addr: fmt.Sprintf("127.0.0.1:%d", port), LogPath: logPath, done: make(chan struct{}), extra: o.Env}
	s.URL = "http://" + s.Addr
	if metrics {
		mport, err := freePort()
		if err != nil {
			return nil, err
		}
		s.MetricsAddr = fmt.Sprintf("127.0.0.1:%d", mport)
	}
	if s.log, err = os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, err
	}
	// An empty CONCORDE_METRICS_ADDR reads as unset (the default :9090); the flag does not.
	args := []string{"serve", "--metrics-addr=" + s.MetricsAddr}
	if demo {
		args = append(args, "--demo")
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = s.env()
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.log.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		s.log.Close()
		close(s.done)
	}()
	if err := s.waitReady(60 * time.Second); err != nil {
		_ = s.Kill()
		return nil, err
	}
	return s, nil
}

// env is the environment of the server and of the admin commands run against it. Later
// entries win over the caller's own CONCORDE_* variables.
func (s *Server) env() []string {
	return append(append(os.Environ(),
		"CONCORDE_ADDR="+s.Addr,
		"CONCORDE_DATABASE_URL="+s.DatabaseURL,
		"CONCORDE_SECRET="+Secret,
		"CONCORDE_ENV=development",
		"CONCORDE_VOTE_LIMIT_PER_SOURCE=0",
		"CONCORDE_SEQUENCE_LIMIT_PER_SOURCE=0",
		"CONCORDE_COOKIE_SECURE=false", // the load generator speaks plain http to 127.0.0.1
		"CONCORDE_LOG_LEVEL=warn",
	), s.extra...) // exec keeps the last value of a key
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	cl := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("concorde exited before it was ready (%v):\n%s", s.err, s.LogTail())
		default:
		}
		if res, err := cl.Get(s.URL + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("concorde was not ready after %s:\n%s", timeout, s.LogTail())
}

// LogTail returns the end of the process's output, for failure messages.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(s.LogPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// RSS is the process's resident memory in bytes, read from /proc (Linux).
func (s *Server) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("read VmRSS %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// Pid is the server process's id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Kill stops the process with SIGKILL, as a crash or the OOM killer would, and waits for it.
func (s *Server) Kill() error {
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-s.done
	return nil
}

// Stop sends SIGTERM and waits up to timeout for the process to exit; it returns the exit
// error (nil for status 0), or an error if the process was still running (it is then killed).
func (s *Server) Stop(timeout time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.done:
		return s.err
	case <-time.After(timeout):
		_ = s.Kill()
		return fmt.Errorf("concorde still running %s after SIGTERM", timeout)
	}
}

// Command runs an admin command (`concorde token create ...`) on the server's database and
// configuration, and returns its standard output.
func (s *Server) Command(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.Bin, args...)
	cmd.Env = s.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("concorde %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// Command runs an admin command on a database before any server serves it (or without one),
// with StartWith's settings env.
func Command(ctx context.Context, bin, databaseURL string, env []string, args ...string) (string, error) {
	return (&Server{Bin: bin, DatabaseURL: databaseURL, extra: env}).Command(ctx, args...)
}

// Token creates an API token for a staff account (such as a demo tenant's admin).
func (s *Server) Token(ctx context.Context, tenant, email string) (string, error) {
	out, err := s.Command(ctx, "token", "create", "--tenant", tenant, "--email", email)
	return strings.TrimSpace(out), err
}

// Consultation describes a consultation to seed.
type Consultation struct {
	Host      string // the tenant's host, e.g. bretagne.localhost
	Token     string // a tenant admin's API token
	Slug      string
	Proposals int // accepted proposals, each by a different participant
}

// proposalsPerSource stays under the server's limit of proposals per address and hour (30).
const proposalsPerSource = 25

// Seed creates and opens a consultation, then has n distinct participants propose and the
// admin accept each proposal. Participants come from several loopback addresses
// (127.0.0.2, 127.0.0.3, …, new ones at each call) because the server limits proposals per
// address and hour. It returns
// the accepted proposals' ids.
func (s *Server) Seed(ctx context.Context, c Consultation) ([]int64, error) {
	admin := s.client(ctx, c.Host, "", c.Token)
	if _, err := admin.Do("POST", "/api/v1/consultations", map[string]any{
		"slug": c.Slug, "question": "Comment rendre la culture accessible à tous ?",
		"context": "Une consultation de charge.",
		"themes":  []map[string]string{{"slug": "acces", "label": "Accès"}},
	}, nil); err != nil {
		return nil, err
	}
	if _, err := admin.Do("POST", "/api/v1/consultations/"+c.Slug+"/open", nil, nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	first := s.sources
	s.sources += (c.Proposals + proposalsPerSource - 1) / proposalsPerSource
	s.mu.Unlock()
	ids := make([]int64, c.Proposals)
	errc := make(chan error, c.Proposals)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range c.Proposals {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			k := first + i/proposalsPerSource
			src := fmt.Sprintf("127.0.%d.%d", k/250, 2+k%250)
			author := s.client(ctx, c.Host, src, "")
			var me struct {
				CSRF string `json:"csrf_token"`
			}
			if _, err := author.Do("GET", "/api/v1/auth/me", nil, &me); err != nil {
				errc <- err
				return
			}
			author.csrf = me.CSRF
			var p struct {
				ID int64 `json:"id"`
			}
			text := fmt.Sprintf("Il faut ouvrir les lieux culturels le soir, proposition numéro %d", i+1)
			if _, err := author.Do("POST", "/api/v1/consultations/"+c.Slug+"/proposals", map[string]string{"content": text}, &p); err != nil {
				errc <- err
				return
			}
			if _, err := admin.Do("POST", fmt.Sprintf("/api/v1/moderation/proposals/%d/accept", p.ID), map[string]any{"themes": []string{"acces"}}, nil); err != nil {
				errc <- err
				return
			}
			ids[i] = p.ID
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("seed consultation %s: %w", c.Slug, err)
	}
	return ids, nil
}

// Client is a participant's or a script's HTTP client on one site, with its own cookies.
type Client struct {
	ctx         context.Context
	http        *http.Client
	base, host  string
	token, csrf string
	// Header is sent with every request (tests spoof X-Forwarded-For with it).
	Header http.Header
}

// Client returns a client of the site served on host, authenticated by token if not empty.
func (s *Server) Client(ctx context.Context, host, token string) *Client {
	return s.client(ctx, host, "", token)
}

// client returns a client with its own cookies, dialing from the local address src if given.
func (s *Server) client(ctx context.Context, host, src, token string) *Client {
	return ClientAt(ctx, s.URL, host, src, token)
}

// ClientAt returns a client of the site served on host at base (a server, or a load
// balancer in front of several), with its own cookies, dialing from the local address src
// if given (any 127.x.y.z on Linux: distinct clients of one machine), authenticated by
// token if not empty.
func ClientAt(ctx context.Context, base, host, src, token string) *Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 5 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}
	return &Client{ctx: ctx, http: &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}, base: base, host: host, token: token}
}

// On is a client of another site of the same server that shares c's connections (and
// cookies, and token): thousands of hosts without a connection each.
func (c *Client) On(host string) *Client {
	o := *c
	o.host = host
	return &o
}

// Participate makes the client an anonymous participant, as a first visit does: it gets the
// participant cookie and the CSRF token its writes then send.
func (c *Client) Participate() error {
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if _, err := c.Do("GET", "/api/v1/auth/me", nil, &me); err != nil {
		return err
	}
	c.csrf = me.CSRF
	return nil
}

// Do sends a JSON request and decodes a JSON answer into out (if not nil); a status of 300
// or more is an error that quotes the body.
func (c *Client) Do(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Host = c.host
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
