package httpapi

import (
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/sitepages"
)

// The legal and trust pages of every site (core/sitepages): served at /mentions-legales,
// /confidentialite, /accessibilite and /charte, linked from every page's footer, edited by
// tenant admins in Markdown on /admin/pages.

type sitePageView struct {
	Name string
	HTML template.HTML
}

type sitePagesAdmin struct {
	Nav   adminNav
	Pages []sitepages.Page
	Edit  *sitepageForm
	Saved string
}

type sitepageForm struct {
	Page    sitepages.Page
	Default string
	Error   string
	Preview template.HTML
}

// site is what a page's default is written with, for the request's site and language.
func (s *Server) site(c *fiber.Ctx) sitepages.Site {
	t := caller.Tenant(c.UserContext())
	site := sitepages.Site{Name: t.Name, Host: strings.Clone(c.Hostname()), Locale: s.locale(c)}
	for _, r := range proposal.Reasons {
		site.Reasons = append(site.Reasons, s.tr(c, "reason_"+string(r)))
	}
	return site
}

func (s *Server) sitePageRoutes() {
	for _, name := range sitepages.Names {
		s.handle(Route{Method: get, Path: "/" + name, Perm: permSite, Summary: "The site's " + name + " page (Markdown its admins edit, or the default)"}, func(c *fiber.Ctx) error {
			p, err := s.SitePages.Get(c.UserContext(), tenantID(c), name, s.site(c))
			if err != nil {
				return err
			}
			return s.render(c, fiber.StatusOK, "sitepage", s.tr(c, "page_"+name), sitePageView{Name: name, HTML: consultation.RenderMarkdown(p.Markdown)})
		})
	}

	admin := tenant("tenant", "update")
	s.handle(Route{Method: get, Path: "/admin/pages", Perm: admin, Summary: "The site's legal and trust pages, to edit"}, func(c *fiber.Ctx) error {
		var pages []sitepages.Page
		for _, name := range sitepages.Names {
			p, err := s.SitePages.Get(c.UserContext(), tenantID(c), name, s.site(c))
			if err != nil {
				return err
			}
			pages = append(pages, p)
		}
		return s.render(c, fiber.StatusOK, "admin_pages", s.tr(c, "admin_pages"), sitePagesAdmin{Nav: s.adminNav(c, "pages"), Pages: pages, Saved: c.Query("saved")})
	})
	edit := func(c *fiber.Ctx, status int, p sitepages.Page, msg string) error {
		def, err := sitepages.Default(p.Name, s.site(c))
		if err != nil {
			return err
		}
		f := &sitepageForm{Page: p, Default: def, Error: msg, Preview: consultation.RenderMarkdown(p.Markdown)}
		return s.render(c, status, "admin_pages", s.tr(c, "admin_pages"), sitePagesAdmin{Nav: s.adminNav(c, "pages"), Edit: f})
	}
	s.handle(Route{Method: get, Path: "/admin/pages/:name", Perm: admin, Summary: "Edit one of the site's pages (Markdown, with a preview)"}, func(c *fiber.Ctx) error {
		p, err := s.SitePages.Get(c.UserContext(), tenantID(c), strings.Clone(c.Params("name")), s.site(c))
		if err != nil {
			return err
		}
		return edit(c, fiber.StatusOK, p, "")
	})
	s.postPage(Route{Path: "/admin/pages/:name", Perm: admin, Summary: "Save one of the site's pages; an empty text brings the default back (form)"}, func(c *fiber.Ctx) error {
		name, md := strings.Clone(c.Params("name")), c.FormValue("markdown")
		if err := s.SitePages.Set(c.UserContext(), actor(c), tenantID(c), name, md); err != nil {
			if errs.KindOf(err) != errs.Invalid {
				return err
			}
			msg, _ := s.errorMessage(c, err)
			return edit(c, fiber.StatusBadRequest, sitepages.Page{Name: name, Markdown: md, Custom: true}, msg)
		}
		return seeOther(c, "/admin/pages?saved="+name)
	})

	s.handle(Route{Method: get, Path: "/api/v1/tenant/pages/:name", Perm: permSite, Summary: "One of the site's legal and trust pages, in Markdown", Response: sitepages.Page{}}, func(c *fiber.Ctx) error {
		p, err := s.SitePages.Get(c.UserContext(), tenantID(c), strings.Clone(c.Params("name")), s.site(c))
		if err != nil {
			return err
		}
		return c.JSON(p)
	})
	type pageRequest struct {
		Markdown string `json:"markdown"`
	}
	s.handle(Route{Method: fiber.MethodPut, Path: "/api/v1/tenant/pages/:name", Perm: admin, Summary: "Replace one of the site's pages (an empty markdown brings the default back)", Request: pageRequest{}, Response: sitepages.Page{}}, func(c *fiber.Ctx) error {
		var in pageRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		name := strings.Clone(c.Params("name"))
		if err := s.SitePages.Set(c.UserContext(), actor(c), tenantID(c), name, in.Markdown); err != nil {
			return err
		}
		p, err := s.SitePages.Get(c.UserContext(), tenantID(c), name, s.site(c))
		if err != nil {
			return err
		}
		return c.JSON(p)
	})
}
