// Package probe decides when targets are ready: one Checker per target,
// probed concurrently by Wait, each on its own jittered, capped exponential
// backoff.
package probe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// A Checker probes one target once.
//
// Check returns nil when the target is ready; any error means "not ready
// yet". It honours ctx's deadline, closes everything it opened before it
// returns, and never sleeps. Bad input (an unparsable address, a bad port, an
// unknown scheme) is rejected when the Checker is built, never by Check.
//
// String returns the target as the user wrote it, with secrets redacted, for
// logs.
type Checker interface {
	Check(ctx context.Context) error
	String() string
}

// Proto names the protocol a Checker speaks ("tcp", "grpc", "http",
// "otlp"), for logs; it is empty for checkers that don't say.
func Proto(c Checker) string {
	if p, ok := c.(interface{ Proto() string }); ok {
		return p.Proto()
	}
	return ""
}

// CheckFunc adapts a function to a Checker named name.
func CheckFunc(name string, check func(ctx context.Context) error) Checker {
	return checkFunc{name, check}
}

type checkFunc struct {
	name  string
	check func(context.Context) error
}

func (c checkFunc) Check(ctx context.Context) error { return c.check(ctx) }
func (c checkFunc) String() string                  { return c.name }

// HintError is an error with advice for the user: what they most likely got
// wrong and what to write instead.
type HintError struct {
	Err  error
	Hint string
	// Config is true when waiting cannot fix the cause (the server answered,
	// but not in a way that will ever mean ready: a missing pipeline, an
	// unimplemented health service, a rejected credential).
	Config bool
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// Hint returns the hint carried by err, or "".
func Hint(err error) string {
	if h, ok := errors.AsType[*HintError](err); ok {
		return h.Hint
	}
	return ""
}

// IsConfig reports whether err says waiting cannot help.
func IsConfig(err error) bool {
	h, ok := errors.AsType[*HintError](err)
	return ok && h.Config
}

// Backoff is the schedule of attempts on one target, as the time from the
// start of one attempt to the start of the next (an attempt that takes
// longer is followed at once): Initial for the first Hold of the wait (a
// Collector usually starts within that window, so it is noticed within
// tens of milliseconds), then growing by Factor per attempt up to Max.
// During the hold the period is exact, at a phase drawn anywhere in it: the
// first delay is stretched by a random fraction of a whole Initial, as
// Prometheus offsets its scrapes over the whole interval. So replicas
// started together spread their probes over the period rather than
// probing in lock step, and a target's readiness, wherever it falls, waits
// Initial/2 on average for the next attempt. After the hold every delay is
// stretched by up to Jitter, a fraction, except the first one at Max,
// which is stretched by a random fraction of a whole Max: jitter alone
// would leave the attempts of a long wait at nearly the same times after
// the start in every run, so replicas started together would still probe
// in step, and readiness at a given time after the start would be seen
// after a delay set by the start rather than Max/2 on average. A delay is
// never shorter than its nominal value, so Initial bounds the probe rate.
// Wait gives all its targets one phase, for both stretches, so that
// targets served by one server that turns ready are seen close together,
// and adds one attempt per new listening socket on a refused loopback
// address (see listen.go), never more.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Hold    time.Duration
	Factor  float64
	Jitter  float64 // a fraction in [0, 1)
}

// DefaultBackoff probes every 40 ms for the first 3 s, after a first delay
// of 40 to 80 ms (at most 25 attempts in any second, so a target that
// turns ready is seen after 20 ms on average; a refused loopback address
// that starts to listen sooner, see listen.go), then grows by half per
// attempt to every 300 to 330 ms (about 3 a second), reached 3.5 s into the
// wait.
var DefaultBackoff = Backoff{
	Initial: 40 * time.Millisecond,
	Max:     300 * time.Millisecond,
	Hold:    3 * time.Second,
	Factor:  1.5,
	Jitter:  0.1,
}

// Next returns the nominal delay that follows an attempt made elapsed into
// the wait, after the nominal delay prev (0 before the first delay). It is
// Initial during Hold, then grows by Factor, and never exceeds Max, even for
// huge prev, because it caps before it multiplies.
func (b Backoff) Next(prev, elapsed time.Duration) time.Duration {
	if prev <= 0 || elapsed < b.Hold {
		return min(b.Initial, b.Max)
	}
	if b.Factor <= 1 || float64(prev) >= float64(b.Max)/b.Factor {
		return b.Max
	}
	return max(time.Duration(float64(prev)*b.Factor), min(b.Initial, b.Max))
}

// Jittered stretches the nominal delay d uniformly over [d, d·(1+Jitter));
// r is a random number in [0, 1).
func (b Backoff) Jittered(d time.Duration, r float64) time.Duration {
	j := min(max(b.Jitter, 0), 0.99)
	return d + time.Duration(float64(d)*j*r)
}

// Delay returns the nominal delay after an attempt made elapsed into the
// wait, following the nominal delay prev (0 after the first attempt), and
// the time from that attempt's start to the next one's; phase and r are
// random numbers in [0, 1), phase the wait's own. A delay that starts a
// steady period, the first one of the wait and the first one at Max, is
// stretched by the phase of a whole period; any other is the nominal delay
// during the hold and the nominal delay Jittered by r after it.
func (b Backoff) Delay(prev, elapsed time.Duration, phase, r float64) (nominal, next time.Duration) {
	nominal = b.Next(prev, elapsed)
	switch {
	case prev <= 0 || (prev < nominal && nominal == b.Max):
		return nominal, nominal + time.Duration(float64(nominal)*min(max(phase, 0), 0.999))
	case elapsed >= b.Hold:
		return nominal, b.Jittered(nominal, r)
	}
	return nominal, nominal
}

// Options configure Wait.
type Options struct {
	Backoff Backoff
	// AttemptTimeout bounds one Check, so that a target that accepts and
	// never answers cannot stall the wait.
	AttemptTimeout time.Duration
	// Attempts, when positive, is how many times each target is checked
	// before Wait gives up on it; 0 means until ctx is done.
	Attempts int
	Log      zerolog.Logger
	// Rand returns a number in [0, 1) for the jitter; nil means math/rand/v2.
	Rand func() float64
}

// NotReady is a target that Wait gave up on, with its last error.
type NotReady struct {
	Target   Checker
	Attempts int
	Err      error
}

func (n NotReady) Error() string {
	return fmt.Sprintf("%s: %v", n.Target, n.Err)
}

func (n NotReady) Unwrap() error { return n.Err }

// WaitError is Wait's error: every target that never became ready.
type WaitError struct {
	NotReady []NotReady
}

func (e *WaitError) Error() string {
	parts := make([]string, len(e.NotReady))
	for i, n := range e.NotReady {
		parts[i] = n.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap returns each target's error, for errors.Is and errors.As.
func (e *WaitError) Unwrap() []error {
	errs := make([]error, len(e.NotReady))
	for i, n := range e.NotReady {
		errs[i] = n
	}
	return errs
}

// Wait probes every target concurrently until all are ready, returning nil,
// or until ctx is done (or every target has used opt.Attempts), returning a
// *WaitError that lists the targets that are still not ready, in the order
// given, with their last errors.
func Wait(ctx context.Context, targets []Checker, opt Options) error {
	if opt.Rand == nil {
		opt.Rand = rand.Float64
	}
	start := time.Now()
	failed := make([]*NotReady, len(targets))
	hub := newListenHub()
	phase := opt.Rand() // one for every target: see Backoff
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { failed[i] = waitOne(ctx, t, opt, start, phase, hub) })
	}
	wg.Wait()
	hub.close()
	var werr WaitError
	for _, f := range failed {
		if f != nil {
			werr.NotReady = append(werr.NotReady, *f)
		}
	}
	if len(werr.NotReady) == 0 {
		return nil
	}
	return &werr
}

// infoEvery is how often a target that keeps failing the same way is logged
// at info level; every attempt is logged at debug level.
const infoEvery = 5 * time.Second

func waitOne(ctx context.Context, t Checker, opt Options, start time.Time, phase float64, hub *listenHub) *NotReady {
	log := opt.Log.With().Str("target", t.String()).Str("proto", Proto(t)).Logger()
	// Checkers log what only they know (which address answered) at debug
	// level through the context's logger.
	ctx = log.WithContext(ctx)
	var (
		delay    time.Duration
		lastErr  error
		lastMsg  string
		lastInfo time.Time
		timer    *time.Timer
		// The loopback address the last attempt was refused on, if
		// watching, and the listeners seen on it (see listen.go).
		watching bool
		refused  netip.AddrPort
		seen     map[uint64]bool
		// The kernel's table could not be read, which was logged.
		unwatched bool
	)
	for attempt := 1; ; attempt++ {
		if watching {
			watching = hub.note(refused, seen)
		}
		began := time.Now()
		err := checkOnce(ctx, t, opt.AttemptTimeout)
		if err == nil {
			log.Info().Int("attempt", attempt).Dur("elapsed", Since(start)).Msg("ready")
			return nil
		}
		if expired(ctx) && lastErr != nil {
			// The attempt was cut short by the end of the wait: its error
			// says nothing about the target.
			err = lastErr
			attempt--
		}
		lastErr = err
		if expired(ctx) || (opt.Attempts > 0 && attempt >= opt.Attempts) {
			return &NotReady{Target: t, Attempts: attempt, Err: err}
		}
		if addr, ok := refusedLoopback(err); !ok {
			watching = false
		} else if !watching || addr != refused {
			refused, seen = addr, map[uint64]bool{}
			if watching = hub.note(addr, seen); watching {
				log.Debug().Stringer("addr", addr).Msg("watching for a listener")
			} else if !unwatched {
				unwatched = true
				log.Debug().Stringer("addr", addr).Msg("no listener lookup here: retrying on the schedule")
			}
		}
		var next time.Duration
		delay, next = opt.Backoff.Delay(delay, began.Sub(start), phase, opt.Rand())
		now := time.Now()
		next = max(began.Add(next).Sub(now), 0)
		elapsed := now.Sub(start)
		ev := log.Debug()
		if msg := err.Error(); msg != lastMsg || now.Sub(lastInfo) >= infoEvery {
			ev = log.Info()
			if IsConfig(err) {
				ev = log.Warn()
			}
			lastMsg, lastInfo = msg, now
		}
		if h := Hint(err); h != "" {
			ev = ev.Str("hint", h)
		}
		ev.Int("attempt", attempt).Dur("elapsed", round(now.Sub(start))).Dur("next", round(next)).Err(err).Msg("not ready")
		if timer == nil {
			timer = time.NewTimer(next)
			defer timer.Stop()
		} else {
			timer.Reset(next)
		}
		if watching {
			if !hub.sleep(ctx, timer.C, refused, seen, listenPoll(delay, elapsed < opt.Backoff.Hold)) {
				return &NotReady{Target: t, Attempts: attempt, Err: err}
			}
			continue
		}
		select {
		case <-ctx.Done():
			return &NotReady{Target: t, Attempts: attempt, Err: err}
		case <-timer.C:
		}
	}
}

// Since is the time since start, rounded for logs.
func Since(start time.Time) time.Duration { return round(time.Since(start)) }

func round(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }

func checkOnce(ctx context.Context, t Checker, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err := t.Check(ctx)
	if err != nil && expired(ctx) && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)) {
		return fmt.Errorf("no answer within %s: %w", timeout, err)
	}
	return err
}

// expired reports whether ctx is done or its deadline has passed: an
// operation bounded by the deadline (a dial: "i/o timeout") can return
// before ctx's own timer marks it done.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}
