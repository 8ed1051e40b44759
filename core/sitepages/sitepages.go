// Package sitepages holds the legal and trust pages every tenant site serves — mentions
// légales, privacy policy (RGPD), accessibility statement (RGAA) and moderation charter — in
// Markdown: a default written for the site (its name and language filled in), which the
// tenant admin replaces with their own text, or resets by saving an empty one. The
// methodology page (/methode) is generated from the code's own rules instead (core/httpapi).
package sitepages

import (
	"bytes"
	"context"
	"embed"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// Names are the pages, by the path they are served at ("/mentions-legales"), in footer order.
var Names = []string{"mentions-legales", "confidentialite", "accessibilite", "charte"}

// MaxBytes bounds a page's Markdown.
const MaxBytes = 64 << 10

// Page is one page of a site as it is served.
type Page struct {
	Name     string    `json:"name"`
	Markdown string    `json:"markdown"`
	Custom   bool      `json:"custom"` // written by the tenant, not the default
	Updated  time.Time `json:"updated_at,omitzero"`
}

// row is a page a tenant wrote.
type row struct {
	bun.BaseModel `bun:"table:site_pages,alias:sp"`

	TenantID  int64     `bun:"tenant_id,pk"`
	Name      string    `bun:"name,pk"`
	Markdown  string    `bun:"markdown,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// SetTenantID lets store.Scope stamp the row with its tenant.
func (r *row) SetTenantID(id int64) { r.TenantID = id }

// Service reads and writes the pages.
type Service struct {
	db  *bun.DB
	log *audit.Log
	Now func() time.Time
}

// NewService returns the pages of every tenant in db; changes are audited in log.
func NewService(db *bun.DB, log *audit.Log) *Service {
	return &Service{db: db, log: log, Now: time.Now}
}

// Site is what the defaults are written with.
type Site struct {
	Name   string // the tenant's name: "Région Bretagne"
	Host   string // where the site is served
	Locale string // fr or en
	// Reasons are the refusal reasons, as the site's language names them (the charter's list).
	Reasons []string
}

// Valid reports whether name is one of the pages.
func Valid(name string) bool {
	for _, n := range Names {
		if n == name {
			return true
		}
	}
	return false
}

// Get returns the page as the tenant wrote it, or its default for site.
func (s *Service) Get(ctx context.Context, tenantID int64, name string, site Site) (Page, error) {
	if !Valid(name) {
		return Page{}, errs.E(errs.NotFound, "no such page").Say("err_sitepage_not_found")
	}
	var r row
	err := store.For(s.db, tenantID).Select(&r).Where("sp.name = ?", name).Scan(ctx)
	switch {
	case err == nil:
		return Page{Name: name, Markdown: r.Markdown, Custom: true, Updated: r.UpdatedAt}, nil
	case store.IsNoRows(err):
		md, err := Default(name, site)
		return Page{Name: name, Markdown: md}, err
	default:
		return Page{}, err
	}
}

// Set replaces a page's text; an empty text goes back to the default. The change is audited.
func (s *Service) Set(ctx context.Context, actor string, tenantID int64, name, markdown string) error {
	if !Valid(name) {
		return errs.E(errs.NotFound, "no such page").Say("err_sitepage_not_found")
	}
	markdown = strings.ReplaceAll(strings.TrimSpace(markdown), "\r\n", "\n")
	if len(markdown) > MaxBytes || !utf8.ValidString(markdown) || strings.ContainsRune(markdown, 0) {
		return errs.Field("markdown", "the page must be valid text of at most %d KiB", MaxBytes>>10).Say("err_sitepage_too_long")
	}
	return store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		if _, err := tx.Delete((*row)(nil)).Where("name = ?", name).Exec(ctx); err != nil {
			return err
		}
		action := "page.reset"
		if markdown != "" {
			action = "page.update"
			r := &row{Name: name, Markdown: markdown, UpdatedAt: s.Now().UTC().Truncate(time.Microsecond)}
			if _, err := tx.Insert(r).Exec(ctx); err != nil {
				return err
			}
		}
		_, err := s.log.AppendIn(ctx, tx, audit.Record{Actor: actor, Action: action, Object: "page:" + name,
			Detail: map[string]any{"bytes": len(markdown)}})
		return err
	})
}

//go:embed defaults
var defaults embed.FS

// Default is a page's default text for a site, in its language (French unless English).
func Default(name string, site Site) (string, error) {
	if !Valid(name) {
		return "", errs.E(errs.NotFound, "no such page").Say("err_sitepage_not_found")
	}
	lang := "fr"
	if site.Locale == "en" {
		lang = "en"
	}
	src, err := defaults.ReadFile("defaults/" + lang + "/" + name + ".md")
	if err != nil {
		return "", err
	}
	t, err := template.New(name).Parse(string(src))
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, site); err != nil {
		return "", err
	}
	return b.String(), nil
}
