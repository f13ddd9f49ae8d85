package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCollectorNeverUp: nothing ever listens, so otelwait gives up after --timeout with exit
// code 124, names every unready target, and never starts the app.
func TestCollectorNeverUp(t *testing.T) {
	t.Parallel()
	const timeout = 3 * time.Second
	const slack = 2 * time.Second
	for _, tc := range []struct {
		name string
		// args returns otelwait's target flags, the OTEL_* environment, and the targets
		// that otelwait must name.
		args func(c *collector) (args, env, names []string)
	}{
		{"http-and-grpc", func(c *collector) ([]string, []string, []string) {
			h, g := c.healthURL(), fmt.Sprintf("127.0.0.1:%d", c.v2Port)
			return []string{"--http", h, "--grpc", g}, nil, []string{h, g}
		}},
		{"otlp", func(c *collector) ([]string, []string, []string) {
			u := fmt.Sprintf("grpc://127.0.0.1:%d", c.grpcPort)
			return []string{"--otlp", u}, nil, []string{fmt.Sprintf("127.0.0.1:%d", c.grpcPort)}
		}},
		{"auto", func(c *collector) ([]string, []string, []string) {
			return nil, c.otlpEnv("http/protobuf"), []string{fmt.Sprintf("127.0.0.1:%d", c.httpPort)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			needOtelwait(t)
			c := newCollector(t, 0) // never started: its ports stay closed
			args, env, names := tc.args(c)
			marker := filepath.Join(t.TempDir(), "started")
			args = append(args, "--timeout", timeout.String(), "--log-format", "json",
				"--", bin.spanapp, "-marker", marker)
			p := start(t, "otelwait", baseEnv(env...), bin.otelwait, args...)

			code := p.wait(t, timeout+10*time.Second)
			took := p.exited.Sub(p.started)
			if code != 124 {
				t.Errorf("otelwait exited %d, want 124", code)
			}
			if took < timeout || took > timeout+slack {
				t.Errorf("otelwait gave up after %s, want %s to %s", took, timeout, timeout+slack)
			}
			if _, ok := markerTime(t, marker); ok {
				t.Error("the app started although the Collector never came up")
			}
			if out := p.stdout.String(); out != "" {
				t.Errorf("stdout %q, want nothing (stdout belongs to the app)", out)
			}
			stderr := p.stderr.String()
			for _, n := range names {
				if !strings.Contains(stderr, n) {
					t.Errorf("stderr does not name unready target %q:\n%s", n, stderr)
				}
			}
		})
	}
}
