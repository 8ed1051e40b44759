package httpapi

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/pluginhost"
)

// pluginList is the answer of GET /api/v1/plugins.
type pluginList struct {
	Plugins []pluginhost.TenantPlugin `json:"plugins"`
}

// pluginPage is what templates/plugin.html receives: a sanitised fragment and its JSON-LD.
type pluginPage struct {
	HTML   template.HTML
	JSONLD template.JS
}

// pluginRoutes serves the tenant admins' plugin settings and forwards /p/NAME/... (pages,
// wrapped in the tenant's layout) and /api/v1/p/NAME/... (JSON) to the plugins. The routes'
// own permission only lets readers read and signed-in writers write; the host then checks the
// permission the plugin declares for the route.
func (s *Server) pluginRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/plugins", Perm: tenant("plugins", "read"), Summary: "Installed plugins, whether this site enabled them, their settings and state", Response: pluginList{}}, func(c *fiber.Ctx) error {
		ps, err := s.Plugins.ForTenant(c.UserContext(), tenantID(c))
		if err != nil {
			return err
		}
		return c.JSON(pluginList{Plugins: ps})
	})
	s.handle(Route{Method: post, Path: "/api/v1/plugins/:name/enable", Perm: tenant("plugins", "update"), Summary: "Enable a plugin on this site", Response: pluginhost.TenantPlugin{}}, func(c *fiber.Ctx) error {
		p, err := s.Plugins.Enable(c.UserContext(), caller.PrincipalOf(c.UserContext()).Actor(), tenantID(c), strings.Clone(c.Params("name")))
		if err != nil {
			return err
		}
		return c.JSON(p)
	})
	s.handle(Route{Method: post, Path: "/api/v1/plugins/:name/disable", Perm: tenant("plugins", "update"), Summary: "Disable a plugin on this site (its routes answer 404)", Response: pluginhost.TenantPlugin{}}, func(c *fiber.Ctx) error {
		p, err := s.Plugins.Disable(c.UserContext(), caller.PrincipalOf(c.UserContext()).Actor(), tenantID(c), strings.Clone(c.Params("name")))
		if err != nil {
			return err
		}
		return c.JSON(p)
	})
	s.handle(Route{Method: fiber.MethodPut, Path: "/api/v1/plugins/:name/settings", Perm: tenant("plugins", "update"), Summary: "Replace this site's settings of a plugin (validated against its schema)", Request: map[string]any{}, Response: pluginhost.TenantPlugin{}}, func(c *fiber.Ctx) error {
		var settings json.RawMessage
		if err := decode(c, &settings); err != nil {
			return err
		}
		p, err := s.Plugins.SetSettings(c.UserContext(), caller.PrincipalOf(c.UserContext()).Actor(), tenantID(c), strings.Clone(c.Params("name")), bytes.Clone(settings))
		if err != nil {
			return err
		}
		return c.JSON(p)
	})
	s.handle(Route{Method: get, Path: "/api/v1/plugins/:name/jobs", Perm: tenant("plugins", "read"), Summary: "A plugin's scheduled jobs on this site: interval, next run, last outcome, runs and failures", Response: pluginJobs{}}, func(c *fiber.Ctx) error {
		jobs, err := s.Plugins.Jobs(c.UserContext(), tenantID(c), strings.Clone(c.Params("name")))
		if err != nil {
			return err
		}
		return c.JSON(pluginJobs{Jobs: jobs})
	})
	s.handle(Route{Method: get, Path: "/api/v1/plugins/:name/permissions", Perm: tenant("plugins", "read"), Summary: "The permissions a plugin declares and the roles holding each here", Response: pluginPermissions{}}, func(c *fiber.Ctx) error {
		ps, err := s.Plugins.Permissions(c.UserContext(), tenantID(c), strings.Clone(c.Params("name")))
		if err != nil {
			return err
		}
		return c.JSON(pluginPermissions{Permissions: ps})
	})
	for _, g := range []struct {
		path, summary string
		grant         bool
	}{
		{"grant", "Give a role one of a plugin's declared permissions on this site", true},
		{"revoke", "Take back a permission given on this site", false},
	} {
		s.handle(Route{Method: post, Path: "/api/v1/plugins/:name/permissions/" + g.path, Perm: tenant("plugins", "update"), Summary: g.summary, Request: permissionRequest{}, Response: pluginPermissions{}}, func(c *fiber.Ctx) error {
			var in permissionRequest
			if err := decode(c, &in); err != nil {
				return err
			}
			ps, err := s.Plugins.SetPermission(c.UserContext(), actor(c), tenantID(c), strings.Clone(c.Params("name")), in.Object, in.Action, in.Role, g.grant)
			if err != nil {
				return err
			}
			return c.JSON(pluginPermissions{Permissions: ps})
		})
	}

	for _, m := range []string{get, post, fiber.MethodPut, patch, del} {
		perm := Perm{Object: pluginhost.GateObject, Action: actionOf(m)}
		for _, prefix := range []string{"/api/v1/p/:plugin", "/p/:plugin"} {
			kind := "page"
			if strings.HasPrefix(prefix, "/api/") {
				kind = "api"
			}
			// One gateway route per method and prefix: the plugin's manifest routes are
			// matched behind it (pluginhost), each with the permission it declares.
			r := Route{Method: m, Path: prefix + "/*", Perm: perm, Summary: "Forwarded to the plugin named in the path (" + kind + "s); its manifest declares the route and the permission it needs"}
			if m != get {
				r.Request = map[string]any{} // the plugin reads and validates its own body
			}
			s.handle(r, s.forwardToPlugin(kind))
		}
	}
}

func actionOf(method string) string {
	switch method {
	case fiber.MethodGet:
		return "read"
	case fiber.MethodPost:
		return "create"
	case fiber.MethodDelete:
		return "delete"
	}
	return "update"
}

func (s *Server) forwardToPlugin(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		t := caller.Tenant(ctx)
		name := strings.Clone(c.Params("plugin"))
		header := http.Header{}
		c.Request().Header.VisitAll(func(k, v []byte) { header.Add(string(k), string(v)) })
		res, err := s.Plugins.Serve(ctx, pluginhost.Request{
			Tenant: t, Principal: caller.PrincipalOf(ctx), CSRFToken: s.pluginCSRFToken(ctx, name), Plugin: name, Kind: kind,
			Method: strings.Clone(c.Method()), Path: "/" + strings.Clone(c.Params("*")), RawQuery: string(c.Request().URI().QueryString()),
			Header: header, Body: bytes.Clone(c.Body()), Locale: strings.Clone(s.locale(c)), BaseURL: c.BaseURL() + "/p/" + name,
		})
		if err != nil {
			return err
		}
		for k, v := range res.Header {
			c.Set(k, v[0])
		}
		if res.Page != nil {
			if kind != "page" {
				return errs.E(errs.Unavailable, "the %s feature answered something this site cannot show", name)
			}
			// The layout around the plugin's fragment is the core's: its forms (sign out) keep the core's token.
			// s.page gives the layout its navigation (signed in or not) and language, as on core pages.
			return s.Pages.Render(c, res.Status, "plugin", s.page(c, res.Page.Title,
				pluginPage{HTML: template.HTML(res.Page.HTML), JSONLD: template.JS(res.Page.JSONLD)}))
		}
		return c.Status(res.Status).Send(res.Body)
	}
}

type pluginJobs struct {
	Jobs []pluginhost.JobStatus `json:"jobs"`
}

type pluginPermissions struct {
	Permissions []pluginhost.PermissionGrant `json:"permissions"`
}

type permissionRequest struct {
	Object string `json:"object"`
	Action string `json:"action"`
	Role   string `json:"role"`
}
