package sdk

import (
	"bytes"
	"html/template"
	"net/http"
)

// PageRoute is a route of the plugin's pages (served at /p/NAME/…), reached by whoever holds
// the permission object:action.
func PageRoute(method, path, object, action string) *Route {
	return &Route{Method: method, Path: path, Kind: Page, Object: object, Action: action}
}

// APIRoute is a route of the plugin's JSON API (served at /api/v1/p/NAME/…).
func APIRoute(method, path, object, action string) *Route {
	return &Route{Method: method, Path: path, Kind: API, Object: object, Action: action}
}

// WritePage writes the page that template name of t makes with data, titled title, in the
// call's language (Content-Language). The template runs into a buffer first: if it fails,
// the visitor gets a plain 500 and the error goes to the plugin's log, never half a page.
func WritePage(w http.ResponseWriter, r *http.Request, status int, title string, t *template.Template, name string, data any) error {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		Log(r.Context()).Error("render", "page", name, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return err
	}
	SetPageTitle(w, title)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", Lang(r.Context()))
	w.WriteHeader(status)
	_, err := w.Write(b.Bytes())
	return err
}
