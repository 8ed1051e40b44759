package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP delivers through a mail server, one connection per batch.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	// Implicit is TLS from the first byte (smtps://, port 465); otherwise STARTTLS, which is
	// required unless Insecure (smtp://…?tls=none, for a relay on the same machine).
	Implicit bool
	Insecure bool
	// TLSConfig overrides the TLS settings (tests trust their own certificate with it).
	TLSConfig *tls.Config
	Timeout   time.Duration
}

// ParseURL reads CONCORDE_SMTP_URL: smtp://user:password@host:587 (STARTTLS required),
// smtps://user:password@host:465 (implicit TLS), smtp://host:25?tls=none (no TLS: a local
// relay only). The user and password are optional (no authentication without them).
func ParseURL(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("CONCORDE_SMTP_URL is not a URL: %v", redact(err))
	}
	s := &SMTP{Host: u.Hostname(), Timeout: 30 * time.Second}
	switch u.Scheme {
	case "smtp":
		s.Port = 587
	case "smtps":
		s.Port, s.Implicit = 465, true
	default:
		return nil, fmt.Errorf("CONCORDE_SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
	}
	if s.Host == "" {
		return nil, fmt.Errorf("CONCORDE_SMTP_URL has no host name")
	}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port < 1 || s.Port > 65535 {
			return nil, fmt.Errorf("CONCORDE_SMTP_URL has a bad port %q", p)
		}
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	q := u.Query()
	switch q.Get("tls") {
	case "":
	case "none":
		if s.Implicit {
			return nil, fmt.Errorf("CONCORDE_SMTP_URL: tls=none contradicts smtps://")
		}
		s.Insecure = true
	default:
		return nil, fmt.Errorf("CONCORDE_SMTP_URL: tls may only be none")
	}
	if s.Insecure && s.Username != "" {
		return nil, fmt.Errorf("CONCORDE_SMTP_URL: a password is never sent without TLS; drop tls=none or the user name")
	}
	return s, nil
}

// redact keeps a URL's password out of an error message.
func redact(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return "malformed"
}

// String names the server without its password, for the logs.
func (s *SMTP) String() string {
	scheme := "smtp"
	if s.Implicit {
		scheme = "smtps"
	}
	return scheme + "://" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// Send delivers msgs over one connection.
func (s *SMTP) Send(ctx context.Context, msgs []*gomail.Msg) error {
	opts := []gomail.Option{gomail.WithPort(s.Port), gomail.WithTimeout(s.Timeout)}
	switch {
	case s.Implicit:
		opts = append(opts, gomail.WithSSL())
	case s.Insecure:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.TLSConfig))
	}
	if s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	c, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return fmt.Errorf("SMTP client for %s: %w", s, err)
	}
	if err := c.DialAndSendWithContext(ctx, msgs...); err != nil {
		return fmt.Errorf("send through %s: %w", s, err)
	}
	return nil
}

// Log writes each message to the log instead of sending it: development without a mail
// server (make run). Links in the body are how a developer follows an invitation.
type Log struct {
	Log *slog.Logger
}

// Send logs msgs.
func (l Log) Send(_ context.Context, msgs []*gomail.Msg) error {
	for _, m := range msgs {
		to, _ := m.GetRecipients()
		subject := strings.Join(m.GetGenHeader(gomail.HeaderSubject), " ")
		if d, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
			subject = d
		}
		body := ""
		for _, p := range m.GetParts() {
			if b, err := p.GetContent(); err == nil {
				body += string(b)
			}
		}
		l.Log.Info("e-mail (not sent: no CONCORDE_SMTP_URL)", "to", to, "subject", subject, "body", body)
	}
	return nil
}
