// Command bench measures otelwait against its peers on this machine and
// writes docs/BENCHMARKS.md. bench/run.sh builds it, installs the peers
// and runs it; see there.
//
// Metrics: detection latency (target turns ready D after the tool
// starts), ready-path overhead, probe load and memory while the target is
// down, binary sizes, and a correctness matrix. Every process it starts
// is killed with its whole tree when its run ends.
package main

import (
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

type config struct {
	smoke     bool
	repo      string // repository root
	peers     string // bench/.peers
	work      string // scratch directory
	out       string // the report
	stamp     string
	hello     string
	tools     []*Tool
	conc      int
	loadConc  int
	latD      []time.Duration
	repsShort int // latency runs per cell for D < 10 s
	repsOtel  int // the same for otelwait, whose medians meet fixed targets
	repsLong  int // and for D ≥ 10 s, every tool
	ovReps    int
	loadReps  int
	late      time.Duration // start of the late load window
	lateWin   time.Duration // its length
	grace     time.Duration // how long a tool may take to start the command once the target is ready
	watch503  time.Duration
	netns     bool
	netnsErr  string
}

// latReps is how many latency runs tool gets per target for D.
func (c *config) latReps(tool string, d time.Duration) int {
	switch {
	case d >= 10*time.Second:
		return c.repsLong
	case tool == "otelwait":
		return c.repsOtel
	}
	return c.repsShort
}

// childArgs are the flags a load child needs to see the same setup.
func (c *config) childArgs() []string {
	a := []string{"-repo=" + c.repo, "-peers=" + c.peers, "-work=" + c.work,
		"-late=" + c.late.String(), "-late-window=" + c.lateWin.String()}
	if c.netns {
		a = append(a, "-netns")
	}
	return a
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func main() {
	if err := benchMain(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: FAILED:", err)
		os.Exit(1)
	}
}

func benchMain() error {
	cfg := &config{}
	flag.BoolVar(&cfg.smoke, "smoke", false, "one quick run of every metric; timings mean nothing")
	flag.StringVar(&cfg.repo, "repo", "..", "repository root")
	flag.StringVar(&cfg.peers, "peers", ".peers", "where run.sh installed the peers and built the tools")
	flag.StringVar(&cfg.work, "work", "", "scratch directory (default: a new temporary one)")
	flag.StringVar(&cfg.out, "out", "", "report to write (required)")
	flag.IntVar(&cfg.conc, "conc", 3, "latency runs at once")
	flag.IntVar(&cfg.repsShort, "lat-reps", 11, "latency runs per peer, target and D < 10 s")
	flag.IntVar(&cfg.repsOtel, "lat-reps-otelwait", 22, "latency runs of otelwait per target and D < 10 s")
	flag.IntVar(&cfg.repsLong, "lat-reps-10s", 5, "latency runs per tool and target for D = 10 s")
	flag.IntVar(&cfg.ovReps, "ov-reps", 25, "ready-path runs per row")
	flag.IntVar(&cfg.loadReps, "load-reps", 3, "probe-load runs per tool and target")
	flag.IntVar(&cfg.loadConc, "load-conc", 6, "probe-load runs at once")
	flag.DurationVar(&cfg.late, "late", 10*time.Second, "start of the late probe-load window")
	flag.DurationVar(&cfg.lateWin, "late-window", 2*time.Second, "length of the late probe-load window")
	child := flag.String("child", "", "internal: run a child (load)")
	kind := flag.String("kind", "", "internal: the child's target kind")
	toolName := flag.String("tool", "", "internal: the child's tool")
	flag.BoolVar(&cfg.netns, "netns", false, "internal: the child is in a network namespace of its own")
	metrics := flag.String("metrics", "correct,overhead,load,latency", "metrics to run (a partial report, for experiments)")
	onlyTools := flag.String("tools", "", "comma-separated tools to run besides otelwait (default: all)")
	onlyKinds := flag.String("kinds", "", "comma-separated target kinds (default: all)")
	flag.Parse()
	if *onlyKinds != "" {
		var ks []Kind
		for _, k := range strings.Split(*onlyKinds, ",") {
			if !slices.Contains(allKinds, Kind(k)) {
				return fmt.Errorf("-kinds: unknown kind %q", k)
			}
			ks = append(ks, Kind(k))
		}
		allKinds = ks
	}

	var err error
	if cfg.repo, err = filepath.Abs(cfg.repo); err != nil {
		return err
	}
	if cfg.peers, err = filepath.Abs(cfg.peers); err != nil {
		return err
	}
	cfg.stamp = filepath.Join(cfg.peers, "bin", "stamp")
	cfg.hello = filepath.Join(cfg.peers, "bin", "hello")
	if cfg.tools, err = loadTools(cfg.peers); err != nil {
		return err
	}
	if *onlyTools != "" {
		keep := strings.Split(*onlyTools, ",")
		cfg.tools = slices.DeleteFunc(cfg.tools, func(t *Tool) bool { return t.Name != "otelwait" && !slices.Contains(keep, t.Name) })
	}
	if *child == "load" {
		return loadChild(cfg, *toolName, Kind(*kind), cfg.netns)
	}
	if cfg.out == "" {
		return errors.New("-out is required")
	}
	need := []string{cfg.stamp, cfg.hello}
	for _, f := range floorProgs {
		need = append(need, floorPath(cfg, f.name))
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: %v (run bench/run.sh)", errHarness, err)
		}
	}
	if cfg.work == "" {
		if cfg.work, err = os.MkdirTemp("", "otelwait-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(cfg.work)
	}
	// Interrupted: kill every process tree started, clean up, and go.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-sigs
		logf("%s: killing every process started", sig)
		killLive()
		os.RemoveAll(cfg.work)
		os.Exit(128 + int(sig.(syscall.Signal)))
	}()
	cfg.grace = 15 * time.Second
	cfg.watch503 = 2 * time.Second
	cfg.latD = []time.Duration{300 * time.Millisecond, time.Second, 3 * time.Second, 10 * time.Second}
	if cfg.smoke {
		cfg.latD = []time.Duration{300 * time.Millisecond, time.Second}
		cfg.repsShort, cfg.repsOtel, cfg.repsLong, cfg.ovReps, cfg.loadReps = 1, 1, 1, 1, 1
		cfg.late, cfg.lateWin = 2*time.Second, time.Second
		cfg.grace = 5 * time.Second
		cfg.conc, cfg.loadConc = 16, 16
	}
	if err := netnsWorks(); err != nil {
		cfg.netnsErr = err.Error()
		logf("no network namespaces (%v): refused connection attempts can't be counted", err)
	} else {
		cfg.netns = true
	}

	rep := &report{cfg: cfg, started: time.Now().UTC(), loadStart: loadavg()}
	rep.machine = machineInfo()
	rep.versions = versions(cfg)
	began := time.Now()

	rep.ran = map[string]bool{}
	for _, m := range strings.Split(*metrics, ",") {
		rep.ran[m] = true
	}
	if rep.ran["correct"] {
		if rep.correct, err = runCorrect(cfg); err != nil {
			return err
		}
	}
	if rep.ran["overhead"] {
		if rep.overhead, err = runOverhead(cfg); err != nil {
			return err
		}
	}
	if rep.ran["load"] {
		if rep.load, err = runLoad(cfg); err != nil {
			return err
		}
	}
	if rep.ran["latency"] {
		if rep.latency, err = runLatency(cfg); err != nil {
			return err
		}
	}
	rep.sizes = sizes(cfg)
	rep.loadEnd = loadavg()
	rep.took = time.Since(began)

	if err := os.WriteFile(cfg.out, []byte(rep.render()), 0o644); err != nil {
		return err
	}
	logf("wrote %s (%s)", cfg.out, rep.took.Round(time.Second))
	for _, f := range rep.findings() {
		logf("otelwait: %s", f)
	}
	if problems := rep.completeness(); len(problems) > 0 {
		for _, p := range problems {
			logf("missing: %s", p)
		}
		return fmt.Errorf("%w: %d measurements missing (see above and %s)", errHarness, len(problems), cfg.out)
	}
	return nil
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

type machine struct {
	nproc             int
	cpu, kernel, mem  string
	goVersion, distro string
}

func machineInfo() machine {
	m := machine{nproc: runtime.NumCPU(), cpu: "unknown", kernel: "unknown", mem: "unknown", goVersion: runtime.Version(), distro: "unknown"}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if line, _, ok := strings.Cut(string(data), "\n"); ok {
			m.mem = strings.Join(strings.Fields(line)[1:], " ")
		}
	}
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.distro = strings.Trim(v, `"`)
			}
		}
	}
	return m
}

// versions of what the tools run on: the interpreters and shells.
func versions(cfg *config) [][2]string {
	first := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			return "unknown (" + err.Error() + ")"
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return line
	}
	stamp := "unknown"
	if data, err := os.ReadFile(filepath.Join(cfg.peers, "bin", "stamp.kind")); err == nil {
		stamp = strings.TrimSpace(string(data))
	}
	return [][2]string{
		{"stamp helper (the command every tool starts)", stamp},
		{"Go (harness and Go tools)", runtime.Version()},
		{"otelwait --version", first(filepath.Join(cfg.peers, "bin", "otelwait"), "--version")},
		{"node (runs wait-on)", first("node", "--version")},
		{"bash (runs wait-for-it)", first("bash", "--version")},
		{"/bin/sh (chains wait-on, loops grpc-health-probe)", first("dpkg-query", "-W", "-f", "${Package} ${Version}", "dash")},
		{"GNU timeout (used by wait-for-it)", first("timeout", "--version")},
	}
}

type sizeRow struct {
	name, path string
	bytes      int64
	static     string
}

// sizes of the Go tools' binaries, as built by run.sh (stripped).
func sizes(cfg *config) []sizeRow {
	var rows []sizeRow
	for _, n := range []string{"otelwait", "dockerize", "grpc-health-probe", "hello"} {
		p := filepath.Join(cfg.peers, "bin", n)
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		rows = append(rows, sizeRow{n, p, fi.Size(), staticness(p)})
	}
	return rows
}

// staticness says whether an ELF file asks for a dynamic loader.
func staticness(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return "not ELF"
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "dynamic"
		}
	}
	if f.Section(".symtab") != nil {
		return "static, not stripped"
	}
	return "static, stripped"
}
