package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otelwait/otelwait/e2e/internal/colconfig"
)

// maxLife bounds every process a test starts: it is killed after this long whatever happens.
const maxLife = 90 * time.Second

// ports hands out distinct free loopback ports. They are taken below Linux's ephemeral
// range (32768 and up), so that a client socket of another test can't grab one between
// the check and the Collector's bind.
var ports struct {
	mu   sync.Mutex
	used map[int]bool
}

func freePort(t *testing.T) int {
	t.Helper()
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.used == nil {
		ports.used = map[int]bool{}
	}
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if ports.used[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		_ = l.Close()
		ports.used[p] = true
		return p
	}
	t.Fatal("no free port in 20000-31999")
	return 0
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a process started by a test. It is stopped (SIGTERM, then SIGKILL after 5 s)
// when the test ends or maxLife passes, whichever comes first.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	started        time.Time
	done           chan struct{}
	exited         time.Time
	err            error
}

func start(t *testing.T, name string, env []string, path string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), maxLife)
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, path, args...)
	p.cmd.Env = env
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(syscall.SIGTERM) }
	p.cmd.WaitDelay = 5 * time.Second
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.exited = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
		if t.Failed() {
			t.Logf("--- %s %q: %v\nstdout:\n%s\nstderr:\n%s", name, args, p.err, p.stdout.String(), tail(p.stderr.String(), 40))
		}
	})
	return p
}

// wait waits for the process to exit, at most d, and returns its exit code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		t.Fatalf("%s still running after %s", p.name, d)
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	default:
		t.Fatalf("%s: %v", p.name, p.err)
		return -1
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines cut]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// baseEnv is the test's environment without anything that would configure the SDK,
// otelwait or spanapp behind the test's back.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OTEL_") || strings.HasPrefix(kv, "OTELWAIT_") || strings.HasPrefix(kv, "SPANAPP_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// collector is one otelcol-e2e instance with its own ports and files.
type collector struct {
	grpcPort   int // OTLP/gRPC
	httpPort   int // OTLP/HTTP
	healthPort int // health_check (HTTP)
	v2Port     int // healthcheckv2 grpc.health.v1
	seqFile    string
	config     string
	proc       *proc
}

// newCollector prepares a Collector whose health_check turns ready readyDelay after its
// pipelines (0: at once). It does not start it.
func newCollector(t *testing.T, readyDelay time.Duration) *collector {
	t.Helper()
	dir := t.TempDir()
	c := &collector{
		grpcPort:   freePort(t),
		httpPort:   freePort(t),
		healthPort: freePort(t),
		v2Port:     freePort(t),
		seqFile:    filepath.Join(dir, "seq.txt"),
		config:     filepath.Join(dir, "otelcol.yaml"),
	}
	ports := colconfig.Ports{GRPC: c.grpcPort, HTTP: c.httpPort, Health: c.healthPort, HealthV2: c.v2Port}
	cfg := colconfig.YAML(ports, c.seqFile, readyDelay)
	if err := os.WriteFile(c.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *collector) start(t *testing.T) {
	t.Helper()
	c.proc = start(t, "otelcol-e2e", baseEnv(), bin.collector, "--config", c.config)
}

// healthURL is health_check's URL.
func (c *collector) healthURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/", c.healthPort)
}

// waitHealthy polls health_check until it answers 200, at most d.
func (c *collector) waitHealthy(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		code, err := httpStatus(c.healthURL())
		if err == nil && code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health_check not 200 after %s: %d %v", d, code, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var healthClient = &http.Client{Timeout: time.Second}

func httpStatus(url string) (int, error) {
	resp, err := healthClient.Get(url)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// received returns the seq attributes that reached the Collector's count exporter, in
// arrival order.
func (c *collector) received(t *testing.T) []int {
	t.Helper()
	seqs, err := colconfig.ReadSeqs(c.seqFile)
	if err != nil {
		t.Fatal(err)
	}
	return seqs
}

// otlpEnv configures an OTel SDK (spanapp, and otelwait's auto mode) to send to c with proto.
func (c *collector) otlpEnv(proto string) []string {
	port := c.httpPort
	if proto == "grpc" {
		port = c.grpcPort
	}
	return []string{
		"OTEL_EXPORTER_OTLP_PROTOCOL=" + proto,
		fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", port),
		"OTEL_SERVICE_NAME=spanapp",
	}
}

// appResult is what spanapp printed.
type appResult struct{ sent, failed int }

var resultLine = regexp.MustCompile(`(?m)^sent=(\d+) failed=(\d+)$`)

func parseResult(t *testing.T, p *proc) appResult {
	t.Helper()
	m := resultLine.FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("%s printed no sent=N failed=N line; stdout %q", p.name, p.stdout.String())
	}
	sent, _ := strconv.Atoi(m[1])
	failed, _ := strconv.Atoi(m[2])
	return appResult{sent: sent, failed: failed}
}

// markerTime reads the start time spanapp wrote to its marker file; ok is false if the
// app never started.
func markerTime(t *testing.T, path string) (time.Time, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return time.Time{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("marker %s: %v", path, err)
	}
	return time.Unix(0, ns), true
}

// checkAll fails unless seqs is exactly 0..n-1, each once.
func checkAll(t *testing.T, seqs []int, n int) {
	t.Helper()
	seen := make([]int, n)
	for _, s := range seqs {
		if s < 0 || s >= n {
			t.Errorf("received seq %d, want 0..%d", s, n-1)
			continue
		}
		seen[s]++
	}
	var missing, dup []int
	for i, c := range seen {
		switch {
		case c == 0:
			missing = append(missing, i)
		case c > 1:
			dup = append(dup, i)
		}
	}
	if len(missing) > 0 || len(dup) > 0 {
		t.Errorf("have %d spans, want %d: %d missing %v, %d duplicated %v",
			len(seqs), n, len(missing), head(missing), len(dup), head(dup))
	}
}

func head(s []int) []int {
	return s[:min(len(s), 10)]
}

// sleepUntil sleeps until t0+d.
func sleepUntil(t0 time.Time, d time.Duration) {
	time.Sleep(time.Until(t0.Add(d)))
}
