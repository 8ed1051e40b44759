package changes

import (
	"slices"
	"testing"
)

func TestCounts_PayloadsStayUnderTheLimitAndReadBack(t *testing.T) {
	var pairs [][2]int64
	for i := range int64(2000) {
		pairs = append(pairs, [2]int64{1_000_000 + i, 9_000_000_000 + i})
	}
	var back [][2]int64
	payloads := countsPayloads("node1", pairs)
	if len(payloads) < 2 {
		t.Fatalf("2,000 pairs in %d payload(s): the limit was not applied", len(payloads))
	}
	for _, p := range payloads {
		if len(p) >= 7100 {
			t.Fatalf("a payload of %d bytes", len(p))
		}
		node, got := ParseCounts(p)
		if node != "node1" {
			t.Fatalf("node %q", node)
		}
		back = append(back, got...)
	}
	if !slices.Equal(back, pairs) {
		t.Fatalf("read back %d pairs, sent %d", len(back), len(pairs))
	}
	if node, got := ParseCounts("n2 3:4 x:5 0:7 6"); node != "n2" || !slices.Equal(got, [][2]int64{{3, 4}}) {
		t.Fatalf("malformed pairs: %q %v", node, got)
	}
	if node, got := ParseCounts(""); node != "" || got != nil {
		t.Fatalf("empty payload: %q %v", node, got)
	}
}
