package browser_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// labelOverlaps lists the pairs of the chart's texts (ticks, axis names, the proposals'
// numbers) whose boxes, as Chromium lays them out, overlap by more than half a pixel.
const labelOverlaps = `(() => {
	const texts = [...document.querySelectorAll('.chart-svg text')].filter(t => t.textContent.trim() !== '');
	const boxes = texts.map(t => ({name: t.textContent.trim(), r: t.getBoundingClientRect()}));
	const out = [];
	for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
		const a = boxes[i].r, b = boxes[j].r;
		const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
		if (w > 0.5 && h > 0.5) out.push(boxes[i].name + ' × ' + boxes[j].name);
	}
	return out;
})()`

// TestResults_ReadableOnAPhoneAndADesktop reads the demo's published results at 360 and
// 1280 px: a summary in French above the lists, intervals, a chart whose labels do not
// overlap and stay readable, segment tables that fit the screen, no serious or critical
// axe-core violation; and the empty state of a consultation without placed proposals.
func TestResults_ReadableOnAPhoneAndADesktop(t *testing.T) {
	s := newSite(t)
	ctx := s.tab(t, true)
	for _, path := range []string{"/c/mobilites/results", "/c/mobilites/results?dimension=gender"} {
		do(t, ctx, "results", chromedp.Navigate(s.url("bordeaux", path)), chromedp.WaitVisible(chromedp.CSS(".chart-svg")))
		for _, width := range []int64{360, 1280} {
			do(t, ctx, "viewport", chromedp.EmulateViewport(width, 800))
			where := fmt.Sprintf("%s at %d px", path, width)
			sw := eval[int64](t, ctx, `document.documentElement.scrollWidth`)
			if sw > width {
				t.Errorf("%s: the page is %d px wide, wider than the screen", where, sw)
			}
			if n := eval[int](t, ctx, `document.querySelectorAll('.chart-svg text.num').length`); n < 6 {
				t.Errorf("%s: %d numbered dots, want the 6 proposals", where, n)
			}
			if o := eval[[]string](t, ctx, labelOverlaps); len(o) > 0 {
				t.Errorf("%s: chart labels overlap: %v", where, o)
			}
			// The room placeLabels keeps for a number (0.7 em a digit, 1.2 em high, at 12
			// units) holds what Chromium draws, so its guarantee of no overlap, tested on
			// crowded charts in core/httpapi, holds on screen.
			if big := eval[[]string](t, ctx, `(() => { const svg = document.querySelector('.chart-svg'), k = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
				return [...svg.querySelectorAll('text.num')].filter(t => { const r = t.getBoundingClientRect(); return r.width > (0.7 * 12 * t.textContent.length + 2) * k + 0.5 || r.height > 1.2 * 12 * k + 0.5; }).map(t => t.textContent); })()`); len(big) > 0 {
				t.Errorf("%s: numbers %v are drawn larger than the room kept for them", where, big)
			}
			// Readable: no chart text under 10 px high, even on the phone.
			h := eval[float64](t, ctx, `Math.min(...[...document.querySelectorAll('.chart-svg text')].map(t => t.getBoundingClientRect().height))`)
			if h < 10 {
				t.Errorf("%s: the smallest chart text is %.1f px high", where, h)
			}
			t.Logf("%s: page %d px wide, smallest chart text %.1f px high", where, sw, h)
			if w := eval[float64](t, ctx, `Math.max(...[...document.querySelectorAll('.segment-table')].map(t => t.getBoundingClientRect().right))`); w > float64(width) {
				t.Errorf("%s: a segment table ends at %.0f px", where, w)
			}
			for _, v := range s.violations(t, ctx) {
				t.Errorf("axe on %s: %s (%s): %s\n  %s", where, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
			}
		}
		do(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	}
	// The segments stack on a phone: each result under its column's name.
	do(t, ctx, "phone", chromedp.EmulateViewport(360, 800))
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector('.segment-table td .cell-label')).display`); got != "block" {
		t.Errorf("on a phone the segment cells carry no visible column name (display %q)", got)
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector('.segment-table thead')).position`); got != "absolute" {
		t.Errorf("on a phone the segment header row is not moved out of sight (position %q)", got)
	}
	do(t, ctx, "desktop", chromedp.EmulateViewport(1280, 900))

	summary := eval[[]string](t, ctx, `[...document.querySelectorAll('#summary li')].map(li => li.textContent)`)
	joined := strings.Join(summary, "\n")
	for _, want := range []string{"personnes ont voté", "font consensus", "1 proposition divise les participants", "1 proposition est rejetée", "\u202f% d’accord"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the summary does not say %q:\n%s", want, joined)
		}
	}
	for _, english := range []string{"votes counted", "agree", "proposal", "people"} {
		if strings.Contains(joined, english) {
			t.Errorf("English %q in the French summary:\n%s", english, joined)
		}
	}
	if got := text(t, ctx, "#zone-consensus + .zone-explain"); !strings.Contains(got, "60\u202f%") {
		t.Errorf("the consensus zone is explained as %q, want its threshold", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('.zone-explain a[href="/methode#zones"]').length`); n < 3 {
		t.Errorf("%d zone explanations link to the methodology", n)
	}
	if got := text(t, ctx, "li.result .shares"); !strings.Contains(got, "\u202f%)") || !strings.Contains(got, "–") {
		t.Errorf("the shares %q show no interval", got)
	}
	if got := text(t, ctx, "li.result .score"); !strings.Contains(got, ",") {
		t.Errorf("the score %q has no decimal comma", got)
	}
	s.check(t, ctx, "results-readable")

	// A published consultation whose only proposal has no vote: an empty state, not a blank chart.
	tn := s.tenants["bordeaux"]
	_, admin := s.env.Account(tn.ID, "admin-vide@bordeaux.localhost", authz.TenantAdmin)
	_, moderator := s.env.Account(tn.ID, "moderation-vide@bordeaux.localhost", authz.Moderator)
	host := "bordeaux.localhost"
	api := func(token, method, path string, body any, want int) testsupport.Response {
		t.Helper()
		res := s.env.Do(testsupport.Request{Method: method, Host: host, Path: path, Token: token, Body: body})
		if res.Status != want {
			t.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
		}
		return res
	}
	api(admin, "POST", "/api/v1/consultations", map[string]any{"slug": "vide", "question": "Que faire du square Gambetta ?"}, http.StatusCreated)
	api(admin, "POST", "/api/v1/consultations/vide/open", nil, 200)
	res := s.env.Visitor(host).Do("POST", "/api/v1/consultations/vide/proposals", map[string]string{"content": "Il faut planter des arbres fruitiers dans le square"})
	if res.Status != http.StatusCreated {
		t.Fatalf("propose: %d %s", res.Status, res.Body)
	}
	var p struct {
		ID int64 `json:"id"`
	}
	res.JSON(t, &p)
	api(moderator, "POST", fmt.Sprintf("/api/v1/moderation/proposals/%d/accept", p.ID), map[string]any{}, 200)
	api(admin, "POST", "/api/v1/consultations/vide/close", nil, 200)
	api(admin, "POST", "/api/v1/consultations/vide/publish", nil, 200)

	do(t, ctx, "empty results", chromedp.Navigate(s.url("bordeaux", "/c/vide/results")), chromedp.WaitVisible(chromedp.CSS("#chart-empty")))
	if n := eval[int](t, ctx, `document.querySelectorAll('.chart-svg').length`); n != 0 {
		t.Errorf("an empty result draws %d charts", n)
	}
	if got := text(t, ctx, "#summary"); !strings.Contains(got, "Personne n’a encore voté") || !strings.Contains(got, "Pas encore de résultat") {
		t.Errorf("the empty summary says %q", got)
	}
	s.check(t, ctx, "results-empty")
}
