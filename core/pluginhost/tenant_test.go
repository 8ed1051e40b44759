package pluginhost_test

import (
	"context"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

// A plugin knows its tenant as well in a hook or a job as in a request: slug, name, language
// and time zone, so that a job's reminder reads like the site's pages.
func TestPlugin_KnowsItsTenantsTimeZoneInRequestsHooksAndJobs(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			w := newWorldOn(t, dialect, "misbehave")
			l := testLimits()
			l.JobTick, l.MinJobInterval = time.Hour, time.Hour // the test runs the scheduler itself
			w.App.Plugins.SetLimits(l)
			ctx := context.Background()
			zone := "America/Cayenne"
			if _, err := w.App.Tenants.Update(ctx, "test", w.A.Tenant.Slug, tenants.Patch{TimeZone: &zone}); err != nil {
				t.Fatal(err)
			}
			w.enable(t, w.A, "misbehave")
			want := w.A.Tenant.Slug + "|" + w.A.Tenant.Name + "|fr|America/Cayenne"
			if got := stored(t, w.Env, w.A, "lifecycle-tenant"); got != want {
				t.Errorf("the enable hook saw %q, want %q", got, want)
			}
			if err := w.App.Plugins.RunDueJobs(ctx); err != nil {
				t.Fatal(err)
			}
			if got := stored(t, w.Env, w.A, "job-tenant"); got != want {
				t.Errorf("the job saw %q, want %q", got, want)
			}
			var ok struct {
				TimeZone string `json:"time_zone"`
				Offset   int    `json:"now_offset"`
			}
			w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/p/misbehave/ok"}).JSON(t, &ok)
			if ok.TimeZone != zone || ok.Offset != -3*3600 {
				t.Errorf("a request saw %+v, want %s at -3 h", ok, zone)
			}
			// B kept the default.
			w.enable(t, w.B, "misbehave")
			w.Do(testsupport.Request{Method: "GET", Host: w.B.Host, Path: "/api/v1/p/misbehave/ok"}).JSON(t, &ok)
			if ok.TimeZone != tenants.DefaultTimeZone {
				t.Errorf("B's requests saw %q", ok.TimeZone)
			}
		})
	}
}
