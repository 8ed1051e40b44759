package consultation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// Service creates, changes and reads consultations. Every change is audited in the
// transaction that makes it.
type Service struct {
	db  *bun.DB
	log *audit.Log
	ids *store.IDs
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Events, when set, is told of each status change after it commits (name
	// "consultation.open", ".close" or ".publish"); plugins hear of them through it.
	Events func(tenantID int64, name string, payload map[string]any)
	// Publishing, when set, freezes the results of a consultation being published (c, its
	// status already Published) inside the transaction that publishes it, and returns the
	// SHA-256 of what it stored: the publication fails if the snapshot cannot be taken.
	Publishing func(ctx context.Context, tx store.Scope, c Consultation) (sha256 string, err error)
}

// New wires the consultation service.
func New(db *bun.DB, log *audit.Log, ids *store.IDs) *Service {
	return &Service{db: db, log: log, ids: ids, Now: time.Now}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Input is what creating a consultation takes. Empty Prefix and Language take the defaults
// ("Il faut", "fr"); a nil Settings takes DefaultSettings().
type Input struct {
	Slug            string     `json:"slug"`
	Question        string     `json:"question"`
	Context         string     `json:"context"`
	Steps           []Step     `json:"steps"`
	Themes          []Theme    `json:"themes"`
	Prefix          string     `json:"prefix"`
	Language        string     `json:"language"`
	RequiresAccount bool       `json:"requires_account"`
	Settings        *Settings  `json:"settings"`
	OpensAt         *time.Time `json:"opens_at"`
	ClosesAt        *time.Time `json:"closes_at"`
}

// Patch is a partial change; nil fields stay as they are. Settings replaces all settings
// (decode it onto the current ones to change a few). ClearOpensAt and ClearClosesAt remove
// a date. Prefix and Language can change only while the consultation is a draft, since
// proposals are written after the prefix and in the language. Once it is closed (Frozen),
// what changes results (question, themes, settings, requires_account) is refused with a
// conflict; the context, steps and dates, which only describe it, may still change.
type Patch struct {
	Question        *string    `json:"question"`
	Context         *string    `json:"context"`
	Steps           *[]Step    `json:"steps"`
	Themes          *[]Theme   `json:"themes"`
	Prefix          *string    `json:"prefix"`
	Language        *string    `json:"language"`
	RequiresAccount *bool      `json:"requires_account"`
	Settings        *Settings  `json:"settings"`
	OpensAt         *time.Time `json:"opens_at"`
	ClosesAt        *time.Time `json:"closes_at"`
	ClearOpensAt    bool       `json:"clear_opens_at"`
	ClearClosesAt   bool       `json:"clear_closes_at"`
}

// Create adds a draft consultation.
func (s *Service) Create(ctx context.Context, tenantID int64, actor string, in Input) (Consultation, error) {
	c := Consultation{
		Slug:            strings.TrimSpace(in.Slug),
		Question:        strings.TrimSpace(in.Question),
		Context:         in.Context,
		Steps:           normSteps(in.Steps),
		Themes:          normThemes(in.Themes),
		Prefix:          collapse(in.Prefix),
		Language:        strings.TrimSpace(in.Language),
		RequiresAccount: in.RequiresAccount,
		Settings:        DefaultSettings(),
		Status:          Draft,
		OpensAt:         utcPtr(in.OpensAt),
		ClosesAt:        utcPtr(in.ClosesAt),
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Language == "" {
		c.Language = DefaultLang
	}
	if in.Settings != nil {
		c.Settings = *in.Settings
	}
	if err := firstErr(ValidateSlug(c.Slug), validate(c)); err != nil {
		return Consultation{}, err
	}
	now := s.now()
	c.ID, c.CreatedAt, c.UpdatedAt = s.ids.Next(), now, now
	err := store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		if _, err := tx.Insert(&c).Exec(ctx); err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Field("slug", "a consultation with slug %q exists already; choose another slug", c.Slug).Say("err_consultation_slug_taken")
			}
			return err
		}
		_, err := s.log.AppendIn(ctx, tx, audit.Record{
			Actor: actor, Action: "consultation.create", Object: object(c.Slug),
			Detail: map[string]any{"id": c.ID, "question": c.Question, "language": c.Language, "prefix": c.Prefix},
		})
		return err
	})
	if err != nil {
		return Consultation{}, wrap(err, "create consultation "+c.Slug)
	}
	return c, nil
}

// Update applies a partial change and audits the fields it changed.
func (s *Service) Update(ctx context.Context, tenantID int64, actor, slug string, p Patch) (Consultation, error) {
	var c Consultation
	err := store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		var err error
		if c, err = getForUpdate(ctx, tx, slug); err != nil {
			return err
		}
		changed, err := apply(&c, p)
		if err != nil {
			return err
		}
		if len(changed) == 0 {
			return errs.E(errs.Invalid, "nothing to change: give at least one field that differs from the current consultation").Say("err_consultation_nothing")
		}
		if err := validate(c); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		if _, err := tx.Update(&c).WherePK().Exec(ctx); err != nil {
			return err
		}
		_, err = s.log.AppendIn(ctx, tx, audit.Record{
			Actor: actor, Action: "consultation.update", Object: object(c.Slug), Detail: changed,
		})
		return err
	})
	if err != nil {
		return Consultation{}, wrap(err, "update consultation "+slug)
	}
	return c, nil
}

// apply copies p onto c and describes what changed, for the audit log. Long values (context,
// steps) are recorded by size and digest so an entry stays within the log's detail limit.
func apply(c *Consultation, p Patch) (map[string]any, error) {
	changed := map[string]any{}
	if p.Question != nil {
		if q := strings.TrimSpace(*p.Question); q != c.Question {
			if c.Frozen() {
				return nil, c.FrozenError("its question")
			}
			c.Question, changed["question"] = q, q
		}
	}
	if p.Context != nil && *p.Context != c.Context {
		c.Context, changed["context"] = *p.Context, digest(*p.Context)
	}
	if p.Steps != nil {
		steps := normSteps(*p.Steps)
		if !jsonEqual(steps, c.Steps) {
			c.Steps, changed["steps"] = steps, digest(steps)
		}
	}
	if p.Themes != nil {
		themes := normThemes(*p.Themes)
		if !jsonEqual(themes, c.Themes) {
			if c.Frozen() {
				return nil, c.FrozenError("its themes")
			}
			c.Themes = themes
			changed["themes"] = Consultation{Themes: themes}.ThemeSlugs()
		}
	}
	if p.Prefix != nil {
		if v := collapse(*p.Prefix); v != c.Prefix {
			if c.Status != Draft {
				return nil, errs.E(errs.Conflict, "the proposal prefix can only change while the consultation is a draft: proposals already follow %q", c.Prefix).Say("err_consultation_prefix_frozen")
			}
			c.Prefix, changed["prefix"] = v, v
		}
	}
	if p.Language != nil {
		if v := strings.TrimSpace(*p.Language); v != c.Language {
			if c.Status != Draft {
				return nil, errs.E(errs.Conflict, "the language can only change while the consultation is a draft: proposals are already written in %q", c.Language).Say("err_consultation_language_frozen")
			}
			c.Language, changed["language"] = v, v
		}
	}
	if p.RequiresAccount != nil && *p.RequiresAccount != c.RequiresAccount {
		if c.Frozen() {
			return nil, c.FrozenError("whether it requires an account")
		}
		c.RequiresAccount, changed["requires_account"] = *p.RequiresAccount, *p.RequiresAccount
	}
	if p.Settings != nil && *p.Settings != c.Settings {
		if c.Frozen() {
			return nil, c.FrozenError("its settings")
		}
		c.Settings, changed["settings"] = *p.Settings, *p.Settings
	}
	if p.ClearOpensAt && p.OpensAt != nil || p.ClearClosesAt && p.ClosesAt != nil {
		return nil, errs.E(errs.Invalid, "give a date or clear it, not both").Say("err_date_or_clear")
	}
	if d, ok := newDate(c.OpensAt, p.OpensAt, p.ClearOpensAt); ok {
		c.OpensAt, changed["opens_at"] = d, d
	}
	if d, ok := newDate(c.ClosesAt, p.ClosesAt, p.ClearClosesAt); ok {
		c.ClosesAt, changed["closes_at"] = d, d
	}
	return changed, nil
}

// newDate returns the date a patch sets and whether it differs from the current one.
func newDate(cur, set *time.Time, clear bool) (*time.Time, bool) {
	switch {
	case clear:
		return nil, cur != nil
	case set != nil:
		d := utcPtr(set)
		return d, cur == nil || !cur.Equal(*d)
	}
	return cur, false
}

// SetStatus moves a consultation along draft → open → closed → published (closed → open
// reopens it; published is final). Each move is audited as consultation.open, .close or .publish;
// publishing also freezes the results (Publishing) and audits their SHA-256.
func (s *Service) SetStatus(ctx context.Context, tenantID int64, actor, slug string, to Status) (Consultation, error) {
	if _, err := ParseStatus(string(to)); err != nil {
		return Consultation{}, err
	}
	var c Consultation
	err := store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		var err error
		if c, err = getForUpdate(ctx, tx, slug); err != nil {
			return err
		}
		from := c.Status
		if from == to {
			return errs.E(errs.Conflict, "the consultation is %s already", to).Say("err_consultation_status_same")
		}
		if !slices.Contains(transitions[from], to) {
			return errs.E(errs.Conflict, "a %s consultation cannot become %s%s", from, to, allowedHint(from)).Say("err_consultation_status_move")
		}
		now := s.now()
		c.Status, c.UpdatedAt = to, now
		cols := []string{"status", "updated_at"}
		if to == Published {
			c.PublishedAt = &now
			cols = append(cols, "published_at")
		}
		if _, err := tx.Update(&c).Column(cols...).WherePK().Exec(ctx); err != nil {
			return err
		}
		detail := map[string]any{"from": string(from), "to": string(to)}
		if to == Published && s.Publishing != nil {
			sum, err := s.Publishing(ctx, tx, c)
			if err != nil {
				return fmt.Errorf("snapshot the results: %w", err)
			}
			detail["results_sha256"] = sum
		}
		action := map[Status]string{Open: "consultation.open", Closed: "consultation.close", Published: "consultation.publish"}[to]
		_, err = s.log.AppendIn(ctx, tx, audit.Record{
			Actor: actor, Action: action, Object: object(c.Slug), Detail: detail,
		})
		return err
	})
	if err != nil {
		return Consultation{}, wrap(err, fmt.Sprintf("set consultation %s %s", slug, to))
	}
	if s.Events != nil {
		name := map[Status]string{Open: "consultation.open", Closed: "consultation.close", Published: "consultation.publish"}[to]
		s.Events(tenantID, name, map[string]any{"id": c.ID, "slug": c.Slug, "question": c.Question, "status": string(to), "at": c.UpdatedAt})
	}
	return c, nil
}

func allowedHint(from Status) string {
	next := transitions[from]
	if len(next) == 0 {
		return ": it is final"
	}
	names := make([]string, len(next))
	for i, n := range next {
		names[i] = string(n)
	}
	return "; from " + string(from) + " it can become " + strings.Join(names, " or ")
}

// Get returns the consultation with this slug, whatever its status (the caller decides who
// may see a draft).
func (s *Service) Get(ctx context.Context, tenantID int64, slug string) (Consultation, error) {
	c, err := get(ctx, store.For(s.db, tenantID), "slug", slug)
	return c, wrap(err, "get consultation "+slug)
}

// GetByID returns the consultation with this id, whatever its status.
func (s *Service) GetByID(ctx context.Context, tenantID, id int64) (Consultation, error) {
	c, err := get(ctx, store.For(s.db, tenantID), "id", id)
	return c, wrap(err, fmt.Sprintf("get consultation %d", id))
}

// List returns the tenant's consultations, newest first; drafts only when includeDrafts.
func (s *Service) List(ctx context.Context, tenantID int64, includeDrafts bool) ([]Consultation, error) {
	cs := []Consultation{}
	q := store.For(s.db, tenantID).Select(&cs)
	if !includeDrafts {
		q = q.Where("c.status <> ?", Draft)
	}
	if err := q.OrderExpr("c.created_at DESC, c.id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list consultations of tenant %d: %w", tenantID, err)
	}
	return cs, nil
}

func get(ctx context.Context, s store.Scope, column string, value any) (Consultation, error) {
	var c Consultation
	err := s.Select(&c).Where("c.? = ?", bun.Ident(column), value).Limit(1).Scan(ctx)
	if store.IsNoRows(err) {
		return c, errs.E(errs.NotFound, "no such consultation").Say("err_consultation_not_found")
	}
	return c, err
}

// getForUpdate reads a consultation to change it in the transaction s. PostgreSQL locks the
// row so that two concurrent edits do not lose one another; SQLite transactions already hold
// the database's single write lock from their start.
func getForUpdate(ctx context.Context, s store.Scope, slug string) (Consultation, error) {
	var c Consultation
	q := s.Select(&c).Where("c.slug = ?", slug).Limit(1)
	if s.Dialect() == store.Postgres {
		q = q.For("UPDATE")
	}
	err := q.Scan(ctx)
	if store.IsNoRows(err) {
		return c, errs.E(errs.NotFound, "no such consultation").Say("err_consultation_not_found")
	}
	return c, err
}

// validate checks every field but the slug (which never changes).
func validate(c Consultation) error {
	return firstErr(
		validateQuestion(c.Question),
		validateContext(c.Context),
		validateSteps(c.Steps),
		validateThemes(c.Themes),
		validatePrefix(c.Prefix),
		validateLanguage(c.Language),
		c.Settings.Validate(),
		validateDates(c.OpensAt, c.ClosesAt),
	)
}

func object(slug string) string { return "consultation:" + slug }

func normSteps(in []Step) []Step {
	out := make([]Step, len(in))
	for i, s := range in {
		out[i] = Step{Title: strings.TrimSpace(s.Title), Description: strings.TrimSpace(s.Description), Date: s.Date.UTC()}
	}
	return out
}

func normThemes(in []Theme) []Theme {
	out := make([]Theme, len(in))
	for i, t := range in {
		out[i] = Theme{Slug: strings.TrimSpace(t.Slug), Label: strings.TrimSpace(t.Label)}
	}
	return out
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// digest describes a long value in the audit log by its size and SHA-256.
func digest(v any) map[string]any {
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		b, _ = json.Marshal(v)
	}
	sum := sha256.Sum256(b)
	return map[string]any{"bytes": len(b), "sha256": hex.EncodeToString(sum[:])}
}

// wrap keeps domain errors as they are and gives others context.
func wrap(err error, what string) error {
	if err == nil || errs.KindOf(err) != errs.Internal {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}
