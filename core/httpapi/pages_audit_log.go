package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/spreadsheet"
)

// The audit log as the ethics committee reads it: filtered by actor, action, object and dates,
// paged, with the proposals' texts and people's addresses instead of internal ids, and
// exported as CSV that opens in a spreadsheet.

// auditQuery is the log's filter as a page's form gives it.
type auditQuery struct {
	Actor, Action, Object string
	From, To              string // days, YYYY-MM-DD, in the site's time zone
}

// commonAuditActions are suggested in the action filter (any action can be typed).
var commonAuditActions = []string{"proposal.accept", "proposal.refuse", "proposal.postpone", "proposal.archive",
	"consultation.open", "consultation.close", "consultation.publish", "results.snapshot", "role.grant", "role.revoke",
	"user.create", "token.create", "token.use", "tenant.update", "plugin.enable", "plugin.disable", "plugin.settings"}

// maxAuditExport bounds one CSV export.
const maxAuditExport = 100_000

func readAuditQuery(c *fiber.Ctx) (auditQuery, audit.Filter, error) {
	q := auditQuery{Actor: strings.TrimSpace(c.Query("actor")), Action: strings.TrimSpace(c.Query("action")),
		Object: strings.TrimSpace(c.Query("object")), From: c.Query("from"), To: c.Query("to")}
	for name, v := range map[string]string{"actor": q.Actor, "action": q.Action, "object": q.Object} {
		if len(v) > 200 || strings.ContainsRune(v, 0) {
			return q, audit.Filter{}, errs.Field(name, "%s: at most 200 characters", name).Say("err_filter_too_long")
		}
	}
	f := audit.Filter{Action: q.Action, Object: q.Object}
	switch {
	case strings.Contains(q.Actor, "@") && !strings.Contains(q.Actor, "("):
		f.Actor = q.Actor + " (*" // actors are written "address (subject)"
	default:
		f.Actor = q.Actor
	}
	zone := caller.Tenant(c.UserContext()).Location()
	day := func(name, v string) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		d, err := time.ParseInLocation("2006-01-02", v, zone)
		if err != nil {
			return d, errs.Field(name, "%s must be a day such as 2026-03-31", name).Say("err_filter_day")
		}
		return d, nil
	}
	var err error
	if f.Since, err = day("from", q.From); err != nil {
		return q, f, err
	}
	if f.Until, err = day("to", q.To); err != nil {
		return q, f, err
	}
	if !f.Until.IsZero() {
		f.Until = f.Until.AddDate(0, 0, 1) // the whole last day
	}
	return q, f, nil
}

// values is the query string of the filter, for links that keep it.
func (q auditQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"actor": q.Actor, "action": q.Action, "object": q.Object, "from": q.From, "to": q.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// auditRow is an entry as people read it.
type auditRow struct {
	audit.Entry
	Who, Subject string // "chef@nantes.fr", "u:12"
	ObjectText   string // the proposal's text, for proposal:ID
	ObjectLink   string
	Details      []auditDetail
}

// auditDetail is one recorded value of an entry, as recorded (shown as code), with what people
// call it when it has a name (a role).
type auditDetail struct{ Key, Value, Label string }

// rows describes entries: the actor's address apart from the internal subject, the text of the
// proposals they are about, the detail as key: value lines.
func (s *Server) rows(c *fiber.Ctx, entries []audit.Entry) []auditRow {
	out := make([]auditRow, len(entries))
	proposalOf := func(e audit.Entry) (int64, bool) {
		rest, ok := strings.CutPrefix(e.Object, "proposal:")
		id, err := strconv.ParseInt(rest, 10, 64)
		return id, ok && err == nil
	}
	var ids []int64
	for _, e := range entries {
		if id, ok := proposalOf(e); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	texts, err := s.Proposals.Texts(c.UserContext(), tenantID(c), slices.Compact(ids))
	if err != nil {
		s.Log.Warn("audit log: proposal texts", "error", err.Error()) // the page still lists the entries
	}
	for i, e := range entries {
		r := auditRow{Entry: e, Who: e.Actor}
		if who, sub, ok := strings.Cut(e.Actor, " ("); ok {
			r.Who, r.Subject = who, strings.TrimSuffix(sub, ")")
		}
		if id, ok := proposalOf(e); ok {
			r.ObjectText = texts[id]
		}
		if slug, ok := strings.CutPrefix(e.Object, "consultation:"); ok {
			r.ObjectLink = "/audit/c/" + url.PathEscape(slug)
		}
		var detail map[string]any
		if json.Unmarshal(e.Detail, &detail) == nil {
			keys := make([]string, 0, len(detail))
			for k := range detail {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				v := detail[k]
				var text string
				switch v := v.(type) {
				case string:
					text = v
				default:
					b, _ := json.Marshal(v)
					text = string(b)
				}
				d := auditDetail{Key: k, Value: text}
				if k == "role" {
					d.Label = s.tr(c, "role_"+text) // a role as people name it; the recorded code stays beside
				}
				r.Details = append(r.Details, d)
			}
		}
		out[i] = r
	}
	return out
}

// auditCSV writes every entry the filter selects, oldest last as in the log, as a spreadsheet
// file (core/spreadsheet: UTF-8 with a byte order mark; sep=semicolon for French Excel).
func (s *Server) auditCSV(c *fiber.Ctx) error {
	_, f, err := readAuditQuery(c)
	if err != nil {
		return err
	}
	d, err := spreadsheet.DialectOf(c.Query("sep"))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	w := spreadsheet.NewWriter(&b, d)
	w.Write("seq", "at_utc", "actor", "action", "object", "detail", "hash")
	f.Limit = audit.MaxLimit
	for n := 0; n < maxAuditExport; {
		page, err := s.Audit.List(c.UserContext(), tenantID(c), f)
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			w.Write(spreadsheet.Int(e.Seq), e.At.UTC().Format(time.RFC3339), spreadsheet.Text(e.Actor), spreadsheet.Text(e.Action),
				spreadsheet.Text(e.Object), spreadsheet.Text(string(e.Detail)), e.Hash)
		}
		n += len(page.Entries)
		if page.NextBeforeSeq == 0 {
			break
		}
		f.BeforeSeq = page.NextBeforeSeq
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return sendCSV(c, fmt.Sprintf("audit-%s-%s.csv", caller.Tenant(c.UserContext()).Slug, time.Now().UTC().Format("2006-01-02")), b.Bytes())
}
