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
	"github.com/concorde-civic/concorde/web"
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
	s.handle(get, "/api/v1/plugins", tenant("plugins", "read"), false, func(c *fiber.Ctx) error {
		ps, err := s.Plugins.ForTenant(c.UserContext(), tenantID(c))
		if err != nil {
			return err
		}
		return c.JSON(pluginList{Plugins: ps})
	})
	s.handle(post, "/api/v1/plugins/:name/enable", tenant("plugins", "update"), false, func(c *fiber.Ctx) error {
		p, err := s.Plugins.Enable(c.UserContext(), caller.PrincipalOf(c.UserContext()).Actor(), tenantID(c), strings.Clone(c.Params("name")))
		if err != nil {
			return err
		}
		return c.JSON(p)
	})
	s.handle(post, "/api/v1/plugins/:name/disable", tenant("plugins", "update"), false, func(c *fiber.Ctx) error {
		p, err := s.Plugins.Disable(c.UserContext(), caller.PrincipalOf(c.UserContext()).Actor(), tenantID(c), strings.Clone(c.Params("name")))
		if err != nil {
			return err
		}
		return c.JSON(p)
	})
	s.handle(fiber.MethodPut, "/api/v1/plugins/:name/settings", tenant("plugins", "update"), true, func(c *fiber.Ctx) error {
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
	s.handle(get, "/api/v1/plugins/:name/permissions", tenant("plugins", "read"), false, func(c *fiber.Ctx) error {
		ps, err := s.Plugins.Permissions(c.UserContext(), tenantID(c), strings.Clone(c.Params("name")))
		if err != nil {
			return err
		}
		return c.JSON(pluginPermissions{Permissions: ps})
	})
	for _, g := range []struct {
		path  string
		grant bool
	}{{"grant", true}, {"revoke", false}} {
		s.handle(post, "/api/v1/plugins/:name/permissions/"+g.path, tenant("plugins", "update"), true, func(c *fiber.Ctx) error {
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
	s.doc(get, "/api/v1/plugins/:name/permissions", "The permissions a plugin declares and the roles holding each here", nil, pluginPermissions{})
	s.doc(post, "/api/v1/plugins/:name/permissions/grant", "Give a role one of a plugin's declared permissions on this site", permissionRequest{}, pluginPermissions{})
	s.doc(post, "/api/v1/plugins/:name/permissions/revoke", "Take back a permission given on this site", permissionRequest{}, pluginPermissions{})
	s.doc(get, "/api/v1/plugins", "Installed plugins, whether this site enabled them, their settings and state", nil, pluginList{})
	s.doc(post, "/api/v1/plugins/:name/enable", "Enable a plugin on this site", nil, pluginhost.TenantPlugin{})
	s.doc(post, "/api/v1/plugins/:name/disable", "Disable a plugin on this site (its routes answer 404)", nil, pluginhost.TenantPlugin{})
	s.doc(fiber.MethodPut, "/api/v1/plugins/:name/settings", "Replace this site's settings of a plugin (validated against its schema)", map[string]any{}, pluginhost.TenantPlugin{})

	for _, m := range []string{get, post, fiber.MethodPut, patch, del} {
		perm := Perm{Object: pluginhost.GateObject, Action: actionOf(m)}
		for _, prefix := range []string{"/api/v1/p/:plugin", "/p/:plugin"} {
			kind := "page"
			if strings.HasPrefix(prefix, "/api/") {
				kind = "api"
			}
			s.handle(m, prefix+"/*", perm, m != get, s.forwardToPlugin(kind))
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
		csrf := s.csrfToken(ctx)
		res, err := s.Plugins.Serve(ctx, pluginhost.Request{
			Tenant: t, Principal: caller.PrincipalOf(ctx), CSRFToken: csrf, Plugin: name, Kind: kind,
			Method: strings.Clone(c.Method()), Path: "/" + strings.Clone(c.Params("*")), RawQuery: string(c.Request().URI().QueryString()),
			Header: header, Body: bytes.Clone(c.Body()), Locale: t.DefaultLocale, BaseURL: c.BaseURL() + "/p/" + name,
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
			return s.Pages.Render(c, res.Status, "plugin", web.Page{Tenant: t, Title: res.Page.Title, CSRFToken: csrf,
				Data: pluginPage{HTML: template.HTML(res.Page.HTML), JSONLD: template.JS(res.Page.JSONLD)}})
		}
		return c.Status(res.Status).Send(res.Body)
	}
}

type pluginPermissions struct {
	Permissions []pluginhost.PermissionGrant `json:"permissions"`
}

type permissionRequest struct {
	Object string `json:"object"`
	Action string `json:"action"`
	Role   string `json:"role"`
}
