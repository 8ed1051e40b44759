package results

import (
	"reflect"
	"testing"
)

func TestSplitBy_ScoresEachValueAndThoseWhoDidNotAnswer(t *testing.T) {
	young, old, none := Profile{AgeBand: "18-24", Gender: "f"}, Profile{AgeBand: "65-plus"}, Profile{}
	cells := []CellCounts{
		{ProposalID: 1, Profile: young, Counts: votes(Sequence, 40, 2, 1)},
		{ProposalID: 1, Profile: Profile{AgeBand: "18-24"}, Counts: votes(Sequence, 10, 0, 0)},
		{ProposalID: 1, Profile: old, Counts: votes(Sequence, 2, 40, 1)},
		{ProposalID: 1, Profile: none, Counts: votes(Sequence, 5, 5, 5)},
		{ProposalID: 2, Profile: old, Counts: votes(Sequence, 1, 1, 1)},
	}
	cfg := DefaultConfig()
	got := SplitBy(cells, DimensionAgeBand, cfg)
	if len(got) != 3 {
		t.Fatalf("segments %v, want 18-24, 65-plus and unanswered", got)
	}
	youngAll := votes(Sequence, 50, 2, 1) // both cells of the young, whatever their gender
	if !reflect.DeepEqual(got["18-24"][1], Score(youngAll, cfg)) {
		t.Errorf("18-24 on 1: %+v, want %+v", got["18-24"][1], Score(youngAll, cfg))
	}
	if !reflect.DeepEqual(got[Unanswered][1], Score(votes(Sequence, 5, 5, 5), cfg)) {
		t.Errorf("unanswered on 1: %+v", got[Unanswered][1])
	}
	if _, ok := got["18-24"][2]; ok {
		t.Error("proposal 2 has no young voter but got a score among them")
	}
	if !reflect.DeepEqual(got["65-plus"][2], Score(votes(Sequence, 1, 1, 1), cfg)) {
		t.Errorf("65-plus on 2: %+v", got["65-plus"][2])
	}
}

func TestWeigh_FilesProposalsInZonesAsRankDoes(t *testing.T) {
	young, old := Profile{AgeBand: "18-24"}, Profile{AgeBand: "65-plus"}
	cells := []CellCounts{
		{ProposalID: 1, Profile: young, Counts: votes(Sequence, 80, 5, 5)},
		{ProposalID: 1, Profile: old, Counts: votes(Sequence, 70, 10, 5)},
		{ProposalID: 2, Profile: young, Counts: votes(Sequence, 5, 80, 5)},
		{ProposalID: 2, Profile: old, Counts: votes(Sequence, 5, 70, 5)},
	}
	sample := map[Profile]int64{young: 90, old: 85}
	w, err := Weigh([]int64{1, 2, 3}, cells, sample, Margins{DimensionAgeBand: {"18-24": 0.5, "65-plus": 0.5}}, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !w.Converged || len(w.Cells) != 2 || len(w.Scores) != 3 {
		t.Fatalf("weighting %+v", w)
	}
	r := w.Ranking
	if len(r.Consensus) != 1 || r.Consensus[0].ProposalID != 1 || len(r.Rejection) != 1 || r.Rejection[0].ProposalID != 2 ||
		len(r.NotEnough) != 1 || r.NotEnough[0].ProposalID != 3 {
		t.Fatalf("ranking %+v: want 1 in consensus, 2 in rejection, 3 without enough votes", r)
	}
}
