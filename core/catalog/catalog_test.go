package catalog_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/testsupport"
)

func TestCatalog_MemoIsBuiltOncePerLoadAndWarmedOnReload(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	ctx := context.Background()
	site := e.Site("ay")
	c, err := e.App.Consultations.Create(ctx, site.Tenant.ID, "test", consultation.Input{Slug: "culture", Question: "Comment rendre la culture accessible ?"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Consultations.SetStatus(ctx, site.Tenant.ID, "test", "culture", consultation.Open); err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(e.App.Consultations, e.App.Proposals, e.App.Votes)
	cat.TTL = 10 * time.Millisecond
	var builds atomic.Int32
	build := func(*catalog.Entry) ([]byte, error) { builds.Add(1); return []byte("x"), nil }
	first, err := cat.BySlug(ctx, site.Tenant.ID, "culture")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if b, err := first.Memo("k", build); err != nil || string(b) != "x" {
			t.Fatal(b, err)
		}
	}
	if builds.Load() != 1 {
		t.Fatalf("built %d times for one entry", builds.Load())
	}
	// Past the TTL a read starts a reload in the background; the new entry comes warmed.
	time.Sleep(20 * time.Millisecond)
	_, _ = cat.BySlug(ctx, site.Tenant.ID, "culture")
	deadline := time.Now().Add(2 * time.Second)
	var next *catalog.Entry
	for time.Now().Before(deadline) {
		next, _ = cat.BySlug(ctx, site.Tenant.ID, "culture")
		if next != first {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if next == first {
		t.Fatal("the entry was not reloaded after its TTL")
	}
	if builds.Load() != 2 {
		t.Fatalf("the reloaded entry was not warmed: %d builds", builds.Load())
	}
	_, _ = next.Memo("k", build)
	if builds.Load() != 2 {
		t.Fatal("a warmed memo was built again")
	}
	// Invalidate drops the entry at once.
	cat.Invalidate(site.Tenant.ID, c.ID)
	if again, _ := cat.BySlug(ctx, site.Tenant.ID, "culture"); again == next {
		t.Fatal("Invalidate kept the entry")
	}
	// Unknown proposals are not found; another tenant sees nothing.
	if _, _, err := cat.ByProposal(ctx, site.Tenant.ID, 12345); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown proposal: %v", err)
	}
	other := e.Site("bee")
	if _, err := cat.BySlug(ctx, other.Tenant.ID, "culture"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("another tenant's consultation: %v", err)
	}
}
