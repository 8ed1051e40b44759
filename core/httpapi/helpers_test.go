package httpapi_test

import (
	"context"
	"testing"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/testsupport"
)

func mustTenant(t *testing.T, e *testsupport.Env, slug string) int64 {
	t.Helper()
	tn, err := e.App.Tenants.BySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

func userID(t *testing.T, res testsupport.Response) int64 {
	t.Helper()
	var u struct {
		ID int64 `json:"id"`
	}
	res.JSON(t, &u)
	if u.ID == 0 {
		t.Fatalf("no id in %s", res.Body)
	}
	return u.ID
}

func auditFilter(action string) audit.Filter { return audit.Filter{Action: action} }
