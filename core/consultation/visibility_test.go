package consultation_test

import (
	"testing"

	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
)

type viewer struct{ drafts, results bool }

func (v viewer) SeesDrafts() bool             { return v.drafts }
func (v viewer) SeesUnpublishedResults() bool { return v.results }

func TestVisibility_DraftsForEditorsResultsOncePublishedOrForReviewers(t *testing.T) {
	editor, reviewer := viewer{drafts: true}, viewer{results: true}
	for _, c := range []struct {
		name            string
		status          consultation.Status
		v               consultation.Viewer
		seen, seeResult errs.Kind // "" = allowed
	}{
		{"a citizen does not see a draft", consultation.Draft, consultation.Public, errs.NotFound, errs.NotFound},
		{"a reviewer does not see a draft either", consultation.Draft, reviewer, errs.NotFound, errs.NotFound},
		{"an editor sees a draft", consultation.Draft, editor, "", errs.Forbidden},
		{"a citizen sees an open consultation but not its results", consultation.Open, consultation.Public, "", errs.Forbidden},
		{"a reviewer sees the results of a closed one", consultation.Closed, reviewer, "", ""},
		{"everyone sees published results", consultation.Published, consultation.Public, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := consultation.Consultation{Slug: "culture", Status: c.status}
			if got := kindOf(cs.CheckVisible(c.v)); got != c.seen {
				t.Errorf("CheckVisible: %q, want %q", got, c.seen)
			}
			if got := kindOf(cs.CheckResultsVisible(c.v)); got != c.seeResult {
				t.Errorf("CheckResultsVisible: %q, want %q", got, c.seeResult)
			}
		})
	}
}

func kindOf(err error) errs.Kind {
	if err == nil {
		return ""
	}
	return errs.KindOf(err)
}
