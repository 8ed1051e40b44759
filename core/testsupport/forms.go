package testsupport

import (
	"net/http"
	"net/url"
)

// PostForm posts an HTML form as a browser does: urlencoded, with the visitor's cookies. A
// form that carries its own _csrf field (a plugin's page gives its own token) is sent as is;
// otherwise the visitor's token goes in the field, as the site's own forms put it there.
func (v *Visitor) PostForm(path string, form url.Values) Response {
	v.env.T.Helper()
	if form.Get("_csrf") == "" {
		if v.csrf == "" {
			v.refreshCSRF()
		}
		form = cloneValues(form)
		form.Set("_csrf", v.csrf)
	}
	r := Request{Method: http.MethodPost, Host: v.Host, Path: path, Body: []byte(form.Encode()), Header: map[string]string{}}
	for k, h := range v.Header {
		r.Header[k] = h
	}
	r.Header["Content-Type"] = "application/x-www-form-urlencoded"
	for _, c := range v.cookies {
		r.Cookies = append(r.Cookies, c)
	}
	res := v.env.Do(r)
	for _, c := range res.Cookie {
		if c.MaxAge < 0 || c.Value == "" {
			delete(v.cookies, c.Name)
			v.csrf = ""
			continue
		}
		if old, ok := v.cookies[c.Name]; !ok || old.Value != c.Value {
			v.csrf = ""
		}
		v.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
	return res
}

func cloneValues(in url.Values) url.Values {
	out := url.Values{}
	for k, vs := range in {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
