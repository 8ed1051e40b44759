package sequence

import (
	"math"
	"math/rand/v2"
)

// beta draws from Beta(a, b), a and b > 0, as X / (X + Y) with X ~ Gamma(a) and Y ~ Gamma(b).
func beta(rng *rand.Rand, a, b float64) float64 {
	x := gamma(rng, a)
	y := gamma(rng, b)
	if x+y == 0 { // both underflowed, possible only for tiny shapes
		return a / (a + b)
	}
	return x / (x + y)
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
