package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// spans is how many spans spanapp emits in each run.
const spans = 100

// A mode is one way of starting the app: directly, or through otelwait with some targets.
type mode struct {
	name string
	// args are otelwait's target flags for collector c; nil runs the app without otelwait,
	// an empty slice runs otelwait in auto mode (targets from the OTEL_* variables).
	args func(c *collector, proto string) []string
}

var modes = []mode{
	{"without-otelwait", nil},
	{"auto", func(*collector, string) []string { return []string{} }},
	{"http-health_check", func(c *collector, _ string) []string {
		return []string{"--http", c.healthURL()}
	}},
	{"otlp", func(c *collector, proto string) []string {
		if proto == "grpc" {
			return []string{"--otlp", fmt.Sprintf("grpc://127.0.0.1:%d", c.grpcPort)}
		}
		return []string{"--otlp", fmt.Sprintf("http://127.0.0.1:%d/v1/traces", c.httpPort)}
	}},
	{"grpc-healthcheckv2", func(c *collector, _ string) []string {
		return []string{"--grpc", fmt.Sprintf("127.0.0.1:%d", c.v2Port)}
	}},
}

// TestLateCollector starts the app, then the Collector D later. Without otelwait the
// app's spans are lost; through otelwait, in every mode, all of them arrive.
func TestLateCollector(t *testing.T) {
	for _, proto := range []string{"grpc", "http/protobuf"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			for _, delay := range []time.Duration{500 * time.Millisecond, 2 * time.Second, 12 * time.Second} {
				t.Run(delay.String(), func(t *testing.T) {
					t.Parallel()
					if delay > 10*time.Second && testing.Short() {
						t.Skip("-short: the Collector is 12 s late")
					}
					for _, m := range modes {
						t.Run(m.name, func(t *testing.T) {
							t.Parallel()
							lateCollector(t, proto, delay, m)
						})
					}
				})
			}
		})
	}
}

func lateCollector(t *testing.T, proto string, delay time.Duration, m mode) {
	c := newCollector(t, 0)
	env := baseEnv(c.otlpEnv(proto)...)
	marker := filepath.Join(t.TempDir(), "started")
	app := []string{"-n", fmt.Sprint(spans), "-marker", marker}

	t0 := time.Now()
	var p *proc
	if m.args == nil {
		p = start(t, "spanapp", env, bin.spanapp, app...)
	} else {
		needOtelwait(t)
		args := append(m.args(c, proto), "--log-format", "json", "--", bin.spanapp)
		p = start(t, "otelwait", env, bin.otelwait, append(args, app...)...)
	}
	sleepUntil(t0, delay)
	c.start(t)

	if code := p.wait(t, delay+30*time.Second); code != 0 {
		t.Fatalf("%s exited %d, want 0", p.name, code)
	}
	res := parseResult(t, p)
	if m.args == nil {
		// Let the Collector come up, so "received" is what it would ever get.
		c.waitHealthy(t, 20*time.Second)
	}
	got := c.received(t)
	t.Logf("collector %s late, %s: sent=%d failed=%d received=%d", delay, m.name, res.sent, res.failed, len(got))

	if res.sent != spans {
		t.Fatalf("app sent %d spans, want %d", res.sent, spans)
	}
	// The exporter has no retries and the count exporter is synchronous: what the app
	// saw fail is exactly what the Collector lacks.
	if len(got) != res.sent-res.failed {
		t.Errorf("received %d, but the app reported %d sent and %d failed", len(got), res.sent, res.failed)
	}
	if m.args == nil {
		if len(got) >= res.sent {
			t.Errorf("without otelwait: received %d of %d spans, want a loss (is the Collector up before the app?)", len(got), res.sent)
		}
		return
	}
	if res.failed != 0 {
		t.Errorf("app reported %d failed spans, want 0", res.failed)
	}
	checkAll(t, got, spans)
	// otelwait must not have started the app before the Collector process existed.
	if at, ok := markerTime(t, marker); !ok {
		t.Error("the app never started")
	} else if at.Before(c.proc.started) {
		t.Errorf("the app started %s before the Collector", c.proc.started.Sub(at))
	}
}
