package main

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// Money is integer cents of euros everywhere: in storage, in the JSON API and in every sum.
// No amount is ever a float.

// maxCents bounds every amount (a billion euros): sums of a few thousand of them stay far
// from overflowing an int64.
const maxCents int64 = 100_000_000_000

var errOverflow = errors.New("amount overflow")

// add returns a+b, or an error when it would leave the range of amounts.
func add(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, errOverflow
	}
	return a + b, nil
}

// Number is a JSON number kept as written (never through a float); unlike json.Number it
// refuses strings, so "500" is not an amount.
type Number string

// UnmarshalJSON accepts a JSON number only.
func (n *Number) UnmarshalJSON(b []byte) error {
	var v json.Number
	if len(b) > 0 && b[0] == '"' {
		return errors.New("amounts and counts are JSON numbers, not strings")
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*n = Number(v)
	return nil
}

// centsOf reads a JSON number that must be a whole, positive number of cents at most max.
func centsOf(field string, n Number, min, max int64) (int64, error) {
	s := string(n)
	if s == "" {
		return 0, bad(field, "%s is required (a whole number of cents)", field)
	}
	for i, c := range s {
		if !(c >= '0' && c <= '9' || c == '-' && i == 0) {
			return 0, bad(field, "%s must be a whole number of cents, not %s", field, s)
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, bad(field, "%s is out of range", field)
	}
	if v < min || v > max {
		return 0, bad(field, "%s must be between %d and %d cents", field, min, max)
	}
	return v, nil
}

// optCents is centsOf for an optional field: absent is 0.
func optCents(field string, n Number, max int64) (int64, error) {
	if n == "" {
		return 0, nil
	}
	return centsOf(field, n, 0, max)
}

// parseEuros reads an amount typed in a form, in euros: "12", "12,50", "12.5", "1 234,50 €".
// It works on the digits, never through a float.
func parseEuros(field, s string) (int64, error) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "€", "", "EUR", "").Replace(strings.TrimSpace(s))
	if s == "" {
		return 0, bad(field, "give an amount in euros")
	}
	whole, frac, hasFrac := strings.Cut(strings.ReplaceAll(s, ",", "."), ".")
	if whole == "" {
		whole = "0"
	}
	if len(whole) > 12 || (hasFrac && (len(frac) == 0 || len(frac) > 2)) {
		return 0, bad(field, "give an amount in euros with at most two decimals")
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, bad(field, "give an amount in euros with at most two decimals")
		}
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + f, nil
}

// formatCents writes an amount as people of the language read it: "1 234,50 €" (French, with
// narrow no-break spaces between thousands and a no-break space before the sign), "€1,234.50".
// Whole amounts keep their decimals only in French money style ("12,00 €" reads oddly in
// a progress line, so whole euros are written "12 €").
func formatCents(l string, cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	whole := strconv.FormatInt(cents/100, 10)
	sep, dec := "\u202f", ","
	if l == "en" {
		sep, dec = ",", "."
	}
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	out := b.String()
	if cents%100 != 0 {
		out += dec + strconv.FormatInt(cents%100+100, 10)[1:]
	}
	if neg {
		out = "-" + out
	}
	if l == "en" {
		if neg {
			return "-€" + out[1:]
		}
		return "€" + out
	}
	return out + "\u00a0€"
}

// percent is part/whole in whole percent, rounded down, at most 100.
func percent(part, whole int64) int64 {
	if whole <= 0 || part <= 0 {
		return 0
	}
	if part >= whole {
		return 100
	}
	return part * 100 / whole // part < whole ≤ maxCents: no overflow
}
