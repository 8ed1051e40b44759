package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/web"
)

var (
	permHealth = Perm{Object: "health", Action: "read", Scope: NoTenant}
	permStatic = Perm{Object: "site", Action: "read", Scope: NoTenant}
)

func (s *Server) opsRoutes() {
	s.handle(Route{Method: fiber.MethodGet, Path: "/healthz", Perm: permHealth, Summary: "Liveness: the process answers"}, func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	s.handle(Route{Method: fiber.MethodGet, Path: "/readyz", Perm: permHealth, Summary: "Readiness: the database and the plugins answer"}, func(c *fiber.Ctx) error {
		if err := s.Ready(c.UserContext()); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": "ready"})
	})
	s.handle(Route{Method: fiber.MethodGet, Path: "/static/*", Perm: permStatic, Summary: "Embedded static assets (CSS, JavaScript, images)"}, func(c *fiber.Ctx) error {
		b, ct, err := web.Static(c.Params("*"))
		if err != nil {
			return errs.E(errs.NotFound, "no such file")
		}
		c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
		c.Set(fiber.HeaderContentType, ct)
		return c.Send(b)
	})
}

// Ready checks that the database answers and its migrations are current, and records it.
func (s *Server) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := s.DB.PingContext(ctx)
	if err == nil {
		var current bool
		current, err = store.Current(ctx, s.DB)
		if err == nil && !current {
			err = errs.E(errs.Unavailable, "database migrations are not current: run concorde migrate up")
		}
	}
	if err != nil {
		s.Metrics.DBReady.Set(0)
		if errs.KindOf(err) == errs.Internal {
			return errs.Wrap(errs.Unavailable, err, "the database does not answer")
		}
		return err
	}
	s.Metrics.DBReady.Set(1)
	return nil
}

// MetricsHandler serves the registry; the separate metrics listener uses it too.
func (s *Server) MetricsHandler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
}

func (s *Server) metricsRoutes() {
	s.handle(Route{Method: fiber.MethodGet, Path: "/metrics", Perm: Perm{Object: "metrics", Action: "read", Scope: PlatformScope}, Summary: "Prometheus metrics (ops role; or on the separate metrics address)"}, s.MetricsHandler())
}
