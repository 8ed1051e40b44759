package httpapi

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/pluginhost"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/tenants"
)

// The admin console: tenant admins and moderators. Every page needs the write permission
// of what it changes, so auditors (who may only read) never see it.

type adminNav struct {
	Consultations, Moderation, Users, Branding, Plugins, Audit bool
	Section                                                    string
}

func (s *Server) adminNav(c *fiber.Ctx, section string) adminNav {
	return adminNav{Consultations: s.may(c, "consultations", "update"), Moderation: s.may(c, "moderation", "update"),
		Users: s.may(c, "users", "create"), Branding: s.may(c, "tenant", "update"), Plugins: s.Plugins != nil && s.may(c, "plugins", "update"),
		Audit: s.may(c, "audit", "read"), Section: section}
}

type adminConsultations struct {
	Nav           adminNav
	Consultations []consultation.Consultation
}

// consultationForm is the create/edit form, in its text form.
type consultationForm struct {
	Nav      adminNav
	New      bool
	C        consultation.Consultation
	Slug     string
	Question string
	Context  string
	Prefix   string
	Language string
	Themes   string // "slug | Label" lines
	Steps    string // "2026-01-31 | Title | Description" lines
	OpensAt  string
	ClosesAt string
	Preview  template.HTML
	Error    string
	Saved    bool
}

func formOf(cs consultation.Consultation) consultationForm {
	f := consultationForm{C: cs, Slug: cs.Slug, Question: cs.Question, Context: cs.Context, Prefix: cs.Prefix, Language: cs.Language}
	var th, st []string
	for _, t := range cs.Themes {
		th = append(th, t.Slug+" | "+t.Label)
	}
	for _, x := range cs.Steps {
		st = append(st, x.Date.Format("2006-01-02")+" | "+x.Title+" | "+x.Description)
	}
	f.Themes, f.Steps = strings.Join(th, "\n"), strings.Join(st, "\n")
	if cs.OpensAt != nil {
		f.OpensAt = cs.OpensAt.Format("2006-01-02")
	}
	if cs.ClosesAt != nil {
		f.ClosesAt = cs.ClosesAt.Format("2006-01-02")
	}
	return f
}

func readConsultationForm(c *fiber.Ctx) consultationForm {
	return consultationForm{Slug: strings.TrimSpace(c.FormValue("slug")), Question: c.FormValue("question"), Context: c.FormValue("context"),
		Prefix: c.FormValue("prefix"), Language: c.FormValue("language"), Themes: c.FormValue("themes"), Steps: c.FormValue("steps"),
		OpensAt: c.FormValue("opens_at"), ClosesAt: c.FormValue("closes_at")}
}

func (f consultationForm) parse() (themes []consultation.Theme, steps []consultation.Step, opens, closes *time.Time, err error) {
	for _, line := range strings.Split(f.Themes, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		slug, label, _ := strings.Cut(line, "|")
		slug, label = strings.TrimSpace(slug), strings.TrimSpace(label)
		if label == "" {
			label = slug
		}
		themes = append(themes, consultation.Theme{Slug: slug, Label: label})
	}
	for _, line := range strings.Split(f.Steps, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.SplitN(line, "|", 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		d, derr := time.Parse("2006-01-02", strings.TrimSpace(parts[0]))
		if derr != nil {
			return nil, nil, nil, nil, errs.Field("steps", "each step is a line \"2026-01-31 | Title | Description\"; %q has no date", strings.TrimSpace(line))
		}
		steps = append(steps, consultation.Step{Date: d, Title: strings.TrimSpace(parts[1]), Description: strings.TrimSpace(parts[2])})
	}
	date := func(field, v string) (*time.Time, error) {
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		d, derr := time.Parse("2006-01-02", strings.TrimSpace(v))
		if derr != nil {
			return nil, errs.Field(field, "%s must be a date such as 2026-01-31", field)
		}
		return &d, nil
	}
	if opens, err = date("opens_at", f.OpensAt); err != nil {
		return
	}
	closes, err = date("closes_at", f.ClosesAt)
	return
}

type moderationPage struct {
	Nav           adminNav
	Queue         []proposal.StaffView
	Current       *proposal.StaffView
	C             *consultation.Consultation
	Reasons       []proposal.Reason
	Consultations []consultation.Consultation
	Filter        string
	Empty         bool
	Done          string
}

type usersPage struct {
	Nav     adminNav
	Members []staff.Member
	Roles   []authz.Role
	Error   string
}

type brandingPage struct {
	Nav     adminNav
	T       tenants.Tenant
	Error   string
	Saved   bool
	Locales []string
}

type pluginsPage struct {
	Nav     adminNav
	Plugins []pluginView
	Error   string
}

type pluginView struct {
	pluginhost.TenantPlugin
	SettingsText string
}

func (s *Server) adminPageRoutes() {
	s.handle(get, "/admin", tenant("moderation", "update"), false, func(c *fiber.Ctx) error {
		if s.may(c, "consultations", "update") {
			return seeOther(c, "/admin/consultations")
		}
		return seeOther(c, "/admin/moderation")
	})

	// Consultations.
	s.handle(get, "/admin/consultations", tenant("consultations", "update"), false, func(c *fiber.Ctx) error {
		cs, err := s.Consultations.List(c.UserContext(), tenantID(c), true)
		if err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "admin_consultations", s.tr(c, "admin_consultations"), adminConsultations{Nav: s.adminNav(c, "consultations"), Consultations: cs})
	})
	s.handle(get, "/admin/consultations/new", tenant("consultations", "create"), false, func(c *fiber.Ctx) error {
		f := consultationForm{Nav: s.adminNav(c, "consultations"), New: true, Prefix: consultation.DefaultPrefix, Language: caller.Tenant(c.UserContext()).DefaultLocale}
		return s.render(c, fiber.StatusOK, "admin_consultation", s.tr(c, "admin_new_consultation"), f)
	})
	s.postPage("/admin/consultations", tenant("consultations", "create"), func(c *fiber.Ctx) error {
		f := readConsultationForm(c)
		f.Nav, f.New = s.adminNav(c, "consultations"), true
		fail := func(err error) error {
			if errs.KindOf(err) != errs.Invalid && errs.KindOf(err) != errs.Conflict {
				return err
			}
			f.Error, _ = errs.MessageOf(err)
			return s.render(c, statusOf[errs.KindOf(err)], "admin_consultation", s.tr(c, "admin_new_consultation"), f)
		}
		if c.FormValue("action") == "preview" {
			f.Preview = consultation.RenderMarkdown(f.Context)
			return s.render(c, fiber.StatusOK, "admin_consultation", s.tr(c, "admin_new_consultation"), f)
		}
		themes, steps, opens, closes, err := f.parse()
		if err != nil {
			return fail(err)
		}
		cs, err := s.Consultations.Create(c.UserContext(), tenantID(c), actor(c), consultation.Input{Slug: f.Slug, Question: f.Question, Context: f.Context,
			Prefix: f.Prefix, Language: f.Language, Themes: themes, Steps: steps, OpensAt: opens, ClosesAt: closes})
		if err != nil {
			return fail(err)
		}
		s.consultationChanged(tenantID(c), cs.ID)
		return seeOther(c, "/admin/consultations/"+cs.Slug+"?saved=1")
	})
	s.handle(get, "/admin/consultations/:slug", tenant("consultations", "update"), false, func(c *fiber.Ctx) error {
		cs, err := s.Consultations.Get(c.UserContext(), tenantID(c), c.Params("slug"))
		if err != nil {
			return err
		}
		f := formOf(cs)
		f.Nav, f.Saved = s.adminNav(c, "consultations"), c.Query("saved") == "1"
		return s.render(c, fiber.StatusOK, "admin_consultation", cs.Question, f)
	})
	s.postPage("/admin/consultations/:slug", tenant("consultations", "update"), func(c *fiber.Ctx) error {
		cur, err := s.Consultations.Get(c.UserContext(), tenantID(c), c.Params("slug"))
		if err != nil {
			return err
		}
		f := readConsultationForm(c)
		f.Nav, f.C, f.Slug = s.adminNav(c, "consultations"), cur, cur.Slug
		fail := func(err error) error {
			if errs.KindOf(err) != errs.Invalid && errs.KindOf(err) != errs.Conflict {
				return err
			}
			f.Error, _ = errs.MessageOf(err)
			return s.render(c, statusOf[errs.KindOf(err)], "admin_consultation", cur.Question, f)
		}
		if c.FormValue("action") == "preview" {
			f.Preview = consultation.RenderMarkdown(f.Context)
			return s.render(c, fiber.StatusOK, "admin_consultation", cur.Question, f)
		}
		themes, steps, opens, closes, err := f.parse()
		if err != nil {
			return fail(err)
		}
		p := consultation.Patch{Question: &f.Question, Context: &f.Context, Themes: &themes, Steps: &steps,
			OpensAt: opens, ClosesAt: closes, ClearOpensAt: opens == nil, ClearClosesAt: closes == nil}
		if cur.Status == consultation.Draft {
			p.Prefix, p.Language = &f.Prefix, &f.Language
		}
		cs, err := s.Consultations.Update(c.UserContext(), tenantID(c), actor(c), cur.Slug, p)
		if err != nil {
			return fail(err)
		}
		s.consultationChanged(tenantID(c), cs.ID)
		return seeOther(c, "/admin/consultations/"+cs.Slug+"?saved=1")
	})
	s.postPage("/admin/consultations/:slug/status", tenant("consultations", "update"), func(c *fiber.Ctx) error {
		to, ok := map[string]consultation.Status{"open": consultation.Open, "close": consultation.Closed, "publish": consultation.Published}[c.FormValue("to")]
		if !ok {
			return errs.Field("to", "choose open, close or publish")
		}
		cs, err := s.Consultations.SetStatus(c.UserContext(), tenantID(c), actor(c), c.Params("slug"), to)
		if err != nil {
			return err
		}
		s.consultationChanged(tenantID(c), cs.ID)
		return seeOther(c, "/admin/consultations/"+cs.Slug+"?saved=1")
	})
	s.postPage("/admin/preview", tenant("consultations", "update"), func(c *fiber.Ctx) error {
		c.Type("html", "utf-8")
		return c.SendString(string(consultation.RenderMarkdown(c.FormValue("context"))))
	})

	// Moderation.
	s.handle(get, "/admin/moderation", tenant("moderation", "update"), false, func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		mp := moderationPage{Nav: s.adminNav(c, "moderation"), Reasons: proposal.Reasons, Filter: c.Query("consultation"), Empty: c.Query("empty") == "1", Done: c.Query("done")}
		var cid int64
		cs, err := s.Consultations.List(ctx, tenantID(c), true)
		if err != nil {
			return err
		}
		mp.Consultations = cs
		for _, x := range cs {
			if x.Slug == mp.Filter {
				cid = x.ID
			}
		}
		if mp.Queue, err = s.Proposals.Queue(ctx, tenantID(c), cid, 50); err != nil {
			return err
		}
		if v := c.Query("p"); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return errs.E(errs.NotFound, "no such proposal")
			}
			p, err := s.Proposals.Get(ctx, tenantID(c), id)
			if err != nil {
				return err
			}
			sv := p.Staff()
			mp.Current = &sv
			pc, err := s.Consultations.GetByID(ctx, tenantID(c), p.ConsultationID)
			if err != nil {
				return err
			}
			mp.C = &pc
		}
		return s.render(c, fiber.StatusOK, "admin_moderation", s.tr(c, "admin_moderation"), mp)
	})
	next := func(c *fiber.Ctx, done string) error {
		filter := c.FormValue("consultation")
		var cid int64
		if filter != "" {
			cs, err := s.Consultations.Get(c.UserContext(), tenantID(c), filter)
			if err != nil {
				return err
			}
			cid = cs.ID
		}
		v := url.Values{}
		if filter != "" {
			v.Set("consultation", filter)
		}
		if done != "" {
			v.Set("done", done)
		}
		p, err := s.Proposals.Next(c.UserContext(), tenantID(c), cid, actor(c), 0)
		if errs.Is(err, errs.NotFound) {
			v.Set("empty", "1")
			return seeOther(c, "/admin/moderation?"+v.Encode())
		}
		if err != nil {
			return err
		}
		v.Set("p", strconv.FormatInt(p.ID, 10))
		return seeOther(c, "/admin/moderation?"+v.Encode()) // no fragment: it would cancel autofocus
	}
	s.postPage("/admin/moderation/next", tenant("moderation", "update"), func(c *fiber.Ctx) error { return next(c, "") })
	decide := func(path string, fn func(c *fiber.Ctx, id int64) (proposal.Proposal, error)) {
		s.postPage("/admin/moderation/:id/"+path, tenant("moderation", "update"), func(c *fiber.Ctx) error {
			id, err := idParam(c, "id")
			if err != nil {
				return err
			}
			if _, err := fn(c, id); err != nil {
				return err
			}
			return next(c, path)
		})
	}
	decide("accept", func(c *fiber.Ctx, id int64) (proposal.Proposal, error) {
		p, err := s.Proposals.Get(c.UserContext(), tenantID(c), id)
		if err != nil {
			return p, err
		}
		cs, err := s.Consultations.GetByID(c.UserContext(), tenantID(c), p.ConsultationID)
		if err != nil {
			return p, err
		}
		p, err = s.Proposals.Accept(c.UserContext(), tenantID(c), id, actor(c), formValues(c, "theme"), cs.ThemeSlugs())
		if err == nil {
			s.consultationChanged(tenantID(c), cs.ID)
		}
		return p, err
	})
	decide("refuse", func(c *fiber.Ctx, id int64) (proposal.Proposal, error) {
		return s.Proposals.Refuse(c.UserContext(), tenantID(c), id, actor(c), c.FormValue("reason"), c.FormValue("comment"))
	})
	decide("postpone", func(c *fiber.Ctx, id int64) (proposal.Proposal, error) {
		return s.Proposals.Postpone(c.UserContext(), tenantID(c), id, actor(c))
	})

	// Users and roles.
	users := func(c *fiber.Ctx, status int, msg string) error {
		ms, err := s.Staff.List(c.UserContext(), tenantID(c), 500, 0)
		if err != nil {
			return err
		}
		roles := []authz.Role{authz.TenantAdmin, authz.Moderator, authz.Auditor, authz.Citizen}
		return s.render(c, status, "admin_users", s.tr(c, "admin_users"), usersPage{Nav: s.adminNav(c, "users"), Members: ms, Roles: roles, Error: msg})
	}
	userFail := func(c *fiber.Ctx, err error) error {
		if k := errs.KindOf(err); k != errs.Invalid && k != errs.Conflict {
			return err
		}
		msg, _ := errs.MessageOf(err)
		return users(c, statusOf[errs.KindOf(err)], msg)
	}
	s.handle(get, "/admin/users", tenant("users", "create"), false, func(c *fiber.Ctx) error { return users(c, fiber.StatusOK, "") })
	s.postPage("/admin/users", tenant("users", "create"), func(c *fiber.Ctx) error {
		_, err := s.Staff.Create(c.UserContext(), actor(c), tenantID(c), staff.NewUser{Email: c.FormValue("email"), Name: c.FormValue("name"),
			Password: c.FormValue("password"), Role: c.FormValue("role")})
		if err != nil {
			return userFail(c, err)
		}
		return seeOther(c, "/admin/users")
	})
	s.postPage("/admin/users/:id/roles", tenant("roles", "create"), func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		if _, err := s.Staff.Grant(c.UserContext(), actor(c), tenantID(c), id, c.FormValue("role")); err != nil {
			return userFail(c, err)
		}
		return seeOther(c, "/admin/users")
	})
	s.postPage("/admin/users/:id/roles/:role/revoke", tenant("roles", "delete"), func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		if _, err := s.Staff.Revoke(c.UserContext(), actor(c), tenantID(c), id, c.Params("role")); err != nil {
			return userFail(c, err)
		}
		return seeOther(c, "/admin/users")
	})

	// Branding.
	s.handle(get, "/admin/branding", tenant("tenant", "update"), false, func(c *fiber.Ctx) error {
		t, err := s.Tenants.BySlug(c.UserContext(), caller.Tenant(c.UserContext()).Slug)
		if err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "admin_branding", s.tr(c, "admin_branding"),
			brandingPage{Nav: s.adminNav(c, "branding"), T: t, Saved: c.Query("saved") == "1", Locales: tenants.Locales})
	})
	s.postPage("/admin/branding", tenant("tenant", "update"), func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		name, logo, primary, accent, loc := c.FormValue("name"), c.FormValue("logo_url"), c.FormValue("color_primary"), c.FormValue("color_accent"), c.FormValue("default_locale")
		_, err := s.Tenants.Update(ctx, actor(c), caller.Tenant(ctx).Slug, tenants.Patch{Name: &name, LogoURL: &logo, ColorPrimary: &primary, ColorAccent: &accent, DefaultLocale: &loc})
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				return err
			}
			msg, _ := errs.MessageOf(err)
			t := *caller.Tenant(ctx)
			t.Name, t.LogoURL, t.ColorPrimary, t.ColorAccent, t.DefaultLocale = name, logo, primary, accent, loc
			return s.render(c, fiber.StatusBadRequest, "admin_branding", s.tr(c, "admin_branding"),
				brandingPage{Nav: s.adminNav(c, "branding"), T: t, Error: msg, Locales: tenants.Locales})
		}
		return seeOther(c, "/admin/branding?saved=1")
	})

	// Plugins.
	plugins := func(c *fiber.Ctx, status int, msg string) error {
		if s.Plugins == nil {
			return errs.E(errs.NotFound, "no plugins are installed on this platform")
		}
		ps, err := s.Plugins.ForTenant(c.UserContext(), tenantID(c))
		if err != nil {
			return err
		}
		pp := pluginsPage{Nav: s.adminNav(c, "plugins"), Error: msg}
		for _, p := range ps {
			var b bytes.Buffer
			if len(p.Settings) > 0 && json.Indent(&b, p.Settings, "", "  ") != nil {
				b.Reset()
				b.Write(p.Settings)
			}
			pp.Plugins = append(pp.Plugins, pluginView{TenantPlugin: p, SettingsText: b.String()})
		}
		return s.render(c, status, "admin_plugins", s.tr(c, "admin_plugins"), pp)
	}
	pluginFail := func(c *fiber.Ctx, err error) error {
		if k := errs.KindOf(err); k != errs.Invalid && k != errs.Conflict {
			return err
		}
		msg, _ := errs.MessageOf(err)
		return plugins(c, statusOf[errs.KindOf(err)], msg)
	}
	s.handle(get, "/admin/plugins", tenant("plugins", "update"), false, func(c *fiber.Ctx) error { return plugins(c, fiber.StatusOK, "") })
	s.postPage("/admin/plugins/:name", tenant("plugins", "update"), func(c *fiber.Ctx) error {
		if s.Plugins == nil {
			return errs.E(errs.NotFound, "no plugins are installed on this platform")
		}
		ctx, name := c.UserContext(), strings.Clone(c.Params("name"))
		var err error
		switch c.FormValue("action") {
		case "enable":
			_, err = s.Plugins.Enable(ctx, actor(c), tenantID(c), name)
		case "disable":
			_, err = s.Plugins.Disable(ctx, actor(c), tenantID(c), name)
		case "settings":
			raw := []byte(strings.TrimSpace(c.FormValue("settings")))
			if !json.Valid(raw) {
				err = errs.Field("settings", "the settings are not valid JSON")
			} else {
				_, err = s.Plugins.SetSettings(ctx, actor(c), tenantID(c), name, raw)
			}
		default:
			err = errs.Field("action", "choose enable, disable or settings")
		}
		if err != nil {
			return pluginFail(c, err)
		}
		return seeOther(c, "/admin/plugins")
	})
}
