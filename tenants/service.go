package tenants

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/changes"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// Service provisions and changes tenants. Every change is audited in the same transaction
// and bumps the tenants version (core/changes), which makes every node's host index forget
// what it remembered.
type Service struct {
	db    *bun.DB
	log   *audit.Log
	index *Index
	ids   *store.IDs
	Now   func() time.Time

	// syncMu makes Sync and Refresh drop the index in the order they read the version.
	syncMu sync.Mutex
	// version is the tenants version (core/changes) the index follows, once follows is set
	// (by Refresh).
	version atomic.Int64
	follows atomic.Bool
	// counted is the tenants per status at the version countedAt (for the gauges).
	countMu   sync.Mutex
	counted   map[Status]int
	countedAt int64
}

// NewService wires the tenant service, with a host index that reads hosts from db.
func NewService(db *bun.DB, log *audit.Log, ids *store.IDs) *Service {
	s := &Service{db: db, log: log, ids: ids, Now: time.Now}
	s.index = NewIndex(s.hostTenant)
	return s
}

// Index is the host index this service keeps current.
func (s *Service) Index() *Index { return s.index }

// NewTenant is what creating a tenant takes.
type NewTenant struct {
	Slug          string   `json:"slug"`
	Kind          string   `json:"kind"`
	Name          string   `json:"name"`
	Hosts         []string `json:"hosts"`
	DefaultLocale string   `json:"default_locale"`
	TimeZone      string   `json:"time_zone"`
	LogoURL       string   `json:"logo_url"`
	ColorPrimary  string   `json:"color_primary"`
	ColorAccent   string   `json:"color_accent"`
}

// Patch is a partial change of a tenant's name and branding; nil fields stay as they are.
type Patch struct {
	Name          *string `json:"name"`
	LogoURL       *string `json:"logo_url"`
	ColorPrimary  *string `json:"color_primary"`
	ColorAccent   *string `json:"color_accent"`
	DefaultLocale *string `json:"default_locale"`
	TimeZone      *string `json:"time_zone"`
}

// Refresh makes the host index follow the tenants: it reads the tenants version and forgets
// every remembered host (each is read again when next asked for). A server calls it once at
// start; an admin command, which serves no host, never does.
func (s *Service) Refresh(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	// The version is read first: a change made after it is seen by the next Sync.
	v, err := changes.Version(ctx, s.db, changes.Tenants)
	if err != nil {
		return err
	}
	s.index.Drop()
	s.version.Store(v)
	s.follows.Store(true)
	return nil
}

// refreshIfHeld refreshes the index after a change, if this process follows the tenants (an
// admin command does not).
func (s *Service) refreshIfHeld(ctx context.Context) error {
	if !s.follows.Load() {
		return nil
	}
	return s.Refresh(ctx)
}

// Sync forgets the remembered hosts if a tenant or a host changed since the version the
// index follows (another node or an admin command changed it); otherwise it costs one row
// read.
func (s *Service) Sync(ctx context.Context) error {
	v, err := changes.Version(ctx, s.db, changes.Tenants)
	if err != nil || v == s.version.Load() {
		return err
	}
	return s.Refresh(ctx)
}

// hostTenant reads the tenant serving a (normalized) host, with its hosts; nil if none.
func (s *Service) hostTenant(ctx context.Context, host string) (*Tenant, error) {
	var t Tenant
	err := s.db.NewSelect().Model(&t).
		Where("id = (SELECT tenant_id FROM tenant_hosts WHERE host = ?)", host).Scan(ctx)
	if store.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tenant of host %s: %w", host, err)
	}
	if t.Hosts, err = s.hostsOf(ctx, t.ID); err != nil {
		return nil, err
	}
	return &t, nil
}

func (s *Service) hostsOf(ctx context.Context, tenantID int64) ([]string, error) {
	var hosts []Host
	if err := store.For(s.db, tenantID).Select(&hosts).Order("host").Scan(ctx); err != nil {
		return nil, fmt.Errorf("hosts of tenant %d: %w", tenantID, err)
	}
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.Host
	}
	return out, nil
}

// Count returns the number of tenants per status, read again only when the tenants version
// moved since the last count.
func (s *Service) Count(ctx context.Context) (map[Status]int, error) {
	v, err := changes.Version(ctx, s.db, changes.Tenants)
	if err != nil {
		return nil, err
	}
	s.countMu.Lock()
	defer s.countMu.Unlock()
	if s.counted != nil && s.countedAt == v {
		return s.counted, nil
	}
	var rows []struct {
		Status Status `bun:"status"`
		N      int    `bun:"n"`
	}
	if err := s.db.NewRaw("SELECT status, COUNT(*) AS n FROM tenants GROUP BY status").Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("count tenants: %w", err)
	}
	out := map[Status]int{Active: 0, Suspended: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	s.counted, s.countedAt = out, v
	return out, nil
}

// List returns every tenant with its hosts, by slug.
func (s *Service) List(ctx context.Context) ([]Tenant, error) {
	var ts []Tenant
	if err := s.db.NewSelect().Model(&ts).Order("slug").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	var hosts []Host
	if err := s.db.NewSelect().Model(&hosts).Order("host").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tenant hosts: %w", err)
	}
	byID := make(map[int64]*Tenant, len(ts))
	for i := range ts {
		ts[i].Hosts = []string{}
		byID[ts[i].ID] = &ts[i]
	}
	for _, h := range hosts {
		if t := byID[h.TenantID]; t != nil {
			t.Hosts = append(t.Hosts, h.Host)
		}
	}
	return ts, nil
}

// BySlug returns one tenant with its hosts.
func (s *Service) BySlug(ctx context.Context, slug string) (Tenant, error) {
	var t Tenant
	if err := s.db.NewSelect().Model(&t).Where("slug = ?", slug).Scan(ctx); err != nil {
		if store.IsNoRows(err) {
			return t, errs.E(errs.NotFound, "no tenant %q", slug).Say("err_tenant_not_found")
		}
		return t, fmt.Errorf("tenant %s: %w", slug, err)
	}
	hosts, err := s.hostsOf(ctx, t.ID)
	t.Hosts = hosts
	return t, err
}

// ByID returns one tenant with its hosts.
func (s *Service) ByID(ctx context.Context, id int64) (Tenant, error) {
	var t Tenant
	if err := s.db.NewSelect().Model(&t).Where("id = ?", id).Scan(ctx); err != nil {
		if store.IsNoRows(err) {
			return t, errs.E(errs.NotFound, "no tenant %d", id)
		}
		return t, fmt.Errorf("tenant %d: %w", id, err)
	}
	hosts, err := s.hostsOf(ctx, t.ID)
	t.Hosts = hosts
	return t, err
}

// Create provisions a tenant.
func (s *Service) Create(ctx context.Context, actor string, in NewTenant) (Tenant, error) {
	in.Slug = strings.TrimSpace(in.Slug)
	if err := ValidateSlug(in.Slug); err != nil {
		return Tenant{}, err
	}
	kind, err := ParseKind(in.Kind)
	if err != nil {
		return Tenant{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if err := ValidateName(in.Name); err != nil {
		return Tenant{}, err
	}
	if in.DefaultLocale == "" {
		in.DefaultLocale = "fr"
	}
	if in.TimeZone == "" {
		in.TimeZone = DefaultTimeZone
	}
	if in.ColorPrimary == "" {
		in.ColorPrimary = "#1d4ed8"
	}
	if in.ColorAccent == "" {
		in.ColorAccent = "#b91c1c"
	}
	if err := firstError(ValidateLocale(in.DefaultLocale), ValidateTimeZone(in.TimeZone), ValidateLogoURL(in.LogoURL),
		ValidateColor("color_primary", in.ColorPrimary), ValidateColor("color_accent", in.ColorAccent)); err != nil {
		return Tenant{}, err
	}
	if len(in.Hosts) == 0 || len(in.Hosts) > 20 {
		return Tenant{}, errs.Field("hosts", "give 1 to 20 host names").Say("err_tenant_hosts")
	}
	hosts := make([]string, 0, len(in.Hosts))
	seen := map[string]bool{}
	for _, h := range in.Hosts {
		n, err := ValidateHost(h)
		if err != nil {
			return Tenant{}, err
		}
		if !seen[n] {
			seen[n] = true
			hosts = append(hosts, n)
		}
	}
	sort.Strings(hosts)
	now := s.Now().UTC().Truncate(time.Microsecond)
	t := Tenant{ID: s.ids.Next(), Slug: in.Slug, Kind: kind, Name: in.Name, LogoURL: in.LogoURL,
		ColorPrimary: in.ColorPrimary, ColorAccent: in.ColorAccent, DefaultLocale: in.DefaultLocale,
		TimeZone: in.TimeZone, Status: Active, CreatedAt: now, UpdatedAt: now, Hosts: hosts}
	err = s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&t).Exec(ctx); err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Field("slug", "a tenant with slug %q exists already", t.Slug).Say("err_tenant_slug_taken")
			}
			return err
		}
		if err := insertHosts(ctx, tx, t.ID, hosts); err != nil {
			return err
		}
		_, err := s.log.Append(ctx, tx, PlatformID, audit.Record{Actor: actor, Action: "tenant.create", Object: "tenant:" + t.Slug,
			Detail: map[string]any{"kind": t.Kind, "name": t.Name, "hosts": hosts}})
		if err != nil {
			return err
		}
		_, err = changes.Bump(ctx, tx, changes.Tenants, "")
		return err
	})
	if err != nil {
		return Tenant{}, wrap(err, "create tenant "+in.Slug)
	}
	return t, s.refreshIfHeld(ctx)
}

// Update changes a tenant's name and branding. It is audited in the tenant's own chain.
func (s *Service) Update(ctx context.Context, actor, slug string, p Patch) (Tenant, error) {
	t, err := s.BySlug(ctx, slug)
	if err != nil {
		return t, err
	}
	changed := map[string]any{}
	if p.Name != nil {
		n := strings.TrimSpace(*p.Name)
		if err := ValidateName(n); err != nil {
			return t, err
		}
		t.Name, changed["name"] = n, n
	}
	if p.LogoURL != nil {
		if err := ValidateLogoURL(*p.LogoURL); err != nil {
			return t, err
		}
		t.LogoURL, changed["logo_url"] = *p.LogoURL, *p.LogoURL
	}
	if p.ColorPrimary != nil {
		if err := ValidateColor("color_primary", *p.ColorPrimary); err != nil {
			return t, err
		}
		t.ColorPrimary, changed["color_primary"] = *p.ColorPrimary, *p.ColorPrimary
	}
	if p.ColorAccent != nil {
		if err := ValidateColor("color_accent", *p.ColorAccent); err != nil {
			return t, err
		}
		t.ColorAccent, changed["color_accent"] = *p.ColorAccent, *p.ColorAccent
	}
	if p.DefaultLocale != nil {
		if err := ValidateLocale(*p.DefaultLocale); err != nil {
			return t, err
		}
		t.DefaultLocale, changed["default_locale"] = *p.DefaultLocale, *p.DefaultLocale
	}
	if p.TimeZone != nil {
		if err := ValidateTimeZone(*p.TimeZone); err != nil {
			return t, err
		}
		t.TimeZone, changed["time_zone"] = *p.TimeZone, *p.TimeZone
	}
	if len(changed) == 0 {
		return t, errs.E(errs.Invalid, "nothing to change: give at least one of name, logo_url, color_primary, color_accent, default_locale, time_zone").Say("err_tenant_nothing")
	}
	t.UpdatedAt = s.Now().UTC().Truncate(time.Microsecond)
	err = s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model(&t).Column("name", "logo_url", "color_primary", "color_accent", "default_locale", "time_zone", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		_, err := s.log.Append(ctx, tx, t.ID, audit.Record{Actor: actor, Action: "tenant.update", Object: "tenant:" + t.Slug, Detail: changed})
		if err != nil {
			return err
		}
		_, err = changes.Bump(ctx, tx, changes.Tenants, "")
		return err
	})
	if err != nil {
		return t, wrap(err, "update tenant "+slug)
	}
	return t, s.refreshIfHeld(ctx)
}

// SetStatus suspends or resumes a tenant's site.
func (s *Service) SetStatus(ctx context.Context, actor, slug string, st Status) (Tenant, error) {
	t, err := s.BySlug(ctx, slug)
	if err != nil {
		return t, err
	}
	if t.Kind == Platform {
		return t, errs.E(errs.Invalid, "the platform tenant cannot be suspended").Say("err_tenant_platform_suspend")
	}
	if t.Status == st {
		return t, errs.E(errs.Conflict, "tenant %s is %s already", slug, st).Say("err_tenant_status_same")
	}
	t.Status, t.UpdatedAt = st, s.Now().UTC().Truncate(time.Microsecond)
	action := map[Status]string{Active: "tenant.resume", Suspended: "tenant.suspend"}[st]
	err = s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model(&t).Column("status", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		_, err := s.log.Append(ctx, tx, PlatformID, audit.Record{Actor: actor, Action: action, Object: "tenant:" + slug})
		if err != nil {
			return err
		}
		_, err = changes.Bump(ctx, tx, changes.Tenants, "")
		return err
	})
	if err != nil {
		return t, wrap(err, action+" "+slug)
	}
	return t, s.refreshIfHeld(ctx)
}

// AddHost makes one more host name serve a tenant.
func (s *Service) AddHost(ctx context.Context, actor, slug, host string) (Tenant, error) {
	t, err := s.BySlug(ctx, slug)
	if err != nil {
		return t, err
	}
	h, err := ValidateHost(host)
	if err != nil {
		return t, err
	}
	err = s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if err := insertHosts(ctx, tx, t.ID, []string{h}); err != nil {
			return err
		}
		_, err := s.log.Append(ctx, tx, PlatformID, audit.Record{Actor: actor, Action: "tenant.add_host", Object: "tenant:" + slug, Detail: map[string]any{"host": h}})
		if err != nil {
			return err
		}
		_, err = changes.Bump(ctx, tx, changes.Tenants, "")
		return err
	})
	if err != nil {
		return t, wrap(err, "add host to "+slug)
	}
	if err := s.refreshIfHeld(ctx); err != nil {
		return t, err
	}
	return s.BySlug(ctx, slug)
}

func insertHosts(ctx context.Context, tx bun.Tx, tenantID int64, hosts []string) error {
	rows := make([]Host, len(hosts))
	for i, h := range hosts {
		rows[i] = Host{Host: h}
	}
	if _, err := store.For(tx, tenantID).Insert(&rows).Exec(ctx); err != nil {
		if store.IsUniqueViolation(err) {
			return errs.Field("host", "one of the hosts %s already serves a tenant", strings.Join(hosts, ", ")).Say("err_tenant_host_taken")
		}
		return err
	}
	return nil
}

func firstError(es ...error) error {
	for _, e := range es {
		if e != nil {
			return e
		}
	}
	return nil
}

// wrap keeps domain errors as they are and gives others context.
func wrap(err error, what string) error {
	if errs.KindOf(err) != errs.Internal {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// EnsurePlatformHost makes host serve the platform tenant (the platform admin site).
func (s *Service) EnsurePlatformHost(ctx context.Context, host string) error {
	h, err := ValidateHost(host)
	if err != nil {
		return fmt.Errorf("CONCORDE_PLATFORM_HOST: %w", err)
	}
	err = s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(&Host{TenantID: PlatformID, Host: h}).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			_, err = changes.Bump(ctx, tx, changes.Tenants, "")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("register platform host %s: %w", h, err)
	}
	return nil
}
