// Command demo shows the problem otelwait solves and the fix, with a real Collector and a
// real OpenTelemetry SDK app. From the e2e directory:
//
//	go run ./cmd/demo [-n 100] [-delay 3s] [-protocol http/protobuf|grpc]
//
// It builds the Collector, the app and otelwait, then runs the app twice while the
// Collector starts -delay late: once through otelwait in auto mode (only the OTEL_*
// variables, no targets), once without. The app's exporter doesn't retry, so without
// otelwait its start-up spans are lost.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/otelwait/otelwait/e2e/internal/colconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		stop()
		os.Exit(1)
	}
}

type demo struct {
	bin      string // directory of the built binaries
	n        int
	delay    time.Duration
	protocol string
}

func run(ctx context.Context) error {
	d := demo{}
	flag.IntVar(&d.n, "n", 100, "spans the app sends at start-up")
	flag.DurationVar(&d.delay, "delay", 3*time.Second, "how late the Collector starts")
	flag.StringVar(&d.protocol, "protocol", "http/protobuf", "OTLP protocol: http/protobuf or grpc")
	flag.Parse()
	if d.protocol != "http/protobuf" && d.protocol != "grpc" {
		return fmt.Errorf("-protocol %q: want http/protobuf or grpc", d.protocol)
	}

	e2e, err := findE2E()
	if err != nil {
		return err
	}
	// A fixed directory, so a second run relinks nothing.
	d.bin = filepath.Join(os.TempDir(), "otelwait-demo")
	if err := os.MkdirAll(d.bin, 0o755); err != nil {
		return err
	}
	for _, b := range []struct{ what, out, pkg, dir string }{
		{"the Collector (first build takes several minutes on 2 cores)", "otelcol-e2e", "./cmd/otelcol-e2e", e2e},
		{"the app (OpenTelemetry Go SDK, retries off)", "spanapp", "./cmd/spanapp", e2e},
		{"otelwait", "otelwait", ".", filepath.Dir(e2e)},
	} {
		say("building %s…", b.what)
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", filepath.Join(d.bin, b.out), b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %w\n%s", b.out, err, out)
		}
		say("  done in %s", time.Since(start).Round(100*time.Millisecond))
	}

	fmt.Println()
	say("1) the app through otelwait, the Collector starting %s late", d.delay)
	if err := d.scenario(ctx, true); err != nil {
		return err
	}
	fmt.Println()
	say("2) the same without otelwait")
	return d.scenario(ctx, false)
}

var sentLine = regexp.MustCompile(`(?m)^sent=(\d+)`)

// scenario starts the app (through otelwait or not), then the Collector d.delay later, and
// prints how many spans the app sent and how many the Collector received.
func (d demo) scenario(ctx context.Context, otelwait bool) error {
	dir, err := os.MkdirTemp("", "otelwait-demo-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var p colconfig.Ports
	for _, port := range []*int{&p.GRPC, &p.HTTP, &p.Health, &p.HealthV2} {
		if *port, err = freePort(); err != nil {
			return err
		}
	}
	seqFile := filepath.Join(dir, "seq.txt")
	config := filepath.Join(dir, "otelcol.yaml")
	if err := os.WriteFile(config, []byte(colconfig.YAML(p, seqFile, 0)), 0o644); err != nil {
		return err
	}

	port := p.HTTP
	if d.protocol == "grpc" {
		port = p.GRPC
	}
	vars := []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + strconv.Itoa(port),
		"OTEL_EXPORTER_OTLP_PROTOCOL=" + d.protocol,
	}
	argv := []string{filepath.Join(d.bin, "spanapp"), "-n", strconv.Itoa(d.n)}
	shown := "spanapp -n " + strconv.Itoa(d.n)
	if otelwait {
		argv = append([]string{filepath.Join(d.bin, "otelwait"), "--"}, argv...)
		shown = "otelwait -- " + shown
	}
	say("$ %s %s", strings.Join(vars, " "), shown)

	t0 := time.Now()
	var stdout bytes.Buffer
	app := exec.CommandContext(ctx, argv[0], argv[1:]...)
	app.Env = append(environ(), vars...)
	app.Stdout = io.MultiWriter(os.Stdout, &stdout)
	app.Stderr = os.Stderr // a terminal: otelwait logs in console format
	if err := app.Start(); err != nil {
		return err
	}
	type exit struct {
		err error
		at  time.Time
	}
	appDone := make(chan exit, 1)
	go func() {
		err := app.Wait()
		appDone <- exit{err, time.Now()}
	}()

	timer := time.NewTimer(d.delay)
	defer timer.Stop()
	exited := false
	select {
	case <-ctx.Done():
		<-appDone
		return ctx.Err()
	case e := <-appDone:
		if e.err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(argv[0]), e.err)
		}
		exited = true
		say("[+%.1fs] the app exited", e.at.Sub(t0).Seconds())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	case <-timer.C:
	}
	say("[+%.1fs] starting the Collector", time.Since(t0).Seconds())
	logFile, err := os.Create(filepath.Join(dir, "otelcol.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	col := exec.CommandContext(ctx, filepath.Join(d.bin, "otelcol-e2e"), "--config", config)
	col.Env = environ()
	col.Stdout, col.Stderr = logFile, logFile
	col.Cancel = func() error { return col.Process.Signal(syscall.SIGTERM) }
	col.WaitDelay = 5 * time.Second
	if err := col.Start(); err != nil {
		return err
	}
	defer func() {
		_ = col.Process.Signal(syscall.SIGTERM)
		_ = col.Wait()
	}()

	if !exited {
		e := <-appDone
		if e.err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(argv[0]), e.err)
		}
		say("[+%.1fs] the app exited", e.at.Sub(t0).Seconds())
	}
	if err := waitHealthy(ctx, p.Health); err != nil {
		return err
	}
	m := sentLine.FindStringSubmatch(stdout.String())
	if m == nil {
		return fmt.Errorf("the app printed no sent=N line")
	}
	sent, _ := strconv.Atoi(m[1])
	seqs, err := colconfig.ReadSeqs(seqFile)
	if err != nil {
		return err
	}
	if lost := sent - len(seqs); lost > 0 {
		say("sent=%d received=%d (%d lost)", sent, len(seqs), lost)
	} else {
		say("sent=%d received=%d", sent, len(seqs))
	}
	return nil
}

// waitHealthy waits until health_check on port answers 200, at most 20 s.
func waitHealthy(ctx context.Context, port int) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("the Collector's health_check: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// findE2E returns the e2e module's directory: the working directory or its e2e/.
func findE2E() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for _, dir := range []string{wd, filepath.Join(wd, "e2e")} {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/otelwait/otelwait/e2e\n")) {
			return dir, nil
		}
	}
	return "", errors.New("run the demo from the e2e directory: go run ./cmd/demo")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// environ is the demo's environment without OTEL_* and OTELWAIT_* variables.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") && !strings.HasPrefix(kv, "OTELWAIT_") {
			env = append(env, kv)
		}
	}
	return env
}

func say(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
}
