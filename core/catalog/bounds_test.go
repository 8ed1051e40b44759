package catalog_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"unsafe"

	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/testsupport"
)

func newCulture(t *testing.T) (*catalog.Catalog, int64) {
	t.Helper()
	e := testsupport.New(t, "sqlite")
	ctx := context.Background()
	site := e.Site("ay")
	if _, err := e.App.Consultations.Create(ctx, site.Tenant.ID, "test", consultation.Input{Slug: "culture", Question: "Comment rendre la culture accessible ?"}); err != nil {
		t.Fatal(err)
	}
	return catalog.New(e.App.Consultations, e.App.Proposals, e.App.Votes), site.Tenant.ID
}

// A slug handed to BySlug may live in a request buffer that is reused once the request ends
// (Fiber's c.Params): the catalog must not keep it as a map key. First requests arriving
// together used to leave one of their buffers as the key (a later load rewrote it only when
// it came last).
func TestCatalog_SlugKeyDoesNotKeepTheCallersBuffer(t *testing.T) {
	cat, tid := newCulture(t)
	ctx := context.Background()
	for round := range 20 {
		e, err := cat.BySlug(ctx, tid, "culture")
		if err != nil {
			t.Fatal(err)
		}
		cat.Invalidate(tid, e.Consultation.ID) // the next requests start from an empty map
		bufs := make([][]byte, 32)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range bufs {
			bufs[i] = []byte("culture")
			wg.Add(1)
			go func(b []byte) {
				defer wg.Done()
				<-start
				if _, err := cat.BySlug(ctx, tid, unsafe.String(&b[0], len(b))); err != nil {
					t.Error(err)
				}
			}(bufs[i])
		}
		close(start)
		wg.Wait()
		for _, b := range bufs {
			copy(b, "zzzzzzz") // the next requests reuse the buffers
		}
		for _, k := range catalog.SlugKeys(cat) {
			if k != "culture" {
				t.Fatalf("round %d: the catalog keeps slug %q, a buffer the caller reused", round, k)
			}
		}
	}
}

// Memo keys come from query parameters a caller chooses: 10,000 distinct ones must not grow
// an entry's memo (nor what every reload rebuilds) past its bound, and each still gets its value.
func TestCatalog_DistinctMemoKeysDoNotGrowTheMemo(t *testing.T) {
	cat, tid := newCulture(t)
	e, err := cat.BySlug(context.Background(), tid, "culture")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10_000 {
		want := strconv.Itoa(i)
		got, err := e.Memo("results|"+want, func(*catalog.Entry) ([]byte, error) { return []byte(want), nil })
		if err != nil || string(got) != want {
			t.Fatalf("key %d: %q %v", i, got, err)
		}
	}
	if n := e.Memos(); n > catalog.MaxMemos {
		t.Fatalf("10,000 distinct keys left %d memos; the bound is %d", n, catalog.MaxMemos)
	}
	// The keys that made it in are still served from the memo.
	got, _ := e.Memo("results|0", func(*catalog.Entry) ([]byte, error) { return []byte("rebuilt"), nil })
	if string(got) != "0" {
		t.Fatalf("a memoised key was rebuilt: %q", got)
	}
}
