package e2e

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestHealthCheck503IsNotReady holds health_check at 503 for 3 s after the Collector's OTLP
// ports opened: otelwait --http must keep waiting through the 503s and start the app only
// once health_check answers 200.
func TestHealthCheck503IsNotReady(t *testing.T) {
	t.Parallel()
	needOtelwait(t)
	const hold = 3 * time.Second
	c := newCollector(t, hold)
	env := baseEnv(c.otlpEnv("http/protobuf")...)
	marker := filepath.Join(t.TempDir(), "started")

	t0 := time.Now()
	p := start(t, "otelwait", env, bin.otelwait, "--http", c.healthURL(), "--log-format", "json",
		"--", bin.spanapp, "-n", strconv.Itoa(spans), "-marker", marker)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	watched := make(chan watch, 1)
	go func() { watched <- watchCollector(ctx, c) }()
	sleepUntil(t0, 500*time.Millisecond)
	c.start(t)

	code := p.wait(t, 30*time.Second)
	w := <-watched // once health_check answered 200
	if code != 0 {
		t.Fatalf("otelwait exited %d, want 0", code)
	}
	res := parseResult(t, p)
	got := c.received(t)
	at, ok := markerTime(t, marker)
	if !ok {
		t.Fatal("the app never started")
	}
	rel := func(at time.Time) string {
		if at.IsZero() {
			return "never"
		}
		return "+" + at.Sub(t0).Round(time.Millisecond).String()
	}
	t.Logf("OTLP open %s, last 503 asked %s, first 200 %s, app started %s; sent=%d received=%d",
		rel(w.otlpOpen), rel(w.last503), rel(w.first200), rel(at), res.sent, len(got))

	// The window existed: the OTLP port accepted connections while health_check said 503.
	if len(w.other) > 0 {
		t.Errorf("health_check answered %v, want only 503 then 200", w.other)
	}
	if w.otlpOpen.IsZero() || w.last503.IsZero() || w.first200.IsZero() {
		t.Fatal("the watcher missed a phase: OTLP open, 503 or 200")
	}
	if open := w.first200.Sub(w.otlpOpen); open < hold-500*time.Millisecond {
		t.Fatalf("health_check turned 200 %s after the OTLP port opened, want about %s", open, hold)
	}
	// health_check still said 503 at w.last503 (the request was sent then or later).
	if !at.After(w.last503) {
		t.Errorf("the app started %s before a request that health_check answered 503", w.last503.Sub(at))
	}
	if res.failed != 0 {
		t.Errorf("app reported %d failed spans, want 0", res.failed)
	}
	checkAll(t, got, spans)
}

// watch is what watchCollector saw, in wall-clock times.
type watch struct {
	otlpOpen time.Time // first accepted connection to the OTLP/HTTP port
	last503  time.Time // when the last request that got a 503 was sent
	first200 time.Time // when the first 200 arrived
	other    []int     // any other status health_check answered
}

// watchCollector polls c's OTLP/HTTP port and health_check every 10 ms until it has seen
// both the port open and a 200, or ctx ends.
func watchCollector(ctx context.Context, c *collector) watch {
	var w watch
	otlp := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.httpPort))
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return w
		case <-tick.C:
		}
		if w.otlpOpen.IsZero() {
			if conn, err := net.DialTimeout("tcp", otlp, 100*time.Millisecond); err == nil {
				w.otlpOpen = time.Now()
				_ = conn.Close()
			}
		}
		if !w.first200.IsZero() {
			if !w.otlpOpen.IsZero() {
				return w
			}
			continue
		}
		sent := time.Now()
		code, err := httpStatus(c.healthURL())
		switch {
		case err != nil:
		case code == http.StatusServiceUnavailable:
			w.last503 = sent
		case code == http.StatusOK:
			w.first200 = time.Now()
		default:
			w.other = append(w.other, code)
		}
	}
}
