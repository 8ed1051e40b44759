package results

import (
	"fmt"
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

// Sessions that coalescing counts as one (8 clones from one source, agreeing on everything)
// count as one in the weighted results, the segments and the raking sample, as in the
// published scores.
func TestWeighAndSplitBy_CountCoalescedSessionsAsOne(t *testing.T) {
	old, young := Profile{AgeBand: "65-plus"}, Profile{AgeBand: "18-24"}
	sv := NewSessionVotes(0)
	profiles := map[string]Profile{}
	ids := []int64{1, 2, 3, 4, 5, 6}
	for i := range 8 {
		name := fmt.Sprintf("clone-%d", i)
		profiles[name] = old
		for _, id := range ids {
			sv.Add(name, "sQ4-x1Hb0aE", id, Agree.Index(), 0)
		}
	}
	for i := range 6 {
		name := fmt.Sprintf("person-%d", i)
		profiles[name] = young
		for _, id := range ids {
			sv.Add(name, fmt.Sprintf("%d-source", i), id, Disagree.Index(), 0)
		}
	}
	var cells []CellCounts
	for _, id := range ids {
		cells = append(cells,
			CellCounts{ProposalID: id, Profile: old, Counts: votes(Sequence, 8, 0, 0)},
			CellCounts{ProposalID: id, Profile: young, Counts: votes(Sequence, 0, 6, 0)})
	}
	sample := map[Profile]int64{old: 8, young: 6}
	co := Coalesce(sv, DefaultCoalesceConfig())
	if co.Groups != 1 || co.Sessions != 8 || len(co.SessionNames()) != 8 {
		t.Fatalf("coalesced %d groups of %d sessions, want the 8 clones in one", co.Groups, co.Sessions)
	}
	cells2, sample2 := co.ApplyToCells(cells, sample, profiles)
	if sample2[old] != 1 || sample2[young] != 6 || sample[old] != 8 {
		t.Fatalf("sample %v (given %v): want the clones once among the 65-plus, the given sample unchanged", sample2, sample)
	}
	split := SplitBy(cells2, DimensionAgeBand, DefaultConfig())
	if got := split["65-plus"][1].WeightedVotes; got != 1 {
		t.Errorf("65-plus segment on proposal 1: %v votes, want 1 (the clones as one)", got)
	}
	if got := split["18-24"][1].WeightedVotes; got != 6 {
		t.Errorf("18-24 segment on proposal 1: %v votes, want 6", got)
	}
	w, err := Weigh(ids, cells2, sample2, Margins{DimensionAgeBand: {"18-24": 0.5, "65-plus": 0.5}}, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if got := w.Scores[id].WeightedVotes; got != 7 {
			t.Errorf("weighted votes on %d: %v, want 7 (the clones as one, and 6 others)", id, got)
		}
	}
	for _, c := range w.Cells {
		if c.Profile == old && c.Participants != 1 {
			t.Errorf("65-plus cell: %d participants in the sample, want 1", c.Participants)
		}
	}
}
