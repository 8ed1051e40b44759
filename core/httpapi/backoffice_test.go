package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// A signed-out visitor who opens an admin page is sent to sign in, and back there after.
func TestBackOffice_SignedOutVisitorSignsInAndComesBack(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	site := e.Site("ay")
	v := e.Visitor(site.Host)
	res := v.Do("GET", "/admin/users?page=2", nil)
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/account/signin?next=%2Fadmin%2Fusers%3Fpage%3D2" {
		t.Fatalf("signed out on /admin/users: %d %q", res.Status, res.Header.Get("Location"))
	}
	// The API still answers 401 in JSON, and a page write is refused, not redirected.
	if res := v.Do("GET", "/api/v1/users", nil); res.Status != http.StatusUnauthorized {
		t.Errorf("API: %d", res.Status)
	}
	if res := v.Do("POST", "/admin/users", map[string]string{"email": "x@ay.test"}); res.Status == http.StatusSeeOther {
		t.Errorf("a signed-out write was redirected")
	}
	// A signed-in citizen is refused, not sent to sign in again.
	c := e.Visitor(site.Host)
	c.SignIn("citizen@ay.test", testsupport.Password)
	if res := c.Do("GET", "/admin/users", nil); res.Status != http.StatusForbidden {
		t.Errorf("citizen on /admin/users: %d", res.Status)
	}
}

// The role pickers grant the least privilege unless the admin chooses otherwise, in words
// people read; and the site cannot lose its last tenant admin.
func TestBackOffice_LeastPrivilegeAndTheLastAdminStays(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			e := testsupport.New(t, dialect)
			site := e.Site("ay")
			admin := e.Visitor(site.Host)
			admin.SignIn("tenant-admin@ay.test", testsupport.Password)
			page := string(admin.Do("GET", "/admin/users", nil).Body)
			i := strings.Index(page, `<select id="nu-role" name="role">`)
			if i < 0 || !strings.HasPrefix(page[i+len(`<select id="nu-role" name="role">`):], `<option value="citizen">Citoyen·ne</option>`) {
				t.Fatalf("the new-account picker does not start at citizen: %.300s", page[max(i, 0):])
			}
			if strings.Contains(page, ">tenant-admin<") {
				t.Error("a raw role code shown to people")
			}
			me := site.Users[authz.TenantAdmin].ID
			revoke := "/admin/users/" + strconv.FormatInt(me, 10) + "/roles/tenant-admin/revoke"
			res := admin.Do("POST", revoke, nil)
			if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "dernier compte administrateur") {
				t.Fatalf("revoking the last admin: %d %s", res.Status, res.Body)
			}
			if roles := e.App.Authz.RolesOf(authz.UserSubject(site.Tenant.ID, me), staff.GrantDomain(site.Tenant.ID)); len(roles) == 0 {
				t.Fatalf("the refused revoke took the role")
			}
			// With a second admin, the first may step down.
			e.Account(site.Tenant.ID, "second@ay.test", authz.TenantAdmin)
			if res := admin.Do("POST", revoke, nil); res.Status != http.StatusSeeOther {
				t.Fatalf("revoke with another admin: %d %s", res.Status, res.Body)
			}
		})
	}
}

// The accounts list pages through tens of thousands of citizens and finds one by address or
// name; a search is plain text (% and _ match themselves).
func TestBackOffice_UsersListSearchesAndPaginates(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			e := testsupport.New(t, dialect)
			site := e.Site("ay")
			ctx := context.Background()
			for i := range 60 {
				if _, err := e.App.Users.Create(ctx, site.Tenant.ID, fmt.Sprintf("habitant%02d@ay.test", i), fmt.Sprintf("Habitant n°%d", i), testsupport.Password); err != nil {
					t.Fatal(err)
				}
			}
			admin := e.Visitor(site.Host)
			admin.SignIn("tenant-admin@ay.test", testsupport.Password)
			first := string(admin.Do("GET", "/admin/users", nil).Body)
			if n := strings.Count(first, "<tr>") - 1; n != 50 || !strings.Contains(first, `rel="next"`) || strings.Contains(first, `rel="prev"`) {
				t.Fatalf("page 1: %d rows", n)
			}
			second := string(admin.Do("GET", "/admin/users?page=2", nil).Body)
			if n := strings.Count(second, "<tr>") - 1; n != 64-50 || strings.Contains(second, `rel="next"`) || !strings.Contains(second, "Page 2") {
				t.Errorf("page 2: %d rows", n)
			}
			found := string(admin.Do("GET", "/admin/users?q=HABITANT07", nil).Body)
			if n := strings.Count(found, "<tr>") - 1; n != 1 || !strings.Contains(found, "habitant07@ay.test") {
				t.Errorf("search by address: %d rows", n)
			}
			if found := string(admin.Do("GET", "/admin/users?q=n°42", nil).Body); !strings.Contains(found, "habitant42@ay.test") {
				t.Error("search by name")
			}
			if none := string(admin.Do("GET", "/admin/users?q=%25", nil).Body); strings.Count(none, "<tr>") != 1 || !strings.Contains(none, "Aucun compte ne correspond") {
				t.Errorf("%% matched accounts: %d rows", strings.Count(none, "<tr>")-1)
			}
			if res := admin.Do("GET", "/admin/users?q="+strings.Repeat("x", 101), nil); res.Status != http.StatusBadRequest {
				t.Errorf("a 101-character search: %d", res.Status)
			}
			var api struct {
				Users []struct{ Email string } `json:"users"`
			}
			admin.Do("GET", "/api/v1/users?q=habitant1", nil).JSON(t, &api)
			if len(api.Users) != 10 {
				t.Errorf("API search: %d users", len(api.Users))
			}
		})
	}
}

// The moderator's comment on a refusal reaches its author, on their account page, and nobody else.
func TestModeration_TheRefusalCommentReachesTheAuthor(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		author := e.Visitor(w.A.Host)
		res := author.Do("POST", "/api/v1/consultations/"+w.slug+"/proposals", map[string]string{"content": "Il faut fermer les musées le dimanche"})
		if res.Status != http.StatusCreated {
			t.Fatalf("propose: %d %s", res.Status, res.Body)
		}
		id := userID(t, res)
		comment := "Votre idée concerne les horaires : reformulez-la pour dire ce qu'elle apporterait."
		res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: fmt.Sprintf("/api/v1/moderation/proposals/%d/refuse", id), Token: w.moderator,
			Body: map[string]any{"reason": "incomprehensible", "comment": comment}})
		if res.Status != 200 {
			t.Fatalf("refuse: %d %s", res.Status, res.Body)
		}
		page := string(author.Do("GET", "/account", nil).Body)
		if !strings.Contains(page, "reformulez-la pour dire ce qu&#39;elle apporterait") {
			t.Errorf("the author's page does not show the moderator's comment")
		}
		if other := string(e.Visitor(w.A.Host).Do("GET", "/account", nil).Body); strings.Contains(other, "reformulez-la") {
			t.Error("another visitor reads the comment")
		}
	})
}
