package proposal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/storetest"
)

var ctx = context.Background()

// env is a database with tenants 2 and 3 and an open consultation of tenant 2.
type env struct {
	db    *bun.DB
	log   *audit.Log
	cs    *consultation.Service
	ps    *proposal.Service
	c     consultation.Consultation
	clock *clock
}

// clock starts at a fixed time and moves one second at each reading, so that proposals
// are created in a known order.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func setup(t *testing.T, db *bun.DB) *env {
	t.Helper()
	storetest.AddTenants(t, db, 2, 3)
	log := audit.New(db)
	ids := &store.IDs{}
	e := &env{db: db, log: log, cs: consultation.New(db, log, ids), ps: proposal.New(db, log, ids),
		clock: &clock{t: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}}
	e.ps.Now = e.clock.Now
	e.cs.Now = e.clock.Now
	e.c = e.open(t, 2, "culture", "fr")
	return e
}

// open creates and opens a consultation with themes musees and lecture.
func (e *env) open(t *testing.T, tenantID int64, slug, lang string) consultation.Consultation {
	t.Helper()
	in := consultation.Input{Slug: slug, Question: "Comment rendre la culture accessible à tous ?", Language: lang,
		Themes: []consultation.Theme{{Slug: "musees", Label: "Musées"}, {Slug: "lecture", Label: "Lecture"}}}
	if lang == "en" {
		in.Prefix = "We must"
	}
	if _, err := e.cs.Create(ctx, tenantID, "user:1", in); err != nil {
		t.Fatal(err)
	}
	c, err := e.cs.SetStatus(ctx, tenantID, "user:1", slug, consultation.Open)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) submit(t *testing.T, c consultation.Consultation, author, text string) proposal.Proposal {
	t.Helper()
	p, err := e.ps.Submit(ctx, c.TenantID, c, author, text)
	if err != nil {
		t.Fatalf("submit %q: %v", text, err)
	}
	return p
}

func (e *env) accepted(t *testing.T, c consultation.Consultation, text string, themes ...string) proposal.Proposal {
	t.Helper()
	p := e.submit(t, c, "p:"+text, text)
	p, err := e.ps.Accept(ctx, c.TenantID, p.ID, "user:mod", themes, c.ThemeSlugs())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) actions(t *testing.T, tenantID int64, object string) []string {
	t.Helper()
	p, err := e.log.List(ctx, tenantID, audit.Filter{Object: object})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(p.Entries) - 1; i >= 0; i-- {
		out = append(out, p.Entries[i].Action+" "+string(p.Entries[i].Detail))
	}
	return out
}

func TestSubmit_OnlyWhileTheConsultationIsOpen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		p := e.submit(t, e.c, "p:abc", "Il faut rendre les musées gratuits le dimanche")
		if p.Status != proposal.Pending || p.Content != "rendre les musées gratuits le dimanche" || p.Lang != "fr" || len(p.Themes) != 0 {
			t.Fatalf("submitted %+v", p)
		}
		got, err := e.ps.Get(ctx, 2, p.ID)
		if err != nil || got.Author != "p:abc" || got.Content != p.Content || got.Status != proposal.Pending {
			t.Fatalf("read back %+v, %v", got, err)
		}

		draftIn := consultation.Input{Slug: "brouillon", Question: "Une question encore en préparation ?"}
		draft, err := e.cs.Create(ctx, 2, "user:1", draftIn)
		if err != nil {
			t.Fatal(err)
		}
		future := e.clock.Now().Add(24 * time.Hour)
		later := e.c
		later.OpensAt = &future
		closed, err := e.cs.SetStatus(ctx, 2, "user:1", e.c.Slug, consultation.Closed)
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]consultation.Consultation{"draft": draft, "closed": closed, "not yet open": later} {
			_, err := e.ps.Submit(ctx, 2, c, "p:abc", "rendre les musées gratuits le dimanche")
			if msg, _ := errs.MessageOf(err); errs.KindOf(err) != errs.Conflict || msg != "the consultation is not open for proposals" {
				t.Errorf("%s: %v", name, err)
			}
		}
		if mine, _ := e.ps.ByAuthor(ctx, 2, "p:abc"); len(mine) != 1 {
			t.Fatalf("refused submissions were stored: %d proposals", len(mine))
		}
	})
}

func TestSubmit_AppliesAccountRequirementAndDailyLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		yes := true
		s := consultation.DefaultSettings()
		s.ProposalLimitPerDay = 2
		c, err := e.cs.Update(ctx, 2, "user:1", e.c.Slug, consultation.Patch{RequiresAccount: &yes, Settings: &s})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ps.Submit(ctx, 2, c, "p:anon", "rendre les musées gratuits le dimanche"); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("anonymous on a consultation requiring an account: %v", err)
		}
		for i := 0; i < 2; i++ {
			e.submit(t, c, "u:2:7", fmt.Sprintf("ouvrir la bibliothèque numéro %d le soir", i))
		}
		if _, err := e.ps.Submit(ctx, 2, c, "u:2:7", "ouvrir la bibliothèque le dimanche"); errs.KindOf(err) != errs.TooMany {
			t.Fatalf("third proposal of the day: %v", err)
		}
		e.clock.Advance(25 * time.Hour)
		e.submit(t, c, "u:2:7", "ouvrir la bibliothèque le dimanche")
		// Another tenant's consultation is not found, whatever the caller claims.
		if _, err := e.ps.Submit(ctx, 3, c, "u:3:1", "rendre les musées gratuits le dimanche"); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("submit to tenant 2's consultation as tenant 3: %v", err)
		}
	})
}

func TestNext_LocksAProposalToOneModerator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		var ps []proposal.Proposal
		for i := 0; i < 3; i++ {
			ps = append(ps, e.submit(t, e.c, "p:x", fmt.Sprintf("ouvrir les musées le soir numéro %d", i)))
		}
		a, err := e.ps.Next(ctx, 2, e.c.ID, "user:alice", time.Minute)
		if err != nil || a.ID != ps[0].ID || a.LockedBy != "user:alice" {
			t.Fatalf("alice got %+v, %v; want the oldest", a, err)
		}
		b, err := e.ps.Next(ctx, 2, 0, "user:bob", time.Minute)
		if err != nil || b.ID != ps[1].ID {
			t.Fatalf("bob got %d, %v; want the second", b.ID, err)
		}
		if again, _ := e.ps.Next(ctx, 2, e.c.ID, "user:alice", time.Minute); again.ID != ps[0].ID {
			t.Fatalf("alice asking again got %d, want her own %d", again.ID, ps[0].ID)
		}
		_, err = e.ps.Accept(ctx, 2, ps[0].ID, "user:bob", nil, e.c.ThemeSlugs())
		if msg, _ := errs.MessageOf(err); errs.KindOf(err) != errs.Conflict || !strings.Contains(msg, "someone else") {
			t.Fatalf("bob accepting alice's proposal: %v", err)
		}
		if p, _ := e.ps.Get(ctx, 2, ps[0].ID); p.Status != proposal.Pending {
			t.Fatalf("status after refused decision: %s", p.Status)
		}
		// Once alice's lock has run out, a third moderator may take it.
		e.clock.Advance(2 * time.Minute)
		c, err := e.ps.Next(ctx, 2, e.c.ID, "user:carol", time.Minute)
		if err != nil || c.ID != ps[0].ID {
			t.Fatalf("carol got %d, %v; want the expired lock's %d", c.ID, err, ps[0].ID)
		}
		if _, err := e.ps.Accept(ctx, 2, c.ID, "user:carol", nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ps.Postpone(ctx, 2, ps[1].ID, "user:carol"); err != nil {
			t.Fatal(err)
		}
		// Postponed proposals come after every pending one.
		if n, _ := e.ps.Next(ctx, 2, e.c.ID, "user:dan", time.Minute); n.ID != ps[2].ID {
			t.Fatalf("dan got %d, want pending %d before postponed %d", n.ID, ps[2].ID, ps[1].ID)
		}
		if n, _ := e.ps.Next(ctx, 2, e.c.ID, "user:erin", time.Minute); n.ID != ps[1].ID || n.Status != proposal.Postponed {
			t.Fatalf("erin got %+v, want the postponed one", n)
		}
		q, err := e.ps.Queue(ctx, 2, e.c.ID, 0)
		if err != nil || len(q) != 2 || q[0].ID != ps[2].ID || q[0].LockedBy != "user:dan" || q[1].Status != proposal.Postponed {
			t.Fatalf("queue %+v, %v", q, err)
		}
		if _, err := e.ps.Next(ctx, 2, e.c.ID, "user:fay", time.Minute); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("fay with everything locked: %v", err)
		}
	})
}

func TestNext_ConcurrentModeratorsNeverShareAProposal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		const n = 6
		for i := 0; i < n; i++ {
			e.submit(t, e.c, "p:x", fmt.Sprintf("ouvrir les musées le soir numéro %d", i))
		}
		var mu sync.Mutex
		got := map[int64]string{}
		var wg sync.WaitGroup
		for m := 0; m < n; m++ {
			wg.Add(1)
			go func(m int) {
				defer wg.Done()
				mod := fmt.Sprintf("user:m%d", m)
				p, err := e.ps.Next(ctx, 2, e.c.ID, mod, time.Minute)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("%s: %v", mod, err)
					return
				}
				if other, dup := got[p.ID]; dup {
					t.Errorf("%s and %s both got proposal %d", other, mod, p.ID)
				}
				got[p.ID] = mod
			}(m)
		}
		wg.Wait()
	})
}

func TestAccept_UnknownThemeIsRefusedAndChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		var notified []int64
		e.ps.OnAccepted = func(tenantID, consultationID int64) { notified = append(notified, tenantID, consultationID) }
		p := e.submit(t, e.c, "p:x", "rendre les musées gratuits le dimanche")
		_, err := e.ps.Accept(ctx, 2, p.ID, "user:mod", []string{"musees", "sport"}, e.c.ThemeSlugs())
		if msg, field := errs.MessageOf(err); errs.KindOf(err) != errs.Invalid || field != "themes" || !strings.Contains(msg, `"sport"`) {
			t.Fatalf("unknown theme: %v", err)
		}
		if got, _ := e.ps.Get(ctx, 2, p.ID); got.Status != proposal.Pending || len(got.Themes) != 0 || got.ModeratedAt != nil {
			t.Fatalf("after a refused accept: %+v", got)
		}
		if a := e.actions(t, 2, "proposal:*"); len(a) != 0 || len(notified) != 0 {
			t.Fatalf("a refused accept left audit %v, notified %v", a, notified)
		}

		got, err := e.ps.Accept(ctx, 2, p.ID, "user:mod", []string{"musees", "musees"}, e.c.ThemeSlugs())
		if err != nil || got.Status != proposal.Accepted || len(got.Themes) != 1 || got.ModeratedBy != "user:mod" {
			t.Fatalf("accept: %+v, %v", got, err)
		}
		if len(notified) != 2 || notified[0] != 2 || notified[1] != e.c.ID {
			t.Fatalf("OnAccepted calls %v", notified)
		}
		acc, err := e.ps.Accepted(ctx, 2, e.c.ID)
		if err != nil || len(acc) != 1 || acc[0].ID != p.ID || acc[0].Author != "p:x" || acc[0].AcceptedAt.IsZero() || acc[0].Themes[0] != "musees" {
			t.Fatalf("Accepted = %+v, %v", acc, err)
		}
		// Decisions only from the states that allow them.
		if _, err := e.ps.Accept(ctx, 2, p.ID, "user:mod", nil, nil); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("accepting twice: %v", err)
		}
		if _, err := e.ps.Refuse(ctx, 2, p.ID, "user:mod", "rude", ""); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("refusing an accepted proposal: %v", err)
		}
		if _, err := e.ps.Archive(ctx, 2, p.ID, "user:mod"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ps.Archive(ctx, 2, p.ID, "user:mod"); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("archiving twice: %v", err)
		}
		if acc, _ := e.ps.Accepted(ctx, 2, e.c.ID); len(acc) != 0 || len(notified) != 4 {
			t.Fatalf("after archive: accepted %d, notified %v", len(acc), notified)
		}
		want := []string{"proposal.accept", "proposal.archive"}
		a := e.actions(t, 2, "proposal:*")
		if len(a) != 2 || !strings.HasPrefix(a[0], want[0]) || !strings.Contains(a[0], `"themes":["musees"]`) || !strings.HasPrefix(a[1], want[1]) {
			t.Fatalf("audit %v", a)
		}
	})
}

func TestRefuse_ReasonIsShownToTheAuthorAndAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		p := e.submit(t, e.c, "p:me", "rendre les musées gratuits le dimanche")
		if _, err := e.ps.Refuse(ctx, 2, p.ID, "user:mod", "ugly", ""); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("unknown reason: %v", err)
		}
		if _, err := e.ps.Refuse(ctx, 2, p.ID, "user:mod", "other", " "); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("other without comment: %v", err)
		}
		if _, err := e.ps.Refuse(ctx, 2, p.ID, "user:mod", "advertising", "nom de marque"); err != nil {
			t.Fatal(err)
		}
		mine, err := e.ps.ByAuthor(ctx, 2, "p:me")
		if err != nil || len(mine) != 1 || mine[0].Status != proposal.Refused || mine[0].RefusalReason != proposal.Advertising {
			t.Fatalf("author sees %+v, %v", mine, err)
		}
		b, _ := json.Marshal(mine[0])
		if !strings.Contains(string(b), `"refusal_reason":"advertising"`) || strings.Contains(string(b), "p:me") || strings.Contains(string(b), "user:mod") {
			t.Fatalf("public JSON %s", b)
		}
		staff, _ := json.Marshal(mine[0].Staff())
		if !strings.Contains(string(staff), `"author":"p:me"`) || !strings.Contains(string(staff), `"moderated_by":"user:mod"`) {
			t.Fatalf("staff JSON %s", staff)
		}
		a := e.actions(t, 2, "proposal:*")
		if len(a) != 1 || !strings.HasPrefix(a[0], "proposal.refuse") || !strings.Contains(a[0], `"reason":"advertising"`) || !strings.Contains(a[0], "nom de marque") {
			t.Fatalf("audit %v", a)
		}
		if _, err := e.ps.Postpone(ctx, 2, p.ID, "user:mod"); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("postponing a refused proposal: %v", err)
		}
	})
}

func TestSearch_FindsAcceptedProposalsByWordThemeAndPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		musees := e.accepted(t, e.c, "rendre les musées gratuits le dimanche", "musees")
		biblio := e.accepted(t, e.c, "ouvrir la bibliothèque le soir", "lecture")
		e.accepted(t, e.c, "créer un musée dans chaque quartier", "musees")
		pending := e.submit(t, e.c, "p:pending", "rendre les musées accessibles en fauteuil")
		refused := e.submit(t, e.c, "p:refused", "fermer les musées pour toujours")
		if _, err := e.ps.Refuse(ctx, 2, refused.ID, "user:mod", "rude", ""); err != nil {
			t.Fatal(err)
		}
		ids := func(p proposal.Page) map[int64]bool {
			m := map[int64]bool{}
			for _, x := range p.Proposals {
				m[x.ID] = true
			}
			return m
		}
		search := func(q proposal.Query) proposal.Page {
			t.Helper()
			p, err := e.ps.Search(ctx, 2, e.c.ID, q)
			if err != nil {
				t.Fatalf("search %+v: %v", q, err)
			}
			if p.Total < len(p.Proposals) {
				t.Fatalf("total %d < %d results", p.Total, len(p.Proposals))
			}
			return p
		}

		got := search(proposal.Query{Text: "musées"})
		if !ids(got)[musees.ID] || ids(got)[pending.ID] || ids(got)[refused.ID] || ids(got)[biblio.ID] {
			t.Fatalf("musées found %+v", got.Proposals)
		}
		if got := search(proposal.Query{Text: "musées gratuits"}); got.Total != 1 || got.Proposals[0].ID != musees.ID {
			t.Fatalf("every word must match: %+v", got)
		}
		if store.DialectOf(db) == store.Postgres {
			// The French stemmer: the singular finds the plural and back.
			if got := search(proposal.Query{Text: "musée"}); !ids(got)[musees.ID] || got.Total != 2 {
				t.Fatalf("french stemming: %+v", got)
			}
		} else {
			// SQLite folds accents.
			if got := search(proposal.Query{Text: "BIBLIOTHEQUE"}); got.Total != 1 || !ids(got)[biblio.ID] {
				t.Fatalf("accent folding: %+v", got)
			}
		}
		if got := search(proposal.Query{Theme: "lecture"}); got.Total != 1 || got.Proposals[0].ID != biblio.ID {
			t.Fatalf("theme lecture: %+v", got)
		}
		if got := search(proposal.Query{Text: "dimanche", Theme: "lecture"}); got.Total != 0 || got.Proposals == nil {
			t.Fatalf("word and other theme: %+v", got)
		}
		all := search(proposal.Query{})
		if all.Total != 3 || all.PerPage != 20 || all.Page != 1 || ids(all)[pending.ID] {
			t.Fatalf("everything: %+v", all)
		}
		// FTS syntax typed by a user is only text.
		for _, q := range []string{`"musées`, `musées OR *`, `content:musées`, `NEAR(a b)`, `-musées`, `'; DROP TABLE proposals; --`, `!!!`, `&|:*`} {
			if _, err := e.ps.Search(ctx, 2, e.c.ID, proposal.Query{Text: q}); err != nil {
				t.Errorf("search %q: %v", q, err)
			}
		}
		if _, err := e.ps.Search(ctx, 2, e.c.ID, proposal.Query{Theme: `x" OR 1=1`}); errs.KindOf(err) != errs.Invalid {
			t.Errorf("bad theme: %v", err)
		}
	})
}

func TestSearch_PaginatesNewestFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		var ps []proposal.Proposal
		for i := 0; i < 25; i++ {
			ps = append(ps, e.accepted(t, e.c, fmt.Sprintf("planter l'arbre numéro %d dans le parc", i)))
		}
		seen := map[int64]bool{}
		for page := 1; page <= 3; page++ {
			p, err := e.ps.Search(ctx, 2, e.c.ID, proposal.Query{Text: "arbre", Page: page, PerPage: 10})
			if err != nil {
				t.Fatal(err)
			}
			want := map[int]int{1: 10, 2: 10, 3: 5}[page]
			if p.Total != 25 || len(p.Proposals) != want {
				t.Fatalf("page %d: total %d, %d results", page, p.Total, len(p.Proposals))
			}
			for _, x := range p.Proposals {
				if seen[x.ID] {
					t.Fatalf("proposal %d on two pages", x.ID)
				}
				seen[x.ID] = true
			}
			if page == 1 && p.Proposals[0].ID != ps[24].ID {
				t.Fatalf("first result %d, want the newest %d (equal relevance)", p.Proposals[0].ID, ps[24].ID)
			}
		}
		if p, _ := e.ps.Search(ctx, 2, e.c.ID, proposal.Query{PerPage: 1000}); p.PerPage != 100 {
			t.Fatalf("per page capped at %d", p.PerPage)
		}
		if _, err := e.ps.Search(ctx, 2, e.c.ID, proposal.Query{Page: -1}); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("negative page: %v", err)
		}
	})
}

func TestSearch_StemsEnglish(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		en := e.open(t, 2, "culture-en", "en")
		museum := e.accepted(t, en, "We must open every museum on Sundays")
		e.accepted(t, en, "We must build more libraries")
		p, err := e.ps.Search(ctx, 2, en.ID, proposal.Query{Text: "museums"})
		if err != nil || p.Total != 1 || p.Proposals[0].ID != museum.ID || p.Proposals[0].Content != "open every museum on Sundays" {
			t.Fatalf("museums: %+v, %v", p, err)
		}
		if p, _ := e.ps.Search(ctx, 2, en.ID, proposal.Query{Text: "library"}); p.Total != 1 {
			t.Fatalf("library finds libraries: %+v", p)
		}
		// The French consultation's proposals are not this one's.
		e.accepted(t, e.c, "ouvrir un museum des sciences", "musees")
		if p, _ := e.ps.Search(ctx, 2, en.ID, proposal.Query{Text: "museum"}); p.Total != 1 {
			t.Fatalf("search crossed consultations: %+v", p)
		}
	})
}

func TestSimilar_SuggestsAcceptedProposalsSharingWords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		musees := e.accepted(t, e.c, "rendre les musées gratuits le dimanche", "musees")
		e.accepted(t, e.c, "ouvrir la bibliothèque le soir", "lecture")
		e.submit(t, e.c, "p:pending", "rendre les musées gratuits tous les jours")
		got, err := e.ps.Similar(ctx, 2, e.c.ID, "Il faut que les musées soient gratuits ", 5)
		if err != nil || len(got) != 1 || got[0].ID != musees.ID {
			t.Fatalf("similar: %+v, %v", got, err)
		}
		// Stop words alone suggest nothing.
		if got, _ := e.ps.Similar(ctx, 2, e.c.ID, "il faut que le ", 5); len(got) != 0 {
			t.Fatalf("stop words suggested %+v", got)
		}
		// The word being typed matches as a prefix.
		if got, _ := e.ps.Similar(ctx, 2, e.c.ID, "la biblio", 5); len(got) != 1 {
			t.Fatalf("prefix while typing: %+v", got)
		}
	})
}

func TestTenants_NeverReachEachOthersProposals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		acc := e.accepted(t, e.c, "rendre les musées gratuits le dimanche", "musees")
		pend := e.submit(t, e.c, "p:x", "ouvrir la bibliothèque le soir")
		e.open(t, 3, "culture", "fr") // same slug, other tenant, no proposals

		if _, err := e.ps.Get(ctx, 3, acc.ID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("tenant 3 Get: %v", err)
		}
		if _, err := e.ps.Search(ctx, 3, e.c.ID, proposal.Query{Text: "musées"}); errs.KindOf(err) != errs.NotFound {
			t.Errorf("tenant 3 Search in tenant 2's consultation: %v", err)
		}
		if _, err := e.ps.Similar(ctx, 3, e.c.ID, "musées", 5); errs.KindOf(err) != errs.NotFound {
			t.Errorf("tenant 3 Similar: %v", err)
		}
		if _, err := e.ps.Next(ctx, 3, 0, "user:mod3", time.Minute); errs.KindOf(err) != errs.NotFound {
			t.Errorf("tenant 3 Next took tenant 2's proposal: %v", err)
		}
		if q, _ := e.ps.Queue(ctx, 3, 0, 0); len(q) != 0 {
			t.Errorf("tenant 3 queue: %+v", q)
		}
		if _, err := e.ps.Accept(ctx, 3, pend.ID, "user:mod3", nil, nil); errs.KindOf(err) != errs.NotFound {
			t.Errorf("tenant 3 Accept: %v", err)
		}
		if _, err := e.ps.Refuse(ctx, 3, pend.ID, "user:mod3", "rude", ""); errs.KindOf(err) != errs.NotFound {
			t.Errorf("tenant 3 Refuse: %v", err)
		}
		if _, err := e.ps.Archive(ctx, 3, acc.ID, "user:mod3"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("tenant 3 Archive: %v", err)
		}
		if mine, _ := e.ps.ByAuthor(ctx, 3, "p:x"); len(mine) != 0 {
			t.Errorf("tenant 3 ByAuthor: %+v", mine)
		}
		if a, _ := e.ps.Accepted(ctx, 3, e.c.ID); len(a) != 0 {
			t.Errorf("tenant 3 Accepted: %+v", a)
		}
		if p, _ := e.ps.Get(ctx, 2, pend.ID); p.Status != proposal.Pending || p.LockedBy != "" {
			t.Errorf("tenant 2's proposal changed: %+v", p)
		}
	})
}

func TestModeration_ClosedConsultationRefusesEveryDecisionAndLeavesTheQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := setup(t, db)
		acc := e.accepted(t, e.c, "Il faut ouvrir les musées le soir", "musees")
		pend := e.submit(t, e.c, "p:y", "Il faut des bibliothèques ouvertes la nuit")
		other := e.open(t, 2, "sport", "fr") // an open consultation of the same tenant still moderates
		free := e.submit(t, other, "p:z", "Il faut des terrains de sport ouverts le soir")
		before := len(e.actions(t, 2, "proposal:*"))
		for _, to := range []consultation.Status{consultation.Closed, consultation.Published} {
			if _, err := e.cs.SetStatus(ctx, 2, "user:1", "culture", to); err != nil {
				t.Fatal(err)
			}
			for name, decide := range map[string]func() (proposal.Proposal, error){
				"archive": func() (proposal.Proposal, error) { return e.ps.Archive(ctx, 2, acc.ID, "user:mod") },
				"accept": func() (proposal.Proposal, error) {
					return e.ps.Accept(ctx, 2, pend.ID, "user:mod", nil, e.c.ThemeSlugs())
				},
				"refuse":   func() (proposal.Proposal, error) { return e.ps.Refuse(ctx, 2, pend.ID, "user:mod", "partisan", "") },
				"postpone": func() (proposal.Proposal, error) { return e.ps.Postpone(ctx, 2, pend.ID, "user:mod") },
			} {
				if _, err := decide(); errs.KindOf(err) != errs.Conflict || !strings.Contains(err.Error(), "culture") {
					t.Errorf("%s on a %s consultation: %v", name, to, err)
				}
			}
			if got, _ := e.ps.Get(ctx, 2, acc.ID); got.Status != proposal.Accepted {
				t.Fatalf("archived anyway: %s", got.Status)
			}
			if got, _ := e.ps.Get(ctx, 2, pend.ID); got.Status != proposal.Pending {
				t.Fatalf("decided anyway: %s", got.Status)
			}
			if n := len(e.actions(t, 2, "proposal:*")); n != before {
				t.Fatalf("refused decisions were audited: %d entries, want %d", n, before)
			}
			q, err := e.ps.Queue(ctx, 2, 0, 0)
			if err != nil || len(q) != 1 || q[0].ID != free.ID {
				t.Fatalf("queue after %s: %+v, %v", to, q, err)
			}
			if p, err := e.ps.Next(ctx, 2, e.c.ID, "user:mod", 0); errs.KindOf(err) != errs.NotFound {
				t.Fatalf("next in a %s consultation: %+v, %v", to, p, err)
			}
		}
		if _, err := e.ps.Accept(ctx, 2, free.ID, "user:mod", nil, other.ThemeSlugs()); err != nil {
			t.Fatalf("the open consultation's proposal: %v", err)
		}
	})
}
