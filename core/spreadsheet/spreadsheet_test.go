package spreadsheet_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/spreadsheet"
)

func write(t *testing.T, d spreadsheet.Dialect, rows func(w *spreadsheet.Writer)) string {
	t.Helper()
	var b bytes.Buffer
	w := spreadsheet.NewWriter(&b, d)
	rows(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriter_DialectsForProgramsAndFrenchSpreadsheets(t *testing.T) {
	rows := func(w *spreadsheet.Writer) {
		w.Write("id", "text", "rate", "score")
		w.Write(spreadsheet.Int(int64(42)), spreadsheet.Text("Des pistes; des bancs, et « des arbres »"), w.Float(0.25, 4), w.Float(-1.5, 2))
	}
	for _, c := range []struct {
		name string
		d    spreadsheet.Dialect
		want string
	}{
		{"default", spreadsheet.Default, "\ufeffid,text,rate,score\n42,\"Des pistes; des bancs, et « des arbres »\",0.2500,-1.50\n"},
		{"french", spreadsheet.French, "\ufeffid;text;rate;score\n42;\"Des pistes; des bancs, et « des arbres »\";0,2500;-1,50\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := write(t, c.d, rows)
			if got != c.want {
				t.Fatalf("got  %q\nwant %q", got, c.want)
			}
			// What a program reads back once the byte order mark is dropped.
			r := csv.NewReader(strings.NewReader(strings.TrimPrefix(got, spreadsheet.BOM)))
			r.Comma = c.d.Comma
			recs, err := r.ReadAll()
			if err != nil || len(recs) != 2 || recs[1][1] != "Des pistes; des bancs, et « des arbres »" {
				t.Fatalf("read back: %q %v", recs, err)
			}
		})
	}
}

func TestText_NeutralisesFormulasNotNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+33 6":                    "'+33 6",
		"-1+1":                     "'-1+1",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\tcmd":                    "'\tcmd",
		"\rcmd":                    "'\rcmd",
		"Il faut = des bancs":      "Il faut = des bancs",
		"":                         "",
	} {
		if got := spreadsheet.Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
	var w spreadsheet.Writer
	if got := w.Float(-0.125, 3); got != "-0.125" {
		t.Errorf("a negative number is written %q", got)
	}
}

func TestDialectOf_RefusesAnUnknownSeparator(t *testing.T) {
	for sep, want := range map[string]spreadsheet.Dialect{"": spreadsheet.Default, "comma": spreadsheet.Default, "semicolon": spreadsheet.French} {
		if d, err := spreadsheet.DialectOf(sep); err != nil || d != want {
			t.Errorf("DialectOf(%q) = %+v, %v", sep, d, err)
		}
	}
	for _, sep := range []string{";", "tab", "SEMICOLON", "semicolon "} {
		if _, err := spreadsheet.DialectOf(sep); errs.KindOf(err) != errs.Invalid {
			t.Errorf("DialectOf(%q): %v, want an invalid-input error", sep, err)
		}
	}
}
