// Package sdktest is an in-memory Concorde host for a plugin's unit tests. It serves the same
// gRPC host services as the real host (storage with versions, compare-and-set and atomic
// batches, read-only consultations, audit, events), over an in-process connection, with the
// same limits and the same isolation between tenants, so code that passes here behaves the same
// inside Concorde. It records what the plugin audited and published for the test to check.
//
//	h := sdktest.New(t, "pledges")
//	rec := h.Serve(handler, sdktest.Citizen(1, "nantes"), httptest.NewRequest("POST", "/api/pledges", body))
//	entries := h.Stored(1, "pledge/")
package sdktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/concorde-civic/concorde/plugins/sdk"
	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// Audit is an entry the plugin appended to a tenant's audit log.
type Audit struct {
	TenantID int64
	Action   string // as the host records it: "<plugin>.<action>"
	Object   string
	Detail   map[string]any
}

// Event is an event the plugin published.
type Event struct {
	TenantID int64
	Name     string
	Payload  json.RawMessage
}

// Host is the in-memory host of one plugin.
type Host struct {
	plugin string
	conn   *grpc.ClientConn

	mu            sync.Mutex
	kv            map[int64]map[string]sdk.Entry
	tokens        map[string]int64
	participants  map[string]string // token → the caller's participant key
	audits        []Audit
	events        []Event
	consultations map[int64][]*sdk.Consultation
	proposals     map[int64][]*sdk.Proposal
	published     map[int64]map[string]*sdk.PublishedResults // tenant → slug → results
	votes         map[string]map[int64]string                // participant → proposal → key
}

// New starts an in-memory host for the plugin named plugin; it stops when the test ends.
func New(t testing.TB, plugin string) *Host {
	t.Helper()
	h := &Host{plugin: plugin, kv: map[int64]map[string]sdk.Entry{}, tokens: map[string]int64{},
		consultations: map[int64][]*sdk.Consultation{}, proposals: map[int64][]*sdk.Proposal{},
		published: map[int64]map[string]*sdk.PublishedResults{}, votes: map[string]map[int64]string{}, participants: map[string]string{}}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	pluginpb.RegisterStorageServer(srv, storage{Host: h})
	pluginpb.RegisterConsultationsServer(srv, consultations{Host: h})
	pluginpb.RegisterAuditServer(srv, audits{Host: h})
	pluginpb.RegisterEventsServer(srv, events{Host: h})
	pluginpb.RegisterResultsServer(srv, resultsServer{Host: h})
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///sdktest",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	h.conn = conn
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	return h
}

// Citizen is a call from a signed-in citizen of a tenant.
func Citizen(tenantID int64, slug string) sdk.Call {
	return sdk.Call{Tenant: sdk.Tenant{ID: tenantID, Slug: slug, Name: slug, Locale: "fr", TimeZone: "Europe/Paris"}, Locale: "fr", Kind: sdk.API,
		Principal: sdk.Principal{Subject: "user:" + slug + "-citizen", Roles: []string{"citizen"}, CSRFToken: "csrf"},
		Settings:  json.RawMessage("{}")}
}

// Anonymous is a call from a visitor who is not signed in.
func Anonymous(tenantID int64, slug string) sdk.Call {
	c := Citizen(tenantID, slug)
	c.Principal = sdk.Principal{Subject: "anonymous", Anonymous: true, Participant: "p-" + slug}
	return c
}

// Context returns a context as the host gives it to the plugin for call: CallOf and Host work.
// The host services answer for call.Tenant only, as the real host does.
func (h *Host) Context(ctx context.Context, call sdk.Call) context.Context {
	var b [12]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	h.mu.Lock()
	h.tokens[token] = call.Tenant.ID
	h.participants[token] = participantOf(call.Principal)
	h.mu.Unlock()
	return sdk.ContextWith(ctx, &call, h.conn, token)
}

// Serve runs handler on r as the host would forward it for call, and returns the response.
func (h *Host) Serve(handler http.Handler, call sdk.Call, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r.WithContext(h.Context(r.Context(), call)))
	return w
}

// SetConsultations gives a tenant its consultations (drafts are hidden, as by the host).
func (h *Host) SetConsultations(tenantID int64, cs ...*sdk.Consultation) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.consultations[tenantID] = cs
}

// SetProposals gives a consultation its accepted proposals, newest first.
func (h *Host) SetProposals(consultationID int64, ps ...*sdk.Proposal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.proposals[consultationID] = ps
}

// SetPublished gives a tenant's consultation its published results (what the host reads from
// the frozen snapshot). A consultation with none answers FailedPrecondition when it is among
// the tenant's consultations (SetConsultations), NotFound otherwise.
func (h *Host) SetPublished(tenantID int64, r *sdk.PublishedResults) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.published[tenantID] == nil {
		h.published[tenantID] = map[string]*sdk.PublishedResults{}
	}
	h.published[tenantID][r.GetConsultation().GetSlug()] = r
}

// SetVotes records the votes of the caller whose principal is p (signed in: their subject;
// else their participant session), by proposal id: agree, disagree or neutral.
func (h *Host) SetVotes(p sdk.Principal, votes map[int64]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.votes[participantOf(p)] = votes
}

// participantOf is the key a principal's votes are recorded under, as on the host.
func participantOf(p sdk.Principal) string {
	switch {
	case !p.Anonymous && p.Subject != "":
		return p.Subject
	case p.Participant != "":
		return "p:" + p.Participant
	}
	return ""
}

// Stored returns a tenant's entries whose key starts with prefix, in key order.
func (h *Host) Stored(tenantID int64, prefix string) []sdk.Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sdk.Entry
	for k, e := range h.kv[tenantID] {
		if strings.HasPrefix(k, prefix) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Audits returns what the plugin appended to audit logs, in order.
func (h *Host) Audits() []Audit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Audit(nil), h.audits...)
}

// Events returns what the plugin published, in order.
func (h *Host) Events() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events...)
}

// tenant resolves a call token, as the host does: unknown tokens are refused.
func (h *Host) tenant(token string) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id, ok := h.tokens[token]
	if !ok {
		return 0, status.Error(codes.PermissionDenied, "unknown or expired call token: host services are only available during a call from the host")
	}
	return id, nil
}

func checkKey(k string) error {
	if k == "" || len(k) > sdk.MaxKeyBytes || !utf8.ValidString(k) || strings.ContainsRune(k, 0) {
		return status.Errorf(codes.InvalidArgument, "a key must be 1 to %d bytes of UTF-8 without NUL", sdk.MaxKeyBytes)
	}
	return nil
}

type storage struct {
	pluginpb.UnimplementedStorageServer
	*Host
}

func (s storage) Get(_ context.Context, req *pluginpb.StorageGetRequest) (*pluginpb.StorageGetResponse, error) {
	t, err := s.tenant(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	if err := checkKey(req.GetKey()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.kv[t][req.GetKey()]
	if !ok {
		return &pluginpb.StorageGetResponse{}, nil
	}
	return &pluginpb.StorageGetResponse{Found: true, Entry: &pluginpb.Entry{Key: e.Key, Value: e.Value, Version: e.Version}}, nil
}

func (s storage) Put(ctx context.Context, req *pluginpb.StoragePutRequest) (*pluginpb.StoragePutResponse, error) {
	r, err := s.Batch(ctx, &pluginpb.StorageBatchRequest{CallToken: req.GetCallToken(), Ops: []*pluginpb.BatchOp{{Key: req.GetKey(), Value: req.GetValue()}}})
	if err != nil {
		return nil, err
	}
	return &pluginpb.StoragePutResponse{Version: r.GetVersions()[0]}, nil
}

func (s storage) Delete(ctx context.Context, req *pluginpb.StorageDeleteRequest) (*pluginpb.StorageDeleteResponse, error) {
	r, err := s.Batch(ctx, &pluginpb.StorageBatchRequest{CallToken: req.GetCallToken(), Ops: []*pluginpb.BatchOp{{Key: req.GetKey(), Delete: true}}})
	if err != nil {
		return nil, err
	}
	return &pluginpb.StorageDeleteResponse{Deleted: r.GetVersions()[0] != 0}, nil
}

func (s storage) CompareAndSet(ctx context.Context, req *pluginpb.StorageCASRequest) (*pluginpb.StorageCASResponse, error) {
	r, err := s.Batch(ctx, &pluginpb.StorageBatchRequest{CallToken: req.GetCallToken(), Ops: []*pluginpb.BatchOp{
		{Key: req.GetKey(), Value: req.GetValue(), CheckVersion: true, ExpectedVersion: req.GetExpectedVersion()}}})
	if err != nil {
		return nil, err
	}
	return &pluginpb.StorageCASResponse{Swapped: r.GetApplied(), Version: r.GetVersions()[0]}, nil
}

// Batch applies every op or none, as the host's transaction does.
func (s storage) Batch(_ context.Context, req *pluginpb.StorageBatchRequest) (*pluginpb.StorageBatchResponse, error) {
	t, err := s.tenant(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	ops := req.GetOps()
	if len(ops) == 0 || len(ops) > sdk.MaxBatchOps {
		return nil, status.Errorf(codes.InvalidArgument, "a batch holds 1 to %d operations", sdk.MaxBatchOps)
	}
	seen := map[string]bool{}
	for _, op := range ops {
		if err := checkKey(op.GetKey()); err != nil {
			return nil, err
		}
		if seen[op.GetKey()] {
			return nil, status.Errorf(codes.InvalidArgument, "key %q appears twice in one batch", op.GetKey())
		}
		seen[op.GetKey()] = true
		if len(op.GetValue()) > sdk.MaxValueBytes {
			return nil, status.Errorf(codes.InvalidArgument, "a value holds at most %d bytes", sdk.MaxValueBytes)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kv := s.kv[t]
	if kv == nil {
		kv = map[string]sdk.Entry{}
		s.kv[t] = kv
	}
	for _, op := range ops {
		if cur := kv[op.GetKey()]; op.GetCheckVersion() && cur.Version != op.GetExpectedVersion() {
			return &pluginpb.StorageBatchResponse{ConflictKey: op.GetKey(), Versions: []int64{cur.Version}}, nil
		}
	}
	out := &pluginpb.StorageBatchResponse{Applied: true}
	for _, op := range ops {
		cur := kv[op.GetKey()]
		if op.GetDelete() {
			delete(kv, op.GetKey())
			out.Versions = append(out.Versions, cur.Version)
			continue
		}
		v := append([]byte{}, op.GetValue()...)
		kv[op.GetKey()] = sdk.Entry{Key: op.GetKey(), Value: v, Version: cur.Version + 1}
		out.Versions = append(out.Versions, cur.Version+1)
	}
	return out, nil
}

func (s storage) List(_ context.Context, req *pluginpb.StorageListRequest) (*pluginpb.StorageListResponse, error) {
	t, err := s.tenant(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	limit := int(req.GetLimit())
	if limit <= 0 || limit > sdk.MaxListLimit {
		limit = sdk.MaxListLimit
	}
	s.mu.Lock()
	var keys []string
	for k := range s.kv[t] {
		if strings.HasPrefix(k, req.GetPrefix()) && k > req.GetAfter() {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys) // byte order, as the host's COLLATE "C"
	out := &pluginpb.StorageListResponse{}
	if len(keys) > limit {
		keys, out.More = keys[:limit], true
	}
	for _, k := range keys {
		e := s.kv[t][k]
		out.Entries = append(out.Entries, &pluginpb.Entry{Key: e.Key, Value: e.Value, Version: e.Version})
	}
	s.mu.Unlock()
	return out, nil
}

type consultations struct {
	pluginpb.UnimplementedConsultationsServer
	*Host
}

func (c consultations) List(_ context.Context, req *pluginpb.ConsultationListRequest) (*pluginpb.ConsultationListResponse, error) {
	t, err := c.tenant(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &pluginpb.ConsultationListResponse{}
	for _, x := range c.consultations[t] {
		if x.GetStatus() != "draft" {
			out.Consultations = append(out.Consultations, x)
		}
	}
	return out, nil
}

func (c consultations) Get(_ context.Context, req *pluginpb.ConsultationGetRequest) (*pluginpb.Consultation, error) {
	t, err := c.tenant(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.consultations[t] {
		if x.GetId() == req.GetId() && x.GetStatus() != "draft" {
			return x, nil
		}
	}
	return nil, status.Error(codes.NotFound, "no such consultation")
}

func (c consultations) AcceptedProposals(_ context.Context, req *pluginpb.ProposalListRequest) (*pluginpb.ProposalListResponse, error) {
	t, err := c.tenant(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	mine := false
	for _, x := range c.consultations[t] {
		mine = mine || x.GetId() == req.GetConsultationId()
	}
	out := &pluginpb.ProposalListResponse{}
	if !mine {
		return out, nil // another tenant's consultation: nothing, as on the host
	}
	limit := int(req.GetLimit())
	if limit <= 0 || limit > sdk.MaxProposalsListed {
		limit = sdk.MaxProposalsListed
	}
	ps := c.proposals[req.GetConsultationId()]
	if len(ps) > limit {
		ps = ps[:limit]
	}
	out.Proposals = ps
	return out, nil
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

type audits struct {
	pluginpb.UnimplementedAuditServer
	*Host
}

func (a audits) Append(_ context.Context, req *pluginpb.AuditAppendRequest) (*pluginpb.AuditAppendResponse, error) {
	t, err := a.tenant(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	if !nameRE.MatchString(req.GetAction()) {
		return nil, status.Error(codes.InvalidArgument, "an audit action is 1 to 64 lower-case letters, digits, dots, dashes or underscores")
	}
	var detail map[string]any
	if d := req.GetDetail(); d != "" {
		if err := json.Unmarshal([]byte(d), &detail); err != nil {
			return nil, status.Error(codes.InvalidArgument, "an audit detail must be a JSON object")
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.audits = append(a.audits, Audit{TenantID: t, Action: a.plugin + "." + req.GetAction(), Object: req.GetObject(), Detail: detail})
	return &pluginpb.AuditAppendResponse{Seq: int64(len(a.audits))}, nil
}

type events struct {
	pluginpb.UnimplementedEventsServer
	*Host
}

func (e events) Publish(_ context.Context, req *pluginpb.PublishRequest) (*pluginpb.PublishResponse, error) {
	t, err := e.tenant(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	if !nameRE.MatchString(req.GetName()) {
		return nil, status.Error(codes.InvalidArgument, "an event name is 1 to 64 lower-case letters, digits, dots, dashes or underscores")
	}
	if !strings.HasPrefix(req.GetName(), e.plugin+".") {
		return nil, status.Errorf(codes.PermissionDenied, "plugin %s may only publish events named %s.…", e.plugin, e.plugin)
	}
	if len(req.GetPayload()) > sdk.MaxEventPayloadBytes || (req.GetPayload() != "" && !json.Valid([]byte(req.GetPayload()))) {
		return nil, status.Error(codes.InvalidArgument, "an event payload is JSON of at most 64 KiB")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, Event{TenantID: t, Name: req.GetName(), Payload: json.RawMessage(req.GetPayload())})
	return &pluginpb.PublishResponse{}, nil
}

type resultsServer struct {
	pluginpb.UnimplementedResultsServer
	*Host
}

func (r resultsServer) Published(_ context.Context, req *pluginpb.PublishedResultsRequest) (*pluginpb.PublishedResultsResponse, error) {
	t, err := r.tenant(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if res, ok := r.published[t][req.GetConsultationSlug()]; ok {
		return res, nil
	}
	for _, c := range r.consultations[t] {
		if c.GetSlug() == req.GetConsultationSlug() && c.GetStatus() != "draft" {
			return nil, status.Errorf(codes.FailedPrecondition, "the results of consultation %q are not published", c.GetSlug())
		}
	}
	return nil, status.Error(codes.NotFound, "no such consultation")
}

func (r resultsServer) MyVotes(_ context.Context, req *pluginpb.MyVotesRequest) (*pluginpb.MyVotesResponse, error) {
	if _, err := r.tenant(req.GetCallToken()); err != nil {
		return nil, err
	}
	if len(req.GetProposalIds()) > sdk.MaxProposalsListed {
		return nil, status.Errorf(codes.InvalidArgument, "at most %d proposals in one call", sdk.MaxProposalsListed)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	mine := r.votes[r.participants[req.GetCallToken()]]
	out := &pluginpb.MyVotesResponse{}
	for _, id := range req.GetProposalIds() {
		if k, ok := mine[id]; ok && r.participants[req.GetCallToken()] != "" {
			out.Votes = append(out.Votes, &pluginpb.MyVote{ProposalId: id, Key: k})
		}
	}
	return out, nil
}
