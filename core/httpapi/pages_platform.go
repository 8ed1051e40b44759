package httpapi

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/tenants"
)

// The platform console, on the platform host, for platform admins: every tenant with its
// activity, searched and paged; creating a tenant, suspending and resuming its site, adding a
// host name. Each action is the same service call as the API's, audited the same way.

const tenantsPerPage = 50

type platformPage struct {
	Tenants   []tenantRow
	Q         string
	Page      int
	Prev      string
	Next      string
	Total     int
	Kinds     []tenants.Kind
	Locales   []string
	TimeZones []string
	Form      tenants.NewTenant
	Host      string // the host of the form, as typed
	Error     string
	Done      string
}

// tenantRow is a tenant with what the console says of its activity.
type tenantRow struct {
	tenants.Tenant
	Consultations int
	LastActivity  time.Time
}

func (s *Server) platformPageRoutes() {
	console := func(c *fiber.Ctx, status int, pg platformPage) error {
		all, err := s.Tenants.List(c.UserContext())
		if err != nil {
			return err
		}
		q := strings.ToLower(strings.TrimSpace(c.Query("q")))
		if len(q) > 100 {
			return errs.Field("q", "search for at most 100 characters").Say("err_search_100")
		}
		var shown []tenants.Tenant
		for _, t := range all {
			if t.ID == tenants.PlatformID {
				continue
			}
			if q == "" || strings.Contains(t.Slug, q) || strings.Contains(strings.ToLower(t.Name), q) || strings.Contains(strings.Join(t.Hosts, " "), q) {
				shown = append(shown, t)
			}
		}
		page := c.QueryInt("page", 1)
		if page < 1 || (page-1)*tenantsPerPage >= max(len(shown), 1) {
			page = 1
		}
		from, to := (page-1)*tenantsPerPage, min(page*tenantsPerPage, len(shown))
		pg.Q, pg.Page, pg.Total = q, page, len(shown)
		if page > 1 {
			pg.Prev = "/platform?" + url.Values{"q": {q}, "page": {strconv.Itoa(page - 1)}}.Encode()
		}
		if to < len(shown) {
			pg.Next = "/platform?" + url.Values{"q": {q}, "page": {strconv.Itoa(page + 1)}}.Encode()
		}
		if pg.Tenants, err = s.activity(c, shown[from:to]); err != nil {
			return err
		}
		pg.Kinds, pg.Locales, pg.TimeZones = []tenants.Kind{tenants.City, tenants.Region, tenants.Company}, tenants.Locales, tenants.TimeZones
		if pg.Form.DefaultLocale == "" {
			pg.Form.DefaultLocale, pg.Form.TimeZone = "fr", tenants.DefaultTimeZone
		}
		return s.render(c, status, "platform", s.tr(c, "platform_title"), pg)
	}
	fail := func(c *fiber.Ctx, err error, pg platformPage) error {
		if k := errs.KindOf(err); k != errs.Invalid && k != errs.Conflict && k != errs.NotFound {
			return err
		}
		pg.Error, _ = s.errorMessage(c, err)
		return console(c, statusOf[errs.KindOf(err)], pg)
	}
	s.handle(Route{Method: get, Path: "/platform", Perm: platform("tenants", "read"), Summary: "The platform console: tenants, their activity and status (platform admins)"}, func(c *fiber.Ctx) error {
		done := c.Query("done")
		if done != "created" && done != "suspend" && done != "resume" && done != "host" {
			done = ""
		}
		return console(c, fiber.StatusOK, platformPage{Done: done})
	})
	s.postPage(Route{Path: "/platform/tenants", Perm: platform("tenants", "create"), Summary: "Create a tenant (form)"}, func(c *fiber.Ctx) error {
		in := tenants.NewTenant{Slug: c.FormValue("slug"), Kind: c.FormValue("kind"), Name: c.FormValue("name"),
			DefaultLocale: c.FormValue("default_locale"), TimeZone: c.FormValue("time_zone")}
		host := strings.TrimSpace(c.FormValue("host"))
		if host != "" {
			in.Hosts = []string{host}
		}
		if _, err := s.Tenants.Create(c.UserContext(), actor(c), in); err != nil {
			return fail(c, err, platformPage{Form: in, Host: host})
		}
		return seeOther(c, "/platform?done=created&q="+url.QueryEscape(strings.TrimSpace(in.Slug)))
	})
	for _, st := range []struct {
		path   string
		status tenants.Status
	}{{"suspend", tenants.Suspended}, {"resume", tenants.Active}} {
		s.postPage(Route{Path: "/platform/tenants/:slug/" + st.path, Perm: platform("tenants", "update"), Summary: "Suspend or resume a tenant's site (form)"}, func(c *fiber.Ctx) error {
			slug := strings.Clone(c.Params("slug"))
			if _, err := s.Tenants.SetStatus(c.UserContext(), actor(c), slug, st.status); err != nil {
				return fail(c, err, platformPage{})
			}
			return seeOther(c, "/platform?done="+st.path+"&q="+url.QueryEscape(slug))
		})
	}
	s.postPage(Route{Path: "/platform/tenants/:slug/hosts", Perm: platform("tenants", "update"), Summary: "Serve a tenant on one more host name (form)"}, func(c *fiber.Ctx) error {
		slug := strings.Clone(c.Params("slug"))
		if _, err := s.Tenants.AddHost(c.UserContext(), actor(c), slug, c.FormValue("host")); err != nil {
			return fail(c, err, platformPage{})
		}
		return seeOther(c, "/platform?done=host&q="+url.QueryEscape(slug))
	})
}

// activity reads, for the tenants shown, how many consultations they run and when their audit
// log last moved: one query each across the shown tenants only.
func (s *Server) activity(c *fiber.Ctx, ts []tenants.Tenant) ([]tenantRow, error) {
	rows := make([]tenantRow, len(ts))
	if len(ts) == 0 {
		return rows, nil
	}
	ids := make([]int64, len(ts))
	for i, t := range ts {
		rows[i].Tenant, ids[i] = t, t.ID
	}
	var counts []struct {
		TenantID int64 `bun:"tenant_id"`
		N        int   `bun:"n"`
	}
	ctx := c.UserContext()
	err := store.Across(s.DB).SelectTable("consultations").ColumnExpr("tenant_id, count(*) AS n").
		Where("tenant_id IN (?)", bun.In(ids)).Group("tenant_id").Scan(ctx, &counts)
	if err != nil {
		return nil, err
	}
	var last []struct {
		TenantID int64     `bun:"tenant_id"`
		At       time.Time `bun:"at"`
	}
	err = store.Across(s.DB).SelectTable("audit_entries").ColumnExpr("tenant_id, max(at) AS at").
		Where("tenant_id IN (?)", bun.In(ids)).Group("tenant_id").Scan(ctx, &last)
	if err != nil {
		return nil, err
	}
	index := make(map[int64]int, len(ts))
	for i, t := range ts {
		index[t.ID] = i
	}
	for _, n := range counts {
		rows[index[n.TenantID]].Consultations = n.N
	}
	for _, l := range last {
		rows[index[l.TenantID]].LastActivity = l.At
	}
	return rows, nil
}
