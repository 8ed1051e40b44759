package httpapi_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// The document served is built from the real routes: every /api/v1 route is in it, with its
// method, and nothing else is.
func TestOpenAPI_DescribesExactlyTheRealRoutes(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newWorld(t, e)
	res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/openapi.json"})
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	res.JSON(t, &doc)
	if res.Status != 200 || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi.json: %d %s", res.Status, doc.OpenAPI)
	}
	param := regexp.MustCompile(`:([a-zA-Z_]+)`)
	seen := 0
	for _, r := range e.Server.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || strings.Contains(r.Path, "*") {
			continue
		}
		p := strings.TrimPrefix(param.ReplaceAllString(r.Path, "{$1}"), "/api/v1")
		op, ok := doc.Paths[p][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s %s is not in the document", r.Method, r.Path)
			continue
		}
		seen++
		if s, _ := op["summary"].(string); s == "" || s != r.Summary {
			t.Errorf("%s %s: summary %q, the route table says %q", r.Method, r.Path, s, r.Summary)
		}
		if _, ok := op["requestBody"]; ok != r.Body {
			t.Errorf("%s %s: requestBody documented %v, route reads a body %v", r.Method, r.Path, ok, r.Body)
		}
	}
	total := 0
	for _, ops := range doc.Paths {
		total += len(ops)
	}
	if total != seen || seen < 20 {
		t.Fatalf("document has %d operations, routes %d", total, seen)
	}
}
