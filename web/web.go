// Package web renders the site's pages: html/template files and static assets embedded in
// the binary, in the tenant's name and colours, with texts from message catalogues.
package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"path"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/tenants"
)

//go:embed templates/*.html static messages/*.json
var files embed.FS

// Pages renders the embedded templates.
type Pages struct {
	tmpl     map[string]*template.Template
	messages map[string]map[string]string // locale → key → text
}

// Page is what every template receives.
type Page struct {
	Tenant    *tenants.Tenant
	Locale    string
	Title     string
	CSRFToken string
	Status    int
	Message   string
	Data      any
	// Nav is what the header shows: who is signed in, which consoles they may open, and
	// the link that switches language.
	Nav Nav
}

// Nav is the state of the site's header.
type Nav struct {
	SignedIn bool
	Email    string
	Admin    bool // may open the admin console
	Audit    bool // may open the auditor console
	Path     string
	Plugins  []Link
}

// Link is a named link.
type Link struct {
	Href, Label string
}

// funcs are the template functions; "t" and "tf" are bound to the page's locale at render.
func funcs() template.FuncMap {
	return template.FuncMap{
		"t":      func(string) string { return "" },
		"tf":     func(string, ...any) string { return "" },
		"at":     func(time.Time) string { return "" },
		"num":    func(any) string { return "" },
		"plural": func(string, any) string { return "" },
		"pct":    func(f float64) int { return int(f*100 + 0.5) },
		"dec":    func(f float64, digits int) string { return "" },
		"add":    func(a, b int) int { return a + b },
		"contains": func(xs []string, x string) bool {
			for _, y := range xs {
				if y == x {
					return true
				}
			}
			return false
		},
		"otherLocale": func(l string) string {
			if l == "fr" {
				return "en"
			}
			return "fr"
		},
	}
}

// New parses the templates and catalogues; it fails at start, not at the first request.
func New() (*Pages, error) {
	p := &Pages{tmpl: map[string]*template.Template{}, messages: map[string]map[string]string{}}
	for _, loc := range tenants.Locales {
		b, err := files.ReadFile("messages/" + loc + ".json")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("messages/%s.json: %w", loc, err)
		}
		p.messages[loc] = m
	}
	pages, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range pages {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue // the layout and partials (_*.html) are parsed with every page
		}
		t := template.New("layout.html").Funcs(funcs())
		if _, err := t.ParseFS(files, "templates/layout.html", "templates/_*.html", f); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// T returns the text of key in locale, falling back to English, then to the key itself
// (which a test forbids: every key used must exist in every catalogue).
func (p *Pages) T(locale, key string) string {
	if s, ok := p.messages[locale][key]; ok {
		return s
	}
	if s, ok := p.messages["en"][key]; ok {
		return s
	}
	return key
}

// Keys lists the catalogue keys of a locale, for tests.
func (p *Pages) Keys(locale string) map[string]string { return p.messages[locale] }

// Render writes template name with data as an HTML response.
func (p *Pages) Render(c *fiber.Ctx, status int, name string, pg Page) error {
	t, ok := p.tmpl[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	if pg.Locale == "" {
		pg.Locale = "en"
		if pg.Tenant != nil {
			pg.Locale = pg.Tenant.DefaultLocale
		}
	}
	pg.Status = status
	t, err := t.Clone()
	if err != nil {
		return err
	}
	t.Funcs(template.FuncMap{
		"t":  func(key string) string { return p.T(pg.Locale, key) },
		"tf": func(key string, args ...any) string { return fmt.Sprintf(p.T(pg.Locale, key), args...) },
		"at": func(at time.Time) string { return At(pg.Tenant, pg.Locale, at) },
		// num writes a count as the page's readers do: "12 345" in French, "12,345" in English.
		"num": func(n any) string { return Number(pg.Locale, toInt64(n)) },
		// dec writes a decimal with the language's mark: "0,52" in French, "0.52" in English.
		"dec": func(f float64, digits int) string { return Decimal(pg.Locale, f, digits) },
		// plural picks key_one or key_other for n, by the language's rule (French counts 0
		// and 1 as singular: "0 proposition", "1 vote").
		"plural": func(key string, n any) string { return key + "_" + PluralForm(pg.Locale, toInt64(n)) },
	})
	var buf bytes.Buffer
	if err := t.Execute(&buf, pg); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Type("html", "utf-8")
	return c.Status(status).Send(buf.Bytes())
}

// Number writes n with the language's thousands separator (a narrow no-break space in French).
func Number(locale string, n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := ","
	if locale == "fr" {
		sep = "\u202f"
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Decimal writes f with digits decimals and the language's decimal mark ("1,51" in French,
// "1.51" in English), thousands grouped as Number does. It is the one place pages and
// messages write a decimal number.
func Decimal(locale string, f float64, digits int) string {
	s := strconv.FormatFloat(f, 'f', digits, 64)
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	n, _ := strconv.ParseInt(strings.TrimPrefix(whole, "-"), 10, 64)
	out := Number(locale, n)
	if neg {
		out = "-" + out
	}
	if frac != "" {
		mark := "."
		if locale == "fr" {
			mark = ","
		}
		out += mark + frac
	}
	return out
}

// Duration writes a period as people read it, "1 j 2 h", "1 h 30 min", "45 s" ("1 d 2 h" in
// English), rather than Go's "26h0m0s".
func Duration(locale string, d time.Duration) string {
	day := "d"
	if locale == "fr" {
		day = "j"
	}
	var parts []string
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, day}, {time.Hour, "h"}, {time.Minute, "min"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			parts = append(parts, Number(locale, int64(n))+"\u00a0"+u.name)
			d -= n * u.d
		}
	}
	if len(parts) == 0 {
		return "0\u00a0s"
	}
	return strings.Join(parts, " ")
}

// ShortDecimal is f with at most two decimals and no trailing zero ("4,5", "1,07", "3").
func ShortDecimal(locale string, f float64) string {
	d := Decimal(locale, f, 2)
	return strings.TrimRight(strings.TrimRight(d, "0"), ".,")
}

// Percent writes a whole percentage as the language does: "25 %" in French (a narrow
// no-break space before the sign), "25%" in English.
func Percent(locale string, n int) string {
	if locale == "fr" {
		return Number(locale, int64(n)) + "\u202f%"
	}
	return Number(locale, int64(n)) + "%"
}

// Message writes a catalogue text whose verbs take args, in locale: whole numbers are
// grouped as Number does and decimals written as Decimal does (at most two decimals), so the
// catalogue writes every number as %s. The core's errors are said this way (errs.Error.Key).
func (p *Pages) Message(locale, key string, args ...any) string {
	text := p.T(locale, key)
	if len(args) == 0 || !strings.Contains(text, "%") {
		return text // a text may leave the details out ("Votre rôle ne permet pas cette action.")
	}
	local := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case int, int64, int32, uint64:
			local[i] = Number(locale, toInt64(v))
		case float64:
			local[i] = ShortDecimal(locale, v)
		case float32:
			local[i] = ShortDecimal(locale, float64(v))
		case fmt.Stringer:
			local[i] = v.String()
		default:
			local[i] = a
		}
	}
	return fmt.Sprintf(text, local...)
}

// PluralForm is "one" or "other" for a count in a language.
func PluralForm(locale string, n int64) string {
	if n == 1 || (locale == "fr" && n == 0) {
		return "one"
	}
	return "other"
}

func toInt64(n any) int64 {
	switch v := n.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	case int32:
		return int64(v)
	case uint64:
		return int64(v)
	}
	switch r := reflect.ValueOf(n); r.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return r.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(r.Uint())
	}
	return 0
}

// At writes a moment as the site's readers expect it: in the tenant's time zone, in the page's
// language ("05/03/2026 à 14:30" or "2026-03-05 14:30"); UTC, said so, where no tenant is known.
func At(t *tenants.Tenant, locale string, at time.Time) string {
	if at.IsZero() {
		return ""
	}
	zone, suffix := time.UTC, " UTC"
	if t != nil {
		zone, suffix = t.Location(), ""
	}
	at = at.In(zone)
	if locale == "fr" {
		return at.Format("02/01/2006 à 15:04") + suffix
	}
	return at.Format("2006-01-02 15:04") + suffix
}

// Static returns an embedded asset and its content type.
func Static(name string) ([]byte, string, error) {
	clean := path.Clean("/" + name)[1:]
	b, err := files.ReadFile("static/" + clean)
	if err != nil {
		return nil, "", err
	}
	ct := mime.TypeByExtension(path.Ext(clean))
	if ct == "" {
		ct = "application/octet-stream"
	}
	return b, ct, nil
}

// ThemeCSS is the stylesheet that gives a tenant's colours to the site's CSS custom properties.
func ThemeCSS(t *tenants.Tenant) string {
	// Colours are validated as #rrggbb on the way in; nothing else reaches this string.
	return fmt.Sprintf(":root{--primary:%s;--accent:%s}\n", t.ColorPrimary, t.ColorAccent)
}
