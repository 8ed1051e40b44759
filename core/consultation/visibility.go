package consultation

import (
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
)

// Who sees what of a consultation is decided here, once, for the JSON API, the site's pages
// and the plugins' host services.

// Viewer is who asks to see a consultation. The rule asks its questions only when it needs
// the answer, so a citizen reading an open consultation costs no permission check.
type Viewer interface {
	// SeesDrafts is true for staff who edit consultations.
	SeesDrafts() bool
	// SeesUnpublishedResults is true for those who review results before they are
	// published (moderators and auditors).
	SeesUnpublishedResults() bool
}

// Public is a viewer with no role: visitors, citizens, and plugins (a plugin serves any
// caller, so it sees what everyone sees).
var Public Viewer = public{}

type public struct{}

func (public) SeesDrafts() bool             { return false }
func (public) SeesUnpublishedResults() bool { return false }

// CheckVisible returns nil if v may see c, else errs.NotFound: to those who may not see a
// draft, it does not exist.
func (c *Consultation) CheckVisible(v Viewer) error {
	if c.Status == Draft && !v.SeesDrafts() {
		return errs.E(errs.NotFound, "no consultation %q", c.Slug).Say("err_consultation_not_found_slug")
	}
	return nil
}

// CheckResultsVisible returns nil if v may see c's results: everyone's once published,
// reviewers' before; else errs.NotFound (a hidden draft) or errs.Forbidden.
func (c *Consultation) CheckResultsVisible(v Viewer) error {
	if err := c.CheckVisible(v); err != nil {
		return err
	}
	if c.Status != Published && !v.SeesUnpublishedResults() {
		return errs.E(errs.Forbidden, "the results of this consultation are not published yet").Say("err_results_unpublished")
	}
	return nil
}

// Visible narrows a query on consultations (alias c) to those v may see.
func Visible(q *bun.SelectQuery, v Viewer) *bun.SelectQuery {
	if !v.SeesDrafts() {
		q = q.Where("c.status <> ?", Draft)
	}
	return q
}
