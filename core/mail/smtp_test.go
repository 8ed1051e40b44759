package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/concorde-civic/concorde/core/authz"
	cmail "github.com/concorde-civic/concorde/core/mail"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// received is one message the test server accepted.
type received struct {
	From, To string
	Data     []byte
	User     string
	TLS      bool
}

// mailServer is a real SMTP server (github.com/emersion/go-smtp) on a loopback port, with
// STARTTLS on a certificate of its own and AUTH PLAIN, as a provider's submission port.
type mailServer struct {
	Addr string
	Port int
	Pool *x509.CertPool

	mu       sync.Mutex
	messages []received
	// refuse, when set, answers DATA for a recipient with this error (451: try later, 550: never).
	refuse map[string]*smtp.SMTPError
}

func (s *mailServer) got() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.messages...)
}

type session struct {
	srv        *mailServer
	conn       *smtp.Conn
	user       string
	from, rcpt string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != "concorde" || password != "s3cret p@ss" {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.rcpt = to; return nil }
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if e := s.srv.refuse[s.rcpt]; e != nil {
		return e
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.messages = append(s.srv.messages, received{From: s.from, To: s.rcpt, Data: b, User: s.user, TLS: isTLS})
	return nil
}
func (s *session) Reset()        { s.from, s.rcpt = "", "" }
func (s *session) Logout() error { return nil }

func startMailServer(t testing.TB) *mailServer { return startMailServerTLS(t, false) }

// startMailServerTLS starts the server; implicit: TLS from the first byte (smtps, port 465)
// rather than STARTTLS.
func startMailServerTLS(t testing.TB, implicit bool) *mailServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ms := &mailServer{Pool: pool, refuse: map[string]*smtp.SMTPError{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{srv: ms, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.AllowInsecureAuth = false // AUTH only after STARTTLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	ms.Addr = l.Addr().String()
	ms.Port = l.Addr().(*net.TCPAddr).Port
	return ms
}

func newSender(e *testsupport.Env, ms *mailServer, node string, reg prometheus.Registerer) *cmail.Sender {
	u, _ := cmail.ParseURL(fmt.Sprintf("smtp://concorde:%s@localhost:%d", url.PathEscape("s3cret p@ss"), ms.Port))
	u.TLSConfig = &tls.Config{RootCAs: ms.Pool, ServerName: "localhost"}
	return &cmail.Sender{DB: e.App.DB, Transport: u, From: "Concorde <no-reply@concorde.test>", Node: node,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: cmail.NewMetrics(reg)}
}

// The invitation an admin sends through the site reaches a real SMTP server, over STARTTLS
// with authentication, as a correct MIME message whose link opens the site's invitation page.
func TestSender_DeliversThroughARealSMTPServer(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		ms := startMailServer(t)
		site := e.Site("ay")
		reg := prometheus.NewRegistry()
		sender := newSender(e, ms, "n1", reg)
		res := e.Do(testsupport.Request{Method: "POST", Host: site.Host, Path: "/api/v1/users", Token: site.Tokens[authz.TenantAdmin],
			Body: map[string]any{"email": "elodie@ay.test", "name": "Élodie", "role": "moderator"}})
		if res.Status != http.StatusCreated {
			t.Fatalf("invite: %d %s", res.Status, res.Body)
		}
		n, err := sender.RunOnce(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("RunOnce: %d %v", n, err)
		}
		got := ms.got()
		if len(got) != 1 {
			t.Fatalf("the server received %d messages", len(got))
		}
		m := got[0]
		if m.From != "no-reply@concorde.test" || m.To != "elodie@ay.test" || m.User != "concorde" || !m.TLS {
			t.Fatalf("envelope %q → %q, user %q, TLS %v", m.From, m.To, m.User, m.TLS)
		}
		msg, body := parse(t, m.Data)
		if from, _ := msg.Header.AddressList("From"); len(from) != 1 || from[0].Name != "Ville de ay" {
			t.Errorf("From %v", from)
		}
		link := regexp.MustCompile(`http://ay\.test(/account/invitation\?token=[A-Za-z0-9_-]+)`).FindStringSubmatch(body)
		if link == nil || !strings.Contains(body, "Modérateur·rice") {
			t.Fatalf("the received body has no invitation link:\n%s", body)
		}
		if page := e.Visitor(site.Host).Do("GET", link[1], nil); page.Status != http.StatusOK || !strings.Contains(string(page.Body), "elodie@ay.test") {
			t.Fatalf("the received link: %d", page.Status)
		}
		rows, _ := e.App.Outbox.List(context.Background(), site.Tenant.ID, "elodie@ay.test")
		if len(rows) != 1 || rows[0].SentAt == nil || rows[0].Attempts != 1 || rows[0].LeaseOwner != "" {
			t.Fatalf("the row after sending: %+v", rows)
		}
		if rows[0].Body != "" { // it held the invitation's token
			t.Errorf("the sent e-mail's body is still stored: %q", rows[0].Body)
		}
		if v := testutil.ToFloat64(sender.Metrics.Sent.WithLabelValues("sent")); v != 1 {
			t.Errorf("concorde_mail_sent_total{result=sent} = %v", v)
		}
		if v := testutil.ToFloat64(sender.Metrics.Queue); v != 0 {
			t.Errorf("queue depth %v", v)
		}
		// Sent once: another round sends nothing.
		if n, _ := sender.RunOnce(context.Background()); n != 0 || len(ms.got()) != 1 {
			t.Fatalf("sent again: %d", n)
		}
	})
}

// smtps:// speaks TLS from the first byte.
func TestSender_ImplicitTLS(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	ms := startMailServerTLS(t, true)
	site := e.Site("ay")
	if err := e.App.Outbox.Enqueue(context.Background(), site.Tenant.ID, cmail.Message{Kind: cmail.Verification, To: "tls@ay.test", Subject: "Sujet", Body: "Corps"}); err != nil {
		t.Fatal(err)
	}
	u, err := cmail.ParseURL(fmt.Sprintf("smtps://concorde:%s@localhost:%d", url.PathEscape("s3cret p@ss"), ms.Port))
	if err != nil {
		t.Fatal(err)
	}
	u.TLSConfig = &tls.Config{RootCAs: ms.Pool, ServerName: "localhost"}
	s := &cmail.Sender{DB: e.App.DB, Transport: u, From: "no-reply@concorde.test", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: cmail.NewMetrics(prometheus.NewRegistry())}
	if n, err := s.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d %v", n, err)
	}
	if got := ms.got(); len(got) != 1 || !got[0].TLS || got[0].To != "tls@ay.test" {
		t.Fatalf("received %+v", got)
	}
}

// A temporary refusal (4xx) is retried later with back-off; a permanent one (5xx) is given up;
// a server that does not answer is retried.
func TestSender_RetriesTemporaryFailuresAndGivesUpPermanentOnes(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		ms := startMailServer(t)
		site := e.Site("ay")
		ctx := context.Background()
		ms.refuse["later@ay.test"] = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		ms.refuse["nobody@ay.test"] = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		for _, to := range []string{"later@ay.test", "nobody@ay.test", "ok@ay.test"} {
			if err := e.App.Outbox.Enqueue(ctx, site.Tenant.ID, cmail.Message{Kind: cmail.Verification, To: to, SenderName: "Ville", Subject: "Sujet", Body: "Corps"}); err != nil {
				t.Fatal(err)
			}
		}
		sender := newSender(e, ms, "n1", prometheus.NewRegistry())
		if n, err := sender.RunOnce(ctx); err != nil || n != 3 {
			t.Fatalf("RunOnce: %d %v", n, err)
		}
		byTo := map[string]cmail.Row{}
		rows, _ := e.App.Outbox.List(ctx, site.Tenant.ID, "")
		for _, r := range rows {
			byTo[r.Recipient] = r
		}
		if r := byTo["ok@ay.test"]; r.SentAt == nil {
			t.Errorf("ok: %+v", r)
		}
		if r := byTo["later@ay.test"]; r.SentAt != nil || r.FailedAt != nil || r.Attempts != 1 || !r.NextAttemptAt.After(time.Now().Add(25*time.Second)) || !strings.Contains(r.LastError, "451") {
			t.Errorf("temporary failure: %+v", r)
		}
		if r := byTo["nobody@ay.test"]; r.FailedAt == nil || r.SentAt != nil || !strings.Contains(r.LastError, "550") {
			t.Errorf("permanent failure: %+v", r)
		}
		for result, want := range map[string]float64{"sent": 1, "retry": 1, "failed": 1} {
			if v := testutil.ToFloat64(sender.Metrics.Sent.WithLabelValues(result)); v != want {
				t.Errorf("%s: %v", result, v)
			}
		}
		if v := testutil.ToFloat64(sender.Metrics.Queue); v != 1 {
			t.Errorf("queue depth %v, want 1 (the retried message)", v)
		}
		// Not due yet: nothing is claimed. Once due, and the server accepts, it is sent.
		if n, _ := sender.RunOnce(ctx); n != 0 {
			t.Fatalf("a message was retried before its time")
		}
		delete(ms.refuse, "later@ay.test")
		sender.Now = func() time.Time { return time.Now().Add(time.Hour) }
		if n, _ := sender.RunOnce(ctx); n != 1 {
			t.Fatalf("the due retry was not claimed")
		}
		if got := ms.got(); len(got) != 2 || got[1].To != "later@ay.test" {
			t.Fatalf("received %d", len(got))
		}
		// A server that is down: every message of the batch is retried, none lost.
		e.App.Outbox.Enqueue(ctx, site.Tenant.ID, cmail.Message{Kind: cmail.Verification, To: "down@ay.test", Subject: "Sujet", Body: "Corps"})
		down := newSender(e, &mailServer{Port: 1, Pool: ms.Pool}, "n2", prometheus.NewRegistry())
		down.Now = sender.Now
		if n, _ := down.RunOnce(ctx); n != 1 {
			t.Fatal("not claimed")
		}
		rows, _ = e.App.Outbox.List(ctx, site.Tenant.ID, "down@ay.test")
		if rows[0].SentAt != nil || rows[0].FailedAt != nil || rows[0].Attempts != 1 {
			t.Fatalf("down server: %+v", rows[0])
		}
	})
}

// Two nodes sending from one database send each message once.
func TestSender_TwoNodesSendEachMessageOnce(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		ms := startMailServer(t)
		site := e.Site("ay")
		other := e.Site("bee")
		ctx := context.Background()
		const n = 40
		for i := range n {
			tid := site.Tenant.ID
			if i%2 == 1 {
				tid = other.Tenant.ID
			}
			if err := e.App.Outbox.Enqueue(ctx, tid, cmail.Message{Kind: cmail.Verification, To: fmt.Sprintf("p%02d@ay.test", i), Subject: "Sujet", Body: "Corps"}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for _, node := range []string{"n1", "n2"} {
			s := newSender(e, ms, node, prometheus.NewRegistry())
			s.Batch = 7
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					if k, err := s.RunOnce(ctx); err != nil {
						t.Error(err)
						return
					} else if k == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		seen := map[string]int{}
		for _, m := range ms.got() {
			seen[m.To]++
		}
		if len(seen) != n {
			t.Errorf("%d distinct recipients received, want %d", len(seen), n)
		}
		for to, k := range seen {
			if k != 1 {
				t.Errorf("%s received %d copies", to, k)
			}
		}
		var pending int64
		pending, _ = store.Across(e.App.DB).Select((*cmail.Row)(nil)).Where("mo.sent_at IS NULL").Count(ctx)
		if pending != 0 {
			t.Errorf("%d messages left unsent", pending)
		}
	})
}
