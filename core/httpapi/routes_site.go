package httpapi

import (
	"path"
	"strings"

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
	s.handle(Route{Method: fiber.MethodGet, Path: "/brand/:name", Perm: permSite, Summary: "One of the site's uploaded images (logo, banner), at an address that holds its hash: cached for a year"}, func(c *fiber.Ctx) error {
		img, err := s.Tenants.Image(c.UserContext(), tenantID(c), c.Params("name"))
		if err != nil {
			return err
		}
		etag := `"` + strings.TrimSuffix(img.Name, path.Ext(img.Name)) + `"`
		c.Set(fiber.HeaderETag, etag)
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		// The sniffed type of a checked image; nosniff (set for every response) keeps browsers to it.
		c.Set(fiber.HeaderContentType, img.ContentType)
		if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && (inm == etag || inm == "W/"+etag) {
			return c.SendStatus(fiber.StatusNotModified)
		}
		return c.Send(img.Data)
	})
}
