package catalog_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// 1,000 open consultations, each touched once: the catalog holds no more than its bound
// (MaxBytes, the least recently read dropped first), and what it maps to them shrinks with it;
// Sweep drops what nobody read for IdleAfter.
func TestCatalog_1000ConsultationsTouchedOnceStayWithinTheBound(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		ctx := context.Background()
		site := e.Site("ay")
		var ids []int64
		var withProposal consultation.Consultation
		for i := range 1000 {
			c, err := e.App.Consultations.Create(ctx, site.Tenant.ID, "test", consultation.Input{Slug: fmt.Sprintf("c%04d", i), Question: "Comment rendre la culture accessible ?"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
			if i == 0 {
				withProposal = c
			}
		}
		// One consultation has an accepted proposal, so that proposals are mapped too.
		withProposal, err := e.App.Consultations.SetStatus(ctx, site.Tenant.ID, "test", withProposal.Slug, consultation.Open)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.App.Proposals.Submit(ctx, site.Tenant.ID, withProposal, "p:author", "Il faut ouvrir les musées le dimanche soir")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.App.Proposals.Accept(ctx, site.Tenant.ID, p.ID, "moderator", nil, nil); err != nil {
			t.Fatal(err)
		}
		cat := catalog.New(e.App.Consultations, e.App.Proposals, e.App.Votes)
		one := catalog.EntrySize(nil)
		cat.MaxBytes = 50 * one // room for about 50 empty consultations
		for i, id := range ids {
			got, err := cat.ByID(ctx, site.Tenant.ID, id)
			if err != nil || got.Consultation.ID != id {
				t.Fatalf("consultation %d: %v", i, err)
			}
			if n, size := cat.Held(); size > cat.MaxBytes || n > 50 {
				t.Fatalf("after %d consultations: %d held, %d bytes, bound %d", i+1, n, size, cat.MaxBytes)
			}
		}
		if n, _ := cat.Held(); n != 50 {
			t.Fatalf("%d entries held, want the 50 the bound allows", n)
		}
		if slugs, proposals := catalog.Pointers(cat); slugs > 50 || proposals != 0 {
			t.Fatalf("the catalog still maps %d slugs and %d proposals", slugs, proposals)
		}
		// The least recently read went first: the last one is held, the first is read again.
		loads := cat.Loads()
		if _, err := cat.ByID(ctx, site.Tenant.ID, ids[len(ids)-1]); err != nil || cat.Loads() != loads {
			t.Fatal("the consultation read last was dropped")
		}
		if _, err := cat.BySlug(ctx, site.Tenant.ID, "c0000"); err != nil || cat.Loads() != loads+1 {
			t.Fatal("the consultation read first was kept")
		}
		if _, proposals := catalog.Pointers(cat); proposals != 1 {
			t.Fatalf("%d proposals mapped, want the one of the consultation held", proposals)
		}
		// Nobody reads any more: Sweep drops them all.
		cat.IdleAfter = time.Millisecond
		time.Sleep(5 * time.Millisecond)
		cat.Sweep()
		if n, size := cat.Held(); n != 0 || size != 0 {
			t.Fatalf("after Sweep: %d held, %d bytes", n, size)
		}
		if slugs, proposals := catalog.Pointers(cat); slugs != 0 || proposals != 0 {
			t.Fatalf("after Sweep the catalog still maps %d slugs and %d proposals", slugs, proposals)
		}
	})
}
