package main

import (
	"os"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want summary
	}{
		{"empty", nil, summary{}},
		{"one", []float64{7}, summary{1, 7, 7, 7}},
		{"unsorted", []float64{5, 1, 3, 2, 4}, summary{5, 3, 4.6, 5}},
		{"even", []float64{1, 2, 3, 4}, summary{4, 2.5, 3.7, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have := summarize(tt.xs)
			if have.N != tt.want.N || !near(have.Median, tt.want.Median) || !near(have.P90, tt.want.P90) || !near(have.Max, tt.want.Max) {
				t.Errorf("summarize(%v): have %+v, want %+v", tt.xs, have, tt.want)
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestReadStamp(t *testing.T) {
	path := t.TempDir() + "/s"
	writeFile(t, path, "t 123\npid 9\narg 612062\narg \narg ff\nstdin 780a\n")
	have, err := readStamp(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a b", "", "\xff"}
	if have.T != 123 || have.PID != 9 || len(have.Args) != 3 || have.Stdin == nil || *have.Stdin != "x\n" {
		t.Fatalf("have %+v", have)
	}
	for i := range want {
		if have.Args[i] != want[i] {
			t.Errorf("arg %d: have %q, want %q", i, have.Args[i], want[i])
		}
	}
}

func TestShQuote(t *testing.T) {
	tests := []struct{ have, want string }{
		{"plain", "plain"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"tcp:127.0.0.1:80", "tcp:127.0.0.1:80"},
		{"new\nline", `$'new\nline'`},
		{"x\xff'\\", `$'x\xff\'\\'`},
		{"ünï", "'ünï'"},
	}
	for _, tt := range tests {
		if got := shQuote(tt.have); got != tt.want {
			t.Errorf("shQuote(%q): have %s, want %s", tt.have, got, tt.want)
		}
	}
}

func TestTargetFlip(t *testing.T) {
	for _, k := range allKinds {
		t.Run(string(k), func(t *testing.T) {
			tgt, err := newTarget(k)
			if err != nil {
				t.Fatal(err)
			}
			defer tgt.close()
			if tgt.readyAt.Load() != 0 {
				t.Fatal("ready before the flip")
			}
			before := monoNow()
			if err := tgt.ready(); err != nil {
				t.Fatal(err)
			}
			if at := tgt.readyAt.Load(); at < before || at > monoNow() {
				t.Errorf("readyAt %d outside the flip", at)
			}
		})
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSpreadOffset(t *testing.T) {
	tests := []struct {
		d    time.Duration
		i, n int
		u    float64
		want time.Duration
	}{
		{time.Second, 0, 1, 0.5, -250 * time.Millisecond},
		{time.Second, 0, 2, 0, -500 * time.Millisecond},
		{time.Second, 1, 2, 0.5, -125 * time.Millisecond},
		{300 * time.Millisecond, 0, 3, 0.5, -125 * time.Millisecond},
		{10 * time.Second, 4, 5, 0.5, -100 * time.Millisecond},
		{3 * time.Second, 1, 2, 0.999, -500 * time.Microsecond},
	}
	for _, tt := range tests {
		if have := spreadOffset(tt.d, tt.i, tt.n, tt.u); have != tt.want {
			t.Errorf("spreadOffset(%s, %d, %d, %g): have %s, want %s", tt.d, tt.i, tt.n, tt.u, have, tt.want)
		}
	}
}

func TestMedianCI(t *testing.T) {
	var xs []float64
	for i := 33; i >= 1; i-- {
		xs = append(xs, float64(i))
	}
	if lo, hi := medianCI(xs); lo != 10 || hi != 24 {
		t.Errorf("medianCI(1..33): have %g–%g, want 10–24", lo, hi)
	}
	if lo, hi := medianCI([]float64{5}); lo != 5 || hi != 5 {
		t.Errorf("medianCI(5): have %g–%g, want 5–5", lo, hi)
	}
}
