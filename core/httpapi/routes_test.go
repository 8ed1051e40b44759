package httpapi

import (
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// A route enters the app only through the route table, with its permission and its summary:
// anything less makes CheckRoutes fail, and New returns that error, so the server does not
// start.
func TestRouteTable_RefusesARouteWithoutPermissionOrDocumentation(t *testing.T) {
	ok := func(c *fiber.Ctx) error { return nil }
	for _, tc := range []struct {
		name     string
		register func(s *Server)
	}{
		{"no summary", func(s *Server) {
			s.handle(Route{Method: get, Path: "/x", Perm: permSite}, ok)
		}},
		{"blank summary", func(s *Server) {
			s.handle(Route{Method: get, Path: "/x", Perm: permSite, Summary: "  "}, ok)
		}},
		{"no permission", func(s *Server) {
			s.handle(Route{Method: post, Path: "/x", Summary: "Does x", Request: map[string]any{}}, ok)
		}},
		{"no action", func(s *Server) {
			s.handle(Route{Method: get, Path: "/x", Perm: Perm{Object: "site"}, Summary: "Does x"}, ok)
		}},
		{"added to the app behind the table's back", func(s *Server) {
			s.App.Get("/x", ok)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{App: fiber.New(), routes: map[string]Route{}, templates: map[string]string{}}
			s.handle(Route{Method: get, Path: "/fine", Perm: permSite, Summary: "A complete route"}, ok)
			if err := s.CheckRoutes(); err != nil {
				t.Fatalf("a complete route was refused: %v", err)
			}
			tc.register(s)
			err := s.CheckRoutes()
			if err == nil || !strings.Contains(err.Error(), "/x") || strings.Contains(err.Error(), "/fine") {
				t.Fatalf("CheckRoutes = %v, want an error naming /x only", err)
			}
		})
	}
}
