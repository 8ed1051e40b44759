package results

import (
	"slices"
	"testing"
)

func TestRank_OrdersEachList(t *testing.T) {
	withLikeIt := votes(Sequence, 700, 200, 100)
	withLikeIt.Quals[Sequence][LikeIt.Index()] = 500
	items := []Item{
		{ProposalID: 3, Counts: votes(Sequence, 800, 100, 100)},
		{ProposalID: 1, Counts: votes(Sequence, 800, 100, 100)}, // same scores as 3: smaller id first
		{ProposalID: 2, Counts: votes(Sequence, 900, 50, 50)},
		{ProposalID: 4, Counts: withLikeIt}, // fewer agree than 1 and 3, but loved: top score first
		{ProposalID: 10, Counts: votes(Sequence, 500, 400, 100)},
		{ProposalID: 11, Counts: votes(Sequence, 450, 450, 100)},
		{ProposalID: 12, Counts: votes(Sequence, 400, 500, 100)}, // same controversy as 10
		{ProposalID: 20, Counts: votes(Sequence, 200, 700, 100)},
		{ProposalID: 21, Counts: votes(Sequence, 50, 900, 50)},
		{ProposalID: 31, Counts: votes(Sequence, 300, 200, 500)},
		{ProposalID: 30, Counts: votes(Sequence, 100, 100, 800)},
		{ProposalID: 41, Counts: votes(Sequence, 3, 3, 3)},
		{ProposalID: 40, Counts: Counts{}},
		{ProposalID: 51, Counts: votes(Sequence, 13, 7, 0)}, // leans to consensus, too few votes to say
		{ProposalID: 50, Counts: votes(Sequence, 5, 14, 1)},
	}
	r := Rank(items, DefaultConfig())
	tests := []struct {
		name string
		list []Ranked
		want []int64
	}{
		{"consensus by top score", r.Consensus, []int64{4, 2, 1, 3}},
		{"controversy by controversy score", r.Controversy, []int64{11, 10, 12}},
		{"rejection by rejection score", r.Rejection, []int64{21, 20}},
		{"limbo by id", r.Limbo, []int64{30, 31}},
		{"not enough votes by id", r.NotEnough, []int64{40, 41}},
		{"undetermined by id", r.Undetermined, []int64{50, 51}},
	}
	for _, tt := range tests {
		var got []int64
		for _, x := range tt.list {
			got = append(got, x.ProposalID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestByTheme_KeepsOnlyTaggedItems(t *testing.T) {
	items := []Item{
		{ProposalID: 1, Themes: []string{"culture", "transport"}},
		{ProposalID: 2, Themes: []string{"transport"}},
		{ProposalID: 3},
	}
	var got []int64
	for _, it := range ByTheme(items, "culture") {
		got = append(got, it.ProposalID)
	}
	if !slices.Equal(got, []int64{1}) {
		t.Fatalf("ByTheme(culture) = %v, want [1]", got)
	}
	if got := ByTheme(items, "health"); len(got) != 0 {
		t.Fatalf("ByTheme(health) = %v, want none", got)
	}
}

func BenchmarkRank3000(b *testing.B) {
	items := make([]Item, 3000)
	for i := range items {
		n := int64(10 + i%1500)
		a := n * int64(i%97) / 97
		d := (n - a) * int64(i%13) / 13
		var c Counts
		c.Add(Sequence, Agree, []Qualification{LikeIt}, a)
		c.Add(Sequence, Disagree, []Qualification{NoWay}, d)
		c.Add(Sequence, Neutral, nil, n-a-d)
		c.Add(Trusted, Agree, nil, int64(i%7))
		items[i] = Item{ProposalID: int64(i + 1), Counts: c}
	}
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		_ = Rank(items, cfg)
	}
}
