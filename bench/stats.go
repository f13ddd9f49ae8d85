package main

import (
	"fmt"
	"math"
	"sort"
)

// summary is median / p90 / max of a sample. Percentiles interpolate
// linearly between order statistics (numpy's default), so with few runs
// p90 still lies below the max.
type summary struct {
	N                int
	Median, P90, Max float64
}

func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return summary{N: len(s), Median: quantile(s, 0.5), P90: quantile(s, 0.9), Max: s[len(s)-1]}
}

// quantile of sorted s, linear interpolation.
func quantile(s []float64, q float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// fmtMS formats milliseconds with a precision that suits the size.
func fmtMS(ms float64) string {
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f", ms)
	default:
		return fmt.Sprintf("%.0f", ms)
	}
}

func (s summary) ms() string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%s / %s / %s", fmtMS(s.Median), fmtMS(s.P90), fmtMS(s.Max))
}

// medianCI is a distribution-free 95 % confidence interval for the median:
// the order statistics at ranks n/2 ∓ 0.98·√n (normal approximation of the
// binomial), clamped to the sample.
func medianCI(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := float64(len(s))
	j := int(math.Floor((n - 1.96*math.Sqrt(n)) / 2)) // 1-based rank
	k := int(math.Ceil(1 + (n+1.96*math.Sqrt(n))/2))
	j = max(j, 1)
	k = min(k, len(s))
	return s[j-1], s[k-1]
}
