package browser_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/concorde-civic/concorde/core/consultation"
)

// TestJourney runs issue 13's citizen journey and back-office screens in Chromium: the
// sequence's progress to its call to action, the proposal page's share control, the branding
// uploads and the moderation view of one proposal; axe-core at 360 and 1280 px on each.
func TestJourney(t *testing.T) {
	s := newSite(t)
	t.Run("sequence progress to the end-of-sequence call to action", s.testSequenceProgress)
	t.Run("proposal page share control", s.testShareControl)
	t.Run("branding: logo and banner uploads", s.testBrandingUploads)
	t.Run("moderation view of one proposal", s.testModerationItem)
}

// checkBoth runs axe-core at 360 and at 1280 px wide, then takes the screenshots (check).
func (s *site) checkBoth(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	do(t, ctx, "narrow", chromedp.EmulateViewport(360, 800), chromedp.Sleep(50*time.Millisecond))
	for _, v := range s.violations(t, ctx) {
		t.Errorf("axe at 360 px on %s: %s (%s): %s\n  %s", location(t, ctx), v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
	}
	if over := eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`); over {
		t.Errorf("%s overflows at 360 px (%d px wide)", location(t, ctx), eval[int](t, ctx, `document.documentElement.scrollWidth`))
	}
	do(t, ctx, "wide", chromedp.EmulateViewport(1280, 900))
	s.check(t, ctx, name)
}

func (s *site) testSequenceProgress(t *testing.T) {
	ctx := context.Background()
	tn := s.tenants["bretagne"]
	settings := consultation.DefaultSettings()
	settings.SequenceSize = 5
	if _, err := s.env.App.Consultations.Update(ctx, tn.ID, "test", "culture", consultation.Patch{Settings: &settings}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.env.App.Consultations.Get(ctx, tn.ID, "culture"); err == nil {
		s.env.App.Catalog.Invalidate(tn.ID, c.ID)
	}
	tab := s.tab(t, true)
	do(t, tab, "consultation", chromedp.Navigate(s.url("bretagne", "/c/culture")), chromedp.WaitVisible(chromedp.CSS("#card-content")))
	if got := text(t, tab, "#seq-progress-text"); got != "1 / 5" {
		t.Fatalf("progress %q, want 1 / 5", got)
	}
	if l := eval[string](t, tab, `document.getElementById('seq-progress-bar').getAttribute('aria-label')`); l != "Proposition 1 sur 5" {
		t.Errorf("progress bar named %q", l)
	}
	s.checkBoth(t, tab, "sequence-progress")
	for i := 1; i <= 5; i++ {
		if i == 4 { // the profile questions come after three votes
			waitFor(t, tab, "the profile questions", `!document.getElementById('profile-slot').hidden`)
			do(t, tab, "skip the profile", chromedp.Click(chromedp.CSS(`#profile button[value=skip]`)))
		}
		waitFor(t, tab, fmt.Sprintf("card %d", i), fmt.Sprintf(`document.getElementById('seq-progress-text').textContent === '%d / 5' && !document.getElementById('card').hidden`, i))
		if v := eval[int](t, tab, `document.getElementById('seq-progress-bar').value`); v != i {
			t.Errorf("card %d: the progress bar is at %d", i, v)
		}
		do(t, tab, "agree", chromedp.Click(chromedp.CSS(`#card button[value=agree]`)), chromedp.WaitVisible(chromedp.CSS(`#card .next button`)),
			chromedp.Click(chromedp.CSS(`#card .next button`)))
	}
	waitFor(t, tab, "the end of the sequence", `!document.getElementById('sequence-end').hidden && document.activeElement.id === 'sequence-end' && document.getElementById('card').hidden`)
	if got := text(t, tab, "#sequence-end"); !strings.Contains(got, "Série terminée") || !strings.Contains(got, "Proposer votre idée") || !strings.Contains(got, "Partager cette consultation") {
		t.Errorf("end of the sequence says %q", got)
	}
	if n := len(s.votesOf(t, "bretagne", s.participant(t, tab))); n != 5 {
		t.Errorf("%d votes, want 5", n)
	}
	s.checkBoth(t, tab, "sequence-end")
	// Another series starts again at 1, in place.
	do(t, tab, "another series", chromedp.Click(chromedp.CSS(`#sequence-end #sequence-again`)))
	waitFor(t, tab, "a new series", `document.getElementById('seq-progress-text').textContent.startsWith('1 / ') && !document.getElementById('card').hidden && document.activeElement.id === 'card-text'`)
}

func (s *site) testShareControl(t *testing.T) {
	e, err := s.env.App.Catalog.BySlug(context.Background(), s.tenants["bretagne"].ID, "culture")
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for pid := range e.Proposals {
		id = pid
		break
	}
	path := fmt.Sprintf("/proposals/%d", id)
	want := s.url("bretagne", path)

	// Without JavaScript: the link in a read-only field, the e-mail link; no dead buttons.
	plain := s.tab(t, false)
	do(t, plain, "proposal page", chromedp.Navigate(want), chromedp.WaitVisible(chromedp.CSS("#share-link")))
	if v := eval[string](t, plain, `document.getElementById('share-link').value`); v != want || !eval[bool](t, plain, `document.getElementById('share-link').readOnly`) {
		t.Errorf("share field %q", v)
	}
	if eval[bool](t, plain, `document.getElementById('share-copy').checkVisibility() || document.getElementById('share-native').checkVisibility()`) {
		t.Error("a button that needs JavaScript shows without it")
	}
	if href := eval[string](t, plain, `document.getElementById('share-mail').href`); !strings.HasPrefix(href, "mailto:?subject=") || !strings.Contains(href, "%2Fproposals%2F") && !strings.Contains(href, "%2fproposals%2f") {
		t.Errorf("e-mail link %q", href)
	}
	// (axe-core cannot run where scripts are off: the same page is checked with JavaScript below.)

	// With it: the copy button copies the address, and says so; a refused copy says what to do.
	tab := s.tab(t, true)
	do(t, tab, "proposal page", chromedp.Navigate(want), chromedp.WaitVisible(chromedp.CSS("#share-copy")))
	eval[bool](t, tab, `(navigator.clipboard.writeText = t => { window.__copied = t; return Promise.resolve(); }, true)`)
	do(t, tab, "copy", chromedp.Click(chromedp.CSS("#share-copy")))
	waitFor(t, tab, "copied", `document.getElementById('share-status').textContent === 'Lien copié.'`)
	if got := eval[string](t, tab, `window.__copied`); got != want {
		t.Errorf("copied %q, want %q", got, want)
	}
	s.checkBoth(t, tab, "proposal-share")
	eval[bool](t, tab, `(navigator.clipboard.writeText = () => Promise.reject(new Error('denied')), true)`)
	do(t, tab, "copy refused", chromedp.Click(chromedp.CSS("#share-copy")))
	waitFor(t, tab, "the fallback", `document.getElementById('share-status').textContent.startsWith('La copie n’a pas marché') && document.activeElement.id === 'share-link'`)
	if sel := eval[string](t, tab, `String(document.getSelection ? document.getElementById('share-link').value.substring(document.getElementById('share-link').selectionStart, document.getElementById('share-link').selectionEnd) : '')`); sel != want {
		t.Errorf("the link is not selected for copying by hand: %q", sel)
	}
}

func writePNG(t *testing.T, dir, name string, w, h int, c color.RGBA) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *site) testBrandingUploads(t *testing.T) {
	dir := t.TempDir()
	logo := writePNG(t, dir, "logo.png", 160, 48, color.RGBA{R: 0, G: 80, B: 140, A: 255})
	banner := writePNG(t, dir, "banner.png", 1200, 300, color.RGBA{R: 240, G: 200, B: 80, A: 255})
	svg := filepath.Join(dir, "logo.svg")
	if err := os.WriteFile(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 0o644); err != nil {
		t.Fatal(err)
	}
	tab := s.tab(t, true)
	s.signIn(t, tab, "bretagne", "admin@bretagne.localhost")
	do(t, tab, "branding", chromedp.Navigate(s.url("bretagne", "/admin/branding")), chromedp.WaitVisible(chromedp.CSS("#logo-file")))
	s.checkBoth(t, tab, "branding-uploads")

	// An SVG is refused, in French, and nothing changes.
	do(t, tab, "choose an SVG", chromedp.SetUploadFiles(chromedp.CSS("#logo-file"), []string{svg}))
	if st := navigate(t, tab, "upload SVG", chromedp.Click(chromedp.CSS("#logo-form button[type=submit]"))); st != 400 {
		t.Errorf("SVG upload: status %d", st)
	}
	if msg := text(t, tab, "#image-error"); !strings.Contains(msg, "Les images SVG sont refusées") {
		t.Errorf("SVG refusal says %q", msg)
	}
	s.checkBoth(t, tab, "branding-upload-refused")

	// A logo and a banner with its description.
	do(t, tab, "choose a logo", chromedp.SetUploadFiles(chromedp.CSS("#logo-file"), []string{logo}))
	navigate(t, tab, "upload logo", chromedp.Click(chromedp.CSS("#logo-form button[type=submit]")))
	do(t, tab, "choose a banner", chromedp.WaitVisible(chromedp.CSS("#banner-file")), chromedp.SetUploadFiles(chromedp.CSS("#banner-file"), []string{banner}),
		chromedp.SendKeys(chromedp.CSS("#banner-alt"), "Le littoral breton au soleil"))
	navigate(t, tab, "upload banner", chromedp.Click(chromedp.CSS(`#banner-form button[value=upload]`)))
	do(t, tab, "saved", chromedp.WaitVisible(chromedp.CSS("#banner-current")))
	waitFor(t, tab, "the header logo", `(() => { const i = document.querySelector('.site-header .brand img'); return i && i.complete && i.naturalWidth === 160 && i.getAttribute('src').startsWith('/brand/'); })()`)

	visitor := s.tab(t, true)
	for _, p := range []string{"/", "/c/culture"} {
		do(t, visitor, p, chromedp.Navigate(s.url("bretagne", p)), chromedp.WaitVisible(chromedp.CSS("#banner")))
		waitFor(t, visitor, "the banner", `(() => { const i = document.getElementById('banner'); return i.complete && i.naturalWidth === 1200 && i.alt === 'Le littoral breton au soleil'; })()`)
	}
	do(t, visitor, "home", chromedp.Navigate(s.url("bretagne", "/")), chromedp.WaitVisible(chromedp.CSS("#banner")))
	s.checkBoth(t, visitor, "home-banner")
}

func (s *site) testModerationItem(t *testing.T) {
	ctx := context.Background()
	tn := s.tenants["bretagne"]
	cs, err := s.env.App.Consultations.Get(ctx, tn.ID, "culture")
	if err != nil {
		t.Fatal(err)
	}
	const author = "p:journey-author"
	for _, text := range []string{"Il faut ouvrir les musées gratuitement tous les dimanches", "Il faut des concerts de quartier chaque été"} {
		if _, err := s.env.App.Proposals.Submit(ctx, tn.ID, cs, author, text); err != nil {
			t.Fatal(err)
		}
	}
	tab := s.tab(t, true)
	s.signIn(t, tab, "bretagne", "moderator@bretagne.localhost")
	do(t, tab, "queue", chromedp.Navigate(s.url("bretagne", "/admin/moderation")), chromedp.WaitVisible(chromedp.CSS("table.queue")))
	s.checkBoth(t, tab, "moderation-queue")
	// The whole row opens the proposal: a click on its date cell follows the row's link.
	row := `//table[contains(@class,'queue')]//tr[td/a[contains(., 'musées gratuitement tous les dimanches')]]`
	href := eval[string](t, tab, `(() => { const tr = document.evaluate("`+row+`", document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
		tr.cells[2].setAttribute('data-target', 'date'); return tr.querySelector('a').getAttribute('href'); })()`)
	navigate(t, tab, "open from the row", chromedp.Click(chromedp.CSS(`td[data-target=date]`)))
	if loc := location(t, tab); !strings.HasSuffix(loc, href) || !strings.Contains(href, "/admin/moderation/") {
		t.Fatalf("the row opened %s, want %s", loc, href)
	}
	do(t, tab, "item", chromedp.WaitVisible(chromedp.CSS("#duplicates")))
	if got := text(t, tab, "#duplicates"); !strings.Contains(got, "musées gratuitement le premier dimanche") {
		t.Errorf("look-alikes: %q", got)
	}
	if got := text(t, tab, "#author-others"); !strings.Contains(got, "concerts de quartier") || !strings.Contains(got, "En attente") {
		t.Errorf("the author's others: %q", got)
	}
	if id := eval[string](t, tab, `document.activeElement.id`); id != "accept-button" {
		t.Errorf("the item opens with focus on %q", id)
	}
	s.checkBoth(t, tab, "moderation-item")
	// And with the keyboard from the queue: the row's text is an ordinary link.
	do(t, tab, "queue", chromedp.Navigate(s.url("bretagne", "/admin/moderation")), chromedp.WaitVisible(chromedp.CSS("table.queue")))
	eval[bool](t, tab, `(document.querySelector('table.queue tbody a').focus(), true)`)
	navigate(t, tab, "Enter on a row", chromedp.KeyEvent("\r"))
	if loc := location(t, tab); !strings.Contains(loc, "/admin/moderation/") {
		t.Errorf("Enter on a row's link opened %s", loc)
	}
}
