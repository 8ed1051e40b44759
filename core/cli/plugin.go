package cli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/concorde-civic/concorde/core/app"
	"github.com/concorde-civic/concorde/core/config"
	"github.com/concorde-civic/concorde/core/pluginhost"
)

// pluginCommands are the platform admins' commands on the plugin catalogue and the tenants'
// enablement.
func pluginCommands() []command {
	var slug string
	tenantFlag := func(fs *flag.FlagSet) { fs.StringVar(&slug, "tenant", "", "tenant slug") }
	toggle := func(enable bool) func(context.Context, Env, *config.Config, *flag.FlagSet, []string) error {
		return func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return errUsage
			}
			return withApp(ctx, e, cfg, func(a *app.App) error {
				t, err := tenantBySlug(ctx, a, slug)
				if err != nil {
					return err
				}
				change, verb := a.Plugins.Disable, "disabled"
				if enable {
					change, verb = a.Plugins.Enable, "enabled"
				}
				p, err := change(ctx, cliActor(), t.ID, args[0])
				if err == nil {
					fmt.Fprintf(e.Stdout, "plugin %s %s %s for %s\n", p.Name, p.Version, verb, t.Slug)
				}
				return err
			})
		}
	}
	return []command{
		{name: "plugin list", usage: "installed plugins, their version, checksum and state", run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
			if len(args) > 0 {
				return errUsage
			}
			return withApp(ctx, e, cfg, func(a *app.App) error {
				ps, err := a.Plugins.List(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tVERSION\tSTATE\tSHA256\tPATH")
				for _, p := range ps {
					state := p.State
					if p.State == pluginhost.StateFailed && p.StateDetail != "" {
						state += " (" + p.StateDetail + ")"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Name, p.Version, state, p.SHA256[:16], p.Path)
				}
				return w.Flush()
			})
		}},
		{name: "plugin install", usage: "PATH  record a plugin binary (its checksum and manifest) in the catalogue", run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return errUsage
			}
			return withApp(ctx, e, cfg, func(a *app.App) error {
				p, err := a.Plugins.Install(ctx, cliActor(), args[0])
				if err == nil {
					fmt.Fprintf(e.Stdout, "plugin %s %s installed (sha256 %s)\n", p.Name, p.Version, p.SHA256)
				}
				return err
			})
		}},
		{name: "plugin reset", usage: "NAME  give a plugin that failed for good another start (running servers pick it up within 5 s)", run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return errUsage
			}
			return withApp(ctx, e, cfg, func(a *app.App) error {
				p, err := a.Plugins.Reset(ctx, cliActor(), args[0])
				if err == nil {
					fmt.Fprintf(e.Stdout, "plugin %s %s reset: it starts again on its next use\n", p.Name, p.Version)
				}
				return err
			})
		}},
		{name: "plugin enable", usage: "--tenant SLUG NAME  enable a plugin on a tenant's site", flags: tenantFlag, run: toggle(true)},
		{name: "plugin disable", usage: "--tenant SLUG NAME  disable a plugin on a tenant's site (its routes answer 404)", flags: tenantFlag, run: toggle(false)},
	}
}
