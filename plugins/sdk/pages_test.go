package sdk

import (
	"html/template"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWritePage_WholePageOrA500(t *testing.T) {
	tmpl := template.Must(template.New("").Parse(`{{define "ok"}}<p>{{.}}</p>{{end}}{{define "bad"}}<p>start {{.Missing.Field}}</p>{{end}}`))
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(withCall(r.Context(), &Call{Locale: "en"}, nil))
	if err := WritePage(w, r, 201, "Title", tmpl, "ok", "<b>"); err != nil {
		t.Fatal(err)
	}
	if w.Code != 201 || w.Body.String() != "<p>&lt;b&gt;</p>" || w.Header().Get("Content-Language") != "en" || w.Header().Get(headerPageTitle) != "Title" {
		t.Errorf("page: %d %q %v", w.Code, w.Body, w.Header())
	}
	w = httptest.NewRecorder()
	if err := WritePage(w, r, 200, "Title", tmpl, "bad", 42); err == nil || w.Code != 500 || strings.Contains(w.Body.String(), "start") {
		t.Errorf("a failing template: %v %d %q", err, w.Code, w.Body)
	}
	if PageRoute("GET", "/x", "o", Read).Kind != Page || APIRoute("GET", "/api/x", "o", Read).Kind != API {
		t.Error("route kinds")
	}
}
