package e2e

import (
	"math"
	"testing"

	"github.com/concorde-civic/concorde/ops/loadgen"
)

// Against compares two consultations round by round: a round in which the whole machine was
// slower moves both sides of that round's figure, not the result.
func TestScalePoint_AgainstComparesWithinEachRound(t *testing.T) {
	round := func(plain, vote, seq float64) ScaleRound {
		return ScaleRound{Plain: loadgen.Report{Throughput: plain}, Vote: loadgen.Report{Throughput: vote}, Sequence: loadgen.Report{Throughput: seq}}
	}
	// The small consultation's vote ratios are 0.1, 0.2, 0.4; the large one's, measured in the
	// same rounds, 0.09, 0.1, 0.36: 0.9×, 0.5×, 0.9× round by round.
	base := ScalePoint{Rounds: []ScaleRound{round(1000, 100, 300), round(1000, 200, 300), round(1000, 400, 300)}}
	big := ScalePoint{Rounds: []ScaleRound{round(1000, 90, 240), round(1000, 100, 240), round(1000, 360, 240)}}
	v, s := big.Against(base)
	if math.Abs(v-0.9) > 1e-9 || math.Abs(s-0.8) > 1e-9 {
		t.Errorf("against the base: vote %v, sequence %v; want 0.9 and 0.8", v, s)
	}
	if got := base.VoteRatio(); math.Abs(got-0.2) > 1e-9 {
		t.Errorf("median vote ratio %v, want 0.2", got)
	}
	if got := (ScalePoint{Rounds: base.Rounds[:2]}).VoteRatio(); math.Abs(got-0.15) > 1e-9 {
		t.Errorf("median of two rounds %v, want their mean 0.15", got)
	}
	if got := (ScalePoint{}).VoteRatio(); !math.IsNaN(got) {
		t.Errorf("no round: %v, want NaN", got)
	}
}
