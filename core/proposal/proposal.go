// Package proposal holds citizens' proposals: submission, moderation and search.
package proposal

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
)

// Status is where a proposal stands in moderation.
type Status string

const (
	Pending   Status = "pending"   // waiting for a moderator; shown to its author only
	Accepted  Status = "accepted"  // shown, voted on and searchable
	Refused   Status = "refused"   // not shown; the author sees the reason
	Postponed Status = "postponed" // set aside by a moderator, back in the queue after pending ones
	Archived  Status = "archived"  // was accepted, now withdrawn from sequences and search
)

// Reason is why a moderator refused a proposal.
type Reason string

const (
	Incomprehensible Reason = "incomprehensible"
	OffTopic         Reason = "off_topic"
	Partisan         Reason = "partisan"
	Illegal          Reason = "illegal"
	Advertising      Reason = "advertising"
	SeveralIdeas     Reason = "several_ideas"
	WrongLanguage    Reason = "wrong_language"
	Rude             Reason = "rude"
	OutOfScope       Reason = "out_of_scope"
	AlreadyExists    Reason = "already_exists"
	Other            Reason = "other"
)

// Reasons lists every refusal reason, in the order moderation screens show them.
var Reasons = []Reason{Incomprehensible, OffTopic, Partisan, Illegal, Advertising, SeveralIdeas,
	WrongLanguage, Rude, OutOfScope, AlreadyExists, Other}

// ParseReason checks s names a refusal reason.
func ParseReason(s string) (Reason, error) {
	for _, r := range Reasons {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(Reasons))
	for i, r := range Reasons {
		names[i] = string(r)
	}
	return "", errs.Field("reason", "unknown refusal reason %q: use one of %s", s, strings.Join(names, ", ")).Say("err_refusal_reason_unknown")
}

// Limits on a proposal's text, counted in characters after the prefix.
const (
	MinLength = 12
	MaxLength = 140
)

// Proposal is one citizen's answer to a consultation's question: the text that follows the
// consultation's prefix ("Il faut" + Content).
//
// Its JSON is the public view: it never carries the author, the moderator or the lock. Use
// StaffView for moderators and auditors; the author's own list (ByAuthor) is this JSON too,
// with status and refusal reason.
type Proposal struct {
	bun.BaseModel `bun:"table:proposals,alias:p"`

	TenantID       int64  `bun:"tenant_id,pk" json:"-"`
	ID             int64  `bun:"id,pk" json:"id"`
	ConsultationID int64  `bun:"consultation_id,notnull" json:"consultation_id"`
	Author         string `bun:"author,notnull" json:"-"` // participant key: "p:<session>" or "u:<tenant>:<user>"
	Content        string `bun:"content,notnull" json:"content"`
	Lang           string `bun:"lang,notnull" json:"lang"`
	Status         Status `bun:"status,notnull" json:"status"`
	RefusalReason  Reason `bun:"refusal_reason,notnull" json:"refusal_reason,omitempty"`
	// RefusalComment is the moderator's word to the author, shown to them with the reason.
	RefusalComment string     `bun:"refusal_comment,notnull" json:"refusal_comment,omitempty"`
	Themes         []string   `bun:"themes,type:text,notnull" json:"themes"`
	CreatedAt      time.Time  `bun:"created_at,notnull" json:"created_at"`
	ModeratedAt    *time.Time `bun:"moderated_at" json:"moderated_at,omitempty"`
	ModeratedBy    string     `bun:"moderated_by,notnull" json:"-"`
	LockedBy       string     `bun:"locked_by,notnull" json:"-"`
	LockedUntil    *time.Time `bun:"locked_until" json:"-"`
}

// SetTenantID lets store.Scope stamp the proposal with its tenant.
func (p *Proposal) SetTenantID(id int64) { p.TenantID = id }

// IsAuthor reports whether participant wrote the proposal.
func (p Proposal) IsAuthor(participant string) bool {
	return participant != "" && p.Author == participant
}

// LockedByOther reports whether a moderator other than moderator holds the proposal at now.
func (p Proposal) LockedByOther(moderator string, now time.Time) bool {
	return p.LockedBy != "" && p.LockedBy != moderator && p.LockedUntil != nil && p.LockedUntil.After(now)
}

// StaffView is a proposal as moderators and auditors see it: with its author key, who
// moderated it and who holds it now.
type StaffView struct {
	Proposal
	Author      string     `json:"author"`
	ModeratedBy string     `json:"moderated_by,omitempty"`
	LockedBy    string     `json:"locked_by,omitempty"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
}

// Staff returns the staff view of p.
func (p Proposal) Staff() StaffView {
	return StaffView{Proposal: p, Author: p.Author, ModeratedBy: p.ModeratedBy, LockedBy: p.LockedBy, LockedUntil: p.LockedUntil}
}

// AcceptedProposal is what the sequence engine needs of an accepted proposal.
type AcceptedProposal struct {
	ID             int64     `json:"id"`
	ConsultationID int64     `json:"consultation_id"`
	Author         string    `json:"-"`
	Content        string    `json:"content"`
	Themes         []string  `json:"themes"`
	CreatedAt      time.Time `json:"created_at"`
	AcceptedAt     time.Time `json:"accepted_at"` // when moderation accepted it
}

var (
	// Each pattern refuses one kind of markup; the message says what to do instead.
	markup = []struct {
		re       *regexp.Regexp
		msg, key string
	}{
		{regexp.MustCompile(`<\s*/|<\s*[a-zA-Z!?]`), "write plain text only: HTML tags such as <b> are not allowed", "err_proposal_html"},
		{regexp.MustCompile(`&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});`), "write plain text only: HTML entities such as &lt; are not allowed; type the character itself", "err_proposal_entity"},
		{regexp.MustCompile(`\[[^\]]*\]\s*\([^)]*\)`), "write plain text only: Markdown links such as [text](address) are not allowed", "err_proposal_markdown"},
		// No \b before the schemes: "0http://x" or "0javascript:x" would slip past a word boundary
		// (found by FuzzValidateContent).
		{regexp.MustCompile(`(?i)(?:javascript|vbscript)\s*:|\bdata\s*:`), "write plain text only: script addresses are not allowed", "err_proposal_script"},
		{regexp.MustCompile(`(?i)(?:https?|ftp)://|\bwww\.`), "links are not allowed in a proposal: describe your idea in words (a moderator would refuse it as advertising)", "err_proposal_link"},
	}
	// The forms a citizen may type the prefix in before the idea, once it is matched: "...", "…", ":".
	afterPrefix = regexp.MustCompile(`^(?:\.{2,}|…|:)\s*`)
)

// ValidateContent turns what a participant typed into a proposal's content: the prefix is
// removed if they typed it (in any case, with "…" or "..." after it), white space is trimmed
// and collapsed, and the rest must be 12 to 140 characters of plain text.
//
// Markup is refused, never stripped, so that nobody's text is silently changed: HTML tags and
// entities, Markdown links, script addresses and web links (http://, https://, www.) are
// errors. Bare domain names ("exemple.fr") are left to moderators, who refuse advertising:
// rejecting every "x.y" would catch abbreviations. Control characters and bidirectional
// overrides, which can disguise text, are refused too.
func ValidateContent(prefix, raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", errs.Field("content", "the text is not valid UTF-8").Say("err_text_not_utf8")
	}
	for _, r := range raw {
		if r == '\t' || r == '\n' || r == '\r' {
			continue
		}
		if unicode.Is(unicode.Cc, r) || isBidiControl(r) {
			return "", errs.Field("content", "the text contains an invisible control character (U+%04X); remove it", r).Say("err_proposal_control_char", fmt.Sprintf("%04X", r))
		}
	}
	text := strings.Join(strings.Fields(raw), " ")
	text = stripPrefix(strings.Join(strings.Fields(prefix), " "), text)
	for _, m := range markup {
		if m.re.MatchString(text) {
			return "", errs.Field("content", "%s", m.msg).Say(m.key)
		}
	}
	n := utf8.RuneCountInString(text)
	switch {
	case n == 0:
		return "", errs.Field("content", "write your proposal after %q", prefix).Say("err_proposal_empty")
	case n < MinLength:
		return "", errs.Field("content", "the proposal is too short (%d characters): write at least %d characters after %q", n, MinLength, prefix).Say("err_proposal_too_short")
	case n > MaxLength:
		return "", errs.Field("content", "the proposal is too long (%d characters): keep it to %d characters after %q, one idea per proposal", n, MaxLength, prefix).Say("err_proposal_too_long")
	}
	return text, nil
}

// stripPrefix removes prefix from the start of text when it is there as whole words.
func stripPrefix(prefix, text string) string {
	if prefix == "" {
		return text
	}
	pr := []rune(prefix)
	tr := []rune(text)
	if len(tr) < len(pr) || !strings.EqualFold(string(tr[:len(pr)]), prefix) {
		return text
	}
	rest := tr[len(pr):]
	if len(rest) > 0 && (unicode.IsLetter(rest[0]) || unicode.IsDigit(rest[0])) {
		return text // "Il fauter" is not "Il faut" + "er"
	}
	s := strings.TrimSpace(string(rest))
	s = afterPrefix.ReplaceAllString(s, "")
	return strings.TrimSpace(s)
}

func isBidiControl(r rune) bool {
	return r == 0x200E || r == 0x200F || r == 0x061C || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// Viewer is who asks to see a proposal. The rule asks its questions only when it needs the
// answer.
type Viewer interface {
	// Participant is the account or anonymous participant asking ("" if none).
	Participant() string
	// SeesUnmoderated is true for those who moderate proposals.
	SeesUnmoderated() bool
}

// VisibleTo reports whether v may see p: accepted proposals are public; others are seen
// by their author and by moderators only (the API, the pages and plugins apply this rule).
func (p *Proposal) VisibleTo(v Viewer) bool {
	return p.Status == Accepted || p.IsAuthor(v.Participant()) || v.SeesUnmoderated()
}
