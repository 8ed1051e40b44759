package main

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// icalWriter writes an iCalendar (RFC 5545) stream: CRLF line ends, lines folded at 75
// octets without splitting a UTF-8 character, text values escaped.
type icalWriter struct{ b strings.Builder }

func (w *icalWriter) line(name, value string) {
	l := name + ":" + value
	first := true
	for len(l) > 0 {
		limit := 75
		if !first {
			limit = 74 // the leading space counts
		}
		if len(l) <= limit {
			if !first {
				w.b.WriteByte(' ')
			}
			w.b.WriteString(l)
			w.b.WriteString("\r\n")
			return
		}
		cut := limit
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		if !first {
			w.b.WriteByte(' ')
		}
		w.b.WriteString(l[:cut])
		w.b.WriteString("\r\n")
		l = l[cut:]
		first = false
	}
}

// escapeText escapes a TEXT value (RFC 5545 3.3.11).
func escapeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", `\n`).Replace(s)
}

func icalTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// Calendar writes the events as a VCALENDAR.
func Calendar(name, domain string, events []Event, now time.Time) string {
	w := &icalWriter{}
	w.line("BEGIN", "VCALENDAR")
	w.line("VERSION", "2.0")
	w.line("PRODID", "-//Concorde//culture plugin//FR")
	w.line("CALSCALE", "GREGORIAN")
	w.line("METHOD", "PUBLISH")
	w.line("X-WR-CALNAME", escapeText(name))
	for _, e := range events {
		emit := func(uid string, s Slot, rrule string) {
			w.line("BEGIN", "VEVENT")
			w.line("UID", uid+"@"+domain)
			w.line("DTSTAMP", icalTime(now))
			w.line("DTSTART", icalTime(s.Start))
			w.line("DTEND", icalTime(s.End))
			if rrule != "" {
				w.line("RRULE", rrule)
			}
			w.line("SUMMARY", escapeText(e.Title))
			if e.Description != "" {
				w.line("DESCRIPTION", escapeText(e.Description))
			}
			loc := e.Venue.Name
			for _, part := range []string{e.Venue.Address, strings.TrimSpace(e.Venue.PostalCode + " " + e.Venue.City)} {
				if part != "" {
					loc += ", " + part
				}
			}
			w.line("LOCATION", escapeText(loc))
			if e.Venue.Lat != nil {
				w.line("GEO", fmt.Sprintf("%.6f;%.6f", *e.Venue.Lat, *e.Venue.Lon))
			}
			w.line("CATEGORIES", escapeText(e.Category))
			w.line("STATUS", icalStatus(e.Status))
			if e.Link != "" {
				w.line("URL", e.Link)
			}
			w.line("END", "VEVENT")
		}
		if r := e.Recurrence; r != nil {
			rule, err := ParseRRule(r.RRule)
			if err == nil {
				emit(e.ID, Slot{Start: r.Start, End: r.End}, rule.String())
			}
		}
		for i, s := range e.Slots {
			uid := e.ID
			if len(e.Slots) > 1 {
				uid = fmt.Sprintf("%s-%d", e.ID, i+1)
			}
			emit(uid, s, "")
		}
	}
	w.line("END", "VCALENDAR")
	return w.b.String()
}

func icalStatus(s string) string {
	switch s {
	case "cancelled":
		return "CANCELLED"
	case "postponed":
		return "TENTATIVE"
	}
	return "CONFIRMED"
}
