// Package app wires Concorde together, top to bottom: configuration → database → services →
// HTTP server. The server and every admin command start from here.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/account"
	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/changes"
	"github.com/concorde-civic/concorde/core/config"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/forwarded"
	"github.com/concorde-civic/concorde/core/httpapi"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/mail"
	"github.com/concorde-civic/concorde/core/metrics"
	"github.com/concorde-civic/concorde/core/notify"
	"github.com/concorde-civic/concorde/core/pluginhost"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/ratelimit"
	"github.com/concorde-civic/concorde/core/redislimit"
	"github.com/concorde-civic/concorde/core/snapshot"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/vote"
	"github.com/concorde-civic/concorde/tenants"
	"github.com/concorde-civic/concorde/web"
)

// App is the wired set of services.
type App struct {
	Config       config.Config
	Log          *slog.Logger
	DB           *bun.DB
	IDs          *store.IDs
	Audit        *audit.Log
	Authz        *authz.Authorizer
	Tenants      *tenants.Service
	Users        *identity.Users
	Sessions     *identity.Sessions
	Tokens       *identity.Tokens
	Participants identity.Participants
	Staff        *staff.Service
	Metrics      *metrics.Metrics
	Plugins      *pluginhost.Host

	Consultations *consultation.Service
	Proposals     *proposal.Service
	Votes         *vote.Service
	Catalog       *catalog.Catalog
	RateLimiter   *ratelimit.Limiter
	Account       *account.Service
	Snapshots     *snapshot.Service

	// E-mail: the single-use links sent to accounts, the outbox, its sender (nil in
	// production without CONCORDE_SMTP_URL: messages wait) and what writes the notifications.
	Links       *identity.AccountLinks
	Outbox      *mail.Outbox
	MailSender  *mail.Sender
	MailMetrics *mail.Metrics
	Notify      *notify.Service
	pages       *web.Pages

	redis *redislimit.Store // nil without CONCORDE_REDIS_URL

	// node names this process in its announcements, so that it ignores its own.
	node string
	// counted is the consultations this node counted votes in since it last announced it
	// (PostgreSQL only), under countedMu.
	countedMu sync.Mutex
	counted   map[[2]int64]bool
}

// Options tune Open for tests.
type Options struct {
	// Hasher overrides the password hasher (tests use a cheap one).
	Hasher *identity.Hasher
	// Command opens for one admin command rather than a server: the policies are not read at
	// start (on first use instead), which with 10,000 tenants is most of a command's time,
	// and the host index does not follow the tenants (a command serves no host).
	Command bool
}

// Open connects to the database, applies pending migrations and builds every service.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, opt Options) (*App, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if applied, err := store.Migrate(ctx, db); err != nil {
		_ = db.Close()
		return nil, err
	} else if len(applied) > 0 {
		log.Info("migrations applied", "migrations", applied)
	}
	a := &App{Config: cfg, Log: log, DB: db, IDs: &store.IDs{}, Metrics: metrics.New(), node: newNodeName()}
	a.Audit = audit.New(db)
	a.Audit.Keys = AuditKeys(cfg)
	newAuthz := authz.New
	if opt.Command {
		newAuthz = authz.NewLazy
	}
	if a.Authz, err = newAuthz(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("load authorization policies: %w", err)
	}
	a.Tenants = tenants.NewService(db, a.Audit, a.IDs)
	hasher := identity.DefaultHasher
	if opt.Hasher != nil {
		hasher = *opt.Hasher
	}
	a.Users = identity.NewUsers(db, hasher)
	a.Users.LimitSignIns(identity.SignInLimits{PerAccount: perSource(cfg.SignInLimitPerAccount), Global: perSource(cfg.SignInLimitGlobal)})
	a.Sessions = identity.NewSessions(db, cfg.SessionTTL)
	a.Tokens = identity.NewTokens(db)
	a.Participants = identity.Participants{Secret: []byte(cfg.Secret)}
	a.Links = identity.NewAccountLinks(db, a.Users)
	a.Staff = staff.New(db, a.Users, a.Tokens, a.Links, a.Authz, a.Audit)
	if a.Plugins, err = pluginhost.New(ctx, pluginhost.Config{DB: db, Log: log, Audit: a.Audit, Authz: a.Authz, Registry: a.Metrics.Registry, Secret: []byte(cfg.Secret)}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("plugin host: %w", err)
	}
	a.Consultations = consultation.New(db, a.Audit, a.IDs)
	a.Proposals = proposal.New(db, a.Audit, a.IDs)
	a.Votes = vote.New(db, a.Metrics.Registry, vote.Options{Log: log})
	a.Catalog = catalog.New(a.Consultations, a.Proposals, a.Votes)
	a.Catalog.Announce = a.announceConsultation
	// The catalog follows the counters from what the vote writer commits, not by reading
	// them again; the other nodes hear of it (countsChanged).
	a.Votes.OnCounted = func(tenantID int64, changes map[int64]vote.CounterChange) {
		a.Catalog.Counted(tenantID, changes)
		a.countsChanged(tenantID, changes)
	}
	a.Votes.Start()
	a.Proposals.OnAccepted = a.Catalog.Invalidate
	a.Proposals.Events, a.Consultations.Events = a.event, a.event
	if a.RateLimiter, err = a.limiter(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	// Publishing freezes the results exactly as the results API renders them.
	a.Snapshots = snapshot.New(db, a.Audit, a.Proposals, a.Votes, httpapi.ResultsJSON)
	a.Consultations.Publishing = a.Snapshots.Take
	a.Account = account.New(db, a.Staff, a.Users, a.Votes, a.Proposals, a.Authz)
	if err := a.openMail(); err != nil {
		_ = db.Close()
		return nil, err
	}
	a.Account.Outbox = a.Outbox
	if err := a.Tenants.EnsurePlatformHost(ctx, cfg.PlatformHost); err != nil {
		_ = db.Close()
		return nil, err
	}
	if !opt.Command {
		if err := a.Tenants.Refresh(ctx); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return a, nil
}

// openMail wires the outbox, its sender and the notifications. Without CONCORDE_SMTP_URL,
// development logs the messages and production keeps them queued (the queue depth says so).
func (a *App) openMail() error {
	var err error
	if a.pages, err = web.New(); err != nil {
		return err
	}
	a.MailMetrics = mail.NewMetrics(a.Metrics.Registry)
	a.Outbox = mail.NewOutbox(a.DB, a.IDs)
	var transport mail.Transport
	switch {
	case a.Config.SMTPURL != "":
		smtp, err := mail.ParseURL(a.Config.SMTPURL)
		if err != nil {
			return err
		}
		transport = smtp
	case a.Config.Env == "development":
		transport = mail.Log{Log: a.Log}
	}
	if transport != nil {
		a.MailSender = &mail.Sender{DB: a.DB, Transport: transport, From: a.Config.MailFrom, Log: a.Log, Metrics: a.MailMetrics, Node: a.node}
		a.MailSender.Start()
		a.Outbox.Queued = a.MailSender.Wake
	}
	scheme := a.Config.PublicScheme // set by Config.Validate; a configuration built in code may leave it
	if scheme == "" {
		scheme = map[bool]string{true: "http", false: "https"}[a.Config.Env == "development"]
	}
	a.Notify = &notify.Service{DB: a.DB, Outbox: a.Outbox, Texts: a.pages, Users: a.Users, Links: a.Links, Tenants: a.Tenants,
		Proposals: a.Proposals, Consultations: a.Consultations, Log: a.Log, Scheme: scheme, Port: a.Config.PublicPort, DateIn: web.At}
	return nil
}

// RunMail delivers the outbox and fans out the results notifications in the background until
// ctx ends (the server runs it; admin commands leave the messages they queue to it).
func (a *App) RunMail(ctx context.Context) {
	a.Notify.Start()
	if a.MailSender == nil {
		a.Log.Warn("CONCORDE_SMTP_URL is not set: e-mails (invitations, verifications, notifications) wait in the outbox until it is")
		return
	}
	if smtp, ok := a.MailSender.Transport.(*mail.SMTP); ok {
		a.Log.Info("e-mails sent through SMTP", "server", smtp.String(), "from", a.Config.MailFrom)
	} else {
		a.Log.Info("e-mails are written to this log (development without CONCORDE_SMTP_URL)")
	}
	go a.MailSender.Run(ctx, 10*time.Second)
}

// event hears the core's events: the notifications first, then the plugins.
func (a *App) event(tenantID int64, name string, payload map[string]any) {
	a.Notify.Event(tenantID, name, payload)
	a.publish(tenantID, name, payload)
}

// limiter counts rate limits in Redis when CONCORDE_REDIS_URL is set (every node then
// shares them), else in this node's memory. A Redis that does not answer at start does not
// stop the server: the limiter counts locally until it does.
func (a *App) limiter(ctx context.Context) (*ratelimit.Limiter, error) {
	if a.Config.RedisURL == "" {
		return ratelimit.NewLimiter(0, nil), nil
	}
	s, err := redislimit.Open(a.Config.RedisURL, a.Config.RedisPrefix, a.Log)
	if err != nil {
		return nil, err
	}
	a.redis = s
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		a.Log.Warn("Redis does not answer yet: rate limits count on this node until it does", "error", err.Error())
	} else {
		a.Log.Info("rate limits shared through Redis")
	}
	return ratelimit.NewSharedLimiter(0, nil, ratelimit.SharedLimits{Store: s, Log: a.Log, Registry: a.Metrics.Registry}), nil
}

// Close commits the votes still queued and releases the database.
func (a *App) Close() error {
	a.Notify.Close()
	a.Votes.Close()
	a.Plugins.Close()
	if a.redis != nil {
		_ = a.redis.Close()
	}
	return a.DB.Close()
}

// HTTP builds the HTTP server over the services.
func (a *App) HTTP() (*httpapi.Server, error) {
	pages := a.pages
	proxies, err := forwarded.ParseTrusted(a.Config.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("CONCORDE_TRUSTED_PROXIES: %w", err)
	}
	if !proxies.Empty() {
		a.Log.Info("client addresses read from X-Forwarded-For or Forwarded when the peer is a trusted proxy", "trusted_proxies", proxies.String())
	}
	return httpapi.New(httpapi.Deps{
		DB: a.DB, Tenants: a.Tenants, Authz: a.Authz, Audit: a.Audit, Users: a.Users, Sessions: a.Sessions,
		Tokens: a.Tokens, Participants: a.Participants, Staff: a.Staff, Metrics: a.Metrics, Pages: pages,
		Log: a.Log, Secret: []byte(a.Config.Secret), CookieSecure: a.Config.CookieSecure, HSTS: a.Config.Env == "production", Plugins: a.Plugins,
		Consultations: a.Consultations, Proposals: a.Proposals, Votes: a.Votes, Catalog: a.Catalog, Account: a.Account,
		Notify: a.Notify, Links: a.Links,
		Signer: vote.Signer{Secret: []byte(a.Config.Secret)}, RateLimiter: a.RateLimiter, Snapshots: a.Snapshots,
		VoteLimits: ratelimit.Limits{PerSource: perSource(a.Config.VoteLimitPerSource), Window: time.Minute},
		SequenceLimits: ratelimit.Limits{PerParticipant: perSource(a.Config.SequenceLimitPerParticipant),
			PerSource: perSource(a.Config.SequenceLimitPerSource), Window: time.Minute},
		ProposalsPerSourcePerHour: perSource(a.Config.ProposalLimitPerSource), TrustedProxies: proxies,
		FreshPerSourcePerHour: perSource(a.Config.FreshPerSourcePerHour),
	})
}

// Tick does the periodic upkeep of one node: it reloads tenants and policies if other nodes
// changed them (on PostgreSQL, Watch hears of it at once; this is the fallback), refreshes
// the gauges and deletes expired sessions.
func (a *App) Tick(ctx context.Context) {
	a.syncShared(ctx)
	if counts, err := a.Tenants.Count(ctx); err != nil {
		a.Log.Warn("count tenants", "error", err.Error())
	} else {
		for st, n := range counts {
			a.Metrics.Tenants.WithLabelValues(string(st)).Set(float64(n))
		}
	}
	if _, err := a.Sessions.DeleteExpired(ctx); err != nil {
		a.Log.Warn("delete expired sessions", "error", err.Error())
	}
	if n, err := a.Sessions.CountActive(ctx); err == nil {
		a.Metrics.ActiveSessions.Set(float64(n))
	}
	a.Catalog.Sweep()
	// Also where no sender runs (production without CONCORDE_SMTP_URL): the alert on a stuck
	// queue must see it grow.
	if n, err := a.Outbox.Depth(ctx); err == nil {
		a.MailMetrics.Queue.Set(float64(n))
	}
}

// syncShared reloads the tenants and the policies if their versions moved (one row each
// otherwise).
func (a *App) syncShared(ctx context.Context) {
	if err := a.Tenants.Sync(ctx); err != nil {
		a.Log.Warn("refresh tenants", "error", err.Error())
	}
	if err := a.Authz.Reload(ctx); err != nil {
		a.Log.Warn("reload policies", "error", err.Error())
	}
}

// Watch, on PostgreSQL, listens for the changes other nodes and admin commands announce and
// applies them at once, until ctx ends; ready (if not nil) is closed once it listens. On
// SQLite (one node) it returns at once: the periodic Tick is enough.
func (a *App) Watch(ctx context.Context, ready chan<- struct{}) {
	if store.DialectOf(a.DB) != store.Postgres {
		if ready != nil {
			close(ready)
		}
		return
	}
	go a.announceCounts(ctx, 250*time.Millisecond)
	changes.Listen(ctx, a.Config.DatabaseURL, a.Log, func(n changes.Note) {
		switch n.Topic {
		case changes.Policy:
			// Usually one rule, applied in place; a note about this node's own write costs nothing.
			if err := a.Authz.Apply(ctx, n.Payload); err != nil {
				a.Log.Warn("apply policy change", "error", err.Error())
			}
		case changes.Tenants:
			// Version-checked: a note about this node's own change costs two row reads.
			a.syncShared(ctx)
		case changes.Resync:
			a.syncShared(ctx)
			a.Catalog.Resync()
		case changes.Counts:
			if node, pairs := changes.ParseCounts(n.Payload); node != a.node {
				for _, p := range pairs {
					a.Catalog.CountersChanged(p[0], p[1])
				}
			}
		case changes.Catalog:
			if t, c, ok := changes.ParseConsultation(n.Payload); ok {
				a.Catalog.Forget(t, c)
			}
		}
	}, ready)
}

// countsChanged notes, on PostgreSQL, the consultations whose counters a commit of this node
// changed, for announceCounts. It runs on the vote writer: it only takes a short lock.
func (a *App) countsChanged(tenantID int64, changes map[int64]vote.CounterChange) {
	if store.DialectOf(a.DB) != store.Postgres {
		return
	}
	a.countedMu.Lock()
	defer a.countedMu.Unlock()
	if a.counted == nil {
		a.counted = map[[2]int64]bool{}
	}
	for _, ch := range changes {
		a.counted[[2]int64{tenantID, ch.ConsultationID}] = true
	}
}

// announceCounts tells the other nodes, every period at most, in which consultations this
// node counted votes, until ctx ends (they read those counters again).
func (a *App) announceCounts(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.countedMu.Lock()
		pairs := make([][2]int64, 0, len(a.counted))
		for p := range a.counted {
			pairs = append(pairs, p)
		}
		a.counted = nil
		a.countedMu.Unlock()
		if len(pairs) == 0 {
			continue
		}
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := changes.NotifyCounts(nctx, a.DB, a.node, pairs); err != nil {
			// The other nodes still read the whole entry again within the catalog's ResyncEvery.
			a.Log.Warn("announce counted votes", "error", err.Error())
		}
		cancel()
	}
}

// newNodeName is a random name for this process.
func newNodeName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// announceConsultation tells the other nodes that this node changed a consultation.
func (a *App) announceConsultation(tenantID, consultationID int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := changes.NotifyConsultation(ctx, a.DB, tenantID, consultationID); err != nil {
		// The other nodes still reload it within the catalog's TTL.
		a.Log.Warn("announce consultation change", "error", err.Error())
	}
}

// RunTicks calls Tick every period until ctx ends.
func (a *App) RunTicks(ctx context.Context, period time.Duration) {
	a.Tick(ctx)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.Tick(ctx)
		}
	}
}

// AuditKeys is the keyring of the audit chain: CONCORDE_AUDIT_KEY, or a key derived from the
// secret, and the retired keys (or secrets) that still verify older entries.
func AuditKeys(cfg config.Config) *audit.Keyring {
	key := cfg.AuditKey
	if key == "" {
		key = audit.DeriveKey(cfg.Secret)
	}
	return audit.NewKeyring(key, strings.Split(cfg.AuditPreviousKeys, ",")...)
}

// perSource maps the configuration's "0 means no limit" to the limits' "negative means no
// limit" (their zero means the default).
func perSource(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// publish tells the plugins enabled on a tenant of an event of the core (delivered in the
// background, to the plugins whose manifest listens to it).
func (a *App) publish(tenantID int64, name string, payload map[string]any) {
	if a.Plugins == nil {
		return
	}
	b, err := json.Marshal(payload)
	if err != nil {
		a.Log.Error("encode event", "event", name, "error", err.Error())
		return
	}
	a.Plugins.Publish(tenantID, "", name, b)
}
