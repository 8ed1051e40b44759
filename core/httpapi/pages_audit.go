package httpapi

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/snapshot"
	"github.com/concorde-civic/concorde/core/vote"
)

// The auditor console: everything an auditor may read, and no control that writes. Its one
// action, recomputing results from the raw votes, is a GET that changes nothing.

type auditHome struct {
	Section       string
	Consultations []consultation.Consultation
}

type auditLogPage struct {
	Section string
	Entries []auditRow
	Next    string
	Report  *audit.Report
	Query   auditQuery
	CSV     string // the export of what the filter selects
	Actions []string
}

type auditResultsPage struct {
	Section  string
	Results  resultsPage
	Verified bool
	Match    bool
	Diff     vote.Diff
	// Snapshot is, for published results, their check against the raw votes.
	Snapshot *snapshot.Report
}

func (s *Server) auditPageRoutes() {
	s.handle(Route{Method: get, Path: "/audit", Perm: tenant("audit", "read"), Summary: "Auditors' home: consultations to verify"}, func(c *fiber.Ctx) error {
		cs, err := s.Consultations.List(c.UserContext(), tenantID(c), true)
		if err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "audit_home", s.tr(c, "audit_title"), auditHome{Section: "home", Consultations: cs})
	})

	logPage := func(c *fiber.Ctx, section string, fixed audit.Filter) error {
		q, f, err := readAuditQuery(c)
		if err != nil {
			return err
		}
		if fixed.Object != "" && f.Object == "" {
			f.Object = fixed.Object
		}
		f.Limit = 100
		if v := c.Query("before"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return errs.Field("before", "before must be a positive entry number").Say("err_audit_before")
			}
			f.BeforeSeq = n
		}
		page, err := s.Audit.List(c.UserContext(), tenantID(c), f)
		if err != nil {
			return err
		}
		lp := auditLogPage{Section: section, Entries: s.rows(c, page.Entries), Query: q, Actions: commonAuditActions}
		if page.NextBeforeSeq != 0 {
			v := q.values()
			v.Set("before", strconv.FormatInt(page.NextBeforeSeq, 10))
			lp.Next = "/audit/" + section + "?" + v.Encode()
		}
		csvQuery := q.values()
		if q.Object == "" && fixed.Object != "" {
			csvQuery.Set("object", fixed.Object)
		}
		lp.CSV = "/audit/log.csv?" + csvQuery.Encode()
		if section == "log" {
			r, err := s.Audit.Verify(c.UserContext(), tenantID(c))
			if err != nil {
				return err
			}
			lp.Report = &r
		}
		title := s.tr(c, "audit_log")
		if section == "decisions" {
			title = s.tr(c, "audit_decisions")
		}
		return s.render(c, fiber.StatusOK, "audit_log", title, lp)
	}
	s.handle(Route{Method: get, Path: "/audit/log", Perm: tenant("audit", "read"), Summary: "The audit log, for auditors"}, func(c *fiber.Ctx) error {
		return logPage(c, "log", audit.Filter{})
	})
	s.handle(Route{Method: get, Path: "/audit/log.csv", Perm: tenant("audit", "read"), Summary: "The audit log as CSV (the page's filters; sep=semicolon for French spreadsheets)"}, s.auditCSV)
	s.handle(Route{Method: get, Path: "/audit/decisions", Perm: tenant("audit", "read"), Summary: "Moderation decisions from the audit log"}, func(c *fiber.Ctx) error {
		return logPage(c, "decisions", audit.Filter{Object: "proposal:*"})
	})

	s.handle(Route{Method: get, Path: "/audit/c/:slug", Perm: tenant("audit", "read"), Summary: "A consultation's results recomputed from the raw votes, for auditors"}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		r, err := s.Results(c, e, "")
		if err != nil {
			return err
		}
		ap := auditResultsPage{Section: "home", Results: s.resultsPage(s.words(c), r, e.Consultation, e.ScoreConfig())}
		if c.Query("verify") == "1" {
			d, err := s.Votes.Recompute(c.UserContext(), tenantID(c), e.Consultation.ID, false, nil)
			if err != nil {
				return err
			}
			ap.Verified, ap.Match, ap.Diff = true, len(d.Mismatches) == 0, d
			if f, err := s.frozenOf(e); err != nil {
				return err
			} else if f != nil {
				r, err := s.Snapshots.Verify(c.UserContext(), e.Consultation)
				if err != nil {
					return err
				}
				ap.Snapshot = &r
			}
		}
		return s.render(c, fiber.StatusOK, "audit_results", e.Consultation.Question, ap)
	})
}
