package pluginhost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/plugins/sdk"
	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// Limits of the storage view.
// The limits are the SDK's, so that plugins (and sdktest) know them.
const (
	maxKeyBytes   = sdk.MaxKeyBytes
	maxValueBytes = sdk.MaxValueBytes
	maxBatchOps   = sdk.MaxBatchOps
	maxListLimit  = sdk.MaxListLimit
)

// callScope is what a call token stands for: the tenant and plugin the host is serving.
type callScope struct {
	tenantID int64
	plugin   string
	// participant is the key the caller's votes are recorded under (their account, else their
	// anonymous session), for a request being served; empty for events, hooks and jobs.
	participant string
}

// callRegistry maps the tokens of calls in flight to their scope. A token is valid from the
// moment the host calls the plugin until the call returns; the plugin cannot make one up.
type callRegistry struct {
	mu sync.RWMutex
	m  map[string]callScope
}

func newCallRegistry() *callRegistry { return &callRegistry{m: map[string]callScope{}} }

func (r *callRegistry) begin(s callScope) (token string, end func()) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token = hex.EncodeToString(b[:])
	r.mu.Lock()
	r.m[token] = s
	r.mu.Unlock()
	return token, func() {
		r.mu.Lock()
		delete(r.m, token)
		r.mu.Unlock()
	}
}

func (r *callRegistry) lookup(token string) (callScope, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.m[token]
	return s, ok
}

// services serves the host services to one plugin's process.
type services struct {
	pluginpb.UnimplementedStorageServer
	h      *Host
	plugin string
	tenant int64 // set for a process isolated per tenant
}

func registerServices(s *grpc.Server, h *Host, plugin string, tenant int64) {
	sv := &services{h: h, plugin: plugin, tenant: tenant}
	pluginpb.RegisterStorageServer(s, sv)
	pluginpb.RegisterConsultationsServer(s, &consultations{services: sv})
	pluginpb.RegisterAuditServer(s, &auditService{services: sv})
	pluginpb.RegisterEventsServer(s, &eventsService{services: sv})
	pluginpb.RegisterResultsServer(s, &resultsService{services: sv})
	// The plugin's health answer checks its link to these services through this.
	healthpb.RegisterHealthServer(s, health.NewServer())
}

// scope resolves a call token; only tokens of this plugin's calls in flight pass, and for a
// process isolated per tenant, only its tenant's.
func (s *services) scope(token string) (callScope, error) {
	sc, ok := s.h.calls.lookup(token)
	if !ok || sc.plugin != s.plugin || (s.tenant != 0 && sc.tenantID != s.tenant) {
		return callScope{}, status.Error(codes.PermissionDenied, "unknown or expired call token: host services are only available during a call from the host")
	}
	return sc, nil
}

type kvRow struct {
	bun.BaseModel `bun:"table:plugin_kv,alias:kv"`

	TenantID  int64     `bun:"tenant_id,pk"`
	Plugin    string    `bun:"plugin,pk"`
	Key       string    `bun:"key,pk"`
	Value     []byte    `bun:"value"`
	Version   int64     `bun:"version"`
	UpdatedAt time.Time `bun:"updated_at"`
}

func (r *kvRow) SetTenantID(id int64) { r.TenantID = id }

func checkKey(k string) error {
	if k == "" || len(k) > maxKeyBytes || !utf8.ValidString(k) || strings.ContainsRune(k, 0) {
		return status.Errorf(codes.InvalidArgument, "a key must be 1 to %d bytes of UTF-8 without NUL", maxKeyBytes)
	}
	return nil
}

func (s *services) Get(ctx context.Context, req *pluginpb.StorageGetRequest) (*pluginpb.StorageGetResponse, error) {
	sc, err := s.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	if err := checkKey(req.GetKey()); err != nil {
		return nil, err
	}
	var row kvRow
	err = store.For(s.h.db, sc.tenantID).Select(&row).Where("kv.plugin = ?", sc.plugin).Where("kv.key = ?", req.GetKey()).Scan(ctx)
	if store.IsNoRows(err) {
		return &pluginpb.StorageGetResponse{}, nil
	}
	if err != nil {
		return nil, internal(s, "storage get", err)
	}
	return &pluginpb.StorageGetResponse{Found: true, Entry: &pluginpb.Entry{Key: row.Key, Value: row.Value, Version: row.Version}}, nil
}

func (s *services) Put(ctx context.Context, req *pluginpb.StoragePutRequest) (*pluginpb.StoragePutResponse, error) {
	sc, err := s.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, sc, []*pluginpb.BatchOp{{Key: req.GetKey(), Value: req.GetValue()}})
	if err != nil {
		return nil, err
	}
	return &pluginpb.StoragePutResponse{Version: res.GetVersions()[0]}, nil
}

func (s *services) Delete(ctx context.Context, req *pluginpb.StorageDeleteRequest) (*pluginpb.StorageDeleteResponse, error) {
	sc, err := s.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, sc, []*pluginpb.BatchOp{{Key: req.GetKey(), Delete: true}})
	if err != nil {
		return nil, err
	}
	return &pluginpb.StorageDeleteResponse{Deleted: res.GetVersions()[0] != 0}, nil
}

func (s *services) CompareAndSet(ctx context.Context, req *pluginpb.StorageCASRequest) (*pluginpb.StorageCASResponse, error) {
	sc, err := s.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, sc, []*pluginpb.BatchOp{{Key: req.GetKey(), Value: req.GetValue(), CheckVersion: true, ExpectedVersion: req.GetExpectedVersion()}})
	if err != nil {
		return nil, err
	}
	if !res.GetApplied() {
		return &pluginpb.StorageCASResponse{Swapped: false, Version: res.GetVersions()[0]}, nil
	}
	return &pluginpb.StorageCASResponse{Swapped: true, Version: res.GetVersions()[0]}, nil
}

func (s *services) Batch(ctx context.Context, req *pluginpb.StorageBatchRequest) (*pluginpb.StorageBatchResponse, error) {
	sc, err := s.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	if len(req.GetOps()) == 0 || len(req.GetOps()) > maxBatchOps {
		return nil, status.Errorf(codes.InvalidArgument, "a batch holds 1 to %d operations", maxBatchOps)
	}
	return s.apply(ctx, sc, req.GetOps())
}

// apply runs ops in one transaction: all or nothing. On a version mismatch it returns
// Applied false, the key, and the key's current version as Versions[0]. Versions holds the
// new version of each key written; for a delete, the version deleted (0: it was absent).
func (s *services) apply(ctx context.Context, sc callScope, ops []*pluginpb.BatchOp) (*pluginpb.StorageBatchResponse, error) {
	seen := map[string]bool{}
	for _, op := range ops {
		if err := checkKey(op.GetKey()); err != nil {
			return nil, err
		}
		if seen[op.GetKey()] {
			return nil, status.Errorf(codes.InvalidArgument, "key %q appears twice in one batch", op.GetKey())
		}
		seen[op.GetKey()] = true
		if len(op.GetValue()) > maxValueBytes {
			return nil, status.Errorf(codes.InvalidArgument, "a value holds at most %d bytes", maxValueBytes)
		}
	}
	var out *pluginpb.StorageBatchResponse
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		out = &pluginpb.StorageBatchResponse{Applied: true}
		errRetry := errs.E(errs.Conflict, "retry")
		lastErr = store.For(s.h.db, sc.tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
			now := time.Now().UTC()
			for _, op := range ops {
				var cur kvRow
				err := tx.Select(&cur).Column("version").Where("kv.plugin = ?", sc.plugin).Where("kv.key = ?", op.GetKey()).Scan(ctx)
				if err != nil && !store.IsNoRows(err) {
					return err
				}
				if op.GetCheckVersion() && cur.Version != op.GetExpectedVersion() {
					out = &pluginpb.StorageBatchResponse{Applied: false, ConflictKey: op.GetKey(), Versions: []int64{cur.Version}}
					return errConflict
				}
				switch {
				case op.GetDelete():
					if cur.Version != 0 {
						if _, err := tx.Delete((*kvRow)(nil)).Where("kv.plugin = ?", sc.plugin).Where("kv.key = ?", op.GetKey()).Exec(ctx); err != nil {
							return err
						}
					}
					out.Versions = append(out.Versions, cur.Version)
				case cur.Version == 0:
					row := &kvRow{Plugin: sc.plugin, Key: op.GetKey(), Value: nonNil(op.GetValue()), Version: 1, UpdatedAt: now}
					if _, err := tx.Insert(row).Exec(ctx); err != nil {
						if store.IsUniqueViolation(err) {
							return errRetry
						}
						return err
					}
					out.Versions = append(out.Versions, 1)
				default:
					res, err := tx.Update(&kvRow{}).Set("value = ?", nonNil(op.GetValue())).Set("version = ?", cur.Version+1).
						Set("updated_at = ?", now).Where("kv.plugin = ?", sc.plugin).Where("kv.key = ?", op.GetKey()).
						Where("kv.version = ?", cur.Version).Exec(ctx)
					if err != nil {
						return err
					}
					if n, _ := res.RowsAffected(); n != 1 {
						return errRetry
					}
					out.Versions = append(out.Versions, cur.Version+1)
				}
			}
			return nil
		})
		switch {
		case lastErr == nil:
			return out, nil
		case lastErr == errConflict:
			return out, nil
		case lastErr == errRetry || store.IsUniqueViolation(lastErr):
			continue
		default:
			return nil, internal(s, "storage write", lastErr)
		}
	}
	return nil, status.Error(codes.Aborted, "the keys changed too often meanwhile; try again")
}

var errConflict = errs.E(errs.Conflict, "version mismatch")

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (s *services) List(ctx context.Context, req *pluginpb.StorageListRequest) (*pluginpb.StorageListResponse, error) {
	sc, err := s.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	limit := int(req.GetLimit())
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	var rows []kvRow
	q := store.For(s.h.db, sc.tenantID).Select(&rows).Where("kv.plugin = ?", sc.plugin)
	if p := req.GetPrefix(); p != "" {
		q = q.Where("kv.key >= ?", p).Where("substr(kv.key, 1, ?) = ?", utf8.RuneCountInString(p), p)
	}
	if a := req.GetAfter(); a != "" {
		q = q.Where("kv.key > ?", a)
	}
	if err := q.OrderExpr("kv.key").Limit(int64(limit) + 1).Scan(ctx); err != nil {
		return nil, internal(s, "storage list", err)
	}
	out := &pluginpb.StorageListResponse{}
	if len(rows) > limit {
		rows, out.More = rows[:limit], true
	}
	for _, r := range rows {
		out.Entries = append(out.Entries, &pluginpb.Entry{Key: r.Key, Value: r.Value, Version: r.Version})
	}
	return out, nil
}

func internal(s *services, what string, err error) error {
	s.h.log.Error("plugin host service", "plugin", s.plugin, "op", what, "error", err.Error())
	return status.Error(codes.Internal, what+" failed")
}

// consultations serves read-only views of the tenant's consultations, straight from the
// consultation engine's tables, under the rule the API and the pages apply to everyone
// without a role (core/consultation's Public viewer: no drafts).
type consultations struct {
	pluginpb.UnimplementedConsultationsServer
	*services
}

type consultationRow struct {
	bun.BaseModel `bun:"table:consultations,alias:c"`

	TenantID int64      `bun:"tenant_id,pk"`
	ID       int64      `bun:"id,pk"`
	Slug     string     `bun:"slug"`
	Question string     `bun:"question"`
	Prefix   string     `bun:"prefix"`
	Status   string     `bun:"status"`
	Language string     `bun:"language"`
	Themes   string     `bun:"themes"`
	OpensAt  *time.Time `bun:"opens_at"`
	ClosesAt *time.Time `bun:"closes_at"`
}

func (c consultationRow) proto() *pluginpb.Consultation {
	out := &pluginpb.Consultation{Id: c.ID, Slug: c.Slug, Question: c.Question, Status: c.Status, Language: c.Language}
	_ = json.Unmarshal([]byte(c.Themes), &out.Themes)
	if c.OpensAt != nil {
		out.OpensAt = c.OpensAt.UTC().Format(time.RFC3339)
	}
	if c.ClosesAt != nil {
		out.ClosesAt = c.ClosesAt.UTC().Format(time.RFC3339)
	}
	return out
}

func (c *consultations) List(ctx context.Context, req *pluginpb.ConsultationListRequest) (*pluginpb.ConsultationListResponse, error) {
	sc, err := c.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	var rows []consultationRow
	if err := consultation.Visible(store.For(c.h.db, sc.tenantID).Select(&rows), consultation.Public).OrderExpr("c.id DESC").Limit(500).Scan(ctx); err != nil {
		return nil, internal(c.services, "consultations list", err)
	}
	out := &pluginpb.ConsultationListResponse{}
	for _, r := range rows {
		out.Consultations = append(out.Consultations, r.proto())
	}
	return out, nil
}

func (c *consultations) Get(ctx context.Context, req *pluginpb.ConsultationGetRequest) (*pluginpb.Consultation, error) {
	sc, err := c.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	var row consultationRow
	err = consultation.Visible(store.For(c.h.db, sc.tenantID).Select(&row).Where("c.id = ?", req.GetId()), consultation.Public).Scan(ctx)
	if store.IsNoRows(err) {
		return nil, status.Error(codes.NotFound, "no such consultation")
	}
	if err != nil {
		return nil, internal(c.services, "consultation get", err)
	}
	return row.proto(), nil
}

type proposalRow struct {
	bun.BaseModel `bun:"table:proposals,alias:p"`

	TenantID       int64     `bun:"tenant_id,pk"`
	ID             int64     `bun:"id,pk"`
	ConsultationID int64     `bun:"consultation_id"`
	Content        string    `bun:"content"`
	Themes         string    `bun:"themes"`
	CreatedAt      time.Time `bun:"created_at"`
}

func (c *consultations) AcceptedProposals(ctx context.Context, req *pluginpb.ProposalListRequest) (*pluginpb.ProposalListResponse, error) {
	sc, err := c.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	limit := int(req.GetLimit())
	if limit <= 0 || limit > sdk.MaxProposalsListed {
		limit = sdk.MaxProposalsListed
	}
	var rows []proposalRow
	if err := store.For(c.h.db, sc.tenantID).Select(&rows).Column("id", "consultation_id", "content", "themes", "created_at").
		Where("p.consultation_id = ?", req.GetConsultationId()).Where("p.status = ?", proposal.Accepted).
		// Only the proposals of a consultation plugins may see, by the API's and the pages' rule.
		Where("p.consultation_id IN (?)", consultation.Visible(store.For(c.h.db, sc.tenantID).Select((*consultationRow)(nil)).Column("c.id"), consultation.Public)).
		OrderExpr("p.id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, internal(c.services, "proposals list", err)
	}
	out := &pluginpb.ProposalListResponse{}
	for _, r := range rows {
		p := &pluginpb.Proposal{Id: r.ID, ConsultationId: r.ConsultationID, Content: r.Content, CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339)}
		_ = json.Unmarshal([]byte(r.Themes), &p.Themes)
		out.Proposals = append(out.Proposals, p)
	}
	return out, nil
}

type auditService struct {
	pluginpb.UnimplementedAuditServer
	*services
}

var auditActionRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

func (a *auditService) Append(ctx context.Context, req *pluginpb.AuditAppendRequest) (*pluginpb.AuditAppendResponse, error) {
	sc, err := a.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	if !auditActionRE.MatchString(req.GetAction()) {
		return nil, status.Error(codes.InvalidArgument, "an audit action is 1 to 64 lower-case letters, digits, dots, dashes or underscores")
	}
	var detail map[string]any
	if d := req.GetDetail(); d != "" {
		if err := json.Unmarshal([]byte(d), &detail); err != nil {
			return nil, status.Error(codes.InvalidArgument, "an audit detail must be a JSON object")
		}
	}
	e, err := a.h.audit.Append(ctx, a.h.db, sc.tenantID, audit.Record{Actor: "plugin:" + sc.plugin,
		Action: sc.plugin + "." + req.GetAction(), Object: req.GetObject(), Detail: detail})
	if err != nil {
		if errs.KindOf(err) == errs.Invalid {
			msg, _ := errs.MessageOf(err)
			return nil, status.Error(codes.InvalidArgument, msg)
		}
		return nil, internal(a.services, "audit append", err)
	}
	return &pluginpb.AuditAppendResponse{Seq: e.Seq}, nil
}

type eventsService struct {
	pluginpb.UnimplementedEventsServer
	*services
}

func (e *eventsService) Publish(ctx context.Context, req *pluginpb.PublishRequest) (*pluginpb.PublishResponse, error) {
	sc, err := e.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	if !auditActionRE.MatchString(req.GetName()) {
		return nil, status.Error(codes.InvalidArgument, "an event name is 1 to 64 lower-case letters, digits, dots, dashes or underscores")
	}
	if !strings.HasPrefix(req.GetName(), sc.plugin+".") {
		// Only the core publishes core events: a plugin's events live under its own name.
		return nil, status.Errorf(codes.PermissionDenied, "plugin %s may only publish events named %s.…", sc.plugin, sc.plugin)
	}
	if len(req.GetPayload()) > sdk.MaxEventPayloadBytes || (req.GetPayload() != "" && !json.Valid([]byte(req.GetPayload()))) {
		return nil, status.Error(codes.InvalidArgument, "an event payload is JSON of at most 64 KiB")
	}
	e.h.Publish(sc.tenantID, sc.plugin, req.GetName(), []byte(req.GetPayload()))
	return &pluginpb.PublishResponse{}, nil
}
