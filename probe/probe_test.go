package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestBackoffNext(t *testing.T) {
	b := Backoff{Initial: 40 * time.Millisecond, Max: 400 * time.Millisecond, Hold: time.Second, Factor: 1.5}
	tests := []struct {
		name          string
		prev, elapsed time.Duration
		want          time.Duration
	}{
		{"first", 0, 0, 40 * time.Millisecond},
		{"held", 40 * time.Millisecond, 500 * time.Millisecond, 40 * time.Millisecond},
		{"held even after growth", 300 * time.Millisecond, 999 * time.Millisecond, 40 * time.Millisecond},
		{"grows after hold", 40 * time.Millisecond, time.Second, 60 * time.Millisecond},
		{"capped", 300 * time.Millisecond, 2 * time.Second, 400 * time.Millisecond},
		{"at cap", 400 * time.Millisecond, time.Hour, 400 * time.Millisecond},
		{"huge prev does not overflow", time.Duration(1<<62 + 1<<61), time.Hour, 400 * time.Millisecond},
		{"first after hold", 0, time.Hour, 40 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if have := b.Next(tt.prev, tt.elapsed); have != tt.want {
				t.Errorf("Next(%v, %v): have %v, want %v", tt.prev, tt.elapsed, have, tt.want)
			}
		})
	}
}

// The hold's period is exact, at a phase of the target's own: only its
// first delay is stretched; after the hold every delay is, the first at the
// cap by a phase of a whole period.
func TestBackoffDelayJitter(t *testing.T) {
	b := Backoff{Initial: 40 * time.Millisecond, Max: 400 * time.Millisecond, Hold: time.Second, Factor: 1.5, Jitter: 0.1}
	tests := []struct {
		name               string
		prev, elapsed      time.Duration
		nominal, wantDelay time.Duration
	}{
		{"first: the phase, anywhere in the period", 0, 0, 40 * time.Millisecond, 60 * time.Millisecond},
		{"held: exact", 40 * time.Millisecond, 500 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond},
		{"after the hold", 40 * time.Millisecond, time.Second, 60 * time.Millisecond, 63 * time.Millisecond},
		{"first after the hold: the phase", 0, time.Hour, 40 * time.Millisecond, 60 * time.Millisecond},
		{"first at the cap: the phase", 300 * time.Millisecond, 2 * time.Second, 400 * time.Millisecond, 600 * time.Millisecond},
		{"at the cap", 400 * time.Millisecond, 3 * time.Second, 400 * time.Millisecond, 420 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nominal, delay := b.Delay(tt.prev, tt.elapsed, 0.5, 0.5)
			if nominal != tt.nominal || delay != tt.wantDelay {
				t.Errorf("Delay(%v, %v, 0.5, 0.5): have %v, %v; want %v, %v", tt.prev, tt.elapsed, nominal, delay, tt.nominal, tt.wantDelay)
			}
		})
	}
}

// checkBackoff asserts the schedule's invariants for one configuration:
// over 200 attempts, or as many as the delay needs to reach its cap
// (through the hold, then growing by Factor), when that is no more than a
// million.
func checkBackoff(t *testing.T, b Backoff, rnd func() float64) {
	t.Helper()
	var prev, elapsed time.Duration
	phase := rnd()
	lo := min(b.Initial, b.Max)
	hi := b.Max + time.Duration(float64(b.Max)*min(max(b.Jitter, 0), 0.99))
	attempts := 200.0
	if b.Factor > 1 && b.Max > lo {
		attempts += float64(b.Hold)/float64(lo) + math.Log(float64(b.Max)/float64(lo))/math.Log(b.Factor)
	}
	for i := range int(min(attempts, 1e6)) {
		d := b.Next(prev, elapsed)
		if d > b.Max || d < min(b.Initial, b.Max) {
			t.Fatalf("attempt %d: Next(%v, %v) = %v, outside [%v, %v]", i, prev, elapsed, d, min(b.Initial, b.Max), b.Max)
		}
		if prev > 0 && elapsed >= b.Hold && d < prev {
			t.Fatalf("attempt %d: Next(%v, %v) = %v shrank after the hold", i, prev, elapsed, d)
		}
		nominal, j := b.Delay(prev, elapsed, phase, rnd())
		if nominal != d {
			t.Fatalf("attempt %d: Delay(%v, %v) nominal %v, want Next's %v", i, prev, elapsed, nominal, d)
		}
		switch {
		case prev == 0 || (prev < d && d == b.Max):
			if j < d || j >= 2*d {
				t.Fatalf("attempt %d: Delay(%v, %v) = %v starts a period, want the phase, in [%v, %v)", i, prev, elapsed, j, d, 2*d)
			}
		case elapsed >= b.Hold:
			if j > hi || j < d {
				t.Fatalf("attempt %d: Delay(%v, %v) = %v, outside [%v, %v]", i, prev, elapsed, j, d, hi)
			}
		case j != d:
			t.Fatalf("attempt %d: Delay(%v, %v) = %v during the hold, want exactly %v", i, prev, elapsed, j, d)
		}
		if j < lo {
			t.Fatalf("attempt %d: delay %v below Initial %v: the probe rate is unbounded", i, j, lo)
		}
		prev, elapsed = d, elapsed+j
	}
	if b.Factor > 1 && attempts <= 1e6 && prev != b.Max {
		t.Errorf("after %.0f attempts the delay is %v, want the cap %v", attempts, prev, b.Max)
	}
}

func TestBackoffInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, b := range []Backoff{
		DefaultBackoff,
		{Initial: time.Millisecond, Max: time.Hour, Hold: 0, Factor: 2, Jitter: 0.5},
		{Initial: time.Second, Max: time.Millisecond, Factor: 3, Jitter: 0.2}, // Initial above Max
		{Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond, Factor: 1, Jitter: 0},
	} {
		checkBackoff(t, b, r.Float64)
	}
}

func FuzzBackoff(f *testing.F) {
	f.Add(int64(45e6), int64(400e6), int64(3e9), 1.5, 0.1, uint64(1))
	f.Add(int64(1), int64(1<<62), int64(0), 1e300, 0.99, uint64(7))
	f.Fuzz(func(t *testing.T, initial, maxd, hold int64, factor, jitter float64, seed uint64) {
		if initial <= 0 || maxd <= 0 || hold < 0 || !(factor >= 1 && factor < 1e6) || !(jitter >= 0 && jitter < 1) {
			t.Skip()
		}
		r := rand.New(rand.NewPCG(seed, seed))
		checkBackoff(t, Backoff{Initial: time.Duration(initial), Max: time.Duration(maxd), Hold: time.Duration(hold), Factor: factor, Jitter: jitter}, r.Float64)
	})
}

// fastOpts polls every millisecond, so tests don't wait on the schedule.
func fastOpts() Options {
	return Options{
		Backoff:        Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Factor: 2, Jitter: 0.1},
		AttemptTimeout: time.Second,
		Log:            zerolog.Nop(),
	}
}

func TestWaitAllReady(t *testing.T) {
	var calls [3]atomic.Int32
	var targets []Checker
	for i := range calls {
		targets = append(targets, CheckFunc("t", func(context.Context) error {
			if calls[i].Add(1) < int32(i+2) {
				return errors.New("not yet")
			}
			return nil
		}))
	}
	if err := Wait(t.Context(), targets, fastOpts()); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	for i := range calls {
		if have, want := calls[i].Load(), int32(i+2); have != want {
			t.Errorf("target %d checked %d times, want %d", i, have, want)
		}
	}
}

func TestWaitTimeoutNamesUnreadyTargets(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	targets := []Checker{
		CheckFunc("up:1", func(context.Context) error { return nil }),
		CheckFunc("down:2", func(context.Context) error { return errors.New("connection refused") }),
		CheckFunc("down:3", func(context.Context) error {
			return &HintError{Err: errors.New("unimplemented"), Hint: "use --otlp", Config: true}
		}),
	}
	err := Wait(ctx, targets, fastOpts())
	var werr *WaitError
	if !errors.As(err, &werr) {
		t.Fatalf("Wait: have %v, want a *WaitError", err)
	}
	if len(werr.NotReady) != 2 {
		t.Fatalf("have %d targets not ready, want 2: %v", len(werr.NotReady), err)
	}
	for i, want := range []string{"down:2: connection refused", "down:3: unimplemented"} {
		if have := werr.NotReady[i].Error(); have != want {
			t.Errorf("target %d: have %q, want %q", i, have, want)
		}
		if werr.NotReady[i].Attempts < 2 {
			t.Errorf("target %d: %d attempts, want several", i, werr.NotReady[i].Attempts)
		}
	}
	if h := Hint(err); h != "use --otlp" {
		t.Errorf("Hint: have %q, want the target's hint", h)
	}
	if !IsConfig(werr.NotReady[1].Err) || IsConfig(werr.NotReady[0].Err) {
		t.Errorf("IsConfig: wrong for %v", err)
	}
}

func TestWaitAttempts(t *testing.T) {
	var n atomic.Int32
	opt := fastOpts()
	opt.Attempts = 1
	err := Wait(t.Context(), []Checker{CheckFunc("x", func(context.Context) error { n.Add(1); return errors.New("no") })}, opt)
	if err == nil || n.Load() != 1 {
		t.Fatalf("have err %v after %d checks, want an error after 1", err, n.Load())
	}
}

// A check that never returns on its own is cut off by the attempt timeout,
// and the next attempt runs.
func TestWaitAttemptTimeout(t *testing.T) {
	var n atomic.Int32
	opt := fastOpts()
	opt.AttemptTimeout = 20 * time.Millisecond
	hang := CheckFunc("hang", func(ctx context.Context) error {
		if n.Add(1) == 3 {
			return nil
		}
		<-ctx.Done()
		return ctx.Err()
	})
	if err := Wait(t.Context(), []Checker{hang}, opt); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

// The last error reported is the last real answer, not the cancellation of
// the attempt that was running when the wait ended.
func TestWaitKeepsLastRealError(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	var n atomic.Int32
	c := CheckFunc("x", func(ctx context.Context) error {
		if n.Add(1) == 1 {
			return errors.New("status 503")
		}
		<-ctx.Done()
		return ctx.Err()
	})
	err := Wait(ctx, []Checker{c}, fastOpts())
	if err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Fatalf("have %v, want the last real error", err)
	}
}

// Delays run from the start of one attempt to the start of the next, so a
// slow answer doesn't stretch the schedule (nor the time to notice a
// target that turns ready).
func TestWaitDelayRunsFromAttemptStart(t *testing.T) {
	var starts []time.Time
	c := CheckFunc("slow", func(ctx context.Context) error {
		starts = append(starts, time.Now())
		if len(starts) == 3 {
			return nil
		}
		time.Sleep(300 * time.Millisecond)
		return errors.New("status 503")
	})
	opt := fastOpts()
	opt.Backoff = Backoff{Initial: 350 * time.Millisecond, Max: 350 * time.Millisecond, Hold: time.Hour, Factor: 1}
	opt.Rand = func() float64 { return 0 } // the phase: no stretch
	if err := Wait(t.Context(), []Checker{c}, opt); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(starts); i++ {
		// From the end of the attempt, it would be 650 ms. (Check runs a
		// moment after Wait takes an attempt's start, hence the slack below.)
		if d := starts[i].Sub(starts[i-1]); d < 340*time.Millisecond || d >= 600*time.Millisecond {
			t.Errorf("attempt %d started %v after the one before, want 350 ms", i+1, d)
		}
	}
}

// Every target of a wait is probed at one phase: the first delay, and the
// first at the cap, are stretched alike for all.
func TestWaitOnePhaseForAllTargets(t *testing.T) {
	for _, tt := range []struct {
		name    string
		backoff Backoff
		attempt int // the attempt that follows the stretched delay
	}{
		{"first delay", Backoff{Initial: 100 * time.Millisecond, Max: 100 * time.Millisecond, Hold: time.Hour, Factor: 1}, 1},
		{"first delay at the cap", Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 20}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var draws atomic.Int32
			opt := fastOpts()
			opt.Backoff = tt.backoff
			opt.Rand = func() float64 {
				if draws.Add(1) == 1 {
					return 0.7 // the phase
				}
				return 0
			}
			var mu sync.Mutex
			starts := map[string][]time.Time{}
			var targets []Checker
			for _, name := range []string{"a", "b", "c"} {
				targets = append(targets, CheckFunc(name, func(context.Context) error {
					mu.Lock()
					defer mu.Unlock()
					starts[name] = append(starts[name], time.Now())
					if len(starts[name]) > tt.attempt {
						return nil
					}
					return errors.New("status 503")
				}))
			}
			if err := Wait(t.Context(), targets, opt); err != nil {
				t.Fatal(err)
			}
			for name, s := range starts {
				if d := s[tt.attempt].Sub(s[tt.attempt-1]); d < 165*time.Millisecond || d >= 250*time.Millisecond {
					t.Errorf("%s: attempt %d came %v after the one before, want 170 ms", name, tt.attempt+1, d)
				}
			}
		})
	}
}

// deadlineOnly is a context whose deadline passes but which is never marked
// done, as a real one is not yet in the moment after its deadline, when a
// dial bounded by it has already returned "i/o timeout".
type deadlineOnly struct {
	context.Context
	deadline time.Time
}

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.deadline, true }

// An attempt that ends with the wait's deadline says nothing about the
// target, even when it returns before the context is marked done.
func TestWaitKeepsLastRealErrorAtDeadline(t *testing.T) {
	ctx := deadlineOnly{context.Background(), time.Now().Add(50 * time.Millisecond)}
	var n atomic.Int32
	c := CheckFunc("x", func(ctx context.Context) error {
		if n.Add(1) == 1 {
			return errors.New("connection refused")
		}
		d, _ := ctx.Deadline()
		time.Sleep(time.Until(d))
		return fmt.Errorf("dial: %w", os.ErrDeadlineExceeded)
	})
	opt := fastOpts()
	opt.AttemptTimeout, opt.Attempts = 0, 3
	err := Wait(ctx, []Checker{c}, opt)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("have %v, want the last real error", err)
	}
}

// The default schedule's promises, as the README states them: at most 25
// attempts in any second, whatever the phase and jitter; at most 4 a second
// after 10 s.
func TestDefaultBackoffRate(t *testing.T) {
	for _, r := range []func() float64{func() float64 { return 0 }, func() float64 { return 0.999 }, rand.New(rand.NewPCG(3, 4)).Float64} {
		phase := r()
		var prev, at time.Duration
		times := []time.Duration{0} // the first is at once
		var late []time.Duration
		for at < 12*time.Second {
			var next time.Duration
			prev, next = DefaultBackoff.Delay(prev, at, phase, r())
			at += next
			times = append(times, at)
			if at >= 10*time.Second {
				late = append(late, at)
			}
		}
		for i := range times {
			j := i
			for j < len(times) && times[j]-times[i] < time.Second {
				j++
			}
			if j-i > 25 {
				t.Fatalf("%d attempts in the second from %v, want at most 25", j-i, times[i])
			}
		}
		if rate := float64(len(late)) / ((late[len(late)-1] - late[0]).Seconds()); rate > 4 {
			t.Errorf("%.1f attempts a second after 10 s, want at most 4", rate)
		}
	}
}

// Readiness late in a wait is seen Max/2 after it on average, whenever it
// comes: the attempts of a long wait don't fall at nearly the same times
// after the start in every run. Waits started together would otherwise
// probe in step, and readiness at a given time would always be seen after
// the same delay, short or long.
func TestDefaultBackoffPhaseLate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for at := 9 * time.Second; at < 10*time.Second; at += 100 * time.Millisecond {
		var waited []time.Duration
		for range 1000 {
			var prev, next, t time.Duration
			phase := r.Float64()
			for t < at {
				prev, next = DefaultBackoff.Delay(prev, t, phase, r.Float64())
				t += next
			}
			waited = append(waited, t-at)
		}
		slices.Sort(waited)
		if med, want := waited[len(waited)/2], DefaultBackoff.Max/2; med < want*3/4 || med > want*5/4 {
			t.Errorf("ready %v into the wait: seen after %v (median), want about %v", at, med, want)
		}
	}
}
