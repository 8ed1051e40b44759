package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// The moderation view of one proposal: look-alike proposals (the authors' duplicate hints)
// and its author's other proposals beside it; moderators only, and only on their own site.
func TestModeration_ItemViewShowsLookAlikesAndTheAuthorsOthers(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées gratuitement le dimanche")
		author := e.Visitor(w.A.Host)
		submit := func(text string) int64 {
			res := author.Do("POST", "/api/v1/consultations/culture/proposals", map[string]string{"content": text})
			if res.Status != http.StatusCreated {
				t.Fatalf("propose %q: %d %s", text, res.Status, res.Body)
			}
			return userID(t, res)
		}
		item := submit("Il faut ouvrir les musées gratuitement le samedi")
		other := submit("Il faut des concerts gratuits dans les parcs")

		mod := e.Visitor(w.A.Host)
		mod.SignIn("moderator@ay.test", testsupport.Password)
		queue := mod.Do("GET", "/admin/moderation", nil)
		link := fmt.Sprintf(`<a href="/admin/moderation/%d">ouvrir les musées gratuitement le samedi</a>`, item)
		if queue.Status != http.StatusOK || !strings.Contains(string(queue.Body), link) {
			t.Fatalf("the queue does not link its row to the proposal: %d %s", queue.Status, between(string(queue.Body), `<tbody>`, `</tbody>`))
		}
		if !strings.Contains(string(queue.Body), "En attente (2)") {
			t.Errorf("queue heading: %q", between(string(queue.Body), `id="queue-title">`, "<"))
		}
		res := mod.Do("GET", fmt.Sprintf("/admin/moderation/%d", item), nil)
		page := string(res.Body)
		if res.Status != http.StatusOK || !strings.Contains(page, `id="accept-button"`) {
			t.Fatalf("item view: %d", res.Status)
		}
		dups := between(page, `id="duplicates"`, "</section>")
		if !strings.Contains(dups, "ouvrir les musées gratuitement le dimanche") || strings.Contains(dups, "le samedi") {
			t.Errorf("look-alikes: %q", dups)
		}
		others := between(page, `id="author-others"`, "</section>")
		if !strings.Contains(others, fmt.Sprintf(`href="/admin/moderation/%d"`, other)) || !strings.Contains(others, "En attente") || strings.Contains(others, "le samedi") {
			t.Errorf("the author's others: %q", others)
		}
		// The earlier address of the view sends to the new one.
		if res := mod.Do("GET", fmt.Sprintf("/admin/moderation?p=%d&consultation=culture", item), nil); res.Status != http.StatusMovedPermanently ||
			res.Header.Get("Location") != fmt.Sprintf("/admin/moderation/%d?consultation=culture", item) {
			t.Errorf("old address: %d %q", res.Status, res.Header.Get("Location"))
		}
		// "Next" opens the item's own page.
		if res := mod.PostForm("/admin/moderation/next", url.Values{}); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin/moderation/") {
			t.Errorf("next: %d %q", res.Status, res.Header.Get("Location"))
		}

		// A citizen may not; another site's moderator finds nothing; a bad id is a 404.
		citizen := e.Visitor(w.A.Host)
		citizen.SignIn("citizen@ay.test", testsupport.Password)
		if res := citizen.Do("GET", fmt.Sprintf("/admin/moderation/%d", item), nil); res.Status != http.StatusForbidden {
			t.Errorf("citizen: %d", res.Status)
		}
		bee := e.Visitor(w.B.Host)
		bee.SignIn("moderator@bee.test", testsupport.Password)
		if res := bee.Do("GET", fmt.Sprintf("/admin/moderation/%d", item), nil); res.Status != http.StatusNotFound || strings.Contains(string(res.Body), "samedi") {
			t.Errorf("another site's moderator: %d", res.Status)
		}
		if res := mod.Do("GET", "/admin/moderation/x1", nil); res.Status != http.StatusNotFound && res.Status != http.StatusBadRequest {
			t.Errorf("bad id: %d", res.Status)
		}
		if res := e.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: fmt.Sprintf("/admin/moderation/%d", item), Token: w.A.Tokens[authz.Auditor]}); res.Status != http.StatusForbidden {
			t.Errorf("auditor: %d", res.Status)
		}
	})
}

// The queue pages through thousands of waiting proposals, 50 at a time, without overlap.
func TestModeration_QueuePages(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		submitWaiting(t, e, w, 120)
		mod := e.Visitor(w.A.Host)
		mod.SignIn("moderator@ay.test", testsupport.Password)
		seen := map[string]bool{}
		for page, want := range []int{50, 50, 20} {
			body := string(mod.Do("GET", fmt.Sprintf("/admin/moderation?page=%d", page+1), nil).Body)
			rows := strings.Count(between(body, "<tbody>", "</tbody>"), `<tr class="row-link">`)
			if rows != want {
				t.Errorf("page %d: %d rows, want %d", page+1, rows, want)
			}
			for _, part := range strings.Split(body, "idée numéro ")[1:] {
				if seen[part[:3]] {
					t.Errorf("proposal %s on two pages", part[:3])
				}
				seen[part[:3]] = true
			}
			if !strings.Contains(body, "En attente (120)") {
				t.Errorf("page %d heading: %q", page+1, between(body, `id="queue-title">`, "<"))
			}
			if hasNext := strings.Contains(body, `rel="next"`); hasNext != (page < 2) {
				t.Errorf("page %d: next link %v", page+1, hasNext)
			}
		}
		if len(seen) != 120 {
			t.Errorf("%d proposals over the pages, want 120", len(seen))
		}
	})
}

// BenchmarkModeration_QueuePage serves pages of a queue of 5,000 waiting proposals (SQLite,
// or PostgreSQL with TEST_DATABASE_URL): the first, one deep in it, and one proposal's view.
func BenchmarkModeration_QueuePage(b *testing.B) {
	e := testsupport.New(b, storetest.Dialects()[len(storetest.Dialects())-1])
	site := e.Site("ay")
	ctx := context.Background()
	cs, err := e.App.Consultations.Create(ctx, site.Tenant.ID, "test", consultation.Input{Slug: "culture", Question: "Comment rendre la culture accessible à tous ?"})
	if err != nil {
		b.Fatal(err)
	}
	if cs, err = e.App.Consultations.SetStatus(ctx, site.Tenant.ID, "test", "culture", consultation.Open); err != nil {
		b.Fatal(err)
	}
	var last int64
	for i := range 5000 {
		p, err := e.App.Proposals.Submit(ctx, site.Tenant.ID, cs, fmt.Sprintf("p:a%d", i%700), fmt.Sprintf("Il faut une idée numéro %05d pour la culture", i))
		if err != nil {
			b.Fatal(err)
		}
		last = p.ID
	}
	mod := e.Visitor(site.Host)
	mod.SignIn("moderator@ay.test", testsupport.Password)
	for _, p := range []string{"/admin/moderation", "/admin/moderation?page=100", "/admin/moderation?consultation=culture&page=50", fmt.Sprintf("/admin/moderation/%d", last)} {
		b.Run(p, func(b *testing.B) {
			for b.Loop() {
				if res := mod.Do("GET", p, nil); res.Status != http.StatusOK {
					b.Fatalf("%s: %d", p, res.Status)
				}
			}
		})
	}
}

// The API pages the queue too, and says how many wait; a bad offset is a 400.
func TestModeration_APIQueuePages(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		submitWaiting(t, e, w, 7)
		var page struct {
			Proposals []struct{ ID int64 } `json:"proposals"`
			Waiting   int                  `json:"waiting"`
		}
		seen := map[int64]bool{}
		for _, off := range []string{"0", "3", "6"} {
			res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/moderation/queue?limit=3&offset=" + off, Token: w.moderator})
			res.JSON(t, &page)
			if res.Status != http.StatusOK || page.Waiting != 7 {
				t.Fatalf("offset %s: %d %s", off, res.Status, res.Body)
			}
			for _, p := range page.Proposals {
				if seen[p.ID] {
					t.Errorf("proposal %d twice", p.ID)
				}
				seen[p.ID] = true
			}
		}
		if len(seen) != 7 {
			t.Errorf("%d proposals over the pages, want 7", len(seen))
		}
		if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/moderation/queue?offset=-1", Token: w.moderator}); res.Status != http.StatusBadRequest {
			t.Errorf("bad offset: %d", res.Status)
		}
	})
}

// submitWaiting submits n proposals of n authors to w's consultation "culture", where they
// wait for a moderator.
func submitWaiting(t *testing.T, e *testsupport.Env, w *consultationWorld, n int) {
	t.Helper()
	ctx := context.Background()
	cs, err := e.App.Consultations.Get(ctx, w.A.Tenant.ID, "culture")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := e.App.Proposals.Submit(ctx, w.A.Tenant.ID, cs, fmt.Sprintf("p:author%03d", i), fmt.Sprintf("Il faut une idée numéro %03d pour la culture", i)); err != nil {
			t.Fatal(err)
		}
	}
}
