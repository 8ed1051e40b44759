// Package mail sends the site's e-mails: address verification, staff invitations and
// notifications. Messages are written to a tenant-scoped outbox in the database, never sent
// from an HTTP request; a background sender on each node claims due rows with a lease,
// delivers them over SMTP (or to the log in development) and retries with back-off.
package mail

import (
	"bytes"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Kind is what a message is about (a label of the outbox rows and of the logs).
type Kind string

// The messages the site sends.
const (
	Invitation       Kind = "invitation"
	Verification     Kind = "verification"
	ProposalAccepted Kind = "proposal-accepted"
	ProposalRefused  Kind = "proposal-refused"
	ResultsPublished Kind = "results-published"
)

// Bounds on what a message may hold.
const (
	MaxSubjectRunes    = 200
	MaxSenderNameRunes = 100
	MaxBodyBytes       = 64 << 10
)

// Message is one e-mail to one person, in the words of its site.
type Message struct {
	Kind       Kind
	To         string // a bare address
	SenderName string // the site's name, shown beside the platform's From address
	Subject    string
	Body       string // plain text
}

// Validate checks what Compose needs: a bare address and text within bounds.
func (m Message) Validate() error {
	if a, err := mail.ParseAddress(m.To); err != nil || a.Address != m.To {
		return fmt.Errorf("mail: %q is not a bare e-mail address", m.To)
	}
	if strings.TrimSpace(m.Subject) == "" || m.Body == "" {
		return fmt.Errorf("mail: a message needs a subject and a body")
	}
	if len(m.Body) > MaxBodyBytes || !utf8.ValidString(m.Body) || !utf8.ValidString(m.Subject) || !utf8.ValidString(m.SenderName) {
		return fmt.Errorf("mail: the message is too long or not valid UTF-8")
	}
	return nil
}

// HeaderText makes s safe for one header line: every control character (CR and LF above
// all, which would start a new header: header injection) and every run of spaces becomes one
// space, and the text is cut to max runes.
func HeaderText(s string, max int) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			space = true
			continue
		}
		if n >= max {
			break
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// Compose builds the MIME message: From is the platform's address under the site's name,
// the subject is encoded for UTF-8 (RFC 2047), the body is text/plain in UTF-8, quoted-
// printable, with a Message-ID on the sender's domain and a Date.
func Compose(from string, m Message, date time.Time) (*gomail.Msg, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	fa, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: the From address %q is not valid: %w", from, err)
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	name := HeaderText(m.SenderName, MaxSenderNameRunes)
	if name == "" {
		name = HeaderText(fa.Name, MaxSenderNameRunes)
	}
	if err := msg.FromFormat(name, fa.Address); err != nil {
		return nil, fmt.Errorf("mail: From: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: To: %w", err)
	}
	msg.Subject(HeaderText(m.Subject, MaxSubjectRunes))
	msg.SetMessageIDWithValue(newMessageID(domainOf(fa.Address)))
	msg.SetDateWithValue(date)
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	// Lines of the body end in CRLF on the wire; the text keeps LF.
	msg.SetBodyString(gomail.TypeTextPlain, strings.ReplaceAll(m.Body, "\r\n", "\n"))
	return msg, nil
}

// Bytes is the message as it goes on the wire (for the log transport and tests).
func Bytes(msg *gomail.Msg) ([]byte, error) {
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok && d != "" {
		return d
	}
	return "localhost"
}

// newMessageID is "<random@domain>" without the angle brackets (go-mail adds them).
func newMessageID(domain string) string {
	return newToken(18) + "@" + domain
}
