package errs_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/concorde-civic/concorde/core/errs"
)

func TestSay_NamesTheCatalogueTextAndKeepsTheArguments(t *testing.T) {
	e := errs.Field("content", "at most %d characters after %q", 140, "Il faut").Say("err_x")
	if e.Message != `at most 140 characters after "Il faut"` || e.Key != "err_x" || !reflect.DeepEqual(e.Args, []any{140, "Il faut"}) {
		t.Fatalf("%+v", e)
	}
	key, args, ok := errs.Said(fmt.Errorf("create: %w", e))
	if !ok || key != "err_x" || len(args) != 2 {
		t.Errorf("Said through a wrap: %q %v %v", key, args, ok)
	}
	if e := errs.E(errs.Invalid, "code %04X", 7).Say("err_y", "0007"); !reflect.DeepEqual(e.Args, []any{"0007"}) {
		t.Errorf("arguments given to Say replace the format's: %v", e.Args)
	}
	if _, _, ok := errs.Said(errs.E(errs.Internal, "boom").Say("err_z")); ok {
		t.Error("an internal error's text is never shown")
	}
	if _, _, ok := errs.Said(errs.E(errs.Invalid, "no key")); ok {
		t.Error("an error without a key has no catalogue text")
	}
}
