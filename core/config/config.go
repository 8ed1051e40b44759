// Package config reads the settings every command shares, from flags and CONCORDE_*
// environment variables (flags win), and checks them before anything starts.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/core/forwarded"
	"github.com/concorde-civic/concorde/core/store"
)

// Config is what the server and every admin command read.
type Config struct {
	Addr         string        // CONCORDE_ADDR: where the site and API listen
	MetricsAddr  string        // CONCORDE_METRICS_ADDR: a separate listener for /metrics; empty: only behind the ops role
	DatabaseURL  string        // CONCORDE_DATABASE_URL: a SQLite file path or a postgres:// URL
	Secret       string        // CONCORDE_SECRET: signs cookies, CSRF tokens and vote keys
	Env          string        // CONCORDE_ENV: development or production
	PlatformHost string        // CONCORDE_PLATFORM_HOST: host of the platform admin site
	CookieSecure bool          // CONCORDE_COOKIE_SECURE: mark cookies Secure (browsers accept them on http://*.localhost)
	SessionTTL   time.Duration // CONCORDE_SESSION_TTL: how long a sign-in lasts
	LogLevel     string        // CONCORDE_LOG_LEVEL: debug, info, warn, error
	// VoteLimitPerSource bounds votes from one client address per minute and site (0: no limit).
	VoteLimitPerSource int // CONCORDE_VOTE_LIMIT_PER_SOURCE
	// ProposalLimitPerSource bounds proposals from one client address per hour and site (0: no limit).
	ProposalLimitPerSource int // CONCORDE_PROPOSAL_LIMIT_PER_SOURCE
	// TrustedProxies lists the load balancers (addresses, CIDR prefixes) whose X-Forwarded-For
	// or Forwarded header gives the client's address; empty: the socket's peer is the client.
	TrustedProxies string // CONCORDE_TRUSTED_PROXIES
	// RedisURL, if set, is where every node keeps the rate-limit counts, so they hold for the
	// whole installation; empty: each node counts on its own.
	RedisURL    string // CONCORDE_REDIS_URL
	RedisPrefix string // CONCORDE_REDIS_PREFIX: the start of every key, for installations sharing one Redis
	DataDir     string // derived: the folder of the SQLite file, where a development secret is kept
	// SequenceLimitPerParticipant and SequenceLimitPerSource bound the sequences one
	// participant, and one client address, may ask for per minute and site (0: no limit).
	SequenceLimitPerParticipant int // CONCORDE_SEQUENCE_LIMIT_PER_PARTICIPANT
	SequenceLimitPerSource      int // CONCORDE_SEQUENCE_LIMIT_PER_SOURCE
	// FreshPerSourcePerHour bounds the new participants an hour from one client address whose
	// first sequence carries full-weight keys (core/vote rule 7; 0: no limit).
	FreshPerSourcePerHour int // CONCORDE_FRESH_PER_SOURCE_PER_HOUR
	// SignInLimitPerAccount and SignInLimitGlobal bound password checks per minute and node:
	// per account address across every site, and in total (0: no limit).
	SignInLimitPerAccount int // CONCORDE_SIGNIN_LIMIT_PER_ACCOUNT
	SignInLimitGlobal     int // CONCORDE_SIGNIN_LIMIT_GLOBAL
	// AuditKey keys the audit chain (HMAC-SHA256); empty: derived from Secret. Kept outside
	// the database, so whoever can edit rows cannot recompute the chain.
	AuditKey string // CONCORDE_AUDIT_KEY
	// AuditPreviousKeys are retired audit keys, comma-separated, still accepted when verifying
	// entries written with them (key rotation).
	AuditPreviousKeys string // CONCORDE_AUDIT_PREVIOUS_KEYS
	// SMTPURL is the mail server: smtp://user:password@host:587 (STARTTLS), smtps://… (implicit
	// TLS), smtp://host:25?tls=none (a local relay); empty: e-mails go to the log in
	// development, and wait in the outbox in production.
	SMTPURL string // CONCORDE_SMTP_URL
	// MailFrom is the address e-mails come from ("Concorde <no-reply@example.org>"); each site
	// shows its own name beside it.
	MailFrom string // CONCORDE_MAIL_FROM
	// PublicScheme and PublicPort make the links in e-mails: scheme://<site host>[:port]/…
	PublicScheme string // CONCORDE_PUBLIC_SCHEME: https (http in development)
	PublicPort   string // CONCORDE_PUBLIC_PORT: empty (the listen port in development)
}

// Register declares the shared flags on fs, with defaults taken from the environment.
func Register(fs *flag.FlagSet, c *Config, lookup func(string) (string, bool)) {
	env := func(k, def string) string {
		if v, ok := lookup(k); ok && (v != "" || k == "CONCORDE_METRICS_ADDR") {
			return v // an empty CONCORDE_METRICS_ADDR means: no separate metrics listener
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("CONCORDE_ADDR", ":8080"), "listen address of the site and API (CONCORDE_ADDR)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("CONCORDE_METRICS_ADDR", ":9090"), "listen address of /metrics; empty to serve it only to the ops role (CONCORDE_METRICS_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("CONCORDE_DATABASE_URL", "data/concorde.db"), "SQLite file path or postgres:// URL (CONCORDE_DATABASE_URL)")
	fs.StringVar(&c.Secret, "secret", env("CONCORDE_SECRET", ""), "secret of at least 32 characters; required in production (CONCORDE_SECRET)")
	fs.StringVar(&c.Env, "env", env("CONCORDE_ENV", "development"), "development or production (CONCORDE_ENV)")
	fs.StringVar(&c.PlatformHost, "platform-host", env("CONCORDE_PLATFORM_HOST", "admin.localhost"), "host name of the platform admin site (CONCORDE_PLATFORM_HOST)")
	secure := env("CONCORDE_COOKIE_SECURE", "true")
	c.CookieSecure = secure != "false" && secure != "0"
	fs.BoolVar(&c.CookieSecure, "cookie-secure", c.CookieSecure, "mark cookies Secure (CONCORDE_COOKIE_SECURE)")
	ttl := env("CONCORDE_SESSION_TTL", "12h")
	d, err := time.ParseDuration(ttl)
	if err != nil {
		d = -1 // reported by Validate
	}
	fs.DurationVar(&c.SessionTTL, "session-ttl", d, "how long a sign-in lasts (CONCORDE_SESSION_TTL)")
	perSource, err := strconv.Atoi(env("CONCORDE_VOTE_LIMIT_PER_SOURCE", "600"))
	if err != nil {
		perSource = -1 // reported by Validate
	}
	fs.IntVar(&c.VoteLimitPerSource, "vote-limit-per-source", perSource, "votes per minute from one client address on one site; 0 for no limit (CONCORDE_VOTE_LIMIT_PER_SOURCE)")
	perHour, err := strconv.Atoi(env("CONCORDE_PROPOSAL_LIMIT_PER_SOURCE", "30"))
	if err != nil {
		perHour = -1 // reported by Validate
	}
	fs.IntVar(&c.ProposalLimitPerSource, "proposal-limit-per-source", perHour, "proposals per hour from one client address on one site; 0 for no limit (CONCORDE_PROPOSAL_LIMIT_PER_SOURCE)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("CONCORDE_TRUSTED_PROXIES", ""), "comma-separated addresses or CIDR prefixes of the load balancers whose X-Forwarded-For or Forwarded header is believed (CONCORDE_TRUSTED_PROXIES)")
	fs.StringVar(&c.RedisURL, "redis-url", env("CONCORDE_REDIS_URL", ""), "redis:// URL where every node shares the rate-limit counts; empty: per node (CONCORDE_REDIS_URL)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", env("CONCORDE_REDIS_PREFIX", "concorde:"), "prefix of the Redis keys (CONCORDE_REDIS_PREFIX)")
	intFlag := func(p *int, name, variable string, def int, usage string) {
		n, err := strconv.Atoi(env(variable, strconv.Itoa(def)))
		if err != nil {
			n = -1 // reported by Validate
		}
		fs.IntVar(p, name, n, usage+"; 0 for no limit ("+variable+")")
	}
	intFlag(&c.SequenceLimitPerParticipant, "sequence-limit-per-participant", "CONCORDE_SEQUENCE_LIMIT_PER_PARTICIPANT", 20, "sequences per minute one participant may ask for on one site")
	intFlag(&c.SequenceLimitPerSource, "sequence-limit-per-source", "CONCORDE_SEQUENCE_LIMIT_PER_SOURCE", 120, "sequences per minute from one client address on one site")
	intFlag(&c.FreshPerSourcePerHour, "fresh-per-source-per-hour", "CONCORDE_FRESH_PER_SOURCE_PER_HOUR", 5, "new participants an hour from one client address whose first sequence counts at full weight, per consultation")
	intFlag(&c.SignInLimitPerAccount, "signin-limit-per-account", "CONCORDE_SIGNIN_LIMIT_PER_ACCOUNT", 10, "password checks per minute for one account address, over every site")
	intFlag(&c.SignInLimitGlobal, "signin-limit-global", "CONCORDE_SIGNIN_LIMIT_GLOBAL", 600, "password checks per minute on this node")
	fs.StringVar(&c.AuditKey, "audit-key", env("CONCORDE_AUDIT_KEY", ""), "key of the audit chain, at least 32 characters; empty: derived from the secret (CONCORDE_AUDIT_KEY)")
	fs.StringVar(&c.AuditPreviousKeys, "audit-previous-keys", env("CONCORDE_AUDIT_PREVIOUS_KEYS", ""), "retired audit keys, comma-separated, to verify older entries (CONCORDE_AUDIT_PREVIOUS_KEYS)")
	fs.StringVar(&c.SMTPURL, "smtp-url", env("CONCORDE_SMTP_URL", ""), "mail server, smtp://user:password@host:587 (STARTTLS) or smtps://…:465; empty: e-mails go to the log in development (CONCORDE_SMTP_URL)")
	fs.StringVar(&c.MailFrom, "mail-from", env("CONCORDE_MAIL_FROM", ""), "address e-mails come from, such as no-reply@example.org; required with CONCORDE_SMTP_URL (CONCORDE_MAIL_FROM)")
	fs.StringVar(&c.PublicScheme, "public-scheme", env("CONCORDE_PUBLIC_SCHEME", ""), "scheme of the links in e-mails: https, or http (default in development) (CONCORDE_PUBLIC_SCHEME)")
	fs.StringVar(&c.PublicPort, "public-port", env("CONCORDE_PUBLIC_PORT", ""), "port of the links in e-mails when not the scheme's own; default in development: the listen port (CONCORDE_PUBLIC_PORT)")
	fs.StringVar(&c.LogLevel, "log-level", env("CONCORDE_LOG_LEVEL", "info"), "debug, info, warn or error (CONCORDE_LOG_LEVEL)")
}

// Validate checks the settings and completes the derived ones. In development, a missing
// secret is generated once and kept beside the SQLite file so restarts keep sessions.
func (c *Config) Validate() error {
	if c.Env != "development" && c.Env != "production" {
		return fmt.Errorf("CONCORDE_ENV must be development or production, not %q", c.Env)
	}
	if c.SessionTTL < time.Minute {
		return errors.New("CONCORDE_SESSION_TTL must be a duration of at least 1m, such as 12h")
	}
	if c.VoteLimitPerSource < 0 {
		return errors.New("CONCORDE_VOTE_LIMIT_PER_SOURCE must be a whole number, 0 for no limit")
	}
	if c.ProposalLimitPerSource < 0 {
		return errors.New("CONCORDE_PROPOSAL_LIMIT_PER_SOURCE must be a whole number, 0 for no limit")
	}
	if _, err := forwarded.ParseTrusted(c.TrustedProxies); err != nil {
		return fmt.Errorf("CONCORDE_TRUSTED_PROXIES: %v", err)
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") {
		return fmt.Errorf("CONCORDE_REDIS_URL %q is malformed: it starts with redis://, rediss:// or unix://", c.RedisURL)
	}
	if c.SequenceLimitPerParticipant < 0 || c.SequenceLimitPerSource < 0 {
		return errors.New("CONCORDE_SEQUENCE_LIMIT_PER_PARTICIPANT and CONCORDE_SEQUENCE_LIMIT_PER_SOURCE must be whole numbers, 0 for no limit")
	}
	if c.FreshPerSourcePerHour < 0 {
		return errors.New("CONCORDE_FRESH_PER_SOURCE_PER_HOUR must be a whole number, 0 for no limit")
	}
	if c.SignInLimitPerAccount < 0 || c.SignInLimitGlobal < 0 {
		return errors.New("CONCORDE_SIGNIN_LIMIT_PER_ACCOUNT and CONCORDE_SIGNIN_LIMIT_GLOBAL must be whole numbers, 0 for no limit")
	}
	if c.AuditKey != "" && len(c.AuditKey) < 32 {
		return errors.New("CONCORDE_AUDIT_KEY must be at least 32 characters")
	}
	for _, k := range strings.Split(c.AuditPreviousKeys, ",") {
		if k = strings.TrimSpace(k); k != "" && len(k) < 32 {
			return errors.New("each of CONCORDE_AUDIT_PREVIOUS_KEYS must be at least 32 characters")
		}
	}
	if _, err := c.Level(); err != nil {
		return err
	}
	if err := c.validateMail(); err != nil {
		return err
	}
	if c.Addr == "" {
		return errors.New("CONCORDE_ADDR must not be empty")
	}
	if strings.HasPrefix(c.DatabaseURL, "postgres") && !store.IsPostgresURL(c.DatabaseURL) {
		return fmt.Errorf("CONCORDE_DATABASE_URL %q is malformed: a PostgreSQL URL starts with postgres://", c.DatabaseURL)
	}
	if !store.IsPostgresURL(c.DatabaseURL) {
		c.DataDir = filepath.Dir(strings.TrimPrefix(strings.TrimPrefix(c.DatabaseURL, "sqlite:"), "file:"))
	}
	switch {
	case c.Secret != "" && len(c.Secret) < 32:
		return errors.New("CONCORDE_SECRET must be at least 32 characters")
	case c.Secret == "" && c.Env == "production":
		return errors.New("CONCORDE_SECRET is required in production: set it to at least 32 random characters")
	case c.Secret == "":
		s, err := devSecret(c.DataDir)
		if err != nil {
			return err
		}
		c.Secret = s
	}
	return nil
}

// Level is the slog level named by LogLevel.
func (c *Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("CONCORDE_LOG_LEVEL must be debug, info, warn or error, not %q", c.LogLevel)
	}
	return l, nil
}

func (c *Config) validateMail() error {
	if c.SMTPURL != "" && !strings.HasPrefix(c.SMTPURL, "smtp://") && !strings.HasPrefix(c.SMTPURL, "smtps://") {
		return errors.New("CONCORDE_SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
	}
	if c.MailFrom == "" {
		if c.SMTPURL != "" {
			return errors.New("CONCORDE_MAIL_FROM is required with CONCORDE_SMTP_URL: the address e-mails come from, such as no-reply@example.org")
		}
		c.MailFrom = "Concorde <no-reply@localhost>"
	}
	if a, err := mail.ParseAddress(c.MailFrom); err != nil || strings.ContainsAny(c.MailFrom, "\r\n") {
		return fmt.Errorf("CONCORDE_MAIL_FROM %q is not an e-mail address such as no-reply@example.org", c.MailFrom)
	} else if !strings.Contains(a.Address, "@") {
		return fmt.Errorf("CONCORDE_MAIL_FROM %q is not an e-mail address such as no-reply@example.org", c.MailFrom)
	}
	switch c.PublicScheme {
	case "":
		c.PublicScheme = "https"
		if c.Env == "development" {
			c.PublicScheme = "http"
		}
	case "http", "https":
	default:
		return fmt.Errorf("CONCORDE_PUBLIC_SCHEME must be http or https, not %q", c.PublicScheme)
	}
	if c.PublicPort == "" && c.Env == "development" {
		if _, port, err := net.SplitHostPort(c.Addr); err == nil && port != "0" && port != "80" && port != "443" {
			c.PublicPort = port
		}
	}
	if c.PublicPort != "" {
		if n, err := strconv.Atoi(c.PublicPort); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("CONCORDE_PUBLIC_PORT must be a port number, not %q", c.PublicPort)
		}
	}
	return nil
}

func devSecret(dir string) (string, error) {
	if dir == "" {
		dir = "data"
	}
	path := filepath.Join(dir, "dev-secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	s := hex.EncodeToString(b[:])
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create %s: %v", dir, err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write development secret %s: %v", path, err)
	}
	return s, nil
}
