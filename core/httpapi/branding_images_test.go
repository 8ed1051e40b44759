package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, 0, color.RGBA{R: uint8(x), A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bombPNG is a tiny PNG whose header claims w × h pixels (its CRC mended, so only the
// dimensions are wrong): decoding it would allocate gigabytes.
func bombPNG(t *testing.T, w, h uint32) []byte {
	b := pngOf(t, 1, 1)
	// signature (8) + IHDR length (4) + "IHDR" (4): width, height follow; the CRC covers type and data.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

var brandImg = regexp.MustCompile(`/brand/[0-9a-f]{64}\.(?:png|jpg|webp)`)

// The logo and banner are uploaded, checked (size, type by content, SVG refused, dimensions
// read before decoding), stored per tenant, served at an address holding their hash with
// year-long cache headers, replaced and removed, audited; a refused upload says why in the
// site's language and changes nothing.
func TestBranding_ImageUploads(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		ctx := context.Background()
		w := newWorld(t, e)
		// A site from before uploads, with an external logo: still shown until one is uploaded.
		ext := "https://cdn.example.org/logo.png"
		if _, err := e.App.Tenants.Update(ctx, "test", "ay", tenants.Patch{LogoURL: &ext}); err != nil {
			t.Fatal(err)
		}
		visitor := e.Visitor(w.A.Host)
		if page := string(visitor.Do("GET", "/", nil).Body); !strings.Contains(page, `<img src="https://cdn.example.org/logo.png" alt="" height="40">`) {
			t.Fatalf("the external logo is not shown")
		}
		admin := e.Visitor(w.A.Host)
		admin.SignIn("tenant-admin@ay.test", testsupport.Password)
		upload := func(kind string, name string, data []byte, extra ...string) testsupport.Response {
			f := url.Values{"kind": {kind}, "action": {"upload"}}
			for i := 0; i+1 < len(extra); i += 2 {
				f.Set(extra[i], extra[i+1])
			}
			return admin.PostMultipart("/admin/branding/images", f, "file", name, data)
		}

		// Refusals: each a clear 4xx in French, and nothing changes.
		jpg := func() []byte {
			var b bytes.Buffer
			_ = jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 40, 20)), nil)
			return b.Bytes()
		}()
		gifData := func() []byte {
			var b bytes.Buffer
			_ = gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, 4, 4), []color.Color{color.Black, color.White}), nil)
			return b.Bytes()
		}()
		big := append(pngOf(t, 8, 8), bytes.Repeat([]byte{0}, 300<<10)...)
		for _, c := range []struct {
			name, kind, file string
			data             []byte
			status           int
			says             string
		}{
			{"no file", "logo", "", nil, 400, "Choisissez un fichier image"},
			{"too big", "logo", "big.png", big, 400, "trop lourd : 256 Kio au plus"},
			{"SVG", "logo", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 400, "Les images SVG sont refusées"},
			{"SVG with XML prolog, named .png", "banner", "logo.png", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), 400, "Les images SVG sont refusées"},
			{"HTML", "logo", "x.png", []byte(`<html><script>alert(1)</script></html>`), 400, "Les images SVG sont refusées"},
			{"GIF", "logo", "x.gif", gifData, 400, "pas une image PNG, JPEG ou WebP"},
			{"text", "logo", "x.png", []byte("hello, not an image at all"), 400, "pas une image PNG, JPEG ou WebP"},
			{"bomb", "banner", "bomb.png", bombPNG(t, 60000, 60000), 400, "4096 × 2048 pixels au plus"},
			{"too wide for a logo", "logo", "wide.png", pngOf(t, 1500, 10), 400, "1024 × 1024 pixels au plus"},
			{"truncated", "logo", "cut.png", pngOf(t, 64, 64)[:60], 400, ""},
			{"unknown kind", "favicon", "x.png", pngOf(t, 8, 8), 400, "Choisissez le logo ou la bannière"},
			{"alt too long", "banner", "b.jpg", jpg, 400, "250 caractères au plus"},
		} {
			extra := []string{}
			if c.name == "alt too long" {
				extra = []string{"banner_alt", strings.Repeat("é", 251)}
			}
			res := upload(c.kind, c.file, c.data, extra...)
			if res.Status != c.status || !strings.Contains(string(res.Body), c.says) || !strings.Contains(string(res.Body), `id="image-error"`) {
				t.Errorf("%s: %d %q", c.name, res.Status, between(string(res.Body), `id="image-error">`, "</p>"))
			}
		}
		if tt, _ := e.App.Tenants.BySlug(ctx, "ay"); tt.LogoImage != "" || tt.BannerImage != "" || tt.LogoURL != ext {
			t.Fatalf("a refused upload changed the site: %+v", tt)
		}

		// A logo: the external address gives way; served with a hash in its address.
		logo := pngOf(t, 120, 40)
		if res := upload("logo", "logo.png", logo); res.Status != http.StatusSeeOther {
			t.Fatalf("upload logo: %d %s", res.Status, res.Body)
		}
		page := string(visitor.Do("GET", "/", nil).Body)
		src := brandImg.FindString(between(page, `class="brand"`, "</a>"))
		if src == "" || strings.Contains(page, "cdn.example.org") {
			t.Fatalf("the layout does not show the uploaded logo: %q", between(page, `class="brand"`, "</a>"))
		}
		for _, v := range []*testsupport.Visitor{visitor, admin} { // with cookies too: still public and cached
			res := v.Do("GET", src, nil)
			h := res.Header
			if res.Status != 200 || !bytes.Equal(res.Body, logo) || h.Get("Content-Type") != "image/png" || h.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" || !strings.Contains(src, strings.Trim(h.Get("ETag"), `"`)) {
				t.Errorf("serving the logo: %d %v", res.Status, h)
			}
			if res := e.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: src, Header: map[string]string{"If-None-Match": h.Get("ETag")}}); res.Status != http.StatusNotModified {
				t.Errorf("If-None-Match: %d", res.Status)
			}
		}
		// Another site does not serve it; a made-up name is a 404.
		if res := e.Visitor(w.B.Host).Do("GET", src, nil); res.Status != http.StatusNotFound || len(res.Body) == len(logo) {
			t.Errorf("another site serves the logo: %d", res.Status)
		}
		for _, p := range []string{"/brand/" + strings.Repeat("0", 64) + ".png", "/brand/../theme.css", "/brand/x.svg"} {
			if res := visitor.Do("GET", p, nil); res.Status != http.StatusNotFound {
				t.Errorf("%s: %d", p, res.Status)
			}
		}
		if tt, _ := e.App.Tenants.BySlug(ctx, "ay"); tt.LogoURL != "" {
			t.Errorf("the external address stays after an upload: %q", tt.LogoURL)
		}

		// A banner (WebP) with its description, on the home and consultation pages.
		webp, _ := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
		if res := upload("banner", "banner.webp", webp, "banner_alt", "Le port de la ville au coucher du soleil"); res.Status != http.StatusSeeOther {
			t.Fatalf("upload banner: %d %s", res.Status, between(string(res.Body), `id="image-error">`, "</p>"))
		}
		page = string(visitor.Do("GET", "/", nil).Body)
		if !regexp.MustCompile(`<img class="banner" id="banner" src="/brand/[0-9a-f]{64}\.webp" alt="Le port de la ville au coucher du soleil">`).MatchString(page) {
			t.Errorf("home banner: %q", between(page, `<main`, `<h1`))
		}
		if res := admin.PostForm("/admin/branding/images", url.Values{"kind": {"banner"}, "action": {"alt"}, "banner_alt": {"Le port"}}); res.Status != http.StatusSeeOther {
			t.Errorf("banner description: %d", res.Status)
		}

		// Replace the logo: the old address is gone, the new one served.
		logo2 := jpg
		if res := upload("logo", "logo.jpg", logo2); res.Status != http.StatusSeeOther {
			t.Fatalf("replace logo: %d", res.Status)
		}
		src2 := brandImg.FindString(between(string(visitor.Do("GET", "/", nil).Body), `class="brand"`, "</a>"))
		if src2 == src || !strings.HasSuffix(src2, ".jpg") {
			t.Errorf("replaced logo at %q", src2)
		}
		if res := visitor.Do("GET", src, nil); res.Status != http.StatusNotFound {
			t.Errorf("the replaced logo is still served: %d", res.Status)
		}
		// Remove it.
		if res := admin.PostForm("/admin/branding/images", url.Values{"kind": {"logo"}, "action": {"remove"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("remove: %d", res.Status)
		}
		if page := string(visitor.Do("GET", "/", nil).Body); strings.Contains(between(page, `class="brand"`, "</a>"), "<img") {
			t.Error("a removed logo is still shown")
		}
		if res := visitor.Do("GET", src2, nil); res.Status != http.StatusNotFound {
			t.Errorf("a removed logo is still served: %d", res.Status)
		}
		if res := admin.PostForm("/admin/branding/images", url.Values{"kind": {"logo"}, "action": {"remove"}}); res.Status != http.StatusConflict {
			t.Errorf("removing no logo: %d", res.Status)
		}

		// Audited; only the site's admins may; another site's admin cannot reach A's.
		entries, err := e.App.Audit.List(ctx, w.A.Tenant.ID, audit.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, en := range entries.Entries {
			if strings.HasPrefix(en.Action, "tenant.image.") {
				n++
			}
		}
		if n != 5 { // logo, banner, banner description, logo again, removal
			t.Errorf("%d image changes audited, want 5", n)
		}
		for _, who := range []string{"citizen@ay.test", "moderator@ay.test", "auditor@ay.test"} {
			v := e.Visitor(w.A.Host)
			v.SignIn(who, testsupport.Password)
			if res := v.PostMultipart("/admin/branding/images", url.Values{"kind": {"logo"}, "action": {"upload"}}, "file", "l.png", logo); res.Status != http.StatusForbidden {
				t.Errorf("%s uploads: %d", who, res.Status)
			}
		}
		if tt, _ := e.App.Tenants.BySlug(ctx, "bee"); tt.LogoImage != "" {
			t.Error("B changed")
		}
	})
}

// A logo and a banner uploaded at the same moment both stay: each change reads the site's
// images inside its own transaction, so neither writes back the other's old image (and
// deletes the new one).
func TestBranding_LogoAndBannerUploadedAtOnceBothStay(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		site := e.Site("ay")
		ctx := context.Background()
		for round := range 5 {
			logo, banner := pngOf(t, 40+round, 40), pngOf(t, 400+round, 100)
			errc := make(chan error, 2)
			go func() {
				_, err := e.App.Tenants.SetImage(ctx, "test", "ay", tenants.Logo, logo, nil)
				errc <- err
			}()
			go func() {
				_, err := e.App.Tenants.SetImage(ctx, "test", "ay", tenants.Banner, banner, nil)
				errc <- err
			}()
			for range 2 {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			}
			tn, err := e.App.Tenants.BySlug(ctx, "ay")
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{tn.LogoImage, tn.BannerImage} {
				if _, err := e.App.Tenants.Image(ctx, site.Tenant.ID, name); err != nil {
					t.Fatalf("round %d: the site names image %q, which is gone: %v", round, name, err)
				}
			}
		}
	})
}
