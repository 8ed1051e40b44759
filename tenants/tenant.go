// Package tenants holds the tenants (regions, cities, companies) that each get an isolated,
// branded site: their model and rules, their storage, the host-name index that finds the
// tenant of every request, and the service that provisions and changes them.
package tenants

import (
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones resolve on a machine without /usr/share/zoneinfo

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
)

// PlatformID is the tenant that holds platform staff (platform admins, platform-wide auditors)
// and the platform's own audit chain. The first migration creates it.
const PlatformID int64 = 1

// Kind is what sort of organisation a tenant is.
type Kind string

const (
	Region   Kind = "region"
	City     Kind = "city"
	Company  Kind = "company"
	Platform Kind = "platform"
)

// Status says whether a tenant's site is served.
type Status string

const (
	Active    Status = "active"
	Suspended Status = "suspended"
)

// Locales the product is translated into.
var Locales = []string{"fr", "en"}

// Tenant is one organisation's isolated site.
type Tenant struct {
	bun.BaseModel `bun:"table:tenants"`

	ID      int64  `bun:"id,pk" json:"id"`
	Slug    string `bun:"slug" json:"slug"`
	Kind    Kind   `bun:"kind" json:"kind"`
	Name    string `bun:"name" json:"name"`
	LogoURL string `bun:"logo_url" json:"logo_url"` // an external logo, kept until one is uploaded
	// LogoImage and BannerImage name uploaded images (tenant_images; "" for none), served at
	// ImagePath; BannerAlt says what the banner shows, for those who cannot see it.
	LogoImage     string    `bun:"logo_image" json:"logo_image,omitempty"`
	BannerImage   string    `bun:"banner_image" json:"banner_image,omitempty"`
	BannerAlt     string    `bun:"banner_alt" json:"banner_alt,omitempty"`
	ColorPrimary  string    `bun:"color_primary" json:"color_primary"`
	ColorAccent   string    `bun:"color_accent" json:"color_accent"`
	DefaultLocale string    `bun:"default_locale" json:"default_locale"`
	TimeZone      string    `bun:"time_zone" json:"time_zone"` // IANA name: dates on the site and in plugins
	Status        Status    `bun:"status" json:"status"`
	CreatedAt     time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at" json:"updated_at"`

	Hosts []string `bun:"-" json:"hosts"`
}

// Host is one host name that serves a tenant's site.
type Host struct {
	bun.BaseModel `bun:"table:tenant_hosts"`

	TenantID int64  `bun:"tenant_id,pk"`
	Host     string `bun:"host,pk"`
}

func (h *Host) SetTenantID(id int64) { h.TenantID = id }

var (
	slugRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{1,39}$`)
	colorRe = regexp.MustCompile(`^#[0-9a-f]{6}$`)
	labelRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// reserved slugs would shadow platform paths or confuse users.
var reserved = map[string]bool{"platform": true, "admin": true, "api": true, "www": true, "static": true}

// ValidateSlug checks a tenant slug: 2 to 40 lowercase letters, digits or dashes.
func ValidateSlug(s string) error {
	if !slugRe.MatchString(s) {
		return errs.Field("slug", "slug must be 2 to 40 characters: lowercase letters, digits and dashes, starting with a letter").Say("err_tenant_slug")
	}
	if reserved[s] {
		return errs.Field("slug", "slug %q is reserved", s).Say("err_tenant_slug_reserved")
	}
	return nil
}

// ParseKind accepts the kinds a tenant can be created with.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Region, City, Company:
		return k, nil
	}
	return "", errs.Field("kind", "kind must be region, city or company").Say("err_tenant_kind")
}

// NormalizeHost lowercases a host name and strips a port and a trailing dot.
func NormalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

// ValidateHost checks a host name (no scheme, no port, no path).
func ValidateHost(h string) (string, error) {
	n := NormalizeHost(h)
	if n == "" || len(n) > 253 || n != strings.ToLower(strings.TrimSpace(h)) {
		return "", errs.Field("host", "host %q must be a bare host name such as nantes.example.org, without scheme or port", h).Say("err_host_bare")
	}
	for _, label := range strings.Split(n, ".") {
		if !labelRe.MatchString(label) {
			return "", errs.Field("host", "host %q is not a valid host name", h).Say("err_host_invalid")
		}
	}
	return n, nil
}

// ValidateName checks a display name.
func ValidateName(s string) error {
	if n := len([]rune(strings.TrimSpace(s))); n < 2 || n > 120 {
		return errs.Field("name", "name must be 2 to 120 characters").Say("err_tenant_name")
	}
	return nil
}

// ValidateLocale checks a locale against those the product is translated into.
func ValidateLocale(s string) error {
	for _, l := range Locales {
		if s == l {
			return nil
		}
	}
	return errs.Field("default_locale", "default_locale must be one of %s", strings.Join(Locales, ", ")).Say("err_tenant_locale")
}

// TimeZones are suggested to admins (any IANA name is accepted): metropolitan France, its
// overseas territories, and French-speaking neighbours.
var TimeZones = []string{"Europe/Paris", "America/Guadeloupe", "America/Martinique", "America/Cayenne",
	"Indian/Reunion", "Indian/Mayotte", "America/Miquelon", "Pacific/Noumea", "Pacific/Tahiti",
	"Pacific/Wallis", "Europe/Brussels", "Europe/Luxembourg", "Europe/Zurich", "America/Montreal", "UTC"}

// DefaultTimeZone is a new tenant's time zone unless it names one.
const DefaultTimeZone = "Europe/Paris"

// ValidateTimeZone accepts an IANA time zone name such as Europe/Paris or America/Cayenne.
func ValidateTimeZone(s string) error {
	if s == "" || s == "Local" || len(s) > 64 {
		return errs.Field("time_zone", "time_zone must be an IANA time zone such as Europe/Paris").Say("err_tenant_time_zone")
	}
	if _, err := time.LoadLocation(s); err != nil {
		return errs.Field("time_zone", "time_zone must be an IANA time zone such as Europe/Paris").Say("err_tenant_time_zone")
	}
	return nil
}

// Location is the tenant's time zone (UTC if it names none the machine knows). Zones are
// loaded once each: a page writes every one of its dates through this.
func (t *Tenant) Location() *time.Location {
	if t.TimeZone == "" {
		return time.UTC
	}
	if l, ok := zones.Load(t.TimeZone); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return time.UTC
	}
	zones.Store(strings.Clone(t.TimeZone), l)
	return l
}

// zones caches loaded time zones by name; names are validated, so it stays small.
var zones sync.Map

// ValidateLogoURL accepts an https URL or a site-relative path, or nothing.
func ValidateLogoURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || len(s) > 500 || !(u.Scheme == "https" && u.Host != "" || u.Scheme == "" && u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//")) {
		return errs.Field("logo_url", "logo_url must be an https:// URL or a path starting with /").Say("err_tenant_logo")
	}
	return nil
}

// ValidateColor checks a brand colour: #rrggbb, and readable white text on it (WCAG AA,
// contrast at least 4.5:1), since buttons and the header put white text on brand colours.
func ValidateColor(field, c string) error {
	if !colorRe.MatchString(c) {
		return errs.Field(field, "%s must be a colour written #rrggbb in lowercase", field).Say("err_tenant_colour")
	}
	if r := Contrast(c, "#ffffff"); r < 4.5 {
		return errs.Field(field, "%s %s gives white text a contrast of %.2f:1; WCAG AA needs at least 4.5:1, choose a darker colour", field, c, r).Say("err_tenant_contrast")
	}
	return nil
}

// Contrast is the WCAG 2.1 contrast ratio between two #rrggbb colours.
func Contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(c string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(c[i:i+2], 16, 8)
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(1) + 0.7152*ch(3) + 0.0722*ch(5)
}
