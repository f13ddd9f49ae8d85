// End-to-end proof that otelwait closes the start-up gap: a real Collector (cmd/otelcol-e2e)
// started late, a real OpenTelemetry SDK app (cmd/spanapp) with exporter retries off, and
// otelwait in front of the app. Without otelwait spans are lost; with it none are.
//
//	go test ./...           # everything, about a minute once built
//	go test -short ./...    # skips the cases where the Collector is 12 s late
//
// TestMain builds the three binaries once; the first Collector build takes minutes.
// E2E_OTELWAIT=/path/to/otelwait tests that binary instead of building the parent module.
package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"testing"
)

// bin holds the binaries built by TestMain.
var bin struct {
	dir       string
	collector string
	spanapp   string
	otelwait  string
	// otelwaitErr is why otelwait didn't build; the tests that need it fail with it.
	otelwaitErr error
}

func TestMain(m *testing.M) {
	flag.Parse()
	// Most of the time is spent waiting for a late Collector, not computing: run more
	// cases at once than the default GOMAXPROCS unless -parallel was given.
	if !flagSet("test.parallel") {
		_ = flag.Set("test.parallel", "12")
	}
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "otelwait-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin.dir = dir
	bin.collector = filepath.Join(dir, "otelcol-e2e")
	bin.spanapp = filepath.Join(dir, "spanapp")
	bin.otelwait = filepath.Join(dir, "otelwait")

	root, err := filepath.Abs("..") // the otelwait module; tests run in e2e/
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, b := range []struct{ out, pkg, dir string }{
		{bin.spanapp, "./cmd/spanapp", "."},
		{bin.collector, "./cmd/otelcol-e2e", "."},
	} {
		if err := goBuild(b.out, b.pkg, b.dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if prebuilt := os.Getenv("E2E_OTELWAIT"); prebuilt != "" {
		// Test a given binary (a release, a cross-build) instead of building one.
		bin.otelwait, bin.otelwaitErr = filepath.Abs(prebuilt)
	} else {
		bin.otelwaitErr = goBuild(bin.otelwait, ".", root)
	}
	if bin.otelwaitErr != nil {
		fmt.Fprintln(os.Stderr, "e2e:", bin.otelwaitErr)
	}
	return m.Run()
}

func goBuild(out, pkg, dir string) error {
	start := time.Now()
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", out, pkg)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", pkg, dir, err, b)
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", filepath.Base(out), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// needOtelwait fails the test when otelwait did not build.
func needOtelwait(t *testing.T) {
	t.Helper()
	if bin.otelwaitErr != nil {
		t.Fatalf("otelwait did not build: %v", firstLine(bin.otelwaitErr.Error()))
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
