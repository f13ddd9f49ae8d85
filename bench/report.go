package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

type report struct {
	cfg                *config
	started            time.Time
	took               time.Duration
	loadStart, loadEnd string
	machine            machine
	versions           [][2]string
	correct            []*correctRow
	overhead           []*ovRow
	load               []*loadResult
	latency            map[latKey]*latCell
	sizes              []sizeRow
	ran                map[string]bool // metrics run
}

const mib = 1 << 20

// display makes a path or command line readable: the peers directory as
// the repository sees it, the scratch directory as $WORK.
func (r *report) display(s string) string {
	s = strings.ReplaceAll(s, r.cfg.peers, "bench/.peers")
	return strings.ReplaceAll(s, r.cfg.work, "$WORK")
}

func (r *report) tool(name string) *Tool {
	for _, t := range r.cfg.tools {
		if t.Name == name {
			return t
		}
	}
	return nil
}

func dLabel(d time.Duration) string {
	return strings.TrimSuffix(fmt.Sprintf("%g s", d.Seconds()), " ")
}

// rangeLabel is the range of ready times of D's runs.
func rangeLabel(d time.Duration) string {
	return fmt.Sprintf("%g–%g s", (d - spread(d)).Seconds(), d.Seconds())
}

// median latency of a cell, and whether it has any run at all.
func (r *report) latMedian(k Kind, tool string, d time.Duration) (float64, bool) {
	c := r.latency[latKey{k, tool, d}]
	if c == nil || len(c.ms) == 0 {
		return 0, false
	}
	return summarize(c.ms).Median, true
}

// bestPeer is the peer with the lowest median for (k, d).
func (r *report) bestPeer(k Kind, d time.Duration) (string, float64, bool) {
	best, bestMS, found := "", math.Inf(1), false
	for _, t := range r.cfg.tools {
		if t.Name == "otelwait" {
			continue
		}
		if m, ok := r.latMedian(k, t.Name, d); ok && m < bestMS {
			best, bestMS, found = t.Name, m, true
		}
	}
	return best, bestMS, found
}

func mark(ok bool) string {
	if ok {
		return "**pass**"
	}
	return "**FAIL**"
}

// targetRow is one row of the targets table; info rows carry a number
// for information and no verdict.
type targetRow struct {
	target, measured, verdict string
	info                      bool
}

// targets checks otelwait against the targets.
func (r *report) targets() []targetRow {
	var rows []targetRow
	add := func(target, measured string, ok bool) {
		rows = append(rows, targetRow{target, measured, mark(ok), false})
	}
	// Latency: the runs of otelwait ready within 3 s, pooled per kind (the
	// median of 22 runs of a roughly uniform 0–40 ms wait has a standard
	// error of about 4 ms; that of the pool of 66, about 2.4).
	pooled := func(k Kind, keep func(time.Duration) bool) ([]float64, []string) {
		var xs []float64
		var parts []string
		for _, d := range r.cfg.latD {
			if !keep(d) {
				continue
			}
			if c := r.latency[latKey{k, "otelwait", d}]; c != nil && len(c.ms) > 0 {
				xs = append(xs, c.ms...)
				parts = append(parts, fmt.Sprintf("%s: %s", rangeLabel(d), fmtMS(summarize(c.ms).Median)))
			}
		}
		return xs, parts
	}
	within3 := func(d time.Duration) bool { return d <= 3*time.Second }
	for _, k := range allKinds {
		if xs, parts := pooled(k, within3); len(xs) > 0 {
			m := summarize(xs).Median
			lo, hi := medianCI(xs)
			add(fmt.Sprintf("median detection latency ≤ 25 ms, %s, ready within 3 s", k),
				fmt.Sprintf("%s ms over %d runs (95%% CI %s–%s); by ready time: %s ms", fmtMS(m), len(xs), fmtMS(lo), fmtMS(hi), strings.Join(parts, ", ")), m <= 25)
		}
	}
	for _, k := range allKinds {
		if c := r.latency[latKey{k, "otelwait", 10 * time.Second}]; c != nil && len(c.ms) > 0 {
			m := summarize(c.ms).Median
			lo, hi := medianCI(c.ms)
			add(fmt.Sprintf("median detection latency ≤ 300 ms, %s, ready %s after start", k, rangeLabel(10*time.Second)),
				fmt.Sprintf("%s ms over %d runs (95%% CI %s–%s)", fmtMS(m), len(c.ms), fmtMS(lo), fmtMS(hi)), m <= 300)
		}
	}
	for _, k := range allKinds {
		for _, d := range r.cfg.latD {
			m, has := r.latMedian(k, "otelwait", d)
			peer, pm, found := r.bestPeer(k, d)
			if !has || !found {
				continue
			}
			ratio := pm / m
			measured := fmt.Sprintf("%.1f× (%s %s ms vs otelwait %s ms)", ratio, peer, fmtMS(pm), fmtMS(m))
			if !within3(d) {
				// The issue sets 20× beside "≤ 25 ms within 3 s" (against
				// peers polling every second); at 10 s its target is
				// ≤ 300 ms, which no factor of 20 could follow from.
				rows = append(rows, targetRow{fmt.Sprintf("best peer ÷ otelwait, %s, ready %s after start (for information: the target at 10 s is ≤ 300 ms)", k, rangeLabel(d)), measured, "–", true})
				continue
			}
			add(fmt.Sprintf("≥ 20× better than the best peer's defaults, %s, ready %s after start", k, rangeLabel(d)), measured, ratio >= 20)
		}
	}
	if xs, parts := pooled(KindGRPC, func(time.Duration) bool { return true }); len(xs) > 0 {
		m := summarize(xs).Median
		lo, hi := medianCI(xs)
		add("gRPC health (Watch): median latency after SERVING ≤ 10 ms",
			fmt.Sprintf("%s ms over %d runs (95%% CI %s–%s); by ready time: %s ms", fmtMS(m), len(xs), fmtMS(lo), fmtMS(hi), strings.Join(parts, ", ")), m <= 10)
	}
	// Probe load.
	for _, k := range allKinds {
		var first, late, first6, late6 []float64
		for _, l := range r.load {
			if l.Tool == "otelwait" && l.Kind == k && l.First >= 0 {
				first = append(first, l.First)
				late = append(late, l.Late)
				first6 = append(first6, l.First6)
				late6 = append(late6, l.Late6)
			}
		}
		if len(first) == 0 {
			continue
		}
		f, l, f6, l6 := summarize(first), summarize(late), summarize(first6), summarize(late6)
		also := func(s summary, unit string) string {
			if s.Max == 0 {
				return ""
			}
			return fmt.Sprintf("; plus max %.1f%s at [::1]:PORT, which otelwait also tries while 127.0.0.1 refuses", s.Max, unit)
		}
		add(fmt.Sprintf("probe rate ≤ 25/s at peak (first second), %s", k), fmt.Sprintf("max %.0f/s over %d runs%s", f.Max, f.N, also(f6, "/s")), f.Max <= 25)
		add(fmt.Sprintf("probe rate ≤ 4/s after %s, %s", dLabel(r.cfg.late), k), fmt.Sprintf("max %.1f/s over %d runs%s", l.Max, l.N, also(l6, "/s")), l.Max <= 4)
	}
	// Ready path.
	var direct, hello float64
	for _, o := range r.overhead {
		switch {
		case o.role == "direct" && len(o.ms) > 0:
			direct = summarize(o.ms).Median
		case o.role == "hello" && len(o.ms) > 0:
			hello = summarize(o.ms).Median
		}
	}
	version := ""
	for _, o := range r.overhead {
		if o.role == "version" && len(o.ms) > 0 {
			version = fmt.Sprintf("; `otelwait --version` alone takes %s ms", fmtMS(summarize(o.ms).Median))
		}
	}
	for _, o := range r.overhead {
		if o.role == "floor" && o.pkg == "crypto/tls" && len(o.ms) > 0 && hello > 0 {
			m := summarize(o.ms).Median
			version += fmt.Sprintf("; a Go program linking crypto/tls alone takes %s ms (%.2f× hello world)", fmtMS(m), m/hello)
		}
	}
	for _, o := range r.overhead {
		if o.tool != "otelwait" || o.role != "" || o.toExit || len(o.ms) == 0 || hello == 0 {
			continue
		}
		m := summarize(o.ms).Median
		over := m - direct
		add(fmt.Sprintf("ready-path overhead ≤ 1.5× a Go hello world's start, %s", o.kind),
			fmt.Sprintf("%s ms added (%s ms via otelwait − %s ms direct) = %.2f× hello world's %s ms (spawn → exit); whole path %.2f× hello world%s",
				fmtMS(over), fmtMS(m), fmtMS(direct), over/hello, fmtMS(hello), m/hello, version), over <= 1.5*hello)
	}
	// Memory and size.
	var hwm int64
	n := 0
	for _, l := range r.load {
		if l.Tool == "otelwait" {
			hwm = max(hwm, l.HWMKiB)
			n++
		}
	}
	if cpu := r.cpuByKind("otelwait"); cpu != "" {
		rows = append(rows, targetRow{"CPU while waiting (no target; for information)",
			fmt.Sprintf("ms of CPU per second waited, over the whole %s wait, start included: %s", dLabel(r.cfg.late+r.cfg.lateWin), cpu), "–", true})
	}
	if n > 0 {
		add("peak RSS while waiting ≤ 15 MiB", fmt.Sprintf("%.1f MiB (VmHWM, worst of %d runs over all kinds)", float64(hwm)/1024, n), hwm*1024 <= 15*mib)
	}
	for _, s := range r.sizes {
		if s.name == "otelwait" {
			add("stripped static binary ≤ 11 MiB", fmt.Sprintf("%.2f MiB (%d bytes, %s)", float64(s.bytes)/mib, s.bytes, s.static),
				s.bytes <= 11*mib && s.static == "static, stripped")
		}
	}
	return rows
}

// cpuRates are the CPU rates (ms per second waited) of tool's probe-load
// runs against kind k.
func (r *report) cpuRates(tool string, k Kind) []float64 {
	var xs []float64
	for _, l := range r.load {
		if l.Tool == tool && l.Kind == k {
			if c, ok := l.cpuRate(); ok {
				xs = append(xs, c)
			}
		}
	}
	return xs
}

// cpuByKind is the median of tool's CPU rates for each kind, and how many
// runs; "" if none.
func (r *report) cpuByKind(tool string) string {
	var parts []string
	runs := map[int]bool{}
	n := 0
	for _, k := range allKinds {
		if xs := r.cpuRates(tool, k); len(xs) > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f", k, summarize(xs).Median))
			runs[len(xs)] = true
			n = len(xs)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	if len(runs) > 1 {
		return strings.Join(parts, ", ") + " (medians of unequal numbers of runs)"
	}
	return fmt.Sprintf("%s (median of %d runs per kind)", strings.Join(parts, ", "), n)
}

// completeness lists the measurements that are missing: in smoke mode,
// that is how a broken harness (or a broken tool) shows. Every installed
// tool must have produced a number in every cell it can fill.
func (r *report) completeness() []string {
	var p []string
	for _, t := range r.cfg.tools {
		if !t.Installed {
			continue
		}
		for _, k := range allKinds {
			if !t.Can(k) {
				continue
			}
			if r.ran["latency"] {
				for _, d := range r.cfg.latD {
					c := r.latency[latKey{k, t.Name, d}]
					if c == nil || len(c.ms) == 0 {
						fails := ""
						if c != nil {
							fails = ": " + strings.Join(c.fails, "; ")
						}
						p = append(p, fmt.Sprintf("latency, %s, %s, D = %s%s", t.Name, k, dLabel(d), fails))
					}
				}
			}
			if r.ran["load"] {
				found := false
				for _, l := range r.load {
					if l.Tool != t.Name || l.Kind != k {
						continue
					}
					found = true
					if l.HWMKiB == 0 {
						p = append(p, fmt.Sprintf("memory while waiting, %s, %s", t.Name, k))
					}
					if _, ok := l.cpuRate(); !ok {
						p = append(p, fmt.Sprintf("CPU while waiting, %s, %s", t.Name, k))
					}
					if l.First < 0 && (r.cfg.netns || k == KindHTTP || k == KindGRPC) {
						p = append(p, fmt.Sprintf("probe load, %s, %s", t.Name, k))
					}
					if l.Broken {
						p = append(p, fmt.Sprintf("probe load, %s, %s: %s", t.Name, k, l.Note))
					}
				}
				if !found {
					p = append(p, fmt.Sprintf("probe load, %s, %s: no run", t.Name, k))
				}
			}
		}
	}
	for _, o := range r.overhead {
		if len(o.ms) == 0 {
			p = append(p, "ready path: "+o.label+": "+strings.Join(o.fails, "; "))
		}
	}
	for _, c := range r.correct {
		for i, v := range c.cells() {
			if v.ok == nil && c.tool == "otelwait" {
				p = append(p, fmt.Sprintf("correctness, %s, %s: %s", c.tool, correctColumns[i], v.detail))
			}
			if v.ok != nil && !*v.ok && strings.HasPrefix(v.detail, "command not run") {
				p = append(p, fmt.Sprintf("correctness, %s, %s: %s", c.tool, correctColumns[i], v.detail))
			}
		}
	}
	return p
}

// findings are what otelwait got wrong: failed targets and correctness
// cells. They are results, not harness failures.
func (r *report) findings() []string {
	var f []string
	for _, t := range r.targets() {
		if !t.info && t.verdict != mark(true) {
			f = append(f, fmt.Sprintf("target missed: %s: %s", t.target, t.measured))
		}
	}
	for _, c := range r.correct {
		if c.tool == "otelwait" {
			for i, v := range c.cells() {
				if v.ok != nil && !*v.ok {
					f = append(f, fmt.Sprintf("correctness: %s: %s", correctColumns[i], v.detail))
				}
			}
		}
	}
	return f
}

func (r *report) render() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cfg := r.cfg

	w("# Benchmarks\n\n")
	if cfg.smoke {
		w("> **Smoke run** (`bench/run.sh --smoke`): one run of each measurement, to show that the harness works. The numbers mean nothing.\n\n")
	}
	w("Written by `bench/run.sh` on %s in %s; do not edit by hand. otelwait against the waiters one can install here ",
		r.started.Format("2006-01-02 15:04 UTC"), r.took.Round(time.Second))
	w("(Debian's `wait-for-it`, npm's `wait-on`, `dockerize`, and `grpc-health-probe` for single gRPC checks), ")
	w("each with its own defaults, on loopback targets served by the harness. Cells are **median / p90 / max** over the runs, in milliseconds unless said otherwise; ")
	w("percentiles interpolate linearly between runs, so p90 lies below the max even with few runs.\n\n")

	w("## otelwait against its targets\n\n")
	w("| target | measured | verdict |\n|---|---|---|\n")
	for _, t := range r.targets() {
		w("| %s | %s | %s |\n", t.target, t.measured, t.verdict)
	}
	w("\n")
	for _, c := range r.correct {
		if c.tool != "otelwait" {
			continue
		}
		for i, v := range c.cells() {
			if v.ok != nil && !*v.ok {
				w("Correctness: otelwait fails *%s*: %s.\n\n", correctColumns[i], cell(r.display(v.detail)))
			}
		}
	}

	w("## Machine\n\n")
	m := r.machine
	w("| | |\n|---|---|\n")
	w("| CPUs (nproc) | %d |\n| CPU model | %s |\n| memory | %s |\n| kernel | %s |\n| system | %s |\n", m.nproc, m.cpu, m.mem, m.kernel, m.distro)
	w("| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", r.loadStart, r.loadEnd)
	w("| date | %s |\n", r.started.Format(time.RFC3339))
	w("| run | %s; %d latency runs at once; network namespaces: %s |\n\n", map[bool]string{true: "smoke", false: "full"}[cfg.smoke], cfg.conc, r.netnsText())

	w("## Tools\n\n")
	w("| tool | version | installed | how it is driven |\n|---|---|---|---|\n")
	for _, t := range cfg.tools {
		inst := "yes: " + r.display(t.Why)
		if !t.Installed {
			inst = "**not installed**: " + r.display(t.Why)
		}
		w("| %s | %s | %s | %s |\n", t.Name, orUnknown(t.Version), cell(inst), t.Note)
	}
	w("\n")
	for _, v := range r.versions {
		w("- %s: %s\n", v[0], cell(v[1]))
	}
	w("\n")

	w("## Method\n\n")
	w("- **Clock.** The command every tool starts is `stamp`, a tiny static binary (bench/cstamp/stamp.c, or the same program in Go, bench/cmd/stamp, where no C compiler links statically; which one ran is listed under *Tools*) whose first action is `clock_gettime(CLOCK_MONOTONIC)`; it writes the reading to a file. ")
	w("The target servers run in the harness and read the same clock just before they flip to ready (`listen(2)`, the 200, or SERVING). ")
	w("CLOCK_MONOTONIC is one clock for every process on the machine, so the difference is the detection latency, including the tool's own exec or fork of the command and the start of `stamp` (the first row of the ready-path table bounds that from above).\n")
	w("- **Targets.** ")
	for _, k := range allKinds {
		w("*%s*: %s. ", k, kindDesc[k])
	}
	w("Each run gets its own server on a free port of 127.0.0.1 (bound when the run starts, so the port is reserved).\n")
	w("- **Defaults.** Each tool keeps its own probe interval and behaviour; only its overall timeout is raised to 60 s (dockerize's default 10 s and wait-for-it's 15 s would otherwise end runs at D = 10 s). A tool that can't probe a kind of target is n/a there.\n")
	w("- **Interleaving.** All latency runs (every tool × kind × D × repetition) are shuffled together with a fixed seed and run %d at a time, so drift and background load hit every tool alike. The ready-path rows run round-robin, one process at a time.\n", cfg.conc)
	w("- **Probe load and memory** come from runs against targets that never become ready, each in a network namespace of its own (loopback only), %d at a time and started at least 400 ms apart, so that start-ups don't compete. HTTP requests and gRPC RPCs are counted at the server; refused connection attempts (TCP, OTLP ports) by the namespace's own counters in /proc/net/snmp and /proc/net/snmp6, which only that run's tool moves. ", cfg.loadConc)
	w("Memory: VmHWM of the largest process of the tool's process tree (exec replaces the process, so it is measured while waiting), and the tree's summed VmRSS sampled every 200 ms. ")
	w("CPU: the user and system time the tree used from spawn to the run's end, from /proc/PID/stat at the last sample: each live process's utime and stime plus its cutime and cstime, the time of the children it has reaped, so short-lived processes (a shell loop's probes, a fork) count through their parents.\n")
	w("- **Every process is killed**: each run's process tree is stopped (SIGSTOP), found through /proc and killed when the run ends.\n\n")

	r.renderLatency(w)
	r.renderOverhead(w)
	r.renderLoad(w)
	r.renderMemory(w)
	r.renderCorrect(w)
	r.renderCommands(w)

	w("## How to reproduce\n\n")
	w("On a Debian machine with Go %s, gcc (for the C `stamp`; without it the Go one is used), Node.js and npm, as root (apt-get), with the Go module proxy, Debian's archive and the npm registry reachable:\n\n", strings.TrimPrefix(runtime.Version(), "go"))
	w("    bench/run.sh            # full run, about 8 minutes (this one: %s); rewrites docs/BENCHMARKS.md\n", r.took.Round(time.Second))
	w("    bench/run.sh --smoke    # one run of each metric, under a minute after installs; writes a temporary file\n\n")
	w("Run it when the machine is quiet (1-minute load average well below the number of CPUs): the latencies are a few milliseconds and any other work shows in them. ")
	w("`run.sh` installs the peers under `bench/.peers/` (git-ignored) on first use, exactly as listed under *Tools*; `rm -rf bench/.peers` starts afresh. ")
	w("Knobs (`go run . -h` in bench/): `-conc`, `-lat-reps`, `-lat-reps-10s`, `-ov-reps`, `-load-reps`, passed through `BENCH_ARGS`.\n")
	return b.String()
}

func (r *report) netnsText() string {
	if r.cfg.netns {
		return "yes"
	}
	return "no (" + r.cfg.netnsErr + "): refused attempts not counted"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func (r *report) renderLatency(w func(string, ...any)) {
	cfg := r.cfg
	w("## 1. Detection latency\n\n")
	w("The target becomes ready at most D after the tool is spawned; latency = the command's start − the flip (ms, median / p90 / max, runs). ")
	w("Runs per cell: %d for D < 10 s (otelwait: %d, for its medians meet fixed targets), %d for D = 10 s. ", cfg.repsShort, cfg.repsOtel, cfg.repsLong)
	w("The ready times of a cell's runs are spread over [D − min(D/2, 1 s), D] (")
	for i, d := range cfg.latD {
		if i > 0 {
			w(", ")
		}
		w("%s", rangeLabel(d))
	}
	w("), the same values for every tool and kind: the range is cut into as many equal strata as there are runs, and each run is ready at a random point of its stratum (fixed seed). ")
	w("With D a whole number of seconds, a tool polling every second would otherwise meet the flip at the same phase of its cycle in every run and show its start-up drift instead of a fair sample of its interval; the random point keeps the flips from locking onto a faster tool's cycle, as evenly spaced ones would. ")
	w("(Below 2 s the range is narrower than those tools' 1 s cycle, which favours them: the flips fall in the second half of their first cycle.) ")
	w("The flip time itself is measured, not assumed.\n\n")
	for _, k := range allKinds {
		w("### %s\n\n", k)
		w("| tool |")
		for _, d := range cfg.latD {
			w(" D = %s |", dLabel(d))
		}
		w("\n|---|")
		for range cfg.latD {
			w("---|")
		}
		w("\n")
		for _, t := range cfg.tools {
			w("| %s |", t.Name)
			for _, d := range cfg.latD {
				switch {
				case !t.Can(k):
					w(" n/a |")
				case !t.Installed:
					w(" not installed |")
				default:
					c := r.latency[latKey{k, t.Name, d}]
					if c == nil {
						w(" – |")
						continue
					}
					s := summarize(c.ms)
					txt := fmt.Sprintf("%s (%d)", s.ms(), s.N)
					if len(c.fails) > 0 {
						txt += fmt.Sprintf("; **%d failed**: %s", len(c.fails), cell(c.fails[0]))
					}
					w(" %s |", txt)
				}
			}
			w("\n")
		}
		hasPeer := false
		for _, d := range cfg.latD {
			if _, _, ok := r.bestPeer(k, d); ok {
				hasPeer = true
			}
		}
		if hasPeer {
			w("| *best peer ÷ otelwait (medians)* |")
			for _, d := range cfg.latD {
				om, ok1 := r.latMedian(k, "otelwait", d)
				peer, pm, ok2 := r.bestPeer(k, d)
				if ok1 && ok2 {
					w(" %.1f× (%s) |", pm/om, peer)
				} else {
					w(" – |")
				}
			}
			w("\n")
		}
		w("\n")
	}
}

func (r *report) renderOverhead(w func(string, ...any)) {
	w("## 2. Ready-path overhead\n\n")
	w("Every target already up. Time from spawning the process (CLOCK_MONOTONIC just before fork) to the command's first action, or to exit for the rows that say so; %d runs per row, round-robin. ", r.cfg.ovReps)
	w("*÷ direct* is the median over the median of running the command directly.\n\n")
	var direct float64
	for _, o := range r.overhead {
		if o.role == "direct" && len(o.ms) > 0 {
			direct = summarize(o.ms).Median
		}
	}
	w("| what | ms (median / p90 / max) | ÷ direct |\n|---|---|---|\n")
	for _, o := range r.overhead {
		s := summarize(o.ms)
		ratio := "–"
		if direct > 0 && s.N > 0 && !o.toExit {
			ratio = fmt.Sprintf("%.2f×", s.Median/direct)
		}
		txt := s.ms()
		if len(o.fails) > 0 {
			txt += fmt.Sprintf("; **%d failed**: %s", len(o.fails), cell(o.fails[0]))
		}
		w("| %s | %s | %s |\n", o.label, txt, ratio)
	}
	w("\n")
	r.renderStartCost(w)
}

// renderStartCost shows what a Go program's start costs here: the hello
// world, the same linking more of the standard library, and otelwait.
func (r *report) renderStartCost(w func(string, ...any)) {
	var rows []*ovRow
	var hello float64
	for _, o := range r.overhead {
		switch o.role {
		case "hello":
			if len(o.ms) > 0 {
				hello = summarize(o.ms).Median
			}
			rows = append([]*ovRow{o}, rows...)
		case "floor", "version":
			rows = append(rows, o)
		}
	}
	if len(rows) == 0 {
		return
	}
	w("### What a Go program's start costs here\n\n")
	w("| program (spawn → exit) | ms (median) | ÷ hello world | stripped binary (MiB) |\n|---|---|---|---|\n")
	for _, o := range rows {
		name := "Go hello world"
		switch o.role {
		case "floor":
			name = "+ " + o.pkg
		case "version":
			name = "otelwait --version"
		}
		ms, ratio := "–", "–"
		if len(o.ms) > 0 {
			m := summarize(o.ms).Median
			ms = fmtMS(m)
			if hello > 0 {
				ratio = fmt.Sprintf("%.2f×", m/hello)
			}
		}
		w("| %s | %s | %s | %.2f |\n", name, ms, ratio, float64(o.bytes)/mib)
	}
	w("\nMedians of the rows above; each *+ package* program is the hello world (bench/cmd/hello) with that package linked in through a call behind a branch no run takes (bench/cmd/floor, one build tag per package), built the same way (`CGO_ENABLED=0 go build -trimpath -ldflags='-s -w'`, static and stripped), so what it adds to the hello world's start is the initialisation of that package and of those it imports, plus the runtime's work that grows with the binary's size, mostly page faults as its text and data are first touched.\n\n")
}

func (r *report) renderLoad(w func(string, ...any)) {
	cfg := r.cfg
	w("## 3. Probe load while the target is down\n\n")
	w("Attempts the target saw: in the first second after the tool was spawned, and per second from %s to %s. ", dLabel(cfg.late), dLabel(cfg.late+cfg.lateWin))
	w("HTTP: requests (503 answered); gRPC: health RPCs (NOT_SERVING; a Watch stream counts once however long it stays open); TCP and OTLP: connection attempts at the refused 127.0.0.1:PORT, ")
	w("and separately those at [::1]:PORT, the other loopback family, which a tool may try as well (counted by the namespace's IPv4 and IPv6 packet counters: a refused attempt is a SYN and a RST; their sum is checked against Tcp ActiveOpens). ")
	w("*CPU*: milliseconds of CPU time (user + system) the tool's whole process tree used per second waited, over the whole %s from spawn, the tool's start included; exited children count through their parents' cutime and cstime (see *Method*). ", dLabel(cfg.late+cfg.lateWin))
	tick := 1000 / float64(clockTicks())
	w("/proc gives each of the four times in whole clock ticks of %g ms, rounded down, so a run may read up to 4 ticks per process low (%.1f ms/s per process over %s), and a tool that uses less than that may read 0. ", tick, 4*tick/(cfg.late+cfg.lateWin).Seconds(), dLabel(cfg.late+cfg.lateWin))
	w("Median / max over %d runs.\n\n", cfg.loadReps)
	w("| kind | tool | first second (attempts) | after %s (attempts/s) | also at [::1]: first second / after %s | CPU (ms per s waited) | notes |\n|---|---|---|---|---|---|---|\n", dLabel(cfg.late), dLabel(cfg.late))
	for _, k := range allKinds {
		for _, t := range cfg.tools {
			if !t.Can(k) {
				continue
			}
			if !t.Installed {
				w("| %s | %s | not installed | not installed | | | |\n", k, t.Name)
				continue
			}
			cpu := "not measured"
			if xs := r.cpuRates(t.Name, k); len(xs) > 0 {
				c := summarize(xs)
				cpu = fmt.Sprintf("%.1f / %.1f", c.Median, c.Max)
			}
			var first, late, first6, late6 []float64
			var notes []string
			for _, l := range r.load {
				if l.Tool != t.Name || l.Kind != k {
					continue
				}
				if l.First >= 0 {
					first = append(first, l.First)
					late = append(late, l.Late)
					first6 = append(first6, l.First6)
					late6 = append(late6, l.Late6)
				}
				if l.Note != "" {
					notes = append(notes, l.Note)
				}
			}
			if len(first) == 0 {
				w("| %s | %s | not counted | not counted | | %s | %s |\n", k, t.Name, cpu, cell(strings.Join(uniq(notes), "; ")))
				continue
			}
			f, l := summarize(first), summarize(late)
			v6 := "n/a (counted at the server)"
			if k != KindHTTP && k != KindGRPC {
				f6, l6 := summarize(first6), summarize(late6)
				v6 = fmt.Sprintf("%.0f / %.0f; %.1f / %.1f", f6.Median, f6.Max, l6.Median, l6.Max)
			}
			w("| %s | %s | %.0f / %.0f | %.1f / %.1f | %s | %s | %s |\n", k, t.Name, f.Median, f.Max, l.Median, l.Max, v6, cpu, cell(strings.Join(uniq(notes), "; ")))
		}
	}
	w("\n")
}

func uniq(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (r *report) renderMemory(w func(string, ...any)) {
	cfg := r.cfg
	w("## 4. Memory while waiting, and binary size\n\n")
	w("From the probe-load runs (target never ready, %s of waiting). *largest process*: the highest VmHWM in the tool's process tree, and which process; *tree*: the peak of the tree's summed VmRSS, sampled every 200 ms. Worst of %d runs, MiB.\n\n", dLabel(cfg.late+cfg.lateWin), cfg.loadReps)
	w("| kind | tool | largest process (VmHWM) | tree (sum of VmRSS) | processes |\n|---|---|---|---|---|\n")
	for _, k := range allKinds {
		for _, t := range cfg.tools {
			if !t.Installed || !t.Can(k) {
				continue
			}
			var hwm, tree int64
			var proc string
			procs := 0
			for _, l := range r.load {
				if l.Tool == t.Name && l.Kind == k {
					if l.HWMKiB > hwm {
						hwm, proc = l.HWMKiB, l.HWMProc
					}
					tree = max(tree, l.TreeKiB)
					procs = max(procs, l.Procs)
				}
			}
			w("| %s | %s | %.1f (%s) | %.1f | %d |\n", k, t.Name, float64(hwm)/1024, proc, float64(tree)/1024, procs)
		}
	}
	if t := r.tool("grpc-health-probe"); t != nil && t.Installed {
		w("\ngrpc-health-probe runs for a few milliseconds each second of its loop; sampling every 200 ms may miss it and see only `sleep` and `sh`, so its row may understate the probe's own peak.\n")
	}
	w("\nBinaries, as built by run.sh (`CGO_ENABLED=0 go build -trimpath -ldflags='-s -w'`):\n\n")
	w("| binary | bytes | MiB | kind |\n|---|---|---|---|\n")
	for _, s := range r.sizes {
		w("| %s | %d | %.2f | %s |\n", s.name, s.bytes, float64(s.bytes)/mib, s.static)
	}
	w("\nwait-for-it is a %s bash script and wait-on a Node.js package: they need bash (plus coreutils' `timeout`) or Node.js in the image.\n\n", r.scriptSize())
}

func (r *report) scriptSize() string {
	t := r.tool("wait-for-it")
	if t == nil || !t.Installed {
		return "small"
	}
	if fi, err := os.Stat(t.Path); err == nil {
		return fmt.Sprintf("%d-byte", fi.Size())
	}
	return "small"
}

func (r *report) renderCorrect(w func(string, ...any)) {
	w("## 5. Correctness\n\n")
	w("Target up unless said otherwise. The command (`stamp`) records its PID, argv, stdin, and exits %d. ", correctExit)
	w("*same PID*: the command runs as the process that was spawned (exec, not a child). ")
	w("*argv*: %d arguments including spaces, an empty one, `$HOME`, `*`, quotes, `--`, `-t`, a newline, UTF-8 and a byte that is not UTF-8. ", len(correctArgs))
	w("*waits through 503*: an HTTP target answering 503 for %s; the command must not start. ", r.cfg.watch503)
	w("*not started on timeout*: a refused port with the tool's timeout at 1 s.\n\n")
	w("| tool |")
	for _, c := range correctColumns {
		w(" %s |", c)
	}
	w("\n|---|")
	for range correctColumns {
		w("---|")
	}
	w("\n")
	for _, row := range r.correct {
		w("| %s |", row.tool)
		for _, v := range row.cells() {
			var s string
			switch {
			case v.ok == nil:
				s = "n/a"
			case *v.ok:
				s = "yes"
			default:
				s = "**no**"
			}
			if v.detail != "" {
				s += " (" + cell(r.display(v.detail)) + ")"
			}
			w(" %s |", s)
		}
		w("\n")
	}
	for _, t := range r.cfg.tools {
		if !t.Installed {
			w("| %s | not installed |%s\n", t.Name, strings.Repeat(" |", len(correctColumns)-1))
		}
	}
	w("\n")
}

func (r *report) renderCommands(w func(string, ...any)) {
	cfg := r.cfg
	w("## Exact commands\n\n")
	w("As run, with the port and the stamp file's path replaced by `PORT` and `OUT` (`$WORK` is the run's scratch directory). Latency and probe-load runs:\n\n")
	w("```sh\n")
	for _, t := range cfg.tools {
		for _, k := range allKinds {
			if !t.Can(k) {
				continue
			}
			argv := t.argv(k, "127.0.0.1:PORT", 60*time.Second, []string{filepath.Join(cfg.peers, "bin", "stamp"), "OUT"})
			w("%s\n", r.display(shJoin(argv)))
		}
	}
	w("```\n\nReady path (targets up):\n\n```sh\n")
	for _, o := range r.overhead {
		w("%s\n", r.display(o.command))
	}
	w("```\n\nCorrectness:\n\n```sh\n")
	for _, row := range r.correct {
		for _, c := range row.commands {
			w("%s\n", r.display(c))
		}
	}
	w("```\n\n")
}
