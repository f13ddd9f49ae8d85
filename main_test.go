package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/otelwait/otelwait/internal/testserver"
)

// The test binary doubles as otelwait and as small programs for it to exec
// or to wait for, chosen by the name it is run under.
var helpers = map[string]func(){
	"otelwait":    main,
	"argv":        helperArgv,
	"fds":         helperFds,
	"envdump":     helperEnvdump,
	"exitwith":    helperExitwith,
	"pidfile":     helperPidfile,
	"trapterm":    helperTrapterm,
	"catstdin":    helperCatstdin,
	"lateservers": helperLateservers,
	"otlpserver":  helperOTLPServer,
}

func TestMain(m *testing.M) {
	testscript.Main(m, helpers)
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"exitcode": cmdExitcode},
	})
}

// setupScript gives every script a listening address ($LISTEN, an HTTP
// server answering 404 to everything but /), an address
// nothing listens on ($CLOSED) and free ports for lateservers ($TCP_PORT,
// $GRPC_PORT, $HTTP_PORT).
func setupScript(env *testscript.Env) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
			}
		}))
	}()
	env.Defer(func() { _ = ln.Close() })
	env.Setenv("LISTEN", ln.Addr().String())
	for _, name := range []string{"CLOSED", "TCP_PORT", "GRPC_PORT", "HTTP_PORT"} {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		if name != "CLOSED" {
			_, addr, _ = net.SplitHostPort(addr)
		}
		env.Setenv(name, addr)
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

// cmdExitcode runs a program and checks its exit code:
//
//	exitcode N program [args...]
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	have := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		have = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	if have != want {
		ts.Fatalf("exit code: have %d, want %d", have, want)
	}
}

// helperArgv prints its argv exactly as the kernel has it, argv[0] too,
// one %q per line.
func helperArgv() {
	b, err := os.ReadFile("/proc/self/cmdline")
	if err != nil {
		panic(err)
	}
	for _, a := range bytes.SplitAfter(b, []byte{0}) {
		if len(a) > 0 {
			fmt.Printf("%q\n", a[:len(a)-1])
		}
	}
}

// helperFds prints the process's open descriptors, but for the one it reads
// them with.
func helperFds() {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		panic(err)
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		panic(err)
	}
	var fds []int
	for _, n := range names {
		if fd, _ := strconv.Atoi(n); fd != int(d.Fd()) {
			fds = append(fds, fd)
		}
	}
	slices.Sort(fds)
	fmt.Println(strings.Trim(fmt.Sprint(fds), "[]"))
}

// helperEnvdump prints the environment exactly as the kernel has it.
func helperEnvdump() {
	b, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		panic(err)
	}
	_, _ = os.Stdout.Write(b)
}

func helperExitwith() {
	n, _ := strconv.Atoi(os.Args[1])
	os.Exit(n)
}

// helperPidfile writes its PID to the file named by its argument.
func helperPidfile() {
	if err := os.WriteFile(os.Args[1], []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		panic(err)
	}
}

// helperTrapterm writes "ready" to the file named by its argument, then
// exits 42 on SIGTERM (or 1 after 10 s).
func helperTrapterm() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	if err := os.WriteFile(os.Args[1], []byte("ready"), 0o644); err != nil {
		panic(err)
	}
	select {
	case <-c:
		os.Exit(42)
	case <-time.After(10 * time.Second):
		os.Exit(1)
	}
}

func helperCatstdin() {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(os.Stdin)
	_, _ = os.Stdout.Write(buf.Bytes())
}

// helperLateservers runs, on 127.0.0.1, a TCP listener on $TCP_PORT that
// opens after the first argument's delay, a gRPC health server on
// $GRPC_PORT that turns SERVING after the second, and an HTTP server on
// $HTTP_PORT that answers 503 until the third; it exits after 20 s.
func helperLateservers() {
	delays := make([]time.Duration, 3)
	for i := range delays {
		delays[i], _ = time.ParseDuration(os.Args[1+i])
	}
	listen := func(env string) net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv(env))
		if err != nil {
			panic(err)
		}
		return ln
	}
	time.AfterFunc(delays[0], func() {
		ln := listen("TCP_PORT")
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
	})
	h := health.NewServer()
	h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, h)
	go func() { _ = s.Serve(listen("GRPC_PORT")) }()
	time.AfterFunc(delays[1], func() { h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING) })
	start := time.Now()
	go func() {
		_ = http.Serve(listen("HTTP_PORT"), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if time.Since(start) < delays[2] {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
	}()
	time.Sleep(20 * time.Second)
}

// helperOTLPServer runs OTLP receivers on 127.0.0.1 for the signals named
// by its second argument (comma-separated; all by default), after the
// first argument's delay: OTLP/HTTP on $HTTP_PORT and OTLP/gRPC on
// $GRPC_PORT. It exits after 20 s.
func helperOTLPServer() {
	delay, _ := time.ParseDuration(os.Args[1])
	signals := []string{"traces", "metrics", "logs"}
	if len(os.Args) > 2 {
		signals = strings.Split(os.Args[2], ",")
	}
	time.Sleep(delay)
	var got atomic.Int32
	s := grpc.NewServer()
	testserver.OTLPGRPC(s, signals, "", &got)
	for env, serve := range map[string]func(net.Listener) error{
		"GRPC_PORT": s.Serve,
		"HTTP_PORT": func(ln net.Listener) error { return http.Serve(ln, testserver.OTLPHTTP(signals, nil, &got)) },
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv(env))
		if err != nil {
			panic(err)
		}
		go func() { _ = serve(ln) }()
	}
	time.Sleep(20 * time.Second)
}

// otelwaitBin returns a path under which the test binary runs as otelwait,
// and one for each helper, in a directory that is put first in PATH.
func otelwaitBin(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name := range helpers {
		if err := os.Symlink(exe, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return filepath.Join(dir, "otelwait")
}

func listener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().String()
}

func TestSamePID(t *testing.T) {
	bin := otelwaitBin(t)
	out := filepath.Join(t.TempDir(), "pid")
	cmd := exec.Command(bin, "--tcp", listener(t), "--", "pidfile", out)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if have, want := string(b), strconv.Itoa(cmd.Process.Pid); have != want {
		t.Errorf("the command ran as PID %s, want otelwait's %s", have, want)
	}
}

// SIGINT, SIGTERM, SIGQUIT or SIGHUP during the wait stops otelwait at
// once, with 128+n, and the command never starts; as PID 1 of a PID
// namespace too, where the kernel drops a signal without a handler, and the
// Go runtime, failing to die of it, exits 2.
func TestSignalDuringWait(t *testing.T) {
	bin := otelwaitBin(t)
	closed, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	for _, pid1 := range []bool{false, true} {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP} {
			t.Run(fmt.Sprintf("%v/pid1=%v", sig, pid1), func(t *testing.T) {
				signalDuringWait(t, bin, closed, sig, pid1)
			})
		}
	}
}

func signalDuringWait(t *testing.T, bin, closed string, sig syscall.Signal, pid1 bool) {
	marker := filepath.Join(t.TempDir(), "started")
	var stderr syncBuffer
	cmd := exec.Command(bin, "--tcp", closed, "--timeout", "30s", "--", "pidfile", marker)
	cmd.Stderr = &stderr
	if pid1 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	}
	if err := cmd.Start(); err != nil {
		if pid1 && errors.Is(err, syscall.EPERM) {
			t.Skipf("no PID namespace here: %v", err)
		}
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(stderr.String(), `"not ready"`) })
	sent := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	took := time.Since(sent)
	if have, want := cmd.ProcessState.ExitCode(), 128+int(sig); have != want {
		t.Errorf("exit code: have %d (%v), want %d", have, err, want)
	}
	if took > 2*time.Second {
		t.Errorf("took %v to stop after %v", took, sig)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command started")
	}
	t.Logf("stopped %v after %v", sig, took)
}

// A signal before the wait starts ends otelwait at once with 128+n, even
// while it is blocked reading a file: here a FIFO named as the CA file,
// which no one writes.
func TestSignalBeforeWait(t *testing.T) {
	bin := otelwaitBin(t)
	fifo := filepath.Join(t.TempDir(), "ca.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	var stderr syncBuffer
	cmd := exec.Command(bin, "--tcp", listener(t), "--ca-file", fifo, "--", "pidfile", filepath.Join(t.TempDir(), "started"))
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // blocked in open(2) by now
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("still running 5 s after SIGTERM")
	}
	if have, want := cmd.ProcessState.ExitCode(), 128+int(syscall.SIGTERM); have != want {
		t.Errorf("exit code: have %d, want %d; stderr: %s", have, want, stderr.String())
	}
	if !strings.Contains(stderr.String(), "otelwait: stopped: terminated") {
		t.Errorf("stderr %q: want the stop said", stderr.String())
	}
}

// A SIGINT the parent ignored, as a shell does for a background job, or a
// SIGHUP under nohup, stays ignored during the wait, as it would be by the
// command run directly.
func TestIgnoredSignalStaysIgnored(t *testing.T) {
	bin := otelwaitBin(t)
	closed, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) { ignoredSignal(t, bin, closed, sig) })
	}
}

func ignoredSignal(t *testing.T, bin, closed string, sig syscall.Signal) {
	var stderr syncBuffer
	name := map[syscall.Signal]string{syscall.SIGINT: "INT", syscall.SIGHUP: "HUP"}[sig]
	cmd := exec.Command("sh", "-c", `trap '' `+name+`; exec "$0" "$@"`, bin, "--tcp", closed, "--timeout", "30s")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(stderr.String(), `"not ready"`) })
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("stopped by an ignored %v: %v, exit code %d", sig, err, cmd.ProcessState.ExitCode())
	case <-time.After(300 * time.Millisecond):
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-done
	if have, want := cmd.ProcessState.ExitCode(), 128+int(syscall.SIGTERM); have != want {
		t.Errorf("exit code after SIGTERM: have %d, want %d", have, want)
	}
}

// After exec the command handles signals itself: otelwait's handlers are
// gone, and a SIGTERM to the PID reaches the command.
func TestSignalAfterExecReachesCommand(t *testing.T) {
	bin := otelwaitBin(t)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(bin, "--tcp", listener(t), "--", "trapterm", ready)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, err := os.Stat(ready); return err == nil })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if have := cmd.ProcessState.ExitCode(); have != 42 {
		t.Errorf("exit code: have %d, want the command's 42", have)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out waiting for a condition")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// syncBuffer is a bytes.Buffer safe to write from a process's output
// goroutine while a test reads it.
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
