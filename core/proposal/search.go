package proposal

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// Search limits.
const (
	DefaultPerPage = 20
	MaxPerPage     = 100
	MaxPage        = 1000 // deeper pages are refused: narrow the search instead
	MaxQueryRunes  = 200
	maxTerms       = 12 // words of a query kept
	DefaultSimilar = 5
	MaxSimilar     = 20
)

// Query selects accepted proposals of one consultation. Empty Text and Theme select all.
type Query struct {
	Text    string `json:"q"`
	Theme   string `json:"theme"`
	Page    int    `json:"page"`     // from 1; 0 means 1
	PerPage int    `json:"per_page"` // DefaultPerPage when 0, at most MaxPerPage
}

// Page is one page of search results.
type Page struct {
	Proposals []Proposal `json:"proposals"`
	Total     int        `json:"total"` // results on every page
	Page      int        `json:"page"`
	PerPage   int        `json:"per_page"`
}

var themePattern = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// Search finds accepted proposals by words and theme, most relevant first, then newest.
//
// Words are matched by full-text search: on PostgreSQL with the consultation language's
// stemming (French or English: "musées" finds "musée"); on SQLite with the Porter stemmer,
// which stems English only, and accents ignored ("musees" finds "musées"). Every word must
// match. The user's text is reduced to its words, so no search syntax of either engine can
// be injected through it.
func (s *Service) Search(ctx context.Context, tenantID, consultationID int64, q Query) (Page, error) {
	switch {
	case q.Page < 0 || q.Page > MaxPage:
		return Page{}, errs.Field("page", "page must be between 1 and %d", MaxPage).Say("err_page_range")
	case q.PerPage < 0:
		return Page{}, errs.Field("per_page", "per_page must not be negative")
	case utf8.RuneCountInString(q.Text) > MaxQueryRunes:
		return Page{}, errs.Field("q", "the search text must be at most %d characters", MaxQueryRunes).Say("err_search_too_long")
	case q.Theme != "" && !themePattern.MatchString(q.Theme):
		return Page{}, errs.Field("theme", "unknown theme %q", q.Theme).Say("err_theme_unknown_search")
	}
	if q.Page == 0 {
		q.Page = 1
	}
	if q.PerPage == 0 {
		q.PerPage = DefaultPerPage
	}
	if q.PerPage > MaxPerPage {
		q.PerPage = MaxPerPage
	}
	scope := store.For(s.db, tenantID)
	lang, err := language(ctx, scope, consultationID)
	if err != nil {
		return Page{}, err
	}
	page := Page{Proposals: []Proposal{}, Page: q.Page, PerPage: q.PerPage}
	terms := searchTerms(q.Text, lang)
	if strings.TrimSpace(q.Text) != "" && len(terms) == 0 {
		return page, nil // only punctuation: nothing can match
	}

	build := func(sel *bun.SelectQuery) *bun.SelectQuery {
		sel = sel.Where("p.consultation_id = ?", consultationID).Where("p.status = ?", Accepted)
		if q.Theme != "" {
			// Themes are stored as a JSON array of slugs, and a slug holds no quote or wildcard.
			sel = sel.Where("p.themes LIKE ?", `%"`+q.Theme+`"%`)
		}
		return sel
	}
	list := build(scope.Select(&page.Proposals))
	count := build(scope.Select((*Proposal)(nil)))
	if len(terms) > 0 {
		if store.DialectOf(s.db) == store.Postgres {
			cfg, text := consultation.SearchConfig(lang), strings.Join(terms, " ")
			list = list.Where("p.search @@ plainto_tsquery(?::regconfig, ?)", cfg, text).
				OrderExpr("ts_rank(p.search, plainto_tsquery(?::regconfig, ?)) DESC", cfg, text)
			count = count.Where("p.search @@ plainto_tsquery(?::regconfig, ?)", cfg, text)
		} else {
			match := ftsQuery(terms, " ", false)
			list = list.Join("JOIN proposals_fts ON proposals_fts.rowid = p.rowid").
				Where("proposals_fts MATCH ?", match).OrderExpr("bm25(proposals_fts) ASC")
			count = count.Join("JOIN proposals_fts ON proposals_fts.rowid = p.rowid").
				Where("proposals_fts MATCH ?", match)
		}
	}
	total, err := count.Count(ctx)
	if err != nil {
		return Page{}, fmt.Errorf("count proposals of consultation %d: %w", consultationID, err)
	}
	page.Total = int(total)
	err = list.OrderExpr("p.created_at DESC, p.id DESC").
		Limit(int64(q.PerPage)).Offset(int64((q.Page - 1) * q.PerPage)).Scan(ctx)
	if err != nil {
		return Page{}, fmt.Errorf("search proposals of consultation %d: %w", consultationID, err)
	}
	return page, nil
}

// Similar returns accepted proposals of a consultation that share significant words with
// text, most similar first: hints shown while a participant types, to avoid duplicates. Any
// one significant word may match; the last one is also matched as a prefix when text does not
// end with a space (the participant is typing it).
func (s *Service) Similar(ctx context.Context, tenantID, consultationID int64, text string, limit int) ([]Proposal, error) {
	switch {
	case limit < 0:
		return nil, errs.Field("limit", "limit must not be negative")
	case limit == 0:
		limit = DefaultSimilar
	case limit > MaxSimilar:
		limit = MaxSimilar
	}
	if utf8.RuneCountInString(text) > 4*MaxLength {
		return nil, errs.Field("text", "the text is too long to look for similar proposals").Say("err_similar_too_long")
	}
	scope := store.For(s.db, tenantID)
	lang, err := language(ctx, scope, consultationID)
	if err != nil {
		return nil, err
	}
	ps := []Proposal{}
	terms := significant(words(text), lang)
	if len(terms) == 0 {
		return ps, nil
	}
	typing := text != "" && !unicode.IsSpace([]rune(text)[utf8.RuneCountInString(text)-1])
	q := scope.Select(&ps).Where("p.consultation_id = ?", consultationID).Where("p.status = ?", Accepted)
	if store.DialectOf(s.db) == store.Postgres {
		parts := make([]string, len(terms))
		copy(parts, terms)
		if typing {
			parts[len(parts)-1] += ":*"
		}
		// terms hold letters and digits only, so this is a well-formed tsquery.
		tsq := strings.Join(parts, " | ")
		cfg := consultation.SearchConfig(lang)
		q = q.Where("p.search @@ to_tsquery(?::regconfig, ?)", cfg, tsq).
			OrderExpr("ts_rank(p.search, to_tsquery(?::regconfig, ?)) DESC", cfg, tsq)
	} else {
		q = q.Join("JOIN proposals_fts ON proposals_fts.rowid = p.rowid").
			Where("proposals_fts MATCH ?", ftsQuery(terms, " OR ", typing)).
			OrderExpr("bm25(proposals_fts) ASC")
	}
	if err := q.OrderExpr("p.created_at DESC, p.id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("similar proposals in consultation %d: %w", consultationID, err)
	}
	return ps, nil
}

// language returns the language of a consultation of the scope's tenant, or errs.NotFound.
func language(ctx context.Context, s store.Scope, consultationID int64) (string, error) {
	var lang string
	err := s.Select((*consultation.Consultation)(nil)).Column("language").
		Where("c.id = ?", consultationID).Limit(1).Scan(ctx, &lang)
	if store.IsNoRows(err) {
		return "", errs.E(errs.NotFound, "no such consultation").Say("err_consultation_not_found")
	}
	if err != nil {
		return "", fmt.Errorf("read consultation %d: %w", consultationID, err)
	}
	return lang, nil
}

// ftsQuery builds an FTS5 query from words: each is a quoted string, so FTS5 operators,
// column filters and special characters typed by a user are only ever text.
func ftsQuery(terms []string, sep string, lastPrefix bool) string {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	if lastPrefix {
		quoted[len(quoted)-1] += "*"
	}
	return strings.Join(quoted, sep)
}

// words splits text into lower-case words of letters and digits, once each, in order.
func words(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
		if len(out) == maxTerms {
			break
		}
	}
	return out
}

// searchTerms are the words of a search: its significant words or, when it has none (a
// search for "le"), all its words.
func searchTerms(text, lang string) []string {
	ws := words(text)
	if sig := significant(ws, lang); len(sig) > 0 {
		return sig
	}
	return ws
}

// significant drops stop words and one-letter words (elisions such as the l of "l'accès").
func significant(ws []string, lang string) []string {
	stop := stopFR
	if lang == "en" {
		stop = stopEN
	}
	var out []string
	for _, w := range ws {
		if utf8.RuneCountInString(w) > 1 && !stop[w] {
			out = append(out, w)
		}
	}
	return out
}

func set(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// The commonest function words, which every proposal shares and which would make every
// proposal "similar". PostgreSQL drops its own list too; SQLite's FTS5 has none.
var (
	stopFR = set(`au aux avec ce ces cet cette dans de des du elle en et il ils je la le les leur leurs
		lui ma mais me même mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son
		sur ta te tes toi ton tu un une vos votre vous y été être avoir faut il faire plus tous tout
		toutes toute sont est sont ont afin chaque`)
	stopEN = set(`a an and are as at be by for from has have in is it its of on or that the to was were
		will with we must should all more our their they this these those not no can make`)
)
