package pluginhost

import (
	"strings"
	"testing"
)

// The structure a form needs survives the sanitiser: a bare <legend> or <optgroup> has no
// attribute, and bluemonday used to drop such elements while keeping their text.
func TestSanitizer_KeepsFormStructure(t *testing.T) {
	in := `<form action="/p/culture/ideas" method="post"><fieldset><legend>Proposer</legend>` +
		`<label for="t">Titre</label><input id="t" type="text" name="title" required>` +
		`<select name="cat"><optgroup label="Spectacle"><option value="theatre">Théâtre</option></optgroup></select>` +
		`<button type="submit">Envoyer</button></fieldset></form>`
	out := sanitizerFor("culture").Sanitize(in)
	for _, want := range []string{`<legend>Proposer</legend>`, `<optgroup label="Spectacle">`, `<fieldset>`,
		`action="/p/culture/ideas"`, `<option value="theatre">`} {
		if !strings.Contains(out, want) {
			t.Errorf("%s lost: %s", want, out)
		}
	}
}

func TestSanitizer_StillRemovesWhatRuns(t *testing.T) {
	in := `<legend onclick="x()">a</legend><optgroup label="b" onmouseover="y()"></optgroup><script>z()</script>` +
		`<form action="/admin/users" method="post"><input type="text" onfocus="w()"></form><a href="javascript:v()">l</a>`
	out := sanitizerFor("culture").Sanitize(in)
	for _, bad := range []string{"onclick", "onmouseover", "<script", "z()", "/admin/users", "onfocus", "javascript:"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s let through: %s", bad, out)
		}
	}
}
