package sequence

import (
	"slices"
	"testing"
)

// ksDistance is the two-sample Kolmogorov-Smirnov distance of n draws of each: the largest
// gap between their empirical distribution functions.
func ksDistance(n int, x, y func() float64) float64 {
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range n {
		xs[i], ys[i] = x(), y()
	}
	slices.Sort(xs)
	slices.Sort(ys)
	d, i, j := 0.0, 0, 0
	for i < n && j < n {
		if xs[i] <= ys[j] {
			i++
		} else {
			j++
		}
		d = max(d, float64(abs(i-j))/float64(n))
	}
	return d
}

func abs(x int) int { return max(x, -x) }

// The normal approximation of Beta draws (beta.go) is used only where it cannot be told
// apart from the gamma method: from NormalFrom on both shapes, 200,000 draws of each stay
// within 0.0062 of each other, the distance a Kolmogorov-Smirnov test would reject at 0.1 %;
// with a small shape (2) they are six times as far apart.
func TestBeta_NormalApproximation(t *testing.T) {
	const n = 200000
	rng := seeded(21)
	for _, tt := range []struct {
		a, b    float64
		atMost  float64 // largest distance allowed
		atLeast float64 // smallest distance expected, showing the test can tell
	}{
		{NormalFrom, NormalFrom, 0.0062, 0},
		{NormalFrom, 300, 0.0062, 0},
		{NormalFrom, 3000, 0.0062, 0},
		{3000, NormalFrom, 0.0062, 0},
		{200, 1000, 0.0062, 0},
		{1500, 1500, 0.0062, 0},
		{2, 300, 1, 0.02},
	} {
		d := ksDistance(n, func() float64 { return betaNormal(rng, tt.a, tt.b) }, func() float64 { return betaGamma(rng, tt.a, tt.b) })
		t.Logf("Beta(%v, %v): distance %.4f", tt.a, tt.b, d)
		if d > tt.atMost || d < tt.atLeast {
			t.Errorf("Beta(%v, %v): the normal approximation is %.4f from the gamma method, want between %v and %v", tt.a, tt.b, d, tt.atLeast, tt.atMost)
		}
	}
	// The draws stay inside (0, 1) even far in the tails.
	for range 100000 {
		if x := betaNormal(rng, NormalFrom, 1e7); !(x > 0 && x < 1) {
			t.Fatalf("Beta(%v, 1e7) drew %v", NormalFrom, x)
		}
	}
}
