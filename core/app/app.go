// Package app wires Concorde together, top to bottom: configuration → database → services →
// HTTP server. The server and every admin command start from here.
package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/account"
	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/config"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/httpapi"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/metrics"
	"github.com/concorde-civic/concorde/core/pluginhost"
	"github.com/concorde-civic/concorde/core/proposal"
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
	Limits        *vote.Limiter
	Account       *account.Service
}

// Options tune Open for tests.
type Options struct {
	// Hasher overrides the password hasher (tests use a cheap one).
	Hasher *identity.Hasher
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
	a := &App{Config: cfg, Log: log, DB: db, IDs: &store.IDs{}, Metrics: metrics.New()}
	a.Audit = audit.New(db)
	if a.Authz, err = authz.New(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("load authorization policies: %w", err)
	}
	a.Tenants = tenants.NewService(db, a.Audit, tenants.NewIndex(), a.IDs)
	hasher := identity.DefaultHasher
	if opt.Hasher != nil {
		hasher = *opt.Hasher
	}
	a.Users = identity.NewUsers(db, hasher)
	a.Sessions = identity.NewSessions(db, cfg.SessionTTL)
	a.Tokens = identity.NewTokens(db)
	a.Participants = identity.Participants{Secret: []byte(cfg.Secret)}
	a.Staff = staff.New(db, a.Users, a.Tokens, a.Authz, a.Audit)
	if a.Plugins, err = pluginhost.New(ctx, pluginhost.Config{DB: db, Log: log, Audit: a.Audit, Authz: a.Authz, Registry: a.Metrics.Registry}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("plugin host: %w", err)
	}
	a.Consultations = consultation.New(db, a.Audit, a.IDs)
	a.Proposals = proposal.New(db, a.Audit, a.IDs)
	a.Votes = vote.New(db, a.Metrics.Registry, vote.Options{Log: log})
	a.Votes.Start()
	a.Catalog = catalog.New(a.Consultations, a.Proposals, a.Votes)
	a.Proposals.OnAccepted = a.Catalog.Invalidate
	a.Proposals.Events, a.Consultations.Events = a.publish, a.publish
	a.Limits = vote.NewLimiter(0, nil)
	a.Account = account.New(db, a.Staff, a.Users, a.Votes, a.Authz)
	if err := a.Tenants.EnsurePlatformHost(ctx, cfg.PlatformHost); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := a.Tenants.Refresh(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return a, nil
}

// Close commits the votes still queued and releases the database.
func (a *App) Close() error {
	a.Votes.Close()
	a.Plugins.Close()
	return a.DB.Close()
}

// HTTP builds the HTTP server over the services.
func (a *App) HTTP() (*httpapi.Server, error) {
	pages, err := web.New()
	if err != nil {
		return nil, err
	}
	return httpapi.New(httpapi.Deps{
		DB: a.DB, Tenants: a.Tenants, Authz: a.Authz, Audit: a.Audit, Users: a.Users, Sessions: a.Sessions,
		Tokens: a.Tokens, Participants: a.Participants, Staff: a.Staff, Metrics: a.Metrics, Pages: pages,
		Log: a.Log, Secret: []byte(a.Config.Secret), CookieSecure: a.Config.CookieSecure, HSTS: a.Config.Env == "production", Plugins: a.Plugins,
		Consultations: a.Consultations, Proposals: a.Proposals, Votes: a.Votes, Catalog: a.Catalog, Account: a.Account,
		Signer: vote.Signer{Secret: []byte(a.Config.Secret)}, Limits: a.Limits,
		VoteLimits: vote.Limits{PerSource: perSource(a.Config.VoteLimitPerSource), Window: time.Minute},
	})
}

// Tick does the periodic upkeep of one node: it reloads tenants and policies (other nodes
// may have changed them), refreshes the gauges and deletes expired sessions.
func (a *App) Tick(ctx context.Context) {
	if err := a.Tenants.Refresh(ctx); err != nil {
		a.Log.Warn("refresh tenants", "error", err.Error())
	}
	if err := a.Authz.Reload(ctx); err != nil {
		a.Log.Warn("reload policies", "error", err.Error())
	}
	for st, n := range a.Tenants.Index().Count() {
		a.Metrics.Tenants.WithLabelValues(string(st)).Set(float64(n))
	}
	if _, err := a.Sessions.DeleteExpired(ctx); err != nil {
		a.Log.Warn("delete expired sessions", "error", err.Error())
	}
	if n, err := a.Sessions.CountActive(ctx); err == nil {
		a.Metrics.ActiveSessions.Set(float64(n))
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

// perSource maps the configuration's "0 means no limit" to the vote limiter's "negative means
// no limit" (its zero means the default).
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
