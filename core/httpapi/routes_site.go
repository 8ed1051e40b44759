package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/web"
)

var permSite = Perm{Object: "site", Action: "read"}

// siteRoutes serve the tenant's home page and its colours; pageRoutes (pages.go) the rest.
func (s *Server) siteRoutes() {
	s.handle(Route{Method: fiber.MethodGet, Path: "/", Perm: permSite, Summary: "The site's home page and its consultations"}, s.home)
	s.handle(Route{Method: fiber.MethodGet, Path: "/theme.css", Perm: permSite, Summary: "The tenant's colours as CSS custom properties"}, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.SendString(web.ThemeCSS(caller.Tenant(c.UserContext())))
	})
}
