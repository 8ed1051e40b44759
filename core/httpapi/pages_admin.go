package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"slices"
	"sort"
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
	"github.com/concorde-civic/concorde/web"
)

// The admin console: tenant admins and moderators. Every page needs the write permission
// of what it changes, so auditors (who may only read) never see it.

type adminNav struct {
	Consultations, Moderation, Users, Branding, Pages, Plugins, Audit bool
	Section                                                           string
}

func (s *Server) adminNav(c *fiber.Ctx, section string) adminNav {
	return adminNav{Consultations: s.may(c, "consultations", "update"), Moderation: s.may(c, "moderation", "update"),
		Users: s.may(c, "users", "create"), Branding: s.may(c, "tenant", "update"), Pages: s.may(c, "tenant", "update"), Plugins: s.Plugins != nil && s.may(c, "plugins", "update"),
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
			return nil, nil, nil, nil, errs.Field("steps", "each step is a line \"2026-01-31 | Title | Description\"; %q has no date", strings.TrimSpace(line)).Say("err_step_line")
		}
		steps = append(steps, consultation.Step{Date: d, Title: strings.TrimSpace(parts[1]), Description: strings.TrimSpace(parts[2])})
	}
	date := func(field, v string) (*time.Time, error) {
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		d, derr := time.Parse("2006-01-02", strings.TrimSpace(v))
		if derr != nil {
			return nil, errs.Field(field, "%s must be a date such as 2026-01-31", field).Say("err_form_date")
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
	// The queue's page (queuePerPage at a time) and how many proposals wait in all.
	Waiting    int
	Page       int
	Prev, Next string
	// Beside the proposal under review (its own page, /admin/moderation/ID): accepted
	// proposals that look like it, the author's other proposals in its consultation, and
	// whether another moderator holds it.
	Duplicates  []proposal.Proposal
	Others      []proposal.Proposal
	HeldByOther bool
	HeldUntil   string
}

// queuePerPage is how many waiting proposals /admin/moderation lists at a time.
const queuePerPage = 50

// moderationDuplicates is how many look-alike proposals the moderation view shows.
const moderationDuplicates = 5

type usersPage struct {
	Nav     adminNav
	Members []staff.Member
	Roles   []authz.Role
	Error   string
	Pager   usersPager
	Invited bool // an invitation was just sent
}

// usersPerPage is how many accounts /admin/users shows at a time.
const usersPerPage = 50

// usersPager is the search and the page of /admin/users, with links to the pages beside.
type usersPager struct {
	Q          string
	Page       int
	More       bool
	Prev, Next string
}

type brandingPage struct {
	Nav   adminNav
	T     tenants.Tenant
	Error string
	Saved bool
	// ImageError is why an upload was refused, shown beside the form of ImageKind.
	ImageError, ImageKind string
	// Limits of the uploads, in KiB and pixels, for the forms' help texts.
	LogoKiB, BannerKiB                         int
	LogoMaxW, LogoMaxH, BannerMaxW, BannerMaxH int
	Locales                                    []string
	// TimeZones are suggestions; any IANA name is accepted.
	TimeZones []string
}

type pluginsPage struct {
	Nav     adminNav
	Plugins []pluginView
	Error   string
}

type pluginView struct {
	pluginhost.TenantPlugin
	SettingsText string
	Fields       []settingField // the settings form, built from the plugin's schema
	Advanced     bool           // the schema cannot be read: only the raw JSON can be edited
	Error        string         // why its settings were refused
	Saved        bool           // its settings were just saved
	Jobs         []jobView      // its scheduled jobs on this site
}

// jobView is a plugin's scheduled job as the admin console shows it.
type jobView struct {
	pluginhost.JobStatus
	Every, Last, Next string // formatted for the site's language
}

// settingField is one input of a plugin's settings form.
type settingField struct {
	Name        string
	Label       string
	Description string
	Kind        string // text, number, checkbox or select
	Value       string
	Checked     bool
	Set         bool // a secret that is stored (never shown)
	Options     []settingOption
	Required    bool
	MinLength   int
	MaxLength   int
	Min, Max    string
	Step        string
}

type settingOption struct {
	Value    string
	Selected bool
}

// settingsFields builds the form of a settings schema, filled with values (the saved
// settings, or the ones just refused), else with the schema's defaults.
func settingsFields(schema *pluginhost.Schema, values map[string]any) []settingField {
	names := make([]string, 0, len(schema.Properties))
	for n := range schema.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []settingField
	for _, n := range names {
		p := schema.Properties[n]
		f := settingField{Name: n, Label: p.Title, Description: p.Description, Required: slices.Contains(schema.Required, n)}
		if f.Label == "" {
			f.Label = n
		}
		v, ok := values[n]
		if !ok {
			v = p.Default
		}
		if v != nil {
			f.Value = fmt.Sprint(v)
		}
		switch {
		case p.WriteOnly:
			// Never shown back: an empty field keeps the stored secret.
			f.Kind, f.Set, f.Value = "secret", f.Value == pluginhost.Mask, ""
		case len(p.Enum) > 0:
			f.Kind = "select"
			for _, e := range p.Enum {
				f.Options = append(f.Options, settingOption{Value: fmt.Sprint(e), Selected: fmt.Sprint(e) == f.Value})
			}
		case p.Type == "boolean":
			f.Kind = "checkbox"
			f.Checked = v == true
		case p.Type == "integer" || p.Type == "number":
			f.Kind, f.Step = "number", "1"
			if p.Type == "number" {
				f.Step = "any"
			}
			if p.Minimum != nil {
				f.Min = strconv.FormatFloat(*p.Minimum, 'f', -1, 64)
			}
			if p.Maximum != nil {
				f.Max = strconv.FormatFloat(*p.Maximum, 'f', -1, 64)
			}
		default:
			f.Kind = "text"
			if p.MinLength != nil {
				f.MinLength = *p.MinLength
			}
			if p.MaxLength != nil {
				f.MaxLength = *p.MaxLength
			}
		}
		out = append(out, f)
	}
	return out
}

// settingsFromForm reads a settings form back into JSON values. What does not convert
// (a number that is not one) is passed on as text, so that the schema's check says what is wrong.
func settingsFromForm(c *fiber.Ctx, schema *pluginhost.Schema) map[string]any {
	out := map[string]any{}
	for n, p := range schema.Properties {
		raw := strings.TrimSpace(c.FormValue("setting." + n))
		switch {
		case p.Type == "boolean":
			out[n] = raw == "true"
		case raw == "":
			// Left empty: the plugin's default, or the schema says it is required.
		case len(p.Enum) > 0:
			out[n] = raw
			for _, e := range p.Enum {
				if fmt.Sprint(e) == raw {
					out[n] = e
				}
			}
		case p.Type == "integer" || p.Type == "number":
			out[n] = raw
			if _, err := strconv.ParseFloat(raw, 64); err == nil {
				out[n] = json.Number(raw)
			}
		default:
			out[n] = raw
		}
	}
	return out
}

// pluginSchema is the settings schema a plugin declares, nil if it cannot be read.
func pluginSchema(p pluginhost.TenantPlugin) *pluginhost.Schema {
	var raw []byte
	if p.SettingsSchema != nil {
		var err error
		if raw, err = json.Marshal(p.SettingsSchema); err != nil {
			return nil
		}
	}
	schema, err := pluginhost.ParseSchema(raw)
	if err != nil {
		return nil
	}
	return schema
}

func (s *Server) adminPageRoutes() {
	s.handle(Route{Method: get, Path: "/admin", Perm: tenant("moderation", "update"), Summary: "The staff's home"}, func(c *fiber.Ctx) error {
		if s.may(c, "consultations", "update") {
			return seeOther(c, "/admin/consultations")
		}
		return seeOther(c, "/admin/moderation")
	})

	// Consultations.
	s.handle(Route{Method: get, Path: "/admin/consultations", Perm: tenant("consultations", "update"), Summary: "Consultations to manage"}, func(c *fiber.Ctx) error {
		cs, err := s.Consultations.List(c.UserContext(), tenantID(c), true)
		if err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "admin_consultations", s.tr(c, "admin_consultations"), adminConsultations{Nav: s.adminNav(c, "consultations"), Consultations: cs})
	})
	s.handle(Route{Method: get, Path: "/admin/consultations/new", Perm: tenant("consultations", "create"), Summary: "The form to create a consultation"}, func(c *fiber.Ctx) error {
		f := consultationForm{Nav: s.adminNav(c, "consultations"), New: true, Prefix: consultation.DefaultPrefix, Language: caller.Tenant(c.UserContext()).DefaultLocale}
		return s.render(c, fiber.StatusOK, "admin_consultation", s.tr(c, "admin_new_consultation"), f)
	})
	s.postPage(Route{Path: "/admin/consultations", Perm: tenant("consultations", "create"), Summary: "Create a consultation (form)"}, func(c *fiber.Ctx) error {
		f := readConsultationForm(c)
		f.Nav, f.New = s.adminNav(c, "consultations"), true
		fail := func(err error) error {
			if errs.KindOf(err) != errs.Invalid && errs.KindOf(err) != errs.Conflict {
				return err
			}
			f.Error, _ = s.errorMessage(c, err)
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
	s.handle(Route{Method: get, Path: "/admin/consultations/:slug", Perm: tenant("consultations", "update"), Summary: "The form to edit a consultation"}, func(c *fiber.Ctx) error {
		cs, err := s.Consultations.Get(c.UserContext(), tenantID(c), c.Params("slug"))
		if err != nil {
			return err
		}
		f := formOf(cs)
		f.Nav, f.Saved = s.adminNav(c, "consultations"), c.Query("saved") == "1"
		return s.render(c, fiber.StatusOK, "admin_consultation", cs.Question, f)
	})
	s.postPage(Route{Path: "/admin/consultations/:slug", Perm: tenant("consultations", "update"), Summary: "Change a consultation (form)"}, func(c *fiber.Ctx) error {
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
			f.Error, _ = s.errorMessage(c, err)
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
	s.postPage(Route{Path: "/admin/consultations/:slug/status", Perm: tenant("consultations", "update"), Summary: "Open, close or publish a consultation (form)"}, func(c *fiber.Ctx) error {
		to, ok := map[string]consultation.Status{"open": consultation.Open, "close": consultation.Closed, "publish": consultation.Published}[c.FormValue("to")]
		if !ok {
			return errs.Field("to", "choose open, close or publish").Say("err_status_action")
		}
		cs, err := s.Consultations.SetStatus(c.UserContext(), tenantID(c), actor(c), c.Params("slug"), to)
		if err != nil {
			return err
		}
		s.consultationChanged(tenantID(c), cs.ID)
		return seeOther(c, "/admin/consultations/"+cs.Slug+"?saved=1")
	})
	s.postPage(Route{Path: "/admin/preview", Perm: tenant("consultations", "update"), Summary: "Preview a consultation's Markdown context as HTML"}, func(c *fiber.Ctx) error {
		c.Type("html", "utf-8")
		return c.SendString(string(consultation.RenderMarkdown(c.FormValue("context"))))
	})

	// Moderation.
	s.handle(Route{Method: get, Path: "/admin/moderation", Perm: tenant("moderation", "update"), Summary: "The moderation queue, paged; each row opens its proposal"}, func(c *fiber.Ctx) error {
		if v := c.Query("p"); v != "" { // the address of a proposal before it had its own page
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				return errs.E(errs.NotFound, "no such proposal").Say("err_proposal_not_found")
			}
			return c.Redirect(moderationItemPath(id, c.Query("consultation"), c.Query("done")), fiber.StatusMovedPermanently)
		}
		ctx := c.UserContext()
		mp := moderationPage{Nav: s.adminNav(c, "moderation"), Reasons: proposal.Reasons, Filter: c.Query("consultation"), Empty: c.Query("empty") == "1", Done: doneOf(c.Query("done"))}
		cid, err := s.moderationFilter(c, &mp)
		if err != nil {
			return err
		}
		mp.Page = c.QueryInt("page", 1)
		if mp.Page < 1 || mp.Page > 1_000_000 {
			mp.Page = 1
		}
		if mp.Waiting, err = s.Proposals.QueueLength(ctx, tenantID(c), cid); err != nil {
			return err
		}
		if mp.Queue, err = s.Proposals.QueuePage(ctx, tenantID(c), cid, queuePerPage, (mp.Page-1)*queuePerPage); err != nil {
			return err
		}
		link := func(page int) string {
			v := url.Values{"page": {strconv.Itoa(page)}}
			if mp.Filter != "" {
				v.Set("consultation", mp.Filter)
			}
			return "/admin/moderation?" + v.Encode() + "#queue-title"
		}
		if mp.Page > 1 {
			mp.Prev = link(mp.Page - 1)
		}
		if mp.Page*queuePerPage < mp.Waiting {
			mp.Next = link(mp.Page + 1)
		}
		return s.render(c, fiber.StatusOK, "admin_moderation", s.tr(c, "admin_moderation"), mp)
	})
	s.handle(Route{Method: get, Path: "/admin/moderation/:id", Perm: tenant("moderation", "update"), Summary: "One proposal under review, with look-alike proposals and its author's others"}, func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		mp := moderationPage{Nav: s.adminNav(c, "moderation"), Reasons: proposal.Reasons, Filter: c.Query("consultation"), Done: doneOf(c.Query("done"))}
		if _, err := s.moderationFilter(c, &mp); err != nil {
			return err
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
		if p.LockedByOther(actor(c), s.now()) {
			mp.HeldByOther, mp.HeldUntil = true, s.when(c, *p.LockedUntil)
		}
		if mp.Duplicates, err = s.Proposals.Duplicates(ctx, tenantID(c), p, moderationDuplicates); err != nil {
			return err
		}
		if mp.Others, err = s.Proposals.AuthorOthers(ctx, tenantID(c), p); err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "admin_moderation", s.tr(c, "moderation_current")+" · "+s.tr(c, "admin_moderation"), mp)
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
		return seeOther(c, moderationItemPath(p.ID, filter, done))
	}
	s.postPage(Route{Path: "/admin/moderation/next", Perm: tenant("moderation", "update"), Summary: "Take the next proposal to moderate (form)"}, func(c *fiber.Ctx) error { return next(c, "") })
	decide := func(path string, fn func(c *fiber.Ctx, id int64) (proposal.Proposal, error)) {
		s.postPage(Route{Path: "/admin/moderation/:id/" + path, Perm: tenant("moderation", "update"), Summary: "Decide on a proposal: accept, refuse or postpone (form)"}, func(c *fiber.Ctx) error {
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
		return s.acceptProposal(c, id, formValues(c, "theme")) // the catalog hears of it through OnAccepted
	})
	decide("refuse", func(c *fiber.Ctx, id int64) (proposal.Proposal, error) {
		return s.Proposals.Refuse(c.UserContext(), tenantID(c), id, actor(c), c.FormValue("reason"), c.FormValue("comment"))
	})
	decide("postpone", func(c *fiber.Ctx, id int64) (proposal.Proposal, error) {
		return s.Proposals.Postpone(c.UserContext(), tenantID(c), id, actor(c))
	})

	// Users and roles.
	users := func(c *fiber.Ctx, status int, msg string) error {
		// Tens of thousands of citizens: a page of usersPerPage at a time, searched by address or name.
		page := c.QueryInt("page", 1)
		if page < 1 || page > 100000 {
			page = 1
		}
		q := strings.TrimSpace(c.Query("q"))
		ms, err := s.Staff.Find(c.UserContext(), tenantID(c), q, usersPerPage+1, (page-1)*usersPerPage)
		if err != nil {
			return err
		}
		more := len(ms) > usersPerPage
		ms = ms[:min(len(ms), usersPerPage)]
		pager := usersPager{Q: q, Page: page, More: more}
		if page > 1 {
			pager.Prev = "/admin/users?" + url.Values{"q": {q}, "page": {strconv.Itoa(page - 1)}}.Encode()
		}
		if more {
			pager.Next = "/admin/users?" + url.Values{"q": {q}, "page": {strconv.Itoa(page + 1)}}.Encode()
		}
		// Least privilege first: a form sent without a look at the picker grants the least.
		roles := []authz.Role{authz.Citizen, authz.Auditor, authz.Moderator, authz.TenantAdmin}
		return s.render(c, status, "admin_users", s.tr(c, "admin_users"), usersPage{Nav: s.adminNav(c, "users"), Members: ms, Roles: roles, Error: msg, Pager: pager,
			Invited: msg == "" && c.Query("invited") == "1"})
	}
	userFail := func(c *fiber.Ctx, err error) error {
		if k := errs.KindOf(err); k != errs.Invalid && k != errs.Conflict {
			return err
		}
		msg, _ := s.errorMessage(c, err)
		return users(c, statusOf[errs.KindOf(err)], msg)
	}
	s.handle(Route{Method: get, Path: "/admin/users", Perm: tenant("users", "create"), Summary: "Accounts of this site and their roles"}, func(c *fiber.Ctx) error { return users(c, fiber.StatusOK, "") })
	s.postPage(Route{Path: "/admin/users", Perm: tenant("users", "create"), Summary: "Invite someone by e-mail with a role; they choose their password (form)"}, func(c *fiber.Ctx) error {
		if c.FormValue("password") != "" {
			return userFail(c, errs.Field("password", "staff choose their own password: invite them instead").Say("admin_invite_no_password"))
		}
		_, err := s.invite(c, staff.Invitee{Email: strings.Clone(c.FormValue("email")), Name: strings.Clone(c.FormValue("name")), Role: strings.Clone(c.FormValue("role"))})
		if _, field := errs.MessageOf(err); errs.KindOf(err) == errs.Conflict && field == "email" {
			exists := errs.Wrap(errs.Conflict, err, "an account with this address exists already").Say("admin_invite_exists")
			exists.Field = "email"
			err = exists
		}
		if err != nil {
			return userFail(c, err)
		}
		return seeOther(c, "/admin/users?invited=1")
	})
	s.postPage(Route{Path: "/admin/users/:id/roles", Perm: tenant("roles", "create"), Summary: "Grant a role (form)"}, func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		if _, err := s.Staff.Grant(c.UserContext(), actor(c), tenantID(c), id, c.FormValue("role")); err != nil {
			return userFail(c, err)
		}
		return seeOther(c, "/admin/users")
	})
	s.postPage(Route{Path: "/admin/users/:id/roles/:role/revoke", Perm: tenant("roles", "delete"), Summary: "Revoke a role (form)"}, func(c *fiber.Ctx) error {
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
	s.handle(Route{Method: get, Path: "/admin/branding", Perm: tenant("tenant", "update"), Summary: "The site's name and branding"}, func(c *fiber.Ctx) error {
		t, err := s.Tenants.BySlug(c.UserContext(), caller.Tenant(c.UserContext()).Slug)
		if err != nil {
			return err
		}
		bp := s.brandingPage(c, t)
		bp.Saved = c.Query("saved") == "1"
		return s.render(c, fiber.StatusOK, "admin_branding", s.tr(c, "admin_branding"), bp)
	})
	s.postPage(Route{Path: "/admin/branding", Perm: tenant("tenant", "update"), Summary: "Change the site's name and branding (form)"}, func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		name, logo, primary, accent, loc := c.FormValue("name"), c.FormValue("logo_url"), c.FormValue("color_primary"), c.FormValue("color_accent"), c.FormValue("default_locale")
		tz := strings.TrimSpace(c.FormValue("time_zone"))
		_, err := s.Tenants.Update(ctx, actor(c), caller.Tenant(ctx).Slug, tenants.Patch{Name: &name, LogoURL: &logo, ColorPrimary: &primary, ColorAccent: &accent, DefaultLocale: &loc, TimeZone: &tz})
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				return err
			}
			msg, _ := s.errorMessage(c, err)
			t := *caller.Tenant(ctx)
			t.Name, t.LogoURL, t.ColorPrimary, t.ColorAccent, t.DefaultLocale, t.TimeZone = name, logo, primary, accent, loc, tz
			bp := s.brandingPage(c, t)
			bp.Error = msg
			return s.render(c, fiber.StatusBadRequest, "admin_branding", s.tr(c, "admin_branding"), bp)
		}
		return seeOther(c, "/admin/branding?saved=1")
	})

	// The logo and the banner, uploaded (multipart) and checked by tenants.CheckImage.
	s.postPage(Route{Path: "/admin/branding/images", Perm: tenant("tenant", "update"), Summary: "Upload, describe or remove the site's logo or banner (multipart form: kind, file, banner_alt, action)"}, func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		slug := caller.Tenant(ctx).Slug
		kind, err := tenants.ParseImageKind(c.FormValue("kind"))
		switch action := c.FormValue("action"); {
		case err != nil:
		case action == "remove":
			_, err = s.Tenants.RemoveImage(ctx, actor(c), slug, kind)
		case action == "alt" && kind == tenants.Banner:
			_, err = s.Tenants.SetBannerAlt(ctx, actor(c), slug, c.FormValue("banner_alt"))
		case action == "upload":
			var data []byte
			if data, err = uploaded(c, "file", tenants.ImageLimits[kind].MaxBytes); err == nil {
				var alt *string
				if kind == tenants.Banner {
					a := c.FormValue("banner_alt")
					alt = &a
				}
				_, err = s.Tenants.SetImage(ctx, actor(c), slug, kind, data, alt)
			}
		default:
			err = errs.Field("action", "choose upload, alt or remove")
		}
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.TooLarge && k != errs.Conflict {
				return err
			}
			t, terr := s.Tenants.BySlug(ctx, slug)
			if terr != nil {
				return terr
			}
			bp := s.brandingPage(c, t)
			bp.ImageKind, bp.ImageError = string(kind), s.imageRefusal(c, err)
			return s.render(c, statusOf[errs.KindOf(err)], "admin_branding", s.tr(c, "admin_branding"), bp)
		}
		return seeOther(c, "/admin/branding?saved=1#images")
	})

	// Plugins. A refusal (refused is the plugin it is about) shows next to that plugin's form,
	// filled with what was posted.
	type refusal struct {
		plugin, msg string
		values      map[string]any
	}
	plugins := func(c *fiber.Ctx, status int, msg string, refused *refusal) error {
		if s.Plugins == nil {
			return errs.E(errs.NotFound, "no plugins are installed on this platform").Say("err_no_plugins")
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
			pv := pluginView{TenantPlugin: p, SettingsText: b.String(), Saved: refused == nil && c.Query("saved") == p.Name}
			values := map[string]any{}
			_ = json.Unmarshal(p.Settings, &values)
			if refused != nil && refused.plugin == p.Name {
				pv.Error = refused.msg
				if refused.values != nil {
					values = refused.values
				}
			}
			if p.Enabled {
				jobs, err := s.Plugins.Jobs(c.UserContext(), tenantID(c), p.Name)
				if err != nil {
					return err
				}
				for _, j := range jobs {
					jv := jobView{JobStatus: j, Every: web.Duration(s.locale(c), time.Duration(j.EverySecs)*time.Second), Next: s.when(c, j.NextRunAt)}
					if j.LastRunAt != nil {
						jv.Last = s.when(c, *j.LastRunAt)
					}
					pv.Jobs = append(pv.Jobs, jv)
				}
			}
			if schema := pluginSchema(p); schema != nil {
				pv.Fields = settingsFields(schema, values)
			} else {
				pv.Advanced = true
			}
			pp.Plugins = append(pp.Plugins, pv)
		}
		return s.render(c, status, "admin_plugins", s.tr(c, "admin_plugins"), pp)
	}
	pluginFail := func(c *fiber.Ctx, err error, refused *refusal) error {
		if k := errs.KindOf(err); k != errs.Invalid && k != errs.Conflict {
			return err
		}
		msg, _ := s.errorMessage(c, err)
		if refused != nil {
			refused.msg = msg
			return plugins(c, statusOf[errs.KindOf(err)], "", refused)
		}
		return plugins(c, statusOf[errs.KindOf(err)], msg, nil)
	}
	s.handle(Route{Method: get, Path: "/admin/plugins", Perm: tenant("plugins", "update"), Summary: "Plugins: enable, disable, settings"}, func(c *fiber.Ctx) error { return plugins(c, fiber.StatusOK, "", nil) })
	s.postPage(Route{Path: "/admin/plugins/:name", Perm: tenant("plugins", "update"), Summary: "Enable, disable or configure a plugin (form)"}, func(c *fiber.Ctx) error {
		if s.Plugins == nil {
			return errs.E(errs.NotFound, "no plugins are installed on this platform").Say("err_no_plugins")
		}
		ctx, name := c.UserContext(), strings.Clone(c.Params("name"))
		var err error
		var refused *refusal
		switch c.FormValue("action") {
		case "enable":
			_, err = s.Plugins.Enable(ctx, actor(c), tenantID(c), name)
		case "disable":
			_, err = s.Plugins.Disable(ctx, actor(c), tenantID(c), name)
		case "settings":
			refused = &refusal{plugin: name}
			raw := []byte(strings.TrimSpace(c.FormValue("settings")))
			if !json.Valid(raw) {
				err = errs.Field("settings", "the settings are not valid JSON").Say("err_settings_json")
			} else {
				_, err = s.Plugins.SetSettings(ctx, actor(c), tenantID(c), name, raw)
			}
		case "fields":
			var p pluginhost.TenantPlugin
			if p, err = s.Plugins.ForTenantOne(ctx, tenantID(c), name); err != nil {
				break
			}
			schema := pluginSchema(p)
			if schema == nil {
				err = errs.Field("settings", "this plugin's settings can only be edited as JSON").Say("err_settings_json_only")
				break
			}
			values := settingsFromForm(c, schema)
			refused = &refusal{plugin: name, values: values}
			var raw []byte
			if raw, err = json.Marshal(values); err == nil {
				_, err = s.Plugins.SetSettings(ctx, actor(c), tenantID(c), name, raw)
			}
		default:
			err = errs.Field("action", "choose enable, disable, fields or settings").Say("err_plugin_action")
		}
		if err != nil {
			return pluginFail(c, err, refused)
		}
		if refused != nil { // settings saved
			return seeOther(c, "/admin/plugins?saved="+url.QueryEscape(name)+"#plugin-"+url.PathEscape(name))
		}
		return seeOther(c, "/admin/plugins")
	})
}

// when is a time as the admin console writes it: the visitor's language, the site's time zone.
func (s *Server) when(c *fiber.Ctx, t time.Time) string {
	return web.At(caller.Tenant(c.UserContext()), s.locale(c), t)
}

// moderationItemPath is the page of one proposal under review, keeping the queue's filter and
// the decision just made; no fragment, which would cancel the accept button's autofocus.
func moderationItemPath(id int64, filter, done string) string {
	v := url.Values{}
	if filter != "" {
		v.Set("consultation", filter)
	}
	if done != "" {
		v.Set("done", done)
	}
	path := "/admin/moderation/" + strconv.FormatInt(id, 10)
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return path
}

// moderationFilter fills the consultation picker of a moderation page and returns the id of
// the consultation its filter names (0: every consultation, or an unknown slug).
func (s *Server) moderationFilter(c *fiber.Ctx, mp *moderationPage) (int64, error) {
	cs, err := s.Consultations.List(c.UserContext(), tenantID(c), true)
	if err != nil {
		return 0, err
	}
	mp.Consultations = cs
	for _, x := range cs {
		if x.Slug == mp.Filter {
			return x.ID, nil
		}
	}
	return 0, nil
}

// brandingPage is /admin/branding for t, with the upload limits.
func (s *Server) brandingPage(c *fiber.Ctx, t tenants.Tenant) brandingPage {
	logo, banner := tenants.ImageLimits[tenants.Logo], tenants.ImageLimits[tenants.Banner]
	return brandingPage{Nav: s.adminNav(c, "branding"), T: t, Locales: tenants.Locales, TimeZones: tenants.TimeZones,
		LogoKiB: logo.MaxBytes >> 10, BannerKiB: banner.MaxBytes >> 10, LogoMaxW: logo.MaxWidth, LogoMaxH: logo.MaxHeight,
		BannerMaxW: banner.MaxWidth, BannerMaxH: banner.MaxHeight}
}

// imageRefusal says in the visitor's language why an upload was refused: the catalogue's
// image_CODE, else the error's own message.
func (s *Server) imageRefusal(c *fiber.Ctx, err error) string {
	var r *tenants.ImageRefusal
	if errors.As(err, &r) {
		if msg := s.tr(c, "image_"+r.Code); msg != "image_"+r.Code {
			if len(r.Args) > 0 {
				return fmt.Sprintf(msg, r.Args...)
			}
			return msg
		}
	}
	msg, _ := s.errorMessage(c, err)
	return msg
}

// uploaded reads the file of a multipart form's field, refusing one over max bytes before
// reading more than max+1 of it (the whole body is bounded by the app's BodyLimit first).
func uploaded(c *fiber.Ctx, field string, max int) ([]byte, error) {
	fh, err := c.FormFile(field)
	if err != nil {
		return nil, tenants.CheckImageMissing()
	}
	if fh.Size > int64(max) {
		return nil, tenants.CheckImageTooLarge(int(fh.Size), max)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	return data, nil
}

// doneOf keeps the moderation decision a page may confirm ("accept", "refuse", "postpone");
// anything else in the address shows nothing.
func doneOf(v string) string {
	switch v {
	case "accept", "refuse", "postpone":
		return v
	}
	return ""
}
