// Package spreadsheet writes CSV files that open as meant in a spreadsheet, French Excel
// included: every export of the site (results, audit log) goes through its Writer.
//
//   - The file starts with a UTF-8 byte order mark, without which Excel reads the accents
//     as Windows-1252.
//   - By default cells are separated by commas and decimals written with a point, for
//     programs. With sep=semicolon (French), cells are separated by semicolons and decimals
//     written with a comma, which is what French Excel expects when it opens a file with a
//     double click. No "sep=;" first line is written: Excel then ignores the byte order mark
//     and garbles the accents.
//   - A text cell that starts with =, +, -, @, a tab or a carriage return gets a leading
//     apostrophe, so that a spreadsheet does not run it as a formula (a proposal's text
//     is written by anyone). Numbers are written by Int and Float, never neutralised, so a
//     negative score stays a number.
package spreadsheet

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/concorde-civic/concorde/core/errs"
)

// BOM is the UTF-8 byte order mark every file starts with.
const BOM = "\ufeff"

// Dialect is how cells are separated and decimals written.
type Dialect struct {
	Comma        rune // cell separator
	DecimalComma bool // 0,25 rather than 0.25
}

var (
	// Default is for programs: commas, decimal points.
	Default = Dialect{Comma: ','}
	// French is for French spreadsheets: semicolons, decimal commas.
	French = Dialect{Comma: ';', DecimalComma: true}
)

// DialectOf reads a request's sep parameter: "" or "comma" (Default), "semicolon" (French).
func DialectOf(sep string) (Dialect, error) {
	switch sep {
	case "", "comma":
		return Default, nil
	case "semicolon":
		return French, nil
	}
	return Dialect{}, errs.Field("sep", "sep must be comma or semicolon (semicolon also writes decimals with a comma, for French spreadsheets)")
}

// Name is the dialect's value of the sep parameter.
func (d Dialect) Name() string {
	if d.Comma == ';' {
		return "semicolon"
	}
	return "comma"
}

// Writer writes the rows of one file.
type Writer struct {
	csv *csv.Writer
	d   Dialect
	err error
}

// NewWriter starts a file on w: it writes the byte order mark at once.
func NewWriter(w io.Writer, d Dialect) *Writer {
	cw := csv.NewWriter(w)
	cw.Comma = d.Comma
	_, err := io.WriteString(w, BOM)
	return &Writer{csv: cw, d: d, err: err}
}

// Write writes one row: cells made by Text, Int or Float, or fixed codes (a zone, a header).
func (w *Writer) Write(cells ...string) {
	if w.err == nil {
		w.err = w.csv.Write(cells)
	}
}

// Flush writes what is buffered and returns the first error met.
func (w *Writer) Flush() error {
	w.csv.Flush()
	if w.err != nil {
		return w.err
	}
	return w.csv.Error()
}

// Float writes f with prec decimals in the dialect's decimal separator.
func (w *Writer) Float(f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if w.d.DecimalComma {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Int writes a whole number.
func Int[N ~int | ~int64 | ~int32](n N) string { return strconv.FormatInt(int64(n), 10) }

// Text is a cell of free text, kept from being read as a formula.
func Text(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
