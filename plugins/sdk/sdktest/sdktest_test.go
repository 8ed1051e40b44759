package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/concorde-civic/concorde/plugins/sdk"
	"github.com/concorde-civic/concorde/plugins/sdk/sdktest"
)

func TestHost_StorageIsPerTenantVersionedAndLimited(t *testing.T) {
	h := sdktest.New(t, "pledges")
	ctx := context.Background()
	a, b := h.Context(ctx, sdktest.Citizen(1, "ay")), h.Context(ctx, sdktest.Citizen(2, "bee"))
	if v, err := sdk.Host(a).Storage().Put(a, "k", []byte("of a")); err != nil || v != 1 {
		t.Fatalf("put: %d %v", v, err)
	}
	if _, ok, _ := sdk.Host(b).Storage().Get(b, "k"); ok {
		t.Error("tenant 2 reads tenant 1's key")
	}
	if _, err := sdk.Host(a).Storage().CompareAndSet(a, "k", 0, []byte("x")); !errors.Is(err, sdk.ErrConflict) {
		t.Errorf("a stale compare-and-set: %v", err)
	}
	if _, err := sdk.Host(a).Storage().Put(a, strings.Repeat("k", sdk.MaxKeyBytes+1), nil); !sdk.IsInvalid(err) {
		t.Errorf("a key over the limit: %v", err)
	}
	if err := sdk.Host(a).Publish(a, "consultation.publish", map[string]string{}); err == nil {
		t.Error("published a core event")
	}
	if err := sdk.Host(a).Audit(a, "pledge.create", "pledge:1", map[string]any{"cents": 500}); err != nil {
		t.Fatal(err)
	}
	if au := h.Audits(); len(au) != 1 || au[0].Action != "pledges.pledge.create" || au[0].TenantID != 1 {
		t.Errorf("audits: %+v", au)
	}
}

// Update retries on conflicts: concurrent increments all land.
func TestStorage_UpdateRetriesOnConflict(t *testing.T) {
	h := sdktest.New(t, "counter")
	ctx := h.Context(context.Background(), sdktest.Citizen(1, "ay"))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := sdk.UpdateJSON(ctx, sdk.Host(ctx).Storage(), "n", func(n *int, _ bool) error { *n++; return nil })
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := h.Stored(1, "n"); len(got) != 1 || string(got[0].Value) != "8" {
		t.Errorf("after 8 increments: %+v", got)
	}
}

func TestHost_ServeGivesTheHandlerItsCall(t *testing.T) {
	h := sdktest.New(t, "hello")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := sdk.CallOf(r.Context())
		sdk.Log(r.Context()).Info("hello")
		fmt.Fprintf(w, "%s %s", c.Tenant.Slug, c.BasePath())
	})
	call := sdktest.Anonymous(3, "cee")
	call.BaseURL = "https://cee.example/p/hello"
	rec := h.Serve(handler, call, httptest.NewRequest("GET", "/api/x", nil))
	if rec.Body.String() != "cee /p/hello" {
		t.Errorf("body: %q", rec.Body.String())
	}
}
