package main

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one cultural event of the tenant's agenda.
type Event struct {
	ID            string      `json:"id"`
	Title         string      `json:"title"`
	Description   string      `json:"description"`
	Category      string      `json:"category"`
	Venue         Venue       `json:"venue"`
	Slots         []Slot      `json:"slots,omitempty"`
	Recurrence    *Recurrence `json:"recurrence,omitempty"`
	Free          bool        `json:"free"`
	PriceEUR      *float64    `json:"price_eur,omitempty"`
	AgeMin        *int        `json:"age_min,omitempty"`
	AgeMax        *int        `json:"age_max,omitempty"`
	Accessibility []string    `json:"accessibility,omitempty"`
	Status        string      `json:"status"`
	Link          string      `json:"link,omitempty"`
	IdeaID        string      `json:"idea_id,omitempty"` // the citizen idea this event comes from
	// Draft events are seen on the staff screens only, until staff publish them.
	Draft      bool      `json:"draft,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Interested int64     `json:"interested"`
}

// Venue is where an event takes place.
type Venue struct {
	Name       string   `json:"name"`
	Address    string   `json:"address"`
	PostalCode string   `json:"postal_code,omitempty"`
	City       string   `json:"city"`
	Lat        *float64 `json:"lat,omitempty"`
	Lon        *float64 `json:"lon,omitempty"`
}

// Slot is one time an event happens.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Recurrence is a first slot repeated by an RRULE (a subset of RFC 5545).
type Recurrence struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	RRule string    `json:"rrule"`
}

var (
	categories    = []string{"concert", "theatre", "exhibition", "cinema", "dance", "festival", "workshop", "heritage", "reading", "other"}
	statuses      = []string{"scheduled", "postponed", "cancelled", "full"}
	accessibility = []string{"hearing", "visual", "motor", "mental", "intellectual"}
)

// fieldError is bad input about one field; handlers answer 400 with it.
type fieldError struct{ Field, Message string }

func (e *fieldError) Error() string { return e.Field + ": " + e.Message }

func bad(field, format string, args ...any) error {
	return &fieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks an event and normalises it (status default, trimmed text).
func (e *Event) Validate() error {
	e.Title = strings.TrimSpace(e.Title)
	if n := utf8.RuneCountInString(e.Title); n < 3 || n > 140 {
		return bad("title", "the title must have 3 to 140 characters")
	}
	if utf8.RuneCountInString(e.Description) > 5000 {
		return bad("description", "the description must have at most 5000 characters")
	}
	if !slices.Contains(categories, e.Category) {
		return bad("category", "category must be one of %s", strings.Join(categories, ", "))
	}
	if strings.TrimSpace(e.Venue.Name) == "" || utf8.RuneCountInString(e.Venue.Name) > 200 {
		return bad("venue.name", "the venue needs a name (at most 200 characters)")
	}
	if utf8.RuneCountInString(e.Venue.Address) > 300 || utf8.RuneCountInString(e.Venue.City) > 100 {
		return bad("venue.address", "the address is too long")
	}
	if (e.Venue.Lat == nil) != (e.Venue.Lon == nil) {
		return bad("venue.lat", "give both lat and lon, or neither")
	}
	if e.Venue.Lat != nil && (*e.Venue.Lat < -90 || *e.Venue.Lat > 90) {
		return bad("venue.lat", "latitude must be between -90 and 90")
	}
	if e.Venue.Lon != nil && (*e.Venue.Lon < -180 || *e.Venue.Lon > 180) {
		return bad("venue.lon", "longitude must be between -180 and 180")
	}
	if len(e.Slots) == 0 && e.Recurrence == nil {
		return bad("slots", "give at least one time slot, or a recurrence")
	}
	if len(e.Slots) > 0 && e.Recurrence != nil {
		return bad("recurrence", "give time slots or a recurrence, not both")
	}
	if len(e.Slots) > 200 {
		return bad("slots", "at most 200 time slots")
	}
	for i, s := range e.Slots {
		if s.Start.IsZero() || !s.End.After(s.Start) {
			return bad(fmt.Sprintf("slots[%d].end", i), "each slot must end after it starts")
		}
	}
	if r := e.Recurrence; r != nil {
		if r.Start.IsZero() || !r.End.After(r.Start) {
			return bad("recurrence.end", "the recurring slot must end after it starts")
		}
		if _, err := ParseRRule(r.RRule); err != nil {
			return bad("recurrence.rrule", "%v", err)
		}
	}
	if e.Free && e.PriceEUR != nil && *e.PriceEUR != 0 {
		return bad("price_eur", "a free event has no price")
	}
	if e.PriceEUR != nil && (*e.PriceEUR < 0 || *e.PriceEUR > 10000) {
		return bad("price_eur", "the price must be between 0 and 10000 euros")
	}
	if !e.Free && e.PriceEUR == nil {
		return bad("price_eur", "give a price, or say the event is free")
	}
	if e.AgeMin != nil && (*e.AgeMin < 0 || *e.AgeMin > 120) || e.AgeMax != nil && (*e.AgeMax < 0 || *e.AgeMax > 120) {
		return bad("age_min", "ages must be between 0 and 120")
	}
	if e.AgeMin != nil && e.AgeMax != nil && *e.AgeMin > *e.AgeMax {
		return bad("age_max", "the maximum age is below the minimum age")
	}
	for _, a := range e.Accessibility {
		if !slices.Contains(accessibility, a) {
			return bad("accessibility", "accessibility must be among %s", strings.Join(accessibility, ", "))
		}
	}
	if e.Status == "" {
		e.Status = "scheduled"
	}
	if !slices.Contains(statuses, e.Status) {
		return bad("status", "status must be one of %s", strings.Join(statuses, ", "))
	}
	if e.Link != "" {
		u, err := url.Parse(e.Link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(e.Link) > 500 {
			return bad("link", "the link must be an http or https URL")
		}
	}
	return nil
}

// Occurrences returns the event's slots that overlap [from, to), expanding a recurrence.
func (e *Event) Occurrences(from, to time.Time) []Slot {
	var out []Slot
	overlaps := func(s Slot) bool { return s.End.After(from) && s.Start.Before(to) }
	for _, s := range e.Slots {
		if overlaps(s) {
			out = append(out, s)
		}
	}
	if r := e.Recurrence; r != nil {
		rule, err := ParseRRule(r.RRule)
		if err != nil {
			return out
		}
		d := r.End.Sub(r.Start)
		for _, start := range rule.Expand(r.Start, to, 1000) {
			if s := (Slot{Start: start, End: start.Add(d)}); overlaps(s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// RRule is the subset of RFC 5545 recurrence rules the agenda accepts.
type RRule struct {
	Freq     string // DAILY, WEEKLY or MONTHLY
	Interval int
	Count    int
	Until    time.Time
	ByDay    []WeekdayNum
}

// WeekdayNum is a BYDAY item: a weekday, with an ordinal in a MONTHLY rule ("1MO", "-1FR").
type WeekdayNum struct {
	N   int
	Day time.Weekday
}

var weekdays = map[string]time.Weekday{"MO": time.Monday, "TU": time.Tuesday, "WE": time.Wednesday,
	"TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday, "SU": time.Sunday}

// ParseRRule reads a rule such as "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10".
func ParseRRule(s string) (RRule, error) {
	r := RRule{Interval: 1}
	s = strings.TrimPrefix(strings.TrimSpace(s), "RRULE:")
	if s == "" {
		return r, fmt.Errorf("the rule is empty")
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			return r, fmt.Errorf("%q is not NAME=VALUE", part)
		}
		k = strings.ToUpper(k)
		if seen[k] {
			return r, fmt.Errorf("%s appears twice", k)
		}
		seen[k] = true
		switch k {
		case "FREQ":
			if v != "DAILY" && v != "WEEKLY" && v != "MONTHLY" {
				return r, fmt.Errorf("FREQ must be DAILY, WEEKLY or MONTHLY")
			}
			r.Freq = v
		case "INTERVAL":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 365 {
				return r, fmt.Errorf("INTERVAL must be a whole number from 1 to 365")
			}
			r.Interval = n
		case "COUNT":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return r, fmt.Errorf("COUNT must be a whole number from 1 to 1000")
			}
			r.Count = n
		case "UNTIL":
			t, err := parseICalTime(v)
			if err != nil {
				return r, fmt.Errorf("UNTIL must be a date (YYYYMMDD) or a UTC time (YYYYMMDDTHHMMSSZ)")
			}
			r.Until = t
		case "BYDAY":
			for _, d := range strings.Split(v, ",") {
				wd, ok := weekdays[d[max(0, len(d)-2):]]
				if !ok {
					return r, fmt.Errorf("BYDAY item %q is not a weekday (MO, TU, WE, TH, FR, SA, SU)", d)
				}
				n := 0
				if num := d[:len(d)-2]; num != "" {
					var err error
					if n, err = strconv.Atoi(num); err != nil || n == 0 || n < -5 || n > 5 {
						return r, fmt.Errorf("BYDAY item %q has a bad ordinal", d)
					}
				}
				r.ByDay = append(r.ByDay, WeekdayNum{N: n, Day: wd})
			}
		default:
			return r, fmt.Errorf("%s is not supported (use FREQ, INTERVAL, COUNT, UNTIL, BYDAY)", k)
		}
	}
	if r.Freq == "" {
		return r, fmt.Errorf("FREQ is required")
	}
	if r.Count > 0 && !r.Until.IsZero() {
		return r, fmt.Errorf("COUNT and UNTIL cannot both be given")
	}
	for _, d := range r.ByDay {
		if d.N != 0 && r.Freq != "MONTHLY" {
			return r, fmt.Errorf("BYDAY ordinals (like 1MO) only go with FREQ=MONTHLY")
		}
	}
	return r, nil
}

func parseICalTime(v string) (time.Time, error) {
	if t, err := time.Parse("20060102T150405Z", v); err == nil {
		return t, nil
	}
	t, err := time.Parse("20060102", v)
	if err != nil {
		return t, err
	}
	return t.Add(24*time.Hour - time.Second), nil // a date UNTIL includes the whole day
}

// String writes the rule back in RFC 5545 syntax.
func (r RRule) String() string {
	parts := []string{"FREQ=" + r.Freq}
	if r.Interval > 1 {
		parts = append(parts, "INTERVAL="+strconv.Itoa(r.Interval))
	}
	if r.Count > 0 {
		parts = append(parts, "COUNT="+strconv.Itoa(r.Count))
	}
	if !r.Until.IsZero() {
		parts = append(parts, "UNTIL="+r.Until.UTC().Format("20060102T150405Z"))
	}
	if len(r.ByDay) > 0 {
		var ds []string
		for _, d := range r.ByDay {
			name := strings.ToUpper(d.Day.String()[:2])
			if d.N != 0 {
				name = strconv.Itoa(d.N) + name
			}
			ds = append(ds, name)
		}
		parts = append(parts, "BYDAY="+strings.Join(ds, ","))
	}
	return strings.Join(parts, ";")
}

// Expand returns the starts of the occurrences from dtstart (included, as RFC 5545 says)
// until before, at most limit of them.
func (r RRule) Expand(dtstart, before time.Time, limit int) []time.Time {
	var out []time.Time
	n := 0
	emit := func(t time.Time) bool {
		if t.Before(dtstart) {
			return true
		}
		if r.Count > 0 && n >= r.Count || !r.Until.IsZero() && t.After(r.Until) || !t.Before(before) || len(out) >= limit {
			return false
		}
		n++
		out = append(out, t)
		return true
	}
	hasDay := func(wd time.Weekday) bool {
		for _, d := range r.ByDay {
			if d.Day == wd {
				return true
			}
		}
		return false
	}
	for period := 0; period < 5000; period++ {
		switch r.Freq {
		case "DAILY":
			t := dtstart.AddDate(0, 0, period*r.Interval)
			if len(r.ByDay) > 0 && !hasDay(t.Weekday()) {
				if t.After(before) {
					return out
				}
				continue
			}
			if !emit(t) {
				return out
			}
		case "WEEKLY":
			weekStart := dtstart.AddDate(0, 0, period*7*r.Interval-int((dtstart.Weekday()+6)%7))
			days := []time.Time{dtstart.AddDate(0, 0, period*7*r.Interval)}
			if len(r.ByDay) > 0 {
				days = days[:0]
				for i := 0; i < 7; i++ {
					if t := weekStart.AddDate(0, 0, i); hasDay(t.Weekday()) {
						days = append(days, t)
					}
				}
			}
			for _, t := range days {
				if !emit(t) {
					return out
				}
			}
		case "MONTHLY":
			first := time.Date(dtstart.Year(), dtstart.Month()+time.Month(period*r.Interval), 1,
				dtstart.Hour(), dtstart.Minute(), dtstart.Second(), 0, dtstart.Location())
			var days []time.Time
			if len(r.ByDay) == 0 {
				if t := first.AddDate(0, 0, dtstart.Day()-1); t.Month() == first.Month() {
					days = append(days, t)
				}
			} else {
				for i := 0; i < 31; i++ {
					t := first.AddDate(0, 0, i)
					if t.Month() != first.Month() {
						break
					}
					for _, d := range r.ByDay {
						if d.Day != t.Weekday() {
							continue
						}
						nth := (t.Day()-1)/7 + 1
						last := -((daysIn(t)-t.Day())/7 + 1)
						if d.N == 0 || d.N == nth || d.N == last {
							days = append(days, t)
							break
						}
					}
				}
			}
			for _, t := range days {
				if !emit(t) {
					return out
				}
			}
		}
	}
	return out
}

func daysIn(t time.Time) int {
	return time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, t.Location()).Day()
}
