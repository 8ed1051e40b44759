package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// ErrNoHost is returned by host services used outside a call the host made.
var ErrNoHost = errors.New("sdk: no host services here (outside a call from the host)")

// ErrConflict is returned when a compare-and-set or batch found another version.
var ErrConflict = errors.New("sdk: the stored value changed meanwhile")

// hostConn is the plugin's connection to the host services. It is dialled when the host
// describes the plugin at start, never later: go-plugin forgets a broker stream's connection
// info a few seconds after announcing it, so a lazy first dial after an idle start would fail
// for good.
type hostConn struct {
	conn *grpc.ClientConn
}

// dialHost connects to the host services the host announced on the broker stream id.
func dialHost(broker *plugin.GRPCBroker, id uint32) (*hostConn, error) {
	conn, err := broker.Dial(id)
	if err != nil {
		return nil, fmt.Errorf("sdk: cannot reach the host services: %w", err)
	}
	return &hostConn{conn: conn}, nil
}

func (h *hostConn) dial() (*grpc.ClientConn, error) {
	if h == nil || h.conn == nil {
		return nil, ErrNoHost
	}
	return h.conn, nil
}

// check asks the host's health service over the link, so the host's health pings cover the
// path plugins use to reach storage, and not only the plugin's own server.
func (h *hostConn) check(ctx context.Context) error {
	conn, err := h.dial()
	if err != nil {
		return err
	}
	res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("host link: %w", err)
	}
	if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("host link: host services are %s", res.GetStatus())
	}
	return nil
}

// HostServices are the host's services as the current call may use them: storage,
// consultations, audit and events, all scoped by the host to the call's tenant and plugin.
type HostServices struct {
	token string
	conn  *hostConn
}

// Host returns the host services of the call ctx belongs to.
func Host(ctx context.Context) *HostServices {
	if h, ok := ctx.Value(hostKey{}).(*HostServices); ok {
		return h
	}
	return &HostServices{}
}

// Storage is the plugin's key-value storage in the call's tenant.
func (h *HostServices) Storage() *Storage { return &Storage{h: h} }

// Consultations reads the tenant's consultations.
func (h *HostServices) Consultations() *Consultations { return &Consultations{h: h} }

// Audit appends an entry to the tenant's audit log, in the plugin's name.
func (h *HostServices) Audit(ctx context.Context, action, object string, detail map[string]any) error {
	conn, err := h.conn.dial()
	if err != nil {
		return err
	}
	var d []byte
	if detail != nil {
		if d, err = json.Marshal(detail); err != nil {
			return err
		}
	}
	_, err = pluginpb.NewAuditClient(conn).Append(ctx, &pluginpb.AuditAppendRequest{CallToken: h.token, Action: action, Object: object, Detail: string(d)})
	return hostError(err)
}

// Publish publishes an event in the tenant; plugins listening to it receive it.
func (h *HostServices) Publish(ctx context.Context, name string, payload any) error {
	conn, err := h.conn.dial()
	if err != nil {
		return err
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	_, err = pluginpb.NewEventsClient(conn).Publish(ctx, &pluginpb.PublishRequest{CallToken: h.token, Name: name, Payload: string(b)})
	return hostError(err)
}

// Entry is one stored key with its value and version (1 on the first write, then +1).
type Entry struct {
	Key     string
	Value   []byte
	Version int64
}

// Storage is a key-value view the host keeps for one (tenant, plugin).
type Storage struct{ h *HostServices }

func (s *Storage) client() (pluginpb.StorageClient, error) {
	conn, err := s.h.conn.dial()
	if err != nil {
		return nil, err
	}
	return pluginpb.NewStorageClient(conn), nil
}

// Get reads key; ok is false when it is absent.
func (s *Storage) Get(ctx context.Context, key string) (e Entry, ok bool, err error) {
	c, err := s.client()
	if err != nil {
		return Entry{}, false, err
	}
	r, err := c.Get(ctx, &pluginpb.StorageGetRequest{CallToken: s.h.token, Key: key})
	if err != nil {
		return Entry{}, false, hostError(err)
	}
	if !r.GetFound() {
		return Entry{}, false, nil
	}
	return entry(r.GetEntry()), true, nil
}

// GetJSON reads key into v; ok is false when it is absent.
func (s *Storage) GetJSON(ctx context.Context, key string, v any) (version int64, ok bool, err error) {
	e, ok, err := s.Get(ctx, key)
	if err != nil || !ok {
		return 0, ok, err
	}
	return e.Version, true, json.Unmarshal(e.Value, v)
}

// Put writes key and returns its new version.
func (s *Storage) Put(ctx context.Context, key string, value []byte) (int64, error) {
	c, err := s.client()
	if err != nil {
		return 0, err
	}
	r, err := c.Put(ctx, &pluginpb.StoragePutRequest{CallToken: s.h.token, Key: key, Value: value})
	if err != nil {
		return 0, hostError(err)
	}
	return r.GetVersion(), nil
}

// PutJSON writes v as JSON under key.
func (s *Storage) PutJSON(ctx context.Context, key string, v any) (int64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	return s.Put(ctx, key, b)
}

// Delete removes key; deleted is false when it was absent.
func (s *Storage) Delete(ctx context.Context, key string) (deleted bool, err error) {
	c, err := s.client()
	if err != nil {
		return false, err
	}
	r, err := c.Delete(ctx, &pluginpb.StorageDeleteRequest{CallToken: s.h.token, Key: key})
	if err != nil {
		return false, hostError(err)
	}
	return r.GetDeleted(), nil
}

// List returns up to limit entries whose key starts with prefix and sorts after after, in
// key order; more says whether others follow.
func (s *Storage) List(ctx context.Context, prefix, after string, limit int) (entries []Entry, more bool, err error) {
	c, err := s.client()
	if err != nil {
		return nil, false, err
	}
	r, err := c.List(ctx, &pluginpb.StorageListRequest{CallToken: s.h.token, Prefix: prefix, After: after, Limit: int32(limit)})
	if err != nil {
		return nil, false, hostError(err)
	}
	for _, e := range r.GetEntries() {
		entries = append(entries, entry(e))
	}
	return entries, r.GetMore(), nil
}

// ListAll returns every entry under prefix, page by page.
func (s *Storage) ListAll(ctx context.Context, prefix string) ([]Entry, error) {
	var all []Entry
	after := ""
	for {
		es, more, err := s.List(ctx, prefix, after, 1000)
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
		if !more || len(es) == 0 {
			return all, nil
		}
		after = es[len(es)-1].Key
	}
}

// CompareAndSet writes value if key is at version expected (0: absent). It returns
// ErrConflict, with the current version, when it is not.
func (s *Storage) CompareAndSet(ctx context.Context, key string, expected int64, value []byte) (int64, error) {
	c, err := s.client()
	if err != nil {
		return 0, err
	}
	r, err := c.CompareAndSet(ctx, &pluginpb.StorageCASRequest{CallToken: s.h.token, Key: key, ExpectedVersion: expected, Value: value})
	if err != nil {
		return 0, hostError(err)
	}
	if !r.GetSwapped() {
		return r.GetVersion(), ErrConflict
	}
	return r.GetVersion(), nil
}

// Update reads key, calls change with its value (nil and false when absent) and writes what
// change returns with compare-and-set, again from a fresh read when another write came
// first, up to 10 times. change must not have side effects: it may run more than once. It
// returns the new version; change's error stops the update and is returned as is.
func (s *Storage) Update(ctx context.Context, key string, change func(old []byte, exists bool) ([]byte, error)) (int64, error) {
	for range 10 {
		e, ok, err := s.Get(ctx, key)
		if err != nil {
			return 0, err
		}
		value, err := change(e.Value, ok)
		if err != nil {
			return 0, err
		}
		v, err := s.CompareAndSet(ctx, key, e.Version, value)
		if !errors.Is(err, ErrConflict) {
			return v, err
		}
	}
	return 0, ErrConflict
}

// UpdateJSON is Update for a JSON value: change receives the current value decoded into a
// fresh T (the zero T when absent) and edits it in place.
func UpdateJSON[T any](ctx context.Context, s *Storage, key string, change func(v *T, exists bool) error) (int64, error) {
	return s.Update(ctx, key, func(old []byte, exists bool) ([]byte, error) {
		var v T
		if exists {
			if err := json.Unmarshal(old, &v); err != nil {
				return nil, fmt.Errorf("stored %s: %w", key, err)
			}
		}
		if err := change(&v, exists); err != nil {
			return nil, err
		}
		return json.Marshal(v)
	})
}

// Op is one write of a batch.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
	// CheckVersion requires the key to be at ExpectedVersion (0: absent) for the batch to apply.
	CheckVersion    bool
	ExpectedVersion int64
}

// Batch applies every op or none. On a version mismatch it returns ErrConflict and the key.
func (s *Storage) Batch(ctx context.Context, ops []Op) (versions []int64, conflictKey string, err error) {
	c, err := s.client()
	if err != nil {
		return nil, "", err
	}
	req := &pluginpb.StorageBatchRequest{CallToken: s.h.token}
	for _, o := range ops {
		req.Ops = append(req.Ops, &pluginpb.BatchOp{Key: o.Key, Value: o.Value, Delete: o.Delete,
			CheckVersion: o.CheckVersion, ExpectedVersion: o.ExpectedVersion})
	}
	r, err := c.Batch(ctx, req)
	if err != nil {
		return nil, "", hostError(err)
	}
	if !r.GetApplied() {
		return nil, r.GetConflictKey(), ErrConflict
	}
	return r.GetVersions(), "", nil
}

func entry(e *pluginpb.Entry) Entry {
	return Entry{Key: e.GetKey(), Value: e.GetValue(), Version: e.GetVersion()}
}

// Consultations reads the tenant's consultations and their accepted proposals.
type Consultations struct{ h *HostServices }

// Consultation is one of the tenant's consultations.
type Consultation = pluginpb.Consultation

// Proposal is an accepted proposal of a consultation.
type Proposal = pluginpb.Proposal

func (c *Consultations) client() (pluginpb.ConsultationsClient, error) {
	conn, err := c.h.conn.dial()
	if err != nil {
		return nil, err
	}
	return pluginpb.NewConsultationsClient(conn), nil
}

// List returns the tenant's consultations that are not drafts.
func (c *Consultations) List(ctx context.Context) ([]*Consultation, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	r, err := cl.List(ctx, &pluginpb.ConsultationListRequest{CallToken: c.h.token})
	if err != nil {
		return nil, hostError(err)
	}
	return r.GetConsultations(), nil
}

// Get returns one consultation.
func (c *Consultations) Get(ctx context.Context, id int64) (*Consultation, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	r, err := cl.Get(ctx, &pluginpb.ConsultationGetRequest{CallToken: c.h.token, Id: id})
	return r, hostError(err)
}

// AcceptedProposals returns up to limit accepted proposals of a consultation, newest first.
func (c *Consultations) AcceptedProposals(ctx context.Context, consultationID int64, limit int) ([]*Proposal, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	r, err := cl.AcceptedProposals(ctx, &pluginpb.ProposalListRequest{CallToken: c.h.token, ConsultationId: consultationID, Limit: int32(limit)})
	if err != nil {
		return nil, hostError(err)
	}
	return r.GetProposals(), nil
}

// HostError is an error the host returned, with its gRPC code.
type HostError struct {
	Code    codes.Code
	Message string
}

func (e *HostError) Error() string { return fmt.Sprintf("host: %s: %s", e.Code, e.Message) }

// IsNotFound reports whether err is the host saying "no such thing".
func IsNotFound(err error) bool {
	var he *HostError
	return errors.As(err, &he) && he.Code == codes.NotFound
}

// IsInvalid reports whether the host refused the input (a key too long, a value too big...).
func IsInvalid(err error) bool {
	var he *HostError
	return errors.As(err, &he) && he.Code == codes.InvalidArgument
}

func hostError(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return &HostError{Code: st.Code(), Message: st.Message()}
	}
	return err
}

// Results reads consultations' published results and the caller's own votes.
func (h *HostServices) Results() *Results { return &Results{h: h} }

// Results reads what a consultation's participants said, as the public may see it.
type Results struct{ h *HostServices }

// PublishedResults is a consultation's results as frozen when they were published.
type PublishedResults = pluginpb.PublishedResultsResponse

// RankedProposal is a proposal of published results, with its scores.
type RankedProposal = pluginpb.RankedProposal

func (r *Results) client() (pluginpb.ResultsClient, error) {
	conn, err := r.h.conn.dial()
	if err != nil {
		return nil, err
	}
	return pluginpb.NewResultsClient(conn), nil
}

// Published returns the published results of the consultation slug: its consensus
// proposals in their published order with their top score and its interval, and the SHA-256
// of the frozen results. IsNotFound: no such consultation; IsNotPublished: its results are
// not published (yet).
func (r *Results) Published(ctx context.Context, slug string) (*PublishedResults, error) {
	cl, err := r.client()
	if err != nil {
		return nil, err
	}
	res, err := cl.Published(ctx, &pluginpb.PublishedResultsRequest{CallToken: r.h.token, ConsultationSlug: slug})
	return res, hostError(err)
}

// MyVotes returns the caller's own votes (agree, disagree or neutral) on some proposals of
// a consultation, by proposal id: empty outside a request, or for a caller who did not vote.
func (r *Results) MyVotes(ctx context.Context, consultationID int64, proposalIDs []int64) (map[int64]string, error) {
	cl, err := r.client()
	if err != nil {
		return nil, err
	}
	res, err := cl.MyVotes(ctx, &pluginpb.MyVotesRequest{CallToken: r.h.token, ConsultationId: consultationID, ProposalIds: proposalIDs})
	if err != nil {
		return nil, hostError(err)
	}
	out := map[int64]string{}
	for _, v := range res.GetVotes() {
		out[v.GetProposalId()] = v.GetKey()
	}
	return out, nil
}

// IsNotPublished reports whether the host said the results asked for are not published.
func IsNotPublished(err error) bool {
	var he *HostError
	return errors.As(err, &he) && he.Code == codes.FailedPrecondition
}
