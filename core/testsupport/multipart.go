package testsupport

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
)

// PostMultipart posts a multipart form as a browser does for a file upload: fields, then the
// file (fileField, named fileName; none when data is nil), with the visitor's cookies and its
// CSRF token in the form.
func (v *Visitor) PostMultipart(path string, fields url.Values, fileField, fileName string, data []byte) Response {
	v.env.T.Helper()
	if v.csrf == "" {
		v.refreshCSRF()
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("_csrf", v.csrf)
	for k, vs := range fields {
		for _, x := range vs {
			_ = mw.WriteField(k, x)
		}
	}
	if data != nil {
		fw, err := mw.CreateFormFile(fileField, fileName)
		if err != nil {
			v.env.T.Fatal(err)
		}
		_, _ = fw.Write(data)
	}
	if err := mw.Close(); err != nil {
		v.env.T.Fatal(err)
	}
	r := Request{Method: http.MethodPost, Host: v.Host, Path: path, Body: body.Bytes(),
		Header: map[string]string{"Content-Type": mw.FormDataContentType()}}
	for _, c := range v.cookies {
		r.Cookies = append(r.Cookies, c)
	}
	return v.env.Do(r)
}
