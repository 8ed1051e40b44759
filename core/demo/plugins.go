package demo

import (
	"context"
	"os"
	"path/filepath"

	"github.com/concorde-civic/concorde/core/app"
)

// demoPlugins are enabled on these demo tenants when their binaries sit beside the server's
// (make build puts them in bin/plugins/).
var demoPlugins = map[string][]string{"culture": {"bretagne", "bordeaux"}, "cofinancing": {"bordeaux"}, "candidates": {"bordeaux"}}

// ensurePlugins installs the demo plugins found next to the running binary (recording their
// current checksum) and enables them on their demo tenants. It returns the names installed.
func ensurePlugins(ctx context.Context, a *app.App) ([]string, error) {
	exe, err := os.Executable()
	if err != nil || a.Plugins == nil {
		return nil, nil
	}
	var installed []string
	for name, slugs := range demoPlugins {
		path := filepath.Join(filepath.Dir(exe), "plugins", name)
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			continue // not built (or a source folder beside a binary built elsewhere): the demo runs without it
		}
		if _, err := a.Plugins.Install(ctx, actor, path); err != nil {
			return installed, err
		}
		installed = append(installed, name)
		for _, slug := range slugs {
			t, err := a.Tenants.BySlug(ctx, slug)
			if err != nil {
				return installed, err
			}
			tp, err := a.Plugins.ForTenantOne(ctx, t.ID, name)
			if err != nil {
				return installed, err
			}
			if !tp.Enabled {
				if _, err := a.Plugins.Enable(ctx, actor, t.ID, name); err != nil {
					return installed, err
				}
			}
		}
	}
	return installed, nil
}
