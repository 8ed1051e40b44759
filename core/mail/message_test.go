package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	cmail "github.com/concorde-civic/concorde/core/mail"
)

// parse reads a composed message as a mail client does, and its body decoded.
func parse(t *testing.T, raw []byte) (*mail.Message, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, raw)
	}
	if te := m.Header.Get("Content-Transfer-Encoding"); !strings.EqualFold(te, "quoted-printable") {
		t.Fatalf("Content-Transfer-Encoding %q", te)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	return m, strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestCompose_UTF8SubjectPlainTextQuotedPrintableMessageIDAndDate(t *testing.T) {
	date := time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC)
	body := "Bonjour,\n\nVotre proposition « Il faut ouvrir les musées le soir » a été acceptée.\n\n" + strings.Repeat("très long texte ", 20) + "\n— Région Île-de-France"
	msg, err := cmail.Compose("Concorde <no-reply@concorde.example>", cmail.Message{Kind: cmail.ProposalAccepted, To: "lea@example.org",
		SenderName: "Région Île-de-France", Subject: "Votre proposition est publiée ✓", Body: body}, date)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cmail.Bytes(msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("a line of %d bytes", len(line))
		}
	}
	m, text := parse(t, raw)
	dec := new(mime.WordDecoder)
	if s := m.Header.Get("Subject"); !strings.HasPrefix(strings.ToUpper(s), "=?UTF-8?") {
		t.Errorf("the subject is not encoded: %q", s)
	} else if got, _ := dec.DecodeHeader(s); got != "Votre proposition est publiée ✓" {
		t.Errorf("subject decodes to %q", got)
	}
	from, err := m.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Région Île-de-France" || from[0].Address != "no-reply@concorde.example" {
		t.Errorf("From: %v %v", from, err)
	}
	if to, _ := m.Header.AddressList("To"); len(to) != 1 || to[0].Address != "lea@example.org" {
		t.Errorf("To: %v", to)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type %q", m.Header.Get("Content-Type"))
	}
	if id := m.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@concorde.example>") || len(id) < 20 {
		t.Errorf("Message-ID %q", id)
	}
	if d, err := m.Header.Date(); err != nil || !d.Equal(date) {
		t.Errorf("Date %v %v", d, err)
	}
	if m.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Error("no Auto-Submitted header")
	}
	if text != body {
		t.Errorf("body decodes to\n%q\nwant\n%q", text, body)
	}
	// Two messages never share a Message-ID.
	other, _ := cmail.Compose("no-reply@concorde.example", cmail.Message{To: "a@example.org", Subject: "x", Body: "y"}, date)
	if other.GetMessageID() == msg.GetMessageID() {
		t.Error("the same Message-ID twice")
	}
}

// CR and LF in a site's name or a subject (both come from people) never start a header.
func TestCompose_HeaderInjectionIsNeutralised(t *testing.T) {
	msg, err := cmail.Compose("no-reply@concorde.example", cmail.Message{To: "lea@example.org",
		SenderName: "Ville\r\nBcc: victim@example.org", Subject: "Bonjour\r\nBcc: victim@example.org\nX-Evil: 1\u2028Y", Body: "Corps\r\nBcc: pas un en-tête"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := cmail.Bytes(msg)
	m, text := parse(t, raw)
	if len(m.Header["Bcc"]) > 0 || len(m.Header["X-Evil"]) > 0 {
		t.Fatalf("a header was injected:\n%s", raw)
	}
	dec := new(mime.WordDecoder)
	if got, _ := dec.DecodeHeader(m.Header.Get("Subject")); got != "Bonjour Bcc: victim@example.org X-Evil: 1 Y" {
		t.Errorf("subject %q", got)
	}
	if from, _ := m.Header.AddressList("From"); len(from) != 1 || from[0].Name != "Ville Bcc: victim@example.org" {
		t.Errorf("From %v", from)
	}
	if !strings.Contains(text, "Corps\nBcc: pas un en-tête") {
		t.Errorf("body %q", text)
	}
	// A recipient that is not one bare address is refused.
	for _, to := range []string{"a@example.org\r\nBcc: b@example.org", "Léa <lea@example.org>", "a@example.org, b@example.org", ""} {
		if _, err := cmail.Compose("no-reply@concorde.example", cmail.Message{To: to, Subject: "x", Body: "y"}, time.Now()); err == nil {
			t.Errorf("recipient %q accepted", to)
		}
	}
}

func TestHeaderText(t *testing.T) {
	for in, want := range map[string]string{
		"  a \t b\r\n\r\nc ": "a b c",
		"\x00\x1b[31mrouge":  "[31mrouge",
		"":                   "",
		"ééééé":              "éééé", // cut at 4 runes
	} {
		if got := cmail.HeaderText(in, 4+map[bool]int{true: 100}[in != "ééééé"]); got != want {
			t.Errorf("HeaderText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseURL(t *testing.T) {
	good := map[string]cmail.SMTP{
		"smtp://user:p%40ss@mail.example.org:587": {Host: "mail.example.org", Port: 587, Username: "user", Password: "p@ss"},
		"smtp://mail.example.org":                 {Host: "mail.example.org", Port: 587},
		"smtps://u:p@mail.example.org":            {Host: "mail.example.org", Port: 465, Username: "u", Password: "p", Implicit: true},
		"smtp://localhost:25?tls=none":            {Host: "localhost", Port: 25, Insecure: true},
	}
	for raw, want := range good {
		s, err := cmail.ParseURL(raw)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		s.Timeout = 0
		if *s != want {
			t.Errorf("%s: %+v, want %+v", raw, *s, want)
		}
		if strings.Contains(s.String(), "p@ss") || strings.Contains(s.String(), ":p@") {
			t.Errorf("%s: the password is in %q", raw, s.String())
		}
	}
	for _, raw := range []string{"http://mail.example.org", "smtp://", "smtp://h:0", "smtp://h:99999", "smtps://h?tls=none", "smtp://u:p@h?tls=none", "smtp://h?tls=maybe", "smtp://u:se%cret@h:x"} {
		if _, err := cmail.ParseURL(raw); err == nil {
			t.Errorf("%s accepted", raw)
		} else if strings.Contains(err.Error(), "se%cret") {
			t.Errorf("%s: the password is in the error %q", raw, err)
		}
	}
}

func TestBackoff_GrowsAndIsBounded(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n <= 20; n++ {
		d := cmail.Backoff(n)
		if d < prev*9/10 || d > 6*time.Hour*11/10 {
			t.Fatalf("Backoff(%d) = %v after %v", n, d, prev)
		}
		prev = d
	}
	if d := cmail.Backoff(1); d < 30*time.Second || d > 33*time.Second {
		t.Errorf("first retry after %v", d)
	}
}
