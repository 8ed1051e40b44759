package snapshot

import (
	"slices"
	"testing"
)

func TestJSONDiff_NamesEachDifferenceByPathAndProposal(t *testing.T) {
	published := `{"votes":10,"consensus":[{"id":1,"scores":{"top":0.5}},{"id":2,"scores":{"top":0.4}}],"limbo":[],"rules":"x"}`
	for _, tc := range []struct {
		name, now string
		want      []string
	}{
		{"identical", published, nil},
		{"same values, other spacing", `{ "votes": 10, "consensus": [{"id":1,"scores":{"top":0.5}},{"id":2,"scores":{"top":0.4}}], "limbo": [], "rules": "x" }`, nil},
		{"a score", `{"votes":10,"consensus":[{"id":1,"scores":{"top":0.5}},{"id":2,"scores":{"top":0.41}}],"limbo":[],"rules":"x"}`,
			[]string{"consensus[id=2].scores.top: 0.4 → 0.41"}},
		{"a proposal changed zone", `{"votes":10,"consensus":[{"id":1,"scores":{"top":0.5}}],"limbo":[{"id":2,"scores":{"top":0.4}}],"rules":"x"}`,
			[]string{"consensus[id=2]: in the published list, not in the rebuilt one", "limbo[id=2]: in the rebuilt list, not in the published one"}},
		{"the order", `{"votes":10,"consensus":[{"id":2,"scores":{"top":0.4}},{"id":1,"scores":{"top":0.5}}],"limbo":[],"rules":"x"}`,
			[]string{"consensus: the order differs from position 1"}},
		{"a field gone and one new", `{"votes":10,"consensus":[{"id":1,"scores":{"top":0.5}},{"id":2,"scores":{"top":0.4}}],"limbo":[],"method":"y"}`,
			[]string{`method: absent → "y"`, `rules: "x" → absent`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jsonDiff([]byte(published), []byte(tc.now))
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := jsonDiff([]byte(published), []byte(`{"votes":`)); err == nil {
		t.Fatal("broken JSON compared without an error")
	}
}
