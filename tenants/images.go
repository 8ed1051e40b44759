package tenants

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for image.DecodeConfig and image.Decode
	_ "image/png"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	_ "golang.org/x/image/webp"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/changes"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// ImageKind is what an uploaded image is for.
type ImageKind string

const (
	Logo   ImageKind = "logo"   // in the header of every page, beside the site's name
	Banner ImageKind = "banner" // at the top of the home page and of each consultation
)

// ImageLimit bounds one kind of image: its file size and its pixel dimensions. The
// dimensions are read from the header (image.DecodeConfig) before any pixel is decoded, so a
// small file that claims a huge picture (a decompression bomb) is refused unread.
type ImageLimit struct {
	MaxBytes            int
	MaxWidth, MaxHeight int
}

// ImageLimits are the limits of each kind.
var ImageLimits = map[ImageKind]ImageLimit{
	Logo:   {MaxBytes: 256 << 10, MaxWidth: 1024, MaxHeight: 1024},
	Banner: {MaxBytes: 1 << 20, MaxWidth: 4096, MaxHeight: 2048},
}

// MaxBannerAlt is how long a banner's text alternative may be, in characters.
const MaxBannerAlt = 250

// Image is one uploaded image of a tenant.
type Image struct {
	bun.BaseModel `bun:"table:tenant_images,alias:ti"`

	TenantID    int64     `bun:"tenant_id,pk"`
	Name        string    `bun:"name,pk"` // sha256 hex + "." + extension
	ContentType string    `bun:"content_type,notnull"`
	Width       int       `bun:"width,notnull"`
	Height      int       `bun:"height,notnull"`
	Data        []byte    `bun:"data,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

// SetTenantID lets store.Scope stamp the image with its tenant.
func (i *Image) SetTenantID(id int64) { i.TenantID = id }

// ImagePath is where a site serves one of its images: the name holds the content's hash, so
// the address can be cached for ever and a new image gets a new address.
func ImagePath(name string) string { return "/brand/" + name }

// LogoSrc is the address of the site's logo: the uploaded one, else the external address
// of earlier versions (kept until an upload replaces it), else "".
func (t Tenant) LogoSrc() string {
	if t.LogoImage != "" {
		return ImagePath(t.LogoImage)
	}
	return t.LogoURL
}

// BannerSrc is the address of the site's banner, or "".
func (t Tenant) BannerSrc() string {
	if t.BannerImage == "" {
		return ""
	}
	return ImagePath(t.BannerImage)
}

// ImageRefusal says why an upload was refused, as a code pages turn into a sentence of their
// catalogue (image_CODE) with Args; the API gives the error's English message.
type ImageRefusal struct {
	Code string // empty, too_large, svg, type, dimensions, corrupt, alt_long, kind
	Args []any
}

func (r *ImageRefusal) Error() string { return "image refused: " + r.Code }

func refuse(k errs.Kind, code string, args []any, format string, fargs ...any) error {
	e := errs.Wrap(k, &ImageRefusal{Code: code, Args: args}, format, fargs...)
	e.Field = "file"
	return e
}

var formats = map[string]struct{ contentType, ext string }{
	"png":  {"image/png", "png"},
	"jpeg": {"image/jpeg", "jpg"},
	"webp": {"image/webp", "webp"},
}

// CheckImage checks an uploaded file for kind: its size, its type by its content (PNG, JPEG or
// WebP; SVG is refused, since it can carry scripts), its dimensions from its header, then
// that the whole picture decodes. It returns the image ready to store (without tenant).
func CheckImage(kind ImageKind, data []byte) (Image, error) {
	lim, ok := ImageLimits[kind]
	if !ok {
		return Image{}, refuse(errs.Invalid, "kind", nil, "an image is a logo or a banner")
	}
	if len(data) == 0 {
		return Image{}, CheckImageMissing()
	}
	if len(data) > lim.MaxBytes {
		return Image{}, CheckImageTooLarge(len(data), lim.MaxBytes)
	}
	sniffed := http.DetectContentType(data)
	if looksLikeSVG(data, sniffed) {
		return Image{}, refuse(errs.Invalid, "svg", nil, "SVG images are refused (they can carry scripts): upload a PNG, JPEG or WebP image")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	f, known := formats[format]
	if err != nil || !known || f.contentType != sniffed {
		return Image{}, refuse(errs.Invalid, "type", nil, "the file is not a PNG, JPEG or WebP image")
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > lim.MaxWidth || cfg.Height > lim.MaxHeight {
		return Image{}, refuse(errs.Invalid, "dimensions", []any{lim.MaxWidth, lim.MaxHeight},
			"the image is %d × %d pixels; a %s may be at most %d × %d", cfg.Width, cfg.Height, kind, lim.MaxWidth, lim.MaxHeight)
	}
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		return Image{}, refuse(errs.Invalid, "corrupt", nil, "the image cannot be read (it may be truncated): %v", err)
	}
	sum := sha256.Sum256(data)
	return Image{Name: hex.EncodeToString(sum[:]) + "." + f.ext, ContentType: f.contentType, Width: cfg.Width, Height: cfg.Height, Data: data}, nil
}

// ParseImageKind checks the kind a form names.
func ParseImageKind(s string) (ImageKind, error) {
	if k := ImageKind(s); k == Logo || k == Banner {
		return k, nil
	}
	return "", refuse(errs.Invalid, "kind", nil, "an image is a logo or a banner")
}

// CheckImageMissing is the refusal of a form sent without a file.
func CheckImageMissing() error {
	return refuse(errs.Invalid, "empty", nil, "choose an image file to upload")
}

// CheckImageTooLarge is the refusal of a file of size bytes, over max.
func CheckImageTooLarge(size, max int) error {
	return refuse(errs.TooLarge, "too_large", []any{max >> 10}, "the file is %d KiB; at most %d KiB are accepted", (size+1023)>>10, max>>10)
}

// looksLikeSVG is true for SVG or any XML or HTML text, whatever the file is called.
func looksLikeSVG(data []byte, sniffed string) bool {
	if strings.HasPrefix(sniffed, "text/") {
		head := strings.ToLower(string(data[:min(len(data), 1024)]))
		return strings.Contains(head, "<svg") || strings.Contains(head, "<?xml") || strings.HasPrefix(sniffed, "text/xml") || strings.HasPrefix(sniffed, "text/html")
	}
	return false
}

// ValidateBannerAlt checks a banner's text alternative.
func ValidateBannerAlt(alt string) error {
	if utf8.RuneCountInString(alt) > MaxBannerAlt {
		return refuse(errs.Invalid, "alt_long", []any{MaxBannerAlt}, "the banner's description is at most %d characters", MaxBannerAlt)
	}
	if !utf8.ValidString(alt) || strings.ContainsAny(alt, "\x00\r\n") {
		return errs.Field("banner_alt", "the banner's description is one line of text")
	}
	return nil
}

// SetImage makes data (checked by CheckImage) the tenant's logo or banner, in place of the one
// before (which is deleted); an uploaded logo also replaces an external logo_url. alt, when
// not nil, is the banner's new description. Audited; nothing changes when the image is refused.
func (s *Service) SetImage(ctx context.Context, actor, slug string, kind ImageKind, data []byte, alt *string) (Tenant, error) {
	img, err := CheckImage(kind, data)
	if err != nil {
		return Tenant{}, err
	}
	if alt != nil {
		a := strings.TrimSpace(*alt)
		if err := ValidateBannerAlt(a); err != nil {
			return Tenant{}, err
		}
		alt = &a
	}
	img.CreatedAt = s.Now().UTC().Truncate(time.Microsecond)
	detail := map[string]any{"kind": string(kind), "image": img.Name, "bytes": len(data), "width": img.Width, "height": img.Height}
	return s.saveImages(ctx, actor, slug, "tenant.image.set", detail, &img, func(t *Tenant) error {
		switch kind {
		case Logo:
			if t.LogoURL != "" {
				detail["logo_url"] = "" // the external address gives way to the upload
			}
			t.LogoImage, t.LogoURL = img.Name, ""
		case Banner:
			t.BannerImage = img.Name
			if alt != nil {
				t.BannerAlt, detail["banner_alt"] = *alt, *alt
			}
		}
		return nil
	})
}

// RemoveImage takes the tenant's logo or banner away (the external logo_url, if any, too).
func (s *Service) RemoveImage(ctx context.Context, actor, slug string, kind ImageKind) (Tenant, error) {
	if kind != Logo && kind != Banner {
		return Tenant{}, refuse(errs.Invalid, "kind", nil, "an image is a logo or a banner")
	}
	return s.saveImages(ctx, actor, slug, "tenant.image.remove", map[string]any{"kind": string(kind)}, nil, func(t *Tenant) error {
		switch kind {
		case Logo:
			if t.LogoImage == "" && t.LogoURL == "" {
				return errs.E(errs.Conflict, "the site has no logo to remove").Say("err_no_logo")
			}
			t.LogoImage, t.LogoURL = "", ""
		case Banner:
			if t.BannerImage == "" {
				return errs.E(errs.Conflict, "the site has no banner to remove").Say("err_no_banner")
			}
			t.BannerImage, t.BannerAlt = "", ""
		}
		return nil
	})
}

// SetBannerAlt changes the banner's description alone.
func (s *Service) SetBannerAlt(ctx context.Context, actor, slug, alt string) (Tenant, error) {
	alt = strings.TrimSpace(alt)
	if err := ValidateBannerAlt(alt); err != nil {
		return Tenant{}, err
	}
	return s.saveImages(ctx, actor, slug, "tenant.image.alt", map[string]any{"kind": string(Banner), "banner_alt": alt}, nil, func(t *Tenant) error {
		if t.BannerImage == "" {
			return errs.E(errs.Conflict, "upload a banner before describing it").Say("err_banner_first")
		}
		t.BannerAlt = alt
		return nil
	})
}

// saveImages reads the tenant slug inside one transaction (locked on PostgreSQL; SQLite's
// transactions hold the write lock from their start), lets change set its image columns,
// writes them, stores img if given, deletes the images no longer in use and audits the
// change, then makes every node read the tenant again. Reading inside the transaction keeps
// two uploads at once (a logo and a banner) from each writing back the other's old image.
func (s *Service) saveImages(ctx context.Context, actor, slug, action string, detail map[string]any, img *Image, change func(*Tenant) error) (Tenant, error) {
	var t Tenant
	err := s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(&t).Where("slug = ?", slug)
		if store.DialectOf(s.db) == store.Postgres {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil {
			if store.IsNoRows(err) {
				return errs.E(errs.NotFound, "no tenant %q", slug).Say("err_tenant_not_found")
			}
			return err
		}
		if err := change(&t); err != nil {
			return err
		}
		t.UpdatedAt = s.Now().UTC().Truncate(time.Microsecond)
		scope := store.For(tx, t.ID)
		if img != nil {
			if _, err := scope.Insert(img).On("CONFLICT (tenant_id, name) DO NOTHING").Exec(ctx); err != nil {
				return fmt.Errorf("store image: %w", err)
			}
		}
		if _, err := tx.NewUpdate().Model(&t).Column("logo_url", "logo_image", "banner_image", "banner_alt", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		if _, err := scope.Delete((*Image)(nil)).Where("ti.name NOT IN (?)", bun.In([]string{t.LogoImage, t.BannerImage})).Exec(ctx); err != nil {
			return fmt.Errorf("delete unused images: %w", err)
		}
		if _, err := s.log.Append(ctx, tx, t.ID, audit.Record{Actor: actor, Action: action, Object: "tenant:" + t.Slug, Detail: detail}); err != nil {
			return err
		}
		_, err := changes.Bump(ctx, tx, changes.Tenants, "")
		return err
	})
	if err != nil {
		return Tenant{}, wrap(err, action+" "+slug)
	}
	hosts, err := s.hostsOf(ctx, t.ID)
	if err != nil {
		return Tenant{}, err
	}
	t.Hosts = hosts
	return t, s.refreshIfHeld(ctx)
}

// imageName is the form of an image's name: a SHA-256 and an extension.
var imageName = regexp.MustCompile(`^[0-9a-f]{64}\.(png|jpg|webp)$`)

// Image reads one of the tenant's images in use; errs.NotFound for any other name.
func (s *Service) Image(ctx context.Context, tenantID int64, name string) (Image, error) {
	var img Image
	if !imageName.MatchString(name) {
		return img, errs.E(errs.NotFound, "no such image")
	}
	err := store.For(s.db, tenantID).Select(&img).Where("ti.name = ?", name).Limit(1).Scan(ctx)
	if store.IsNoRows(err) {
		return img, errs.E(errs.NotFound, "no such image")
	}
	if err != nil {
		return img, fmt.Errorf("read image %s: %w", name, err)
	}
	return img, nil
}
