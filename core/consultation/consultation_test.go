package consultation_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/storetest"
)

var ctx = context.Background()

// setup creates tenants 2 and 3 and returns the service and the audit log.
func setup(t *testing.T, db *bun.DB) (*consultation.Service, *audit.Log) {
	t.Helper()
	storetest.AddTenants(t, db, 2, 3)
	log := audit.New(db)
	return consultation.New(db, log, &store.IDs{}), log
}

func valid() consultation.Input {
	opens := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	closes := opens.AddDate(0, 2, 0)
	return consultation.Input{
		Slug:     "culture-pour-tous",
		Question: "Comment rendre la culture accessible à tous ?",
		Context:  "## Les enjeux\n\nLa culture est **pour tous**.",
		Steps:    []consultation.Step{{Title: "Propositions", Description: "Chacun propose", Date: opens}},
		Themes:   []consultation.Theme{{Slug: "musees", Label: "Musées"}, {Slug: "spectacle-vivant", Label: "Spectacle vivant"}},
		OpensAt:  &opens,
		ClosesAt: &closes,
	}
}

func actions(t *testing.T, log *audit.Log, tenantID int64) []string {
	t.Helper()
	p, err := log.List(ctx, tenantID, audit.Filter{Object: "consultation:*"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(p.Entries) - 1; i >= 0; i-- {
		out = append(out, p.Entries[i].Action)
	}
	return out
}

func TestCreate_StoresEveryFieldWithDefaultsAndAudits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		svc, log := setup(t, db)
		c, err := svc.Create(ctx, 2, "user:1", valid())
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != consultation.Draft || c.Prefix != "Il faut" || c.Language != "fr" || c.Settings != consultation.DefaultSettings() {
			t.Fatalf("defaults not applied: %+v", c)
		}
		got, err := svc.Get(ctx, 2, "culture-pour-tous")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.Question != c.Question || got.Context != c.Context || len(got.Themes) != 2 ||
			got.Themes[1] != c.Themes[1] || len(got.Steps) != 1 || got.Steps[0].Title != "Propositions" ||
			!got.Steps[0].Date.Equal(c.Steps[0].Date) || got.Settings != c.Settings ||
			got.OpensAt == nil || !got.OpensAt.Equal(*c.OpensAt) || !got.ClosesAt.Equal(*c.ClosesAt) {
			t.Fatalf("stored %+v\nread   %+v", c, got)
		}
		byID, err := svc.GetByID(ctx, 2, c.ID)
		if err != nil || byID.Slug != c.Slug {
			t.Fatalf("GetByID = %+v, %v", byID, err)
		}
		if a := actions(t, log, 2); len(a) != 1 || a[0] != "consultation.create" {
			t.Fatalf("audit actions %v", a)
		}
		_, err = svc.Create(ctx, 2, "user:1", valid())
		if errs.KindOf(err) != errs.Invalid || !strings.Contains(err.Error(), "exists already") {
			t.Fatalf("duplicate slug: %v", err)
		}
	})
}

func TestCreate_RefusesInvalidInputWithTheFieldAtFault(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		edit  func(*consultation.Input)
		field string
	}{
		{"slug with capitals", func(in *consultation.Input) { in.Slug = "Culture" }, "slug"},
		{"slug with double hyphen", func(in *consultation.Input) { in.Slug = "a--b" }, "slug"},
		{"slug too short", func(in *consultation.Input) { in.Slug = "ab" }, "slug"},
		{"question too short", func(in *consultation.Input) { in.Question = "Pourquoi" }, "question"},
		{"question too long", func(in *consultation.Input) { in.Question = long(301) }, "question"},
		{"context too long", func(in *consultation.Input) { in.Context = long(20001) }, "context"},
		{"too many themes", func(in *consultation.Input) {
			in.Themes = nil
			for i := 0; i < 31; i++ {
				in.Themes = append(in.Themes, consultation.Theme{Slug: "t" + strings.Repeat("x", i+1), Label: "T"})
			}
		}, "themes"},
		{"theme slug with space", func(in *consultation.Input) { in.Themes[0].Slug = "mus ees" }, "themes[0].slug"},
		{"theme given twice", func(in *consultation.Input) { in.Themes[1].Slug = in.Themes[0].Slug }, "themes[1].slug"},
		{"theme without label", func(in *consultation.Input) { in.Themes[0].Label = " " }, "themes[0].label"},
		{"too many steps", func(in *consultation.Input) {
			for i := 0; i < 20; i++ {
				in.Steps = append(in.Steps, consultation.Step{Title: "S", Date: day})
			}
		}, "steps"},
		{"step without date", func(in *consultation.Input) { in.Steps[0].Date = time.Time{} }, "steps[0].date"},
		{"closes before opening", func(in *consultation.Input) { c := in.OpensAt.Add(-time.Hour); in.ClosesAt = &c }, "closes_at"},
		{"closes when opening", func(in *consultation.Input) { c := *in.OpensAt; in.ClosesAt = &c }, "closes_at"},
		{"prefix too short", func(in *consultation.Input) { in.Prefix = "I" }, "prefix"},
		{"prefix too long", func(in *consultation.Input) { in.Prefix = long(31) }, "prefix"},
		{"unknown language", func(in *consultation.Input) { in.Language = "de" }, "language"},
		{"bad settings", func(in *consultation.Input) {
			s := consultation.DefaultSettings()
			s.NewRatio = 1.5
			in.Settings = &s
		}, "settings.new_ratio"},
		{"segments of one participant", func(in *consultation.Input) {
			s := consultation.DefaultSettings()
			s.MinSegmentSize = 1
			in.Settings = &s
		}, "settings.min_segment_size"},
		{"NUL in context", func(in *consultation.Input) { in.Context = "a\x00b" }, "context"},
	}
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		svc, log := setup(t, db)
		for _, tc := range cases {
			in := valid()
			tc.edit(&in)
			_, err := svc.Create(ctx, 2, "user:1", in)
			var e *errs.Error
			if err == nil || !errors.As(err, &e) || e.Kind != errs.Invalid || e.Field != tc.field || e.Message == "" {
				t.Errorf("%s: got %v (field %q), want invalid %s", tc.name, err, fieldOf(err), tc.field)
			}
		}
		if list, _ := svc.List(ctx, 2, true); len(list) != 0 {
			t.Fatalf("invalid input created %d consultations", len(list))
		}
		if a := actions(t, log, 2); len(a) != 0 {
			t.Fatalf("invalid input audited %v", a)
		}
	})
}

func TestUpdate_ChangesOnlyGivenFieldsAndAuditsThem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		svc, log := setup(t, db)
		c, err := svc.Create(ctx, 2, "user:1", valid())
		if err != nil {
			t.Fatal(err)
		}
		q := "Comment ouvrir les musées à tous les publics ?"
		themes := []consultation.Theme{{Slug: "musees", Label: "Musées et patrimoine"}}
		u, err := svc.Update(ctx, 2, "user:1", c.Slug, consultation.Patch{Question: &q, Themes: &themes, ClearClosesAt: true})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := svc.Get(ctx, 2, c.Slug)
		if got.Question != q || len(got.Themes) != 1 || got.Themes[0].Label != "Musées et patrimoine" || got.ClosesAt != nil ||
			got.Context != c.Context || got.OpensAt == nil || len(got.Steps) != 1 || u.Question != q {
			t.Fatalf("after update: %+v", got)
		}
		p, _ := log.List(ctx, 2, audit.Filter{Action: "consultation.update"})
		if len(p.Entries) != 1 {
			t.Fatalf("%d update entries", len(p.Entries))
		}
		d := string(p.Entries[0].Detail)
		for _, k := range []string{`"question"`, `"themes"`, `"closes_at"`} {
			if !strings.Contains(d, k) {
				t.Errorf("audit detail %s lacks %s", d, k)
			}
		}
		if strings.Contains(d, `"context"`) {
			t.Errorf("audit detail %s names an unchanged field", d)
		}

		// A bad patch changes nothing and audits nothing.
		bad := "court"
		if _, err := svc.Update(ctx, 2, "user:1", c.Slug, consultation.Patch{Question: &bad, Themes: &[]consultation.Theme{}}); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("bad question: %v", err)
		}
		if again, _ := svc.Get(ctx, 2, c.Slug); again.Question != q || len(again.Themes) != 1 {
			t.Fatalf("bad patch changed %+v", again)
		}
		if _, err := svc.Update(ctx, 2, "user:1", c.Slug, consultation.Patch{Question: &q}); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("no-op patch: %v", err)
		}
		if _, err := svc.Update(ctx, 2, "user:1", "nope", consultation.Patch{Question: &q}); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("unknown slug: %v", err)
		}

		// Prefix and language are frozen once proposals may exist.
		if _, err := svc.SetStatus(ctx, 2, "user:1", c.Slug, consultation.Open); err != nil {
			t.Fatal(err)
		}
		pre, en := "We must", "en"
		if _, err := svc.Update(ctx, 2, "user:1", c.Slug, consultation.Patch{Prefix: &pre}); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("prefix change when open: %v", err)
		}
		if _, err := svc.Update(ctx, 2, "user:1", c.Slug, consultation.Patch{Language: &en}); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("language change when open: %v", err)
		}
	})
}

func TestSetStatus_FollowsTheLifeCycleAndAuditsEachStep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		svc, log := setup(t, db)
		c, err := svc.Create(ctx, 2, "user:1", valid())
		if err != nil {
			t.Fatal(err)
		}
		step := func(to consultation.Status, want errs.Kind) {
			t.Helper()
			got, err := svc.SetStatus(ctx, 2, "user:1", c.Slug, to)
			if want == "" {
				if err != nil || got.Status != to {
					t.Fatalf("-> %s: %v", to, err)
				}
				return
			}
			if errs.KindOf(err) != want {
				t.Fatalf("-> %s: got %v, want %s", to, err, want)
			}
		}
		step(consultation.Closed, errs.Conflict)
		step(consultation.Published, errs.Conflict)
		step(consultation.Draft, errs.Conflict) // already a draft
		step(consultation.Open, "")
		step(consultation.Open, errs.Conflict)
		step(consultation.Published, errs.Conflict)
		step(consultation.Draft, errs.Conflict)
		step(consultation.Closed, "")
		step(consultation.Open, "") // reopen
		step(consultation.Closed, "")
		step(consultation.Published, "")
		step(consultation.Open, errs.Conflict) // published is final
		step(consultation.Closed, errs.Conflict)
		step("archived", errs.Invalid)
		got, _ := svc.Get(ctx, 2, c.Slug)
		if got.Status != consultation.Published || got.PublishedAt == nil {
			t.Fatalf("final state %s, published at %v", got.Status, got.PublishedAt)
		}
		want := "consultation.create consultation.open consultation.close consultation.open consultation.close consultation.publish"
		if a := strings.Join(actions(t, log, 2), " "); a != want {
			t.Fatalf("audit actions\n got %s\nwant %s", a, want)
		}
		if rep, err := log.Verify(ctx, 2); err != nil || !rep.OK {
			t.Fatalf("audit chain %+v, %v", rep, err)
		}
	})
}

func TestList_HidesDraftsUnlessAskedAndNeverCrossesTenants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		svc, _ := setup(t, db)
		a, err := svc.Create(ctx, 2, "user:1", valid())
		if err != nil {
			t.Fatal(err)
		}
		in := valid()
		in.Slug = "mobilite"
		if _, err := svc.Create(ctx, 2, "user:1", in); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetStatus(ctx, 2, "user:1", a.Slug, consultation.Open); err != nil {
			t.Fatal(err)
		}
		public, _ := svc.List(ctx, 2, false)
		all, _ := svc.List(ctx, 2, true)
		if len(public) != 1 || public[0].Slug != a.Slug || len(all) != 2 {
			t.Fatalf("public %d, all %d", len(public), len(all))
		}
		if other, _ := svc.List(ctx, 3, true); len(other) != 0 {
			t.Fatalf("tenant 3 lists %d consultations of tenant 2", len(other))
		}
		if _, err := svc.Get(ctx, 3, a.Slug); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("tenant 3 Get: %v", err)
		}
		if _, err := svc.GetByID(ctx, 3, a.ID); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("tenant 3 GetByID: %v", err)
		}
		q := "Une question de l'autre locataire ?"
		if _, err := svc.Update(ctx, 3, "user:9", a.Slug, consultation.Patch{Question: &q}); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("tenant 3 Update: %v", err)
		}
		if _, err := svc.SetStatus(ctx, 3, "user:9", a.Slug, consultation.Closed); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("tenant 3 SetStatus: %v", err)
		}
		// The same slug is free in another tenant.
		if _, err := svc.Create(ctx, 3, "user:9", valid()); err != nil {
			t.Fatalf("same slug in tenant 3: %v", err)
		}
	})
}

func TestIsOpen_NeedsOpenStatusAndDatesAround(t *testing.T) {
	at := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	before, after := at.Add(-time.Hour), at.Add(time.Hour)
	cases := []struct {
		status        consultation.Status
		opens, closes *time.Time
		want          bool
	}{
		{consultation.Open, nil, nil, true},
		{consultation.Open, &before, &after, true},
		{consultation.Open, &after, nil, false},
		{consultation.Open, nil, &before, false},
		{consultation.Open, nil, &at, false}, // closes_at is exclusive
		{consultation.Draft, nil, nil, false},
		{consultation.Closed, &before, &after, false},
		{consultation.Published, nil, nil, false},
	}
	for i, tc := range cases {
		c := consultation.Consultation{Status: tc.status, OpensAt: tc.opens, ClosesAt: tc.closes}
		if got := c.IsOpen(at); got != tc.want {
			t.Errorf("case %d: IsOpen = %v, want %v", i, got, tc.want)
		}
	}
}

func TestContextHTML_NeverLetsRawHTMLThrough(t *testing.T) {
	src := "# Titre\n\n<script>alert(1)</script>\n\nTexte <b onclick=\"x()\">gras</b> et [lien](https://exemple.fr) " +
		"et [piège](javascript:alert(1)) et <img src=x onerror=alert(1)>\n\n<iframe src=\"https://evil\"></iframe>"
	html := string(consultation.Consultation{Context: src}.ContextHTML())
	for _, bad := range []string{"<script", "onclick", "javascript:", "onerror", "<iframe", "<b "} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("output contains %q:\n%s", bad, html)
		}
	}
	for _, good := range []string{"<h1", "Titre", `href="https://exemple.fr"`, `rel="nofollow noopener"`} {
		if !strings.Contains(html, good) {
			t.Errorf("output lacks %q:\n%s", good, html)
		}
	}
}

func TestSettings_ScanKeepsDefaultsForMissingFields(t *testing.T) {
	var s consultation.Settings
	if err := s.Scan(`{"sequence_size": 20}`); err != nil {
		t.Fatal(err)
	}
	want := consultation.DefaultSettings()
	want.SequenceSize = 20
	if s != want {
		t.Fatalf("scanned %+v, want %+v", s, want)
	}
	if err := consultation.DefaultSettings().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func fieldOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

func TestUpdate_ClosedConsultationRefusesWhatWouldChangeItsResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		svc, log := setup(t, db)
		c, err := svc.Create(ctx, 2, "user:1", valid())
		if err != nil {
			t.Fatal(err)
		}
		var snapshots int
		svc.Publishing = func(_ context.Context, _ store.Scope, c consultation.Consultation) (string, error) {
			snapshots++
			if c.Status != consultation.Published || c.PublishedAt == nil {
				t.Errorf("snapshot of a consultation not yet published: %+v", c)
			}
			return "abc123", nil
		}
		q := "Comment ouvrir les musées à tous les publics ?"
		themes := []consultation.Theme{{Slug: "musees", Label: "Musées"}}
		settings := consultation.DefaultSettings()
		settings.MinVotesForZone = 3
		yes := true
		patches := map[string]consultation.Patch{
			"question": {Question: &q}, "themes": {Themes: &themes}, "settings": {Settings: &settings}, "requires_account": {RequiresAccount: &yes},
		}
		for _, to := range []consultation.Status{consultation.Open, consultation.Closed, consultation.Published} {
			if _, err := svc.SetStatus(ctx, 2, "user:1", c.Slug, to); err != nil {
				t.Fatal(err)
			}
			if to == consultation.Open {
				continue
			}
			before, _ := svc.Get(ctx, 2, c.Slug)
			n := len(actions(t, log, 2))
			for name, p := range patches {
				if _, err := svc.Update(ctx, 2, "user:1", c.Slug, p); errs.KindOf(err) != errs.Conflict {
					t.Errorf("%s of a %s consultation: %v", name, to, err)
				}
			}
			if after, _ := svc.Get(ctx, 2, c.Slug); !reflect.DeepEqual(before, after) || len(actions(t, log, 2)) != n {
				t.Fatalf("refused updates changed the %s consultation:\n%+v\n%+v", to, before, after)
			}
			ctxText := "Merci : voici où en sont les résultats (" + string(to) + ")."
			if _, err := svc.Update(ctx, 2, "user:1", c.Slug, consultation.Patch{Context: &ctxText}); err != nil {
				t.Errorf("context of a %s consultation: %v", to, err)
			}
		}
		p, _ := log.List(ctx, 2, audit.Filter{Action: "consultation.publish"})
		if snapshots != 1 || len(p.Entries) != 1 || !strings.Contains(string(p.Entries[0].Detail), `"results_sha256":"abc123"`) {
			t.Fatalf("publishing took %d snapshots; audit %+v", snapshots, p.Entries)
		}
	})
}

func TestSetStatus_PublishingFailsWholeWhenTheSnapshotFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		svc, _ := setup(t, db)
		c, err := svc.Create(ctx, 2, "user:1", valid())
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range []consultation.Status{consultation.Open, consultation.Closed} {
			if _, err := svc.SetStatus(ctx, 2, "user:1", c.Slug, to); err != nil {
				t.Fatal(err)
			}
		}
		svc.Publishing = func(context.Context, store.Scope, consultation.Consultation) (string, error) {
			return "", errs.E(errs.Unavailable, "no snapshot today")
		}
		if _, err := svc.SetStatus(ctx, 2, "user:1", c.Slug, consultation.Published); errs.KindOf(err) != errs.Unavailable {
			t.Fatalf("publish without a snapshot: %v", err)
		}
		if got, _ := svc.Get(ctx, 2, c.Slug); got.Status != consultation.Closed || got.PublishedAt != nil {
			t.Fatalf("published without its snapshot: %+v", got)
		}
	})
}
