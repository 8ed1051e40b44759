package sequence

import (
	"math"
	"math/rand/v2"
)

// NormalFrom is the shape from which beta draws from a normal approximation: when both
// shapes are at least this, one normal draw corrected for the skew cannot be told apart from
// the gamma method by 200,000 draws of each (TestBeta_NormalApproximation), and costs a
// third of the two gamma draws. A proposal thus needs about 30 votes on each side of a score
// before its draw is approximated.
const NormalFrom = 30

// beta draws from Beta(a, b), a and b > 0, as X / (X + Y) with X ~ Gamma(a) and Y ~ Gamma(b),
// or, when both shapes are at least NormalFrom, as betaNormal.
func beta(rng *rand.Rand, a, b float64) float64 {
	if a >= NormalFrom && b >= NormalFrom {
		return betaNormal(rng, a, b)
	}
	return betaGamma(rng, a, b)
}

func betaGamma(rng *rand.Rand, a, b float64) float64 {
	x := gamma(rng, a)
	y := gamma(rng, b)
	if x+y == 0 { // both underflowed, possible only for tiny shapes
		return a / (a + b)
	}
	return x / (x + y)
}

// betaNormal draws from Beta(a, b) by its mean, standard deviation and skewness: the normal
// draw z is corrected by the first term of the Cornish-Fisher expansion, z + γ(z²−1)/6, and
// the result kept inside (0, 1).
func betaNormal(rng *rand.Rand, a, b float64) float64 {
	mean, sd, g := normalParams(a, b)
	return normalDraw(rng, mean, sd, g)
}

// normalParams are the mean, standard deviation and skewness over 6 of Beta(a, b).
func normalParams(a, b float64) (mean, sd, g float64) {
	n := a + b
	skew := 2 * (b - a) * math.Sqrt(n+1) / ((n + 2) * math.Sqrt(a*b))
	return a / n, math.Sqrt(a*b/(n+1)) / n, skew / 6
}

func normalDraw(rng *rand.Rand, mean, sd, g float64) float64 {
	z := rng.NormFloat64()
	x := mean + sd*(z+g*(z*z-1))
	return min(max(x, math.SmallestNonzeroFloat64), math.Nextafter(1, 0))
}

// dist is a Beta distribution ready to draw from, in single precision (see drawable): the
// shapes x and y, drawn by the gamma method, when g is NaN; else, for shapes of at least
// NormalFrom, the mean x, standard deviation y and skewness over 6 g of betaNormal, worked
// out once rather than on every draw.
type dist struct{ x, y, g float32 }

func newDist(a, b float64) dist {
	if a >= NormalFrom && b >= NormalFrom {
		mean, sd, g := normalParams(a, b)
		return dist{float32(mean), float32(sd), float32(g)}
	}
	return dist{float32(a), float32(b), float32(math.NaN())}
}

func (d dist) draw(rng *rand.Rand) float64 {
	if d.g != d.g {
		return betaGamma(rng, float64(d.x), float64(d.y))
	}
	return normalDraw(rng, float64(d.x), float64(d.y), float64(d.g))
}

// gamma draws from Gamma(a, 1), a > 0, by Marsaglia and Tsang's method ("A simple method for
// generating gamma variables", ACM TOMS 26(3), 2000). For a < 1 it draws Gamma(a+1) and
// scales by U^(1/a).
func gamma(rng *rand.Rand, a float64) float64 {
	if a < 1 {
		return gamma(rng, a+1) * math.Pow(rng.Float64(), 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		x2 := x * x
		if u < 1-0.0331*x2*x2 { // quick acceptance, taken about 98% of the time
			return d * v
		}
		if math.Log(u) < 0.5*x2+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
