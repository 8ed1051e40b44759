// Package consultation holds consultations: one open question, its context, steps, dates and status.
package consultation

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/uptrace/bun"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
)

// Status is where a consultation stands in its life.
type Status string

const (
	Draft     Status = "draft"     // being prepared, visible to staff only
	Open      Status = "open"      // accepts proposals and votes (within its dates)
	Closed    Status = "closed"    // no more proposals or votes; results not yet published
	Published Status = "published" // results published; final
)

// transitions lists, for each status, the statuses SetStatus may move to.
// closed → open reopens a consultation closed too early; published is final.
var transitions = map[Status][]Status{
	Draft:  {Open},
	Open:   {Closed},
	Closed: {Open, Published},
}

// ParseStatus checks s names a status.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case Draft, Open, Closed, Published:
		return st, nil
	}
	return "", errs.Field("status", "unknown status %q: use draft, open, closed or published", s).Say("err_status_unknown")
}

// Limits on what a consultation holds.
const (
	MinQuestion   = 10
	MaxQuestion   = 300
	MaxContext    = 20000
	MaxThemes     = 30
	MaxSteps      = 20
	MinPrefix     = 2
	MaxPrefix     = 30
	MaxSlug       = 60
	MaxThemeSlug  = 40
	MaxThemeLabel = 60
	MaxStepTitle  = 120
	MaxStepText   = 1000
	DefaultPrefix = "Il faut"
	DefaultLang   = "fr"
	minSlugRunes  = 3
	minThemeSlug  = 2
)

// Languages are the languages a consultation can be held in.
var Languages = []string{"fr", "en"}

// Step is one stage of the process, shown as a timeline on the context page.
type Step struct {
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Date        time.Time `json:"date"`
}

// Theme is a tag moderators give accepted proposals; citizens filter by it.
type Theme struct {
	Slug  string `json:"slug"`
	Label string `json:"label"`
}

// ThemeLabel is what people read for a theme's slug: its label, or the slug of a theme the
// consultation no longer has.
func (c Consultation) ThemeLabel(slug string) string {
	for _, t := range c.Themes {
		if t.Slug == slug {
			return t.Label
		}
	}
	return slug
}

// Settings tune the sequence, the zones of results and the limits of one consultation.
// Decode user input onto DefaultSettings() so omitted fields keep their defaults.
type Settings struct {
	SequenceSize        int     `json:"sequence_size"`          // proposals per sequence
	NewRatio            float64 `json:"new_ratio"`              // share of sequence slots for new proposals
	NewMaxVotes         int     `json:"new_max_votes"`          // a proposal is new under this many votes
	TestedMaxVotes      int     `json:"tested_max_votes"`       // a proposal is tested under this many votes
	ControversyRatio    float64 `json:"controversy_ratio"`      // share of tested slots drawn by controversy
	MinVotesForZone     int     `json:"min_votes_for_zone"`     // votes before a proposal gets a zone
	VoteLimitPerMinute  int     `json:"vote_limit_per_minute"`  // votes per participant and minute
	ProposalLimitPerDay int     `json:"proposal_limit_per_day"` // proposals per participant and day
	// MinSegmentSize is the fewest participants a profile segment needs to be published on
	// its own; smaller ones are merged (results.PublicSegments). Auditors see every segment.
	MinSegmentSize int `json:"min_segment_size"`
}

// DefaultSettings are Make.org's published values, plus Concorde's limits.
func DefaultSettings() Settings {
	return Settings{
		SequenceSize:        12,
		NewRatio:            0.3,
		NewMaxVotes:         10,
		TestedMaxVotes:      1500,
		ControversyRatio:    0.1,
		MinVotesForZone:     10,
		VoteLimitPerMinute:  60,
		ProposalLimitPerDay: 10,
		MinSegmentSize:      results.DefaultMinSegmentSize,
	}
}

// Validate checks every setting is within its range.
func (s Settings) Validate() error {
	switch {
	case s.SequenceSize < 1 || s.SequenceSize > 50:
		return errs.Field("settings.sequence_size", "sequence_size must be between 1 and 50 proposals")
	case s.NewRatio < 0 || s.NewRatio > 1:
		return errs.Field("settings.new_ratio", "new_ratio must be between 0 and 1")
	case s.NewMaxVotes < 1:
		return errs.Field("settings.new_max_votes", "new_max_votes must be at least 1")
	case s.TestedMaxVotes <= s.NewMaxVotes:
		return errs.Field("settings.tested_max_votes", "tested_max_votes must be greater than new_max_votes (%d)", s.NewMaxVotes)
	case s.ControversyRatio < 0 || s.ControversyRatio > 1:
		return errs.Field("settings.controversy_ratio", "controversy_ratio must be between 0 and 1")
	case s.MinVotesForZone < 1:
		return errs.Field("settings.min_votes_for_zone", "min_votes_for_zone must be at least 1")
	case s.VoteLimitPerMinute < 1 || s.VoteLimitPerMinute > 10000:
		return errs.Field("settings.vote_limit_per_minute", "vote_limit_per_minute must be between 1 and 10000")
	case s.ProposalLimitPerDay < 1 || s.ProposalLimitPerDay > 1000:
		return errs.Field("settings.proposal_limit_per_day", "proposal_limit_per_day must be between 1 and 1000")
	case s.MinSegmentSize < 2 || s.MinSegmentSize > 1000:
		return errs.Field("settings.min_segment_size", "min_segment_size must be between 2 and 1000 participants")
	}
	return nil
}

// Value stores the settings as JSON text.
func (s Settings) Value() (driver.Value, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// Scan reads settings stored as JSON text onto the defaults, so that a setting added later
// takes its default on older rows.
func (s *Settings) Scan(src any) error {
	*s = DefaultSettings()
	var b []byte
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("consultation settings: cannot scan %T", src)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return json.Unmarshal(b, s)
}

// Consultation is one open question put to citizens.
type Consultation struct {
	bun.BaseModel `bun:"table:consultations,alias:c"`

	TenantID        int64      `bun:"tenant_id,pk" json:"tenant_id"`
	ID              int64      `bun:"id,pk" json:"id"`
	Slug            string     `bun:"slug,notnull" json:"slug"`
	Question        string     `bun:"question,notnull" json:"question"`
	Context         string     `bun:"context,notnull" json:"context"` // Markdown source; see ContextHTML
	Steps           []Step     `bun:"steps,type:text,notnull" json:"steps"`
	Themes          []Theme    `bun:"themes,type:text,notnull" json:"themes"`
	Prefix          string     `bun:"prefix,notnull" json:"prefix"`
	Language        string     `bun:"language,notnull" json:"language"`
	RequiresAccount bool       `bun:"requires_account,notnull" json:"requires_account"`
	Settings        Settings   `bun:"settings,type:text,notnull" json:"settings"`
	Status          Status     `bun:"status,notnull" json:"status"`
	OpensAt         *time.Time `bun:"opens_at" json:"opens_at"`
	ClosesAt        *time.Time `bun:"closes_at" json:"closes_at"`
	PublishedAt     *time.Time `bun:"published_at" json:"published_at"`
	CreatedAt       time.Time  `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt       time.Time  `bun:"updated_at,notnull" json:"updated_at"`
}

// SetTenantID lets store.Scope stamp the consultation with its tenant.
func (c *Consultation) SetTenantID(id int64) { c.TenantID = id }

// IsOpen reports whether the consultation takes proposals and votes at now: its status is
// open and now is within its dates (a missing date does not bound).
func (c Consultation) IsOpen(now time.Time) bool {
	if c.Status != Open {
		return false
	}
	if c.OpensAt != nil && now.Before(*c.OpensAt) {
		return false
	}
	if c.ClosesAt != nil && !now.Before(*c.ClosesAt) {
		return false
	}
	return true
}

// Frozen reports whether the consultation's results may no longer change: once it is closed,
// nothing that moves a count, a score or a zone is allowed (moderation decisions, settings,
// themes, the question), so that what is published is what was voted on.
func (c Consultation) Frozen() bool { return c.Status == Closed || c.Status == Published }

// FrozenError is the conflict returned for a change that would alter the results of a frozen
// consultation; what names the change ("its settings", "moderation decisions").
func (c Consultation) FrozenError(what string) error {
	if c.Status == Published {
		return errs.E(errs.Conflict, "the results of consultation %q are published and final: %s cannot change", c.Slug, what).Say("err_consultation_published_final")
	}
	return errs.E(errs.Conflict, "consultation %q is closed, so its results are frozen: %s cannot change (reopen it first if votes must resume)", c.Slug, what).Say("err_consultation_closed_frozen")
}

// HasTheme reports whether slug is one of the consultation's themes.
func (c Consultation) HasTheme(slug string) bool {
	for _, t := range c.Themes {
		if t.Slug == slug {
			return true
		}
	}
	return false
}

// ThemeSlugs lists the slugs of the consultation's themes, in order.
func (c Consultation) ThemeSlugs() []string {
	out := make([]string, len(c.Themes))
	for i, t := range c.Themes {
		out[i] = t.Slug
	}
	return out
}

// SearchConfig is the PostgreSQL text-search configuration of the consultation's language.
func (c Consultation) SearchConfig() string { return SearchConfig(c.Language) }

// SearchConfig maps a language to its PostgreSQL text-search configuration, as the
// generated column proposals.search does.
func SearchConfig(lang string) string {
	if lang == "en" {
		return "english"
	}
	return "french"
}

var (
	markdown = goldmark.New(
		// No html.WithUnsafe: goldmark replaces raw HTML by a comment, which the policy then drops.
		goldmark.WithExtensions(extension.GFM),
	)
	// The policy is built once and is safe for concurrent use; it is not mutated after this.
	contextPolicy = bluemonday.UGCPolicy().
			RequireNoFollowOnLinks(true).
			AddTargetBlankToFullyQualifiedLinks(true) // adds rel="noopener" with target="_blank"
)

// ContextHTML renders the Markdown context for a page. Raw HTML in the source never reaches
// the output; links get rel="nofollow" (and "noopener" with target="_blank" when external).
func (c Consultation) ContextHTML() template.HTML {
	return RenderMarkdown(c.Context)
}

// RenderMarkdown renders Markdown source as sanitised HTML.
func RenderMarkdown(src string) template.HTML {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		// Convert only fails on a failing writer; a bytes.Buffer does not fail. Show the text escaped.
		return template.HTML("<p>" + template.HTMLEscapeString(src) + "</p>")
	}
	//nolint:gosec // sanitised by the policy just above
	return template.HTML(contextPolicy.SanitizeBytes(buf.Bytes()))
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// ValidateSlug checks a consultation slug: lowercase letters, digits and single hyphens.
func ValidateSlug(slug string) error {
	n := len(slug)
	if n < minSlugRunes || n > MaxSlug || !slugPattern.MatchString(slug) {
		return errs.Field("slug", "the slug must be %d to %d lowercase letters (a-z), digits and single hyphens, such as \"culture-pour-tous\"", minSlugRunes, MaxSlug).Say("err_consultation_slug")
	}
	return nil
}

func validateQuestion(q string) error {
	if n := utf8.RuneCountInString(q); n < MinQuestion || n > MaxQuestion {
		return errs.Field("question", "the question must be %d to %d characters long (it is %d)", MinQuestion, MaxQuestion, n).Say("err_consultation_question")
	}
	return validText("question", q)
}

func validateContext(s string) error {
	if n := utf8.RuneCountInString(s); n > MaxContext {
		return errs.Field("context", "the context must be at most %d characters long (it is %d); link to a longer document instead", MaxContext, n).Say("err_consultation_context")
	}
	return validText("context", s)
}

func validatePrefix(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPrefix || n > MaxPrefix {
		return errs.Field("prefix", "the proposal prefix must be %d to %d characters long, such as \"Il faut\" or \"We must\"", MinPrefix, MaxPrefix).Say("err_consultation_prefix")
	}
	if strings.ContainsAny(p, "<>&\"") {
		return errs.Field("prefix", "the proposal prefix must be plain words, without < > & or quotes").Say("err_consultation_prefix_plain")
	}
	return validText("prefix", p)
}

func validateLanguage(l string) error {
	for _, ok := range Languages {
		if l == ok {
			return nil
		}
	}
	return errs.Field("language", "unknown language %q: use %s", l, strings.Join(Languages, " or ")).Say("err_consultation_language")
}

func validateThemes(ts []Theme) error {
	if len(ts) > MaxThemes {
		return errs.Field("themes", "a consultation has at most %d themes (got %d)", MaxThemes, len(ts)).Say("err_consultation_themes_max")
	}
	seen := map[string]bool{}
	for i, t := range ts {
		if n := len(t.Slug); n < minThemeSlug || n > MaxThemeSlug || !slugPattern.MatchString(t.Slug) {
			return errs.Field(fmt.Sprintf("themes[%d].slug", i), "theme slug %q must be %d to %d lowercase letters (a-z), digits and single hyphens", t.Slug, minThemeSlug, MaxThemeSlug).Say("err_theme_slug")
		}
		if seen[t.Slug] {
			return errs.Field(fmt.Sprintf("themes[%d].slug", i), "theme slug %q is given twice", t.Slug).Say("err_theme_twice")
		}
		seen[t.Slug] = true
		if n := utf8.RuneCountInString(t.Label); n < 1 || n > MaxThemeLabel {
			return errs.Field(fmt.Sprintf("themes[%d].label", i), "the label of theme %q must be 1 to %d characters long", t.Slug, MaxThemeLabel).Say("err_theme_label")
		}
		if err := validText(fmt.Sprintf("themes[%d].label", i), t.Label); err != nil {
			return err
		}
	}
	return nil
}

func validateSteps(ss []Step) error {
	if len(ss) > MaxSteps {
		return errs.Field("steps", "a consultation has at most %d steps (got %d)", MaxSteps, len(ss)).Say("err_consultation_steps_max")
	}
	for i, s := range ss {
		f := fmt.Sprintf("steps[%d]", i)
		if n := utf8.RuneCountInString(s.Title); n < 1 || n > MaxStepTitle {
			return errs.Field(f+".title", "the title of step %d must be 1 to %d characters long", i+1, MaxStepTitle).Say("err_step_title")
		}
		if n := utf8.RuneCountInString(s.Description); n > MaxStepText {
			return errs.Field(f+".description", "the description of step %d must be at most %d characters long", i+1, MaxStepText).Say("err_step_description")
		}
		if s.Date.IsZero() {
			return errs.Field(f+".date", "step %d needs a date", i+1).Say("err_step_date")
		}
		if err := firstErr(validText(f+".title", s.Title), validText(f+".description", s.Description)); err != nil {
			return err
		}
	}
	return nil
}

func validateDates(opens, closes *time.Time) error {
	if opens != nil && closes != nil && !closes.After(*opens) {
		return errs.Field("closes_at", "the closing date must be after the opening date").Say("err_consultation_dates")
	}
	return nil
}

// validText refuses what PostgreSQL cannot store in TEXT (invalid UTF-8, NUL), on both dialects.
func validText(field, s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return errs.Field(field, "%s must be valid UTF-8 text without NUL characters", field).Say("err_text_invalid")
	}
	return nil
}

func firstErr(es ...error) error {
	for _, e := range es {
		if e != nil {
			return e
		}
	}
	return nil
}
