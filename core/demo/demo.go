// Package demo creates the demo tenants that `make run` starts with: a region, a city and a
// company, each with a tenant-admin account, plus a platform admin.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/concorde-civic/concorde/core/app"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/tenants"
)

// Tenants are the demo tenants.
var Tenants = []tenants.NewTenant{
	{Slug: "bretagne", Kind: "region", Name: "Région Bretagne", Hosts: []string{"bretagne.localhost"}, DefaultLocale: "fr", ColorPrimary: "#00508c", ColorAccent: "#a4161a"},
	{Slug: "bordeaux", Kind: "city", Name: "Ville de Bordeaux", Hosts: []string{"bordeaux.localhost"}, DefaultLocale: "fr", ColorPrimary: "#7a1f3d", ColorAccent: "#1f5f7a"},
	{Slug: "acme", Kind: "company", Name: "Acme Corporation", Hosts: []string{"acme.localhost"}, DefaultLocale: "en", ColorPrimary: "#2f5d2a", ColorAccent: "#8a3b12"},
}

// Login is a demo account and its fresh password.
type Login struct {
	Site, Email, Password, Role string
}

const actor = "demo"

// Ensure creates what is missing and gives every demo account a fresh password, so the
// logins printed at each start work whatever the database held before.
func Ensure(ctx context.Context, a *app.App) ([]Login, error) {
	var logins []Login
	account := func(tenantID int64, site, email, role string) error {
		pw := password()
		m, err := a.Staff.ByEmail(ctx, tenantID, email)
		switch {
		case errs.Is(err, errs.NotFound):
			if _, err := a.Staff.Create(ctx, actor, tenantID, staff.NewUser{Email: email, Name: "Demo " + role, Password: pw, Role: role}); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if err := a.Users.SetPassword(ctx, tenantID, m.ID, pw); err != nil {
				return err
			}
			if err := a.Authz.Grant(ctx, authz.UserSubject(tenantID, m.ID), authz.Role(role), staff.GrantDomain(tenantID)); err != nil {
				return err
			}
		}
		logins = append(logins, Login{Site: site, Email: email, Password: pw, Role: role})
		return nil
	}
	if err := account(tenants.PlatformID, a.Config.PlatformHost, "admin@concorde.localhost", string(authz.PlatformAdmin)); err != nil {
		return nil, err
	}
	for _, nt := range Tenants {
		t, err := a.Tenants.BySlug(ctx, nt.Slug)
		if errs.Is(err, errs.NotFound) {
			t, err = a.Tenants.Create(ctx, actor, nt)
		}
		if err != nil {
			return nil, err
		}
		if err := account(t.ID, t.Hosts[0], "admin@"+t.Slug+".localhost", string(authz.TenantAdmin)); err != nil {
			return nil, err
		}
		if t.Slug == "bretagne" { // the other roles, to try the moderation and auditor consoles
			for _, a := range []struct {
				email string
				role  authz.Role
			}{{"moderation@bretagne.localhost", authz.Moderator}, {"ethique@bretagne.localhost", authz.Auditor}} {
				if err := account(t.ID, t.Hosts[0], a.email, string(a.role)); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := ensureConsultations(ctx, a); err != nil {
		return nil, err
	}
	if _, err := ensurePlugins(ctx, a); err != nil {
		return nil, err
	}
	return logins, nil
}

// Print writes the demo logins for the person who ran `make run`.
func Print(w io.Writer, logins []Login, addr string) {
	port := addr
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		port = addr[i:]
	}
	fmt.Fprintln(w, "Concorde demo: sign in with these accounts (passwords are new at each start):")
	defer fmt.Fprintf(w, "Take part: http://bretagne.localhost%s/ · results: http://bordeaux.localhost%s/ · cultural agenda: http://bretagne.localhost%s/p/culture/\n", port, port, port)
	for _, l := range logins {
		fmt.Fprintf(w, "  http://%s%s/  %-15s %-28s %s\n", l.Site, port, l.Role, l.Email, l.Password)
	}
}

func password() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
