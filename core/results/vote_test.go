package results

import (
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/errs"
)

func TestQualifications_BelongToTheirKey(t *testing.T) {
	want := map[Key][]Qualification{
		Agree:    {LikeIt, Doable, PlatitudeAgree},
		Disagree: {NoWay, Impossible, PlatitudeDisagree},
		Neutral:  {DoNotUnderstand, NoOpinion, DoNotCare},
	}
	for k, qs := range want {
		got := QualificationsOf(k)
		if len(got) != len(qs) {
			t.Fatalf("QualificationsOf(%s) = %v, want %v", k, got, qs)
		}
		for i, q := range qs {
			if got[i] != q || q.Key() != k {
				t.Errorf("QualificationsOf(%s)[%d] = %s (key %s), want %s", k, i, got[i], got[i].Key(), q)
			}
		}
	}
	if got := len(Qualifications()); got != NumQualifications {
		t.Errorf("%d qualifications, want %d", got, NumQualifications)
	}

	tests := []struct {
		name    string
		key     Key
		quals   []string
		want    []Qualification
		wantErr string // a piece of the user-facing message
	}{
		{name: "none is fine", key: Neutral, quals: nil, want: nil},
		{name: "qualifications of the key", key: Agree, quals: []string{"likeIt", "doable"}, want: []Qualification{LikeIt, Doable}},
		{name: "qualification of another key", key: Agree, quals: []string{"noWay"}, wantErr: "use one of: likeIt, doable, platitudeAgree"},
		{name: "unknown qualification", key: Disagree, quals: []string{"love"}, wantErr: "use one of: noWay, impossible, platitudeDisagree"},
		{name: "duplicate", key: Neutral, quals: []string{"noOpinion", "noOpinion"}, wantErr: "given twice"},
		{name: "unknown key", key: "maybe", quals: []string{"likeIt"}, wantErr: "use agree, disagree or neutral"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidQualifications(tt.key, tt.quals)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errs.Is(err, errs.Invalid) {
					t.Fatalf("err = %v, want an invalid error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestParseKey_AcceptsOnlyTheThreeKeys(t *testing.T) {
	for _, s := range []string{"agree", "disagree", "neutral"} {
		if k, ok := ParseKey(s); !ok || string(k) != s {
			t.Errorf("ParseKey(%q) = %q, %v", s, k, ok)
		}
	}
	for _, s := range []string{"", "Agree", "likeIt", "yes"} {
		if _, ok := ParseKey(s); ok {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}
