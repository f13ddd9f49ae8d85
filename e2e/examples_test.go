package e2e

// Machine validation of the examples (../examples and ../Dockerfile): each is read by the
// tool that will read it for real, so that a misspelled field, a renamed flag or a broken
// Collector configuration fails here rather than in a user's deployment.
//
//   - Kubernetes manifests: strict decoding into k8s.io/api types, plus the checks a reviewer
//     makes (examples_kube_test.go).
//   - Compose: compose-spec's own loader (examples_compose_test.go).
//   - Dockerfiles: BuildKit's parser and build checks (examples_docker_test.go).
//   - Every otelwait command line, wherever it is written: parsed by the otelwait binary
//     that TestMain built (examples_cli_test.go).
//   - Every Collector configuration: `otelcol-e2e validate`, the real Collector's own check.
//
// Nothing here needs the network or Docker. E2E_EXAMPLES_ROOT=DIR checks the examples of
// another copy of the repository (DIR holds Dockerfile and examples/), e.g. a fix in progress.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// exampleSet holds the examples' files by path relative to the repository root (with
// slashes), so that a test can check a changed copy without touching the repository.
type exampleSet map[string][]byte

// examplesRoot is the repository whose examples are checked.
func examplesRoot() (string, error) {
	if dir := os.Getenv("E2E_EXAMPLES_ROOT"); dir != "" {
		return filepath.Abs(dir)
	}
	return filepath.Abs("..") // tests run in e2e/
}

// loadExamples reads the root Dockerfile and every file under examples/.
func loadExamples() (exampleSet, error) {
	root, err := examplesRoot()
	if err != nil {
		return nil, err
	}
	s := exampleSet{}
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return nil, err
	}
	s["Dockerfile"] = b
	err = filepath.WalkDir(filepath.Join(root, "examples"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		s[filepath.ToSlash(rel)] = b
		return nil
	})
	return s, err
}

// match returns the paths of the set that match pattern (path.Match syntax), sorted.
func (s exampleSet) match(pattern string) []string {
	var out []string
	for p := range s {
		if ok, _ := path.Match(pattern, p); ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// with returns a copy of the set in which the first occurrence of old in file p is new.
func (s exampleSet) with(p, old, new string) (exampleSet, error) {
	b, ok := s[p]
	if !ok {
		return nil, fmt.Errorf("no file %q in the examples", p)
	}
	if !strings.Contains(string(b), old) {
		return nil, fmt.Errorf("%s does not contain %q any more: update the mutation", p, old)
	}
	c := make(exampleSet, len(s))
	for k, v := range s {
		c[k] = v
	}
	c[p] = []byte(strings.Replace(string(b), old, new, 1))
	return c, nil
}

// otelwaitLine is one otelwait command line found in an example.
type otelwaitLine struct {
	file  string   // the example's path, relative to the repository root
	where string   // file and place, for messages
	argv  []string // argv[0] is otelwait as the example runs it
	env   []string // the environment the example gives it (literal values only)
	// reach lists the Collector ports this line's container can reach, as
	// "scheme://host:port" (scheme http or grpc); nil when the example pairs the line
	// with no Collector, and then its targets are not checked against one.
	reach []string
}

// collectorConfig is one Collector configuration found in an example.
type collectorConfig struct {
	file  string
	where string
	yaml  []byte
}

// findings is what the checkers found to run and validate.
type findings struct {
	lines   []otelwaitLine
	configs []collectorConfig
}

func (f *findings) add(g findings) {
	f.lines = append(f.lines, g.lines...)
	f.configs = append(f.configs, g.configs...)
}

// problems collects what a checker found wrong.
type problems []error

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Errorf(format, args...))
}

// checkExamples runs every structural check on s and returns the lines and configurations
// to run and validate, and every problem.
func checkExamples(ctx context.Context, s exampleSet) (findings, []error) {
	var f findings
	images, fd, errs := checkDockerfiles(s)
	f.add(fd)
	fk, ek := checkKubernetes(s, images)
	f.add(fk)
	fc, ec := checkCompose(ctx, s, images)
	f.add(fc)
	fs, es := checkScripts(s)
	f.add(fs)
	errs = append(errs, ek...)
	errs = append(errs, ec...)
	errs = append(errs, es...)
	errs = append(errs, checkImageTags(s)...)
	return f, errs
}

func mustLoadExamples(t *testing.T) exampleSet {
	t.Helper()
	s, err := loadExamples()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func reportAll(t *testing.T, errs []error) {
	t.Helper()
	for _, err := range errs {
		t.Error(err)
	}
}

func TestExamplesKubernetes(t *testing.T) {
	s := mustLoadExamples(t)
	if len(s.match("examples/kubernetes/*.yaml")) == 0 {
		t.Fatal("no examples/kubernetes/*.yaml")
	}
	images, _, _ := checkDockerfiles(s) // their own test reports their problems
	_, errs := checkKubernetes(s, images)
	reportAll(t, errs)
}

func TestExamplesCompose(t *testing.T) {
	s := mustLoadExamples(t)
	if len(s.match("examples/compose/compose.yaml")) == 0 {
		t.Fatal("no examples/compose/compose.yaml")
	}
	images, _, _ := checkDockerfiles(s)
	_, errs := checkCompose(t.Context(), s, images)
	reportAll(t, errs)
}

func TestExamplesDockerfiles(t *testing.T) {
	s := mustLoadExamples(t)
	_, _, errs := checkDockerfiles(s)
	reportAll(t, errs)
	reportAll(t, checkImageTags(s))
}

func TestExamplesScripts(t *testing.T) {
	s := mustLoadExamples(t)
	_, errs := checkScripts(s)
	reportAll(t, errs)
	root, err := examplesRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.match("examples/*/*.sh") {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s: not executable (chmod +x, and commit the mode)", p)
		}
	}
}

// Every otelwait line of the examples is parsed by otelwait itself: --explain first, so
// that it parses the options and every target, prints the plan and exits 0 without
// waiting; --install lines are run for real into a temporary directory; --check lines
// are also run for real against a loopback server.
func TestExamplesOtelwaitLines(t *testing.T) {
	needOtelwait(t)
	s := mustLoadExamples(t)
	f, _ := checkExamples(t.Context(), s) // the structural tests report the problems
	// Every example that runs otelwait must have been understood: a line that the
	// extraction missed would silently go unchecked.
	for _, p := range s.match("examples/*/*") {
		text := string(s[p])
		configOnly := slices.ContainsFunc(f.configs, func(c collectorConfig) bool { return c.file == p }) && !strings.Contains(text, "image:")
		if configOnly || !strings.Contains(text, "otelwait") {
			continue
		}
		if !slices.ContainsFunc(f.lines, func(l otelwaitLine) bool { return l.file == p }) {
			t.Errorf("%s mentions otelwait but no otelwait command line was found in it", p)
		}
	}
	for _, l := range f.lines {
		t.Run(l.where, func(t *testing.T) {
			t.Parallel()
			out, err := runOtelwaitLine(t, l)
			if err != nil {
				t.Error(err)
			}
			if out != "" {
				t.Logf("otelwait --explain %q:\n%s", l.argv[1:], out)
			}
		})
	}
}

// Every Collector configuration of the examples passes the real Collector's validate
// subcommand (components known, settings decoded strictly, pipelines consistent).
func TestExamplesCollectorConfigs(t *testing.T) {
	s := mustLoadExamples(t)
	f, _ := checkExamples(t.Context(), s)
	for _, want := range []string{
		"examples/kubernetes/collector-config.yaml",
		"examples/kubernetes/operator.yaml",
		"examples/compose/collector.yaml",
	} {
		if _, ok := s[want]; ok && !slices.ContainsFunc(f.configs, func(c collectorConfig) bool { return c.file == want }) {
			t.Errorf("%s: no Collector configuration found in it", want)
		}
	}
	for _, c := range f.configs {
		t.Run(c.where, func(t *testing.T) {
			t.Parallel()
			if err := validateCollectorConfig(t, c); err != nil {
				t.Error(err)
			}
		})
	}
}

// validateCollectorConfig runs `otelcol-e2e validate --config=FILE` on c.
func validateCollectorConfig(t *testing.T, c collectorConfig) error {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, c.yaml, 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin.collector, "validate", "--config="+file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: the Collector rejects it: %v\n%s", c.where, err, collectorError(string(out)))
	}
	return nil
}

// collectorError returns the Collector's error message once: the command prints it twice
// (cobra's "Error: MSG", then main's "MSG"), and without its blank lines.
func collectorError(out string) string {
	msg := strings.TrimPrefix(out, "Error: ")
	first := firstLine(msg)
	if i := strings.Index(msg[len(first):], "\n"+first); i >= 0 {
		msg = msg[:len(first)+i]
	}
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// Each check must be able to fail: a typical mistake, made in a copy of the examples,
// must be caught by the check meant for it.
func TestExamplesChecksCatchMistakes(t *testing.T) {
	s := mustLoadExamples(t)
	base, errs := checkExamples(t.Context(), s)
	var baseErrs []string
	for _, err := range errs {
		baseErrs = append(baseErrs, err.Error())
	}
	type stage int
	const (
		structure stage = iota // checkExamples reports a problem
		cli                    // an otelwait line fails to run
		collector              // a Collector configuration fails to validate
	)
	for _, m := range []struct {
		name          string
		file, old, nu string
		stage         stage
		want          string // in the structural problem
	}{
		{"kube unknown field", "examples/kubernetes/classic-sidecar.yaml", "volumeMounts:", "volumeMount:", structure, `unknown field "spec.template.spec.initContainers[0].volumeMount"`},
		{"kube wrong case", "examples/kubernetes/native-sidecar.yaml", "  restartPolicy: Always", "  restartpolicy: Always", structure, `unknown field`},
		{"kube undeclared volume", "examples/kubernetes/classic-sidecar.yaml", "- name: otel-collector-config\n              mountPath", "- name: collector-config\n              mountPath", structure, `names no volume of the pod`},
		{"kube duplicate container", "examples/kubernetes/native-sidecar.yaml", "name: install-otelwait", "name: app", structure, `container name "app" is used twice`},
		{"kube native sidecar not restartable", "examples/kubernetes/native-sidecar.yaml", "  restartPolicy: Always", "  restartPolicy: OnFailure", structure, `restartPolicy`},
		{"kube bad quantity", "examples/kubernetes/classic-sidecar.yaml", "memory: 32Mi", "memory: 32 MB", structure, `quantities must match`},
		{"kube config not in ConfigMap", "examples/kubernetes/classic-sidecar.yaml", "--config=/etc/otelcol/config.yaml", "--config=/etc/otelcol/collector.yaml", structure, `no key "collector.yaml"`},
		{"kube app runs a missing otelwait", "examples/kubernetes/classic-sidecar.yaml", `otelwait/otelwait", "--timeout=2m"`, `otelwait/bin/otelwait", "--timeout=2m"`, structure, `bin/otelwait"`},
		{"operator unknown field", "examples/kubernetes/operator.yaml", "mode: sidecar", "mode: sidecar\n  replica: 1", structure, `unknown field "spec.replica"`},
		{"operator bad mode", "examples/kubernetes/operator.yaml", "mode: sidecar", "mode: sidecars", structure, `spec.mode "sidecars"`},
		{"operator no endpoint", "examples/kubernetes/operator.yaml", "endpoint: http://localhost:4318\n", "\n", structure, `spec.exporter.endpoint`},
		{"operator sidecar missing", "examples/kubernetes/operator.yaml", `sidecar.opentelemetry.io/inject: "sidecar"`, `sidecar.opentelemetry.io/inject: "agent"`, structure, `no OpenTelemetryCollector "agent"`},
		{"compose unknown key", "examples/compose/compose.yaml", "start_interval: 1s", "start_intervall: 1s", structure, `start_intervall`},
		{"compose undeclared volume", "examples/compose/compose.yaml", "volumes:\n  otelwait: {}", "volumes:\n  other: {}", structure, `otelwait`},
		{"compose missing collector config", "examples/compose/compose.yaml", "./collector.yaml:", "./otelcol.yaml:", structure, `otelcol.yaml`},
		{"compose healthcheck shell form", "examples/compose/compose.yaml", `test: ["CMD", `, `test: ["CMD-SHELL", `, structure, `CMD-SHELL`},
		{"image final stage not scratch", "Dockerfile", "FROM scratch", "FROM alpine", structure, `FROM "alpine"`},
		{"image runs as root", "Dockerfile", "USER 65532:65532", "USER root", structure, `USER "root"`},
		{"image shell-form entrypoint", "Dockerfile", `ENTRYPOINT ["/otelwait"]`, `ENTRYPOINT /otelwait`, structure, `exec form`},
		{"image no build platform", "Dockerfile", "FROM --platform=$BUILDPLATFORM golang", "FROM golang", structure, `$BUILDPLATFORM`},
		{"image cgo", "Dockerfile", "CGO_ENABLED=0 ", "", structure, `CGO_ENABLED=0`},
		{"image no cross-compile", "Dockerfile", "GOARCH=$TARGETARCH", "GOARCH=amd64", structure, `GOARCH`},
		{"image bad instruction", "Dockerfile", "WORKDIR /src", "WORKDIRR /src", structure, `unknown instruction`},
		{"app image shell-form entrypoint", "examples/docker/Dockerfile.java", `ENTRYPOINT ["/otelwait", "--"]`, `ENTRYPOINT /otelwait --`, structure, `exec form`},
		{"app image no otelwait copy", "examples/docker/Dockerfile.java", "COPY --from=otelwait /otelwait /otelwait", "COPY --from=otelwait /otelwait /usr/local/bin/otelwait", structure, `"/otelwait"`},
		{"script syntax", "examples/ci/wait-for-services.sh", `--timeout 2m`, `--timeout "2m`, structure, `wait-for-services.sh`},
		{"two otelwait versions", "examples/compose/compose.yaml", "ghcr.io/otelwait/otelwait:v0.1.0", "ghcr.io/otelwait/otelwait:v0.2.0", structure, `v0.2.0`},
		{"kube unknown otelwait flag", "examples/kubernetes/classic-sidecar.yaml", "--timeout=2m", "--timout=2m", cli, ""},
		{"kube bad OTELWAIT_ variable", "examples/kubernetes/operator.yaml", "value: 2m", "value: two minutes", cli, ""},
		{"kube --install typo", "examples/kubernetes/native-sidecar.yaml", `args: ["--install"`, `args: ["--instal"`, cli, ""},
		{"compose healthcheck unknown flag", "examples/compose/compose.yaml", `"--check", "--http"`, `"--check", "--htttp"`, cli, ""},
		{"compose app waits elsewhere", "examples/compose/compose.yaml", "http://otel-collector:4318", "http://otel-collector:4317", cli, ""},
		{"compose receiver on localhost", "examples/compose/collector.yaml", "endpoint: 0.0.0.0:4318", "endpoint: localhost:4318", cli, ""},
		{"dockerfile CMD bad option", "examples/docker/Dockerfile.java", `ENTRYPOINT ["/otelwait", "--"]`, `ENTRYPOINT ["/otelwait", "--interval=0s", "--"]`, cli, ""},
		{"script bad target", "examples/ci/wait-for-services.sh", `--grpc "${GRPC_HOST:-localhost}:50051"`, `--grpc "${GRPC_HOST:-localhost}"`, cli, ""},
		{"collector unknown setting", "examples/kubernetes/collector-config.yaml", "verbosity: basic", "verbosity: loud", collector, ""},
		{"collector unknown component", "examples/compose/collector.yaml", "batch: {}", "bacth: {}", collector, ""},
		{"operator config unknown pipeline part", "examples/kubernetes/operator.yaml", "exporters: [debug]", "exporters: [logging]", collector, ""},
	} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c, err := s.with(m.file, m.old, m.nu)
			if err != nil {
				t.Fatal(err)
			}
			f, errs := checkExamples(t.Context(), c)
			switch m.stage {
			case structure:
				// Only the problems the change made count: the examples may have others.
				var added []string
				for _, err := range errs {
					if !slices.Contains(baseErrs, err.Error()) {
						added = append(added, err.Error())
					}
				}
				if len(added) == 0 {
					t.Fatalf("%s: %q → %q: no new problem found", m.file, m.old, m.nu)
				}
				if !slices.ContainsFunc(added, func(e string) bool { return strings.Contains(e, m.want) }) {
					t.Errorf("%s: %q → %q: have new problems\n%s\nwant one mentioning %q", m.file, m.old, m.nu, strings.Join(added, "\n"), m.want)
				}
			case cli:
				needOtelwait(t)
				changed := 0
				for _, l := range f.lines {
					if slices.ContainsFunc(base.lines, func(b otelwaitLine) bool { return reflect.DeepEqual(b, l) }) {
						continue
					}
					changed++
					if _, err := runOtelwaitLine(t, l); err != nil {
						t.Logf("caught: %v", err)
						return
					}
				}
				t.Errorf("%s: %q → %q: changed %d otelwait lines, and every one still runs", m.file, m.old, m.nu, changed)
			case collector:
				changed := 0
				for _, cfg := range f.configs {
					if slices.ContainsFunc(base.configs, func(b collectorConfig) bool { return reflect.DeepEqual(b, cfg) }) {
						continue
					}
					changed++
					if err := validateCollectorConfig(t, cfg); err != nil {
						t.Logf("caught: %v", err)
						return
					}
				}
				t.Errorf("%s: %q → %q: changed %d Collector configurations, and every one still validates", m.file, m.old, m.nu, changed)
			}
		})
	}
}
