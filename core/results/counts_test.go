package results

import (
	"encoding/json"
	"testing"
)

// votes returns counts of one trust level with the given number of votes per key.
func votes(t Trust, agree, disagree, neutral int64) Counts {
	var c Counts
	c.Votes[t] = [NumKeys]int64{agree, disagree, neutral}
	return c
}

func TestCounts_AddThenRemoveIsZero(t *testing.T) {
	tests := []struct {
		name  string
		trust Trust
		key   Key
		quals []Qualification
	}{
		{"sequence agree with qualifications", Sequence, Agree, []Qualification{LikeIt, Doable}},
		{"trusted disagree", Trusted, Disagree, []Qualification{NoWay}},
		{"troll neutral", Troll, Neutral, []Qualification{DoNotCare}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Counts
			c.Add(tt.trust, tt.key, tt.quals, 1)
			if c.Total(tt.trust) != 1 || c.Quals[tt.trust][tt.quals[0].Index()] != 1 {
				t.Fatalf("after +1: %+v", c)
			}
			c.Add(tt.trust, tt.key, tt.quals, -1)
			if !c.Equal(Counts{}) {
				t.Fatalf("after +1 then -1: %+v, want zero", c)
			}
		})
	}
}

func TestCounts_ChangedVoteMovesItsCounts(t *testing.T) {
	var c Counts
	c.Add(Sequence, Agree, []Qualification{LikeIt}, 1)
	c.Add(Sequence, Agree, []Qualification{LikeIt}, -1)
	c.Add(Sequence, Disagree, []Qualification{NoWay}, 1)
	if c.WeightedKey(Agree) != 0 || c.WeightedKey(Disagree) != 1 || c.WeightedQual(LikeIt) != 0 || c.WeightedQual(NoWay) != 1 {
		t.Fatalf("counts after change: %+v", c)
	}
}

func TestCounts_AddIgnoresQualificationsOfAnotherKey(t *testing.T) {
	var c Counts
	c.Add(Sequence, Agree, []Qualification{NoWay}, 1)
	if c.WeightedQual(NoWay) != 0 || c.WeightedKey(Agree) != 1 {
		t.Fatalf("counts: %+v", c)
	}
}

func TestCounts_AddDoesNotAllocate(t *testing.T) {
	var c Counts
	qs := []Qualification{LikeIt, Doable}
	if n := testing.AllocsPerRun(100, func() { c.Add(Sequence, Agree, qs, 1) }); n != 0 {
		t.Fatalf("Add allocates %v times", n)
	}
}

func TestCounts_WeightsByTrust(t *testing.T) {
	var c Counts
	c.Add(Sequence, Agree, []Qualification{LikeIt}, 1)
	c.Add(Trusted, Agree, []Qualification{LikeIt}, 1)
	c.Add(Troll, Agree, []Qualification{LikeIt}, 1)
	// Only the sequence vote counts: the trusted (link or search) and troll ones weigh nothing.
	if c.WeightedKey(Agree) != 1 || c.WeightedQual(LikeIt) != 1 || c.WeightedTotal() != 1 {
		t.Fatalf("weighted: key %v qual %v total %v, want 1", c.WeightedKey(Agree), c.WeightedQual(LikeIt), c.WeightedTotal())
	}
}

func TestCounts_JSON(t *testing.T) {
	var c Counts
	c.Add(Sequence, Agree, []Qualification{LikeIt}, 2)
	c.Add(Trusted, Disagree, []Qualification{NoWay}, 1)
	c.Add(Troll, Neutral, nil, 3)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	const zeroQuals = `"qualifications":{"likeIt":0,"doable":0,"platitudeAgree":0,"noWay":0,"impossible":0,"platitudeDisagree":0,"doNotUnderstand":0,"noOpinion":0,"doNotCare":0}`
	want := `{"sequence":{"agree":2,"disagree":0,"neutral":0,"qualifications":{"likeIt":2,"doable":0,"platitudeAgree":0,"noWay":0,"impossible":0,"platitudeDisagree":0,"doNotUnderstand":0,"noOpinion":0,"doNotCare":0}},` +
		`"trusted":{"agree":0,"disagree":1,"neutral":0,"qualifications":{"likeIt":0,"doable":0,"platitudeAgree":0,"noWay":1,"impossible":0,"platitudeDisagree":0,"doNotUnderstand":0,"noOpinion":0,"doNotCare":0}},` +
		`"troll":{"agree":0,"disagree":0,"neutral":3,` + zeroQuals + `}}`
	if string(b) != want {
		t.Fatalf("JSON\n got %s\nwant %s", b, want)
	}

	// Inside another value, not addressable: the value receiver must still apply.
	b, err = json.Marshal(struct{ Votes Counts }{c})
	if err != nil || string(b) != `{"Votes":`+want+`}` {
		t.Fatalf("embedded JSON %s, %v", b, err)
	}

	var back Counts
	if err := json.Unmarshal([]byte(want), &back); err != nil || !back.Equal(c) {
		t.Fatalf("round trip: %+v, %v; want %+v", back, err, c)
	}
	for _, bad := range []string{
		`{"sequence":{"agree":-1}}`,
		`{"sequence":{"yes":1}}`,
		`{"sequence":{"qualifications":{"love":1}}}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}
