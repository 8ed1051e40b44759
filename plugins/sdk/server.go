package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // a plugin resolves its tenants' time zones on any machine

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// Headers a handler sets (through SetPageTitle and SetJSONLD) to give a page's title and
// JSON-LD to the host's layout; they are taken out of the response before it leaves.
const (
	headerPageTitle = "X-Concorde-Page-Title"
	headerJSONLD    = "X-Concorde-Json-Ld"
)

// SetPageTitle gives the title of the page a handler writes.
func SetPageTitle(w http.ResponseWriter, title string) { w.Header().Set(headerPageTitle, title) }

// SetJSONLD attaches structured data (schema.org) to the page a handler writes.
func SetJSONLD(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set(headerJSONLD, string(b))
	return nil
}

// grpcPlugin is the go-plugin side of a plugin process.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl *Plugin
}

func (g *grpcPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterPluginServer(s, &server{impl: g.impl, broker: broker})
	return nil
}

func (g *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("the plugin side has no client")
}

type server struct {
	pluginpb.UnimplementedPluginServer
	impl   *Plugin
	broker *plugin.GRPCBroker

	mu   sync.Mutex
	host *hostConn
}

func (s *server) Describe(_ context.Context, req *pluginpb.DescribeRequest) (*pluginpb.Manifest, error) {
	if id := req.GetHostBrokerId(); id != 0 {
		// Dial now, while the host waits for the answer: a plugin that cannot reach its host
		// services fails its start instead of failing every storage call later.
		h, err := dialHost(s.broker, id)
		if err != nil {
			return nil, status.Error(codes.Unavailable, err.Error())
		}
		s.mu.Lock()
		old := s.host
		s.host = h
		s.mu.Unlock()
		if old != nil && old.conn != nil {
			_ = old.conn.Close()
		}
	}
	return s.impl.Manifest, nil
}

func (s *server) hostConn() *hostConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.host
}

func (s *server) Handle(ctx context.Context, req *pluginpb.HandleRequest) (resp *pluginpb.HandleResponse, err error) {
	call := &Call{
		Tenant: tenantOf(req.GetTenant()),
		Principal: Principal{Subject: req.GetPrincipal().GetSubject(), Roles: req.GetPrincipal().GetRoles(),
			Anonymous: req.GetPrincipal().GetAnonymous(), Participant: req.GetPrincipal().GetParticipant(),
			CSRFToken: req.GetPrincipal().GetCsrfToken()},
		Settings: json.RawMessage(req.GetSettings()),
		Kind:     req.GetKind(),
		Locale:   req.GetLocale(),
		BaseURL:  req.GetBaseUrl(),
	}
	ctx = withCall(ctx, call, &HostServices{token: req.GetCallToken(), conn: s.hostConn()})
	ctx = context.WithValue(ctx, loggerKey{}, s.impl.Logger.With("method", req.GetMethod(), "path", req.GetPath()))

	u := &url.URL{Path: req.GetPath(), RawQuery: req.GetRawQuery()}
	r, err := http.NewRequestWithContext(ctx, req.GetMethod(), "http://plugin"+u.RequestURI(), bytes.NewReader(req.GetBody()))
	if err != nil {
		return &pluginpb.HandleResponse{Status: http.StatusBadRequest, Body: []byte("bad request")}, nil
	}
	for _, h := range req.GetHeaders() {
		for _, v := range h.GetValues() {
			r.Header.Add(h.GetName(), v)
		}
	}
	r.RemoteAddr = "host"
	w := &recorder{header: http.Header{}}
	defer func() {
		if p := recover(); p != nil {
			s.impl.Logger.Error("handler panicked", "panic", fmt.Sprint(p), "path", req.GetPath())
			// In the host's error format, so visitors get an ordinary 500 and not "cannot show".
			resp, err = panicResponse(req.GetKind()), nil
		}
	}()
	s.impl.Handler.ServeHTTP(w, r)
	return w.response(), nil
}

func (s *server) OnEvent(ctx context.Context, req *pluginpb.EventRequest) (*pluginpb.EventResponse, error) {
	if s.impl.OnEvent == nil {
		return &pluginpb.EventResponse{}, nil
	}
	t := req.GetTenant()
	call := &Call{Tenant: tenantOf(t),
		Settings: json.RawMessage(req.GetSettings()), Publisher: req.GetPublisher()}
	ctx = withCall(ctx, call, &HostServices{token: req.GetCallToken(), conn: s.hostConn()})
	ctx = context.WithValue(ctx, loggerKey{}, s.impl.Logger)
	return &pluginpb.EventResponse{}, s.impl.OnEvent(ctx, req.GetName(), []byte(req.GetPayload()))
}

func (s *server) OnLifecycle(ctx context.Context, req *pluginpb.LifecycleRequest) (*pluginpb.LifecycleResponse, error) {
	if s.impl.OnLifecycle == nil {
		return &pluginpb.LifecycleResponse{}, nil
	}
	t := req.GetTenant()
	call := &Call{Tenant: tenantOf(t),
		Settings: json.RawMessage(req.GetSettings())}
	ctx = withCall(ctx, call, &HostServices{token: req.GetCallToken(), conn: s.hostConn()})
	ctx = context.WithValue(ctx, loggerKey{}, s.impl.Logger)
	return &pluginpb.LifecycleResponse{}, s.impl.OnLifecycle(ctx, req.GetEvent())
}

func (s *server) RunJob(ctx context.Context, req *pluginpb.JobRequest) (resp *pluginpb.JobResponse, err error) {
	run, ok := s.impl.Jobs[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no job %q here", req.GetName())
	}
	t := req.GetTenant()
	call := &Call{Tenant: tenantOf(t),
		Settings: json.RawMessage(req.GetSettings())}
	ctx = withCall(ctx, call, &HostServices{token: req.GetCallToken(), conn: s.hostConn()})
	ctx = context.WithValue(ctx, loggerKey{}, s.impl.Logger.With("job", req.GetName()))
	defer func() {
		if p := recover(); p != nil {
			s.impl.Logger.Error("job panicked", "job", req.GetName(), "panic", fmt.Sprint(p))
			resp, err = nil, status.Error(codes.Internal, "the job panicked")
		}
	}()
	if err := run(ctx); err != nil {
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return &pluginpb.JobResponse{Message: "ok"}, nil
}

func (s *server) Health(ctx context.Context, _ *pluginpb.HealthRequest) (*pluginpb.HealthResponse, error) {
	if h := s.hostConn(); h != nil {
		if err := h.check(ctx); err != nil {
			return &pluginpb.HealthResponse{Ok: false, Message: err.Error()}, nil
		}
	}
	if s.impl.Health != nil {
		if err := s.impl.Health(); err != nil {
			return &pluginpb.HealthResponse{Ok: false, Message: err.Error()}, nil
		}
	}
	return &pluginpb.HealthResponse{Ok: true}, nil
}

func (s *server) CollectMetrics(context.Context, *pluginpb.MetricsRequest) (*pluginpb.MetricsResponse, error) {
	if s.impl.Metrics == nil {
		return &pluginpb.MetricsResponse{}, nil
	}
	mfs, err := s.impl.Metrics.Gather()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			return nil, err
		}
	}
	return &pluginpb.MetricsResponse{Text: b.String()}, nil
}

// recorder collects what a handler writes.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

func (w *recorder) response() *pluginpb.HandleResponse {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.header.Get("Content-Type") == "" && w.body.Len() > 0 {
		w.header.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
	resp := &pluginpb.HandleResponse{Status: int32(w.status), Body: w.body.Bytes(),
		PageTitle: w.header.Get(headerPageTitle), JsonLd: w.header.Get(headerJSONLD)}
	w.header.Del(headerPageTitle)
	w.header.Del(headerJSONLD)
	for name, values := range w.header {
		resp.Headers = append(resp.Headers, &pluginpb.Header{Name: name, Values: values})
	}
	return resp
}

// Tenant is the tenant a call is for, chosen by the host from the request's site.
type Tenant struct {
	ID     int64
	Slug   string
	Name   string
	Locale string
	// TimeZone is the tenant's IANA time zone (Europe/Paris, America/Cayenne…); Location(ctx)
	// resolves it.
	TimeZone string
}

func tenantOf(t *pluginpb.Tenant) Tenant {
	return Tenant{ID: t.GetId(), Slug: t.GetSlug(), Name: t.GetName(), Locale: t.GetLocale(), TimeZone: t.GetTimeZone()}
}

// Lang is the language the call's pages are written in: "en" when the visitor chose English
// or the site is English, else "fr" (the product's language).
func Lang(ctx context.Context) string {
	c := CallOf(ctx)
	l := c.Locale
	if l == "" {
		l = c.Tenant.Locale
	}
	if strings.HasPrefix(strings.ToLower(l), "en") {
		return "en"
	}
	return "fr"
}

// Location is the time zone of the tenant of the call (in handlers, hooks, jobs and events):
// read the dates people type and show dates in it. UTC when the host names none.
func Location(ctx context.Context) *time.Location {
	tz := CallOf(ctx).Tenant.TimeZone
	if tz == "" {
		return time.UTC
	}
	if l, ok := zones.Load(tz); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	zones.Store(tz, l)
	return l
}

// zones caches loaded time zones by name (the host sends validated names: few of them).
var zones sync.Map

// Principal is who makes the request, as the host authenticated them.
type Principal struct {
	Subject     string
	Roles       []string
	Anonymous   bool
	Participant string
	// CSRFToken goes into every form as a hidden field named "_csrf".
	CSRFToken string
}

// HasRole reports whether the principal holds one of roles in the tenant.
func (p Principal) HasRole(roles ...string) bool {
	for _, r := range p.Roles {
		for _, want := range roles {
			if r == want {
				return true
			}
		}
	}
	return false
}

// Call is what the host tells a plugin about the request it forwards.
type Call struct {
	Tenant    Tenant
	Principal Principal
	// Settings is the tenant's settings for the plugin, valid against the manifest's schema.
	Settings json.RawMessage
	Kind     string // Page or API
	Locale   string
	// BaseURL is the absolute URL of the plugin's pages on the tenant's site ("https://x/p/NAME").
	BaseURL string
	// Publisher is, inside OnEvent, who published the event, as the host saw it: CorePublisher
	// for the core's events, else the publishing plugin's name. Check it before trusting a payload.
	Publisher string
}

// CorePublisher is the Publisher of the core's own events (consultation.*, proposal.*).
const CorePublisher = "core"

// BasePath is the path of the plugin's pages on the tenant's site ("/p/NAME"), for links and
// form actions (forms may only post under it or under APIBasePath).
func (c *Call) BasePath() string {
	if u, err := url.Parse(c.BaseURL); err == nil && u.Path != "" {
		return u.Path
	}
	return ""
}

// APIBasePath is the path of the plugin's JSON API ("/api/v1/p/NAME").
func (c *Call) APIBasePath() string {
	if p := c.BasePath(); p != "" {
		return "/api/v1" + p
	}
	return ""
}

// Settings decodes the tenant's settings of the plugin (validated by the host against the
// manifest's schema, defaults filled in, secrets decrypted) into a T.
func Settings[T any](ctx context.Context) (T, error) {
	var v T
	c := CallOf(ctx)
	if len(c.Settings) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(c.Settings, &v); err != nil {
		return v, fmt.Errorf("sdk: settings: %w", err)
	}
	return v, nil
}

// APIBaseURL is the absolute URL of the plugin's JSON API on the tenant's site.
func (c *Call) APIBaseURL() string {
	return strings.Replace(c.BaseURL, "/p/", "/api/v1/p/", 1)
}

type callKey struct{}
type hostKey struct{}

func withCall(ctx context.Context, c *Call, h *HostServices) context.Context {
	return context.WithValue(context.WithValue(ctx, callKey{}, c), hostKey{}, h)
}

// CallOf returns the call being served; an empty call outside one.
func CallOf(ctx context.Context) *Call {
	if c, ok := ctx.Value(callKey{}).(*Call); ok {
		return c
	}
	return &Call{}
}

// ContextWith returns ctx as the host gives it to a handler, a hook or a job: call tells the
// tenant, principal and settings, and Host(ctx) reaches the host services on conn, answering
// for token. Package sdktest builds on it; a plugin never needs it.
func ContextWith(ctx context.Context, call *Call, conn *grpc.ClientConn, token string) context.Context {
	return withCall(ctx, call, &HostServices{token: token, conn: &hostConn{conn: conn}})
}

// panicResponse is what a handler that panicked answers, in the host's error format.
func panicResponse(kind string) *pluginpb.HandleResponse {
	const msg = "something went wrong on our side; try again later"
	if kind == Page {
		return &pluginpb.HandleResponse{Status: http.StatusInternalServerError, PageTitle: "Erreur",
			Headers: []*pluginpb.Header{{Name: "Content-Type", Values: []string{"text/html; charset=utf-8"}}},
			Body:    []byte("<p>" + msg + "</p>")}
	}
	return &pluginpb.HandleResponse{Status: http.StatusInternalServerError,
		Headers: []*pluginpb.Header{{Name: "Content-Type", Values: []string{"application/json"}}},
		Body:    []byte(`{"error":{"code":"internal","message":"` + msg + `"}}`)}
}

// Log is the plugin's logger for a call, with the tenant and, in a request, its method and
// path: what a handler logs this way reaches the host's log at its own level.
func Log(ctx context.Context) hclog.Logger {
	l, _ := ctx.Value(loggerKey{}).(hclog.Logger)
	if l == nil {
		l = hclog.Default()
	}
	if c := CallOf(ctx); c != nil && c.Tenant.Slug != "" {
		l = l.With("tenant", c.Tenant.Slug)
	}
	return l
}

type loggerKey struct{}
