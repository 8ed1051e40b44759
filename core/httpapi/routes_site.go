package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/web"
)

var permSite = Perm{Object: "site", Action: "read"}

func (s *Server) siteRoutes() {
	s.handle(fiber.MethodGet, "/", permSite, false, func(c *fiber.Ctx) error {
		t := caller.Tenant(c.UserContext())
		return s.Pages.Render(c, fiber.StatusOK, "home", web.Page{Tenant: t, Title: t.Name, CSRFToken: s.csrfToken(c.UserContext())})
	})
	s.handle(fiber.MethodGet, "/theme.css", permSite, false, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.SendString(web.ThemeCSS(caller.Tenant(c.UserContext())))
	})
}
