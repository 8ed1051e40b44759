package proposal_test

import (
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
)

func TestValidateContent_KeepsPlainIdeasAndRefusesMarkup(t *testing.T) {
	long := strings.Repeat("é", 141)
	cases := []struct {
		name, raw, want string
		wantErr         string // part of the message, "" when accepted
	}{
		{"without prefix", "rendre les musées gratuits le dimanche", "rendre les musées gratuits le dimanche", ""},
		{"prefix typed", "Il faut rendre les musées gratuits", "rendre les musées gratuits", ""},
		{"prefix in other case with ellipsis", "IL FAUT... rendre les musées gratuits", "rendre les musées gratuits", ""},
		{"prefix with unicode ellipsis", "il faut… rendre les musées gratuits", "rendre les musées gratuits", ""},
		{"white space collapsed", "  rendre   les\tmusées\n gratuits  ", "rendre les musées gratuits", ""},
		{"prefix-like word kept", "Il fauterait rendre les musées gratuits", "Il fauterait rendre les musées gratuits", ""},
		{"inequality is not a tag", "taxer moins si revenu < 1000 euros", "taxer moins si revenu < 1000 euros", ""},
		{"exactly 12 characters", "Il faut lire plus !!", "lire plus !!", ""},
		{"140 characters", strings.Repeat("a", 140), strings.Repeat("a", 140), ""},
		{"empty after prefix", "Il faut", "", "write your proposal after"},
		{"too short", "Il faut lire", "", "too short"},
		{"too long in characters not bytes", long, "", "too long"},
		{"HTML tag", "rendre les <b>musées</b> gratuits", "", "HTML tags"},
		{"closing tag", "rendre les musées gratuits </p>", "", "HTML tags"},
		{"script tag", "<script>alert(1)</script> des musées", "", "HTML tags"},
		{"entity", "rendre les musées &lt;gratuits&gt;", "", "HTML entities"},
		{"numeric entity", "rendre les musées &#60;gratuits", "", "HTML entities"},
		{"markdown link", "voir [ce site](http://x.fr) pour les musées", "", "Markdown links"},
		{"javascript address", "cliquer javascript:alert(1) pour voir", "", "script addresses"},
		{"web link", "aller sur https://exemple.fr pour les musées", "", "links are not allowed"},
		{"www address", "aller sur www.exemple.fr pour les musées", "", "links are not allowed"},
		{"control character", "rendre les musées\x07 gratuits le dimanche", "", "control character"},
		{"bidi override", "rendre les musées \u202egratuits le dimanche", "", "control character"},
		{"invalid UTF-8", "rendre les musées \xff gratuits", "", "UTF-8"},
	}
	for _, tc := range cases {
		got, err := proposal.ValidateContent("Il faut", tc.raw)
		if tc.wantErr == "" {
			if err != nil || got != tc.want {
				t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
			}
			continue
		}
		msg, field := errs.MessageOf(err)
		if err == nil || errs.KindOf(err) != errs.Invalid || field != "content" || !strings.Contains(msg, tc.wantErr) {
			t.Errorf("%s: got %q, %v; want an invalid content error saying %q", tc.name, got, err, tc.wantErr)
		}
	}
}

func TestParseReason_KnowsEveryReason(t *testing.T) {
	for _, r := range proposal.Reasons {
		if got, err := proposal.ParseReason(string(r)); err != nil || got != r {
			t.Errorf("ParseReason(%q) = %q, %v", r, got, err)
		}
	}
	if len(proposal.Reasons) != 11 {
		t.Errorf("%d reasons, want 11", len(proposal.Reasons))
	}
	if _, err := proposal.ParseReason("ugly"); errs.KindOf(err) != errs.Invalid {
		t.Errorf("unknown reason: %v", err)
	}
}

type proposalViewer struct {
	me        string
	moderator bool
}

func (v proposalViewer) Participant() string   { return v.me }
func (v proposalViewer) SeesUnmoderated() bool { return v.moderator }

func TestProposal_VisibleToEveryoneOnceAcceptedElseAuthorAndModerators(t *testing.T) {
	for _, c := range []struct {
		name   string
		status proposal.Status
		v      proposal.Viewer
		want   bool
	}{
		{"accepted, anyone", proposal.Accepted, proposalViewer{}, true},
		{"pending, a stranger", proposal.Pending, proposalViewer{me: "p:other"}, false},
		{"pending, no participant", proposal.Pending, proposalViewer{}, false},
		{"pending, its author", proposal.Pending, proposalViewer{me: "p:author"}, true},
		{"refused, a moderator", proposal.Refused, proposalViewer{moderator: true}, true},
	} {
		p := proposal.Proposal{Author: "p:author", Status: c.status}
		if got := p.VisibleTo(c.v); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
