package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ovRow is one row of the ready-path table: how it is run and what is
// timed.
type ovRow struct {
	label   string
	role    string // "direct", "hello", "floor", "version" for the baselines; "" for the tools
	pkg     string // the package a "floor" row links besides the hello world's
	bin     string // the program run, for the rows of a Go program's start
	bytes   int64  // its size
	tool    string // "" for the baselines
	kind    Kind
	argv    func(out string) []string
	toExit  bool // time spawn → exit (baselines, single checks) instead of spawn → stamp
	command string
	ms      []float64
	fails   []string
}

// floorProgs are the hello world's siblings: the same program with one
// more package of the standard library linked in and never called. run.sh
// builds each from bench/cmd/floor with the build tag floor_NAME into
// bench/.peers/bin/hello-NAME.
var floorProgs = []struct{ name, pkg string }{
	{"net", "net"},
	{"tls", "crypto/tls"},
	{"nethttp", "net/http"},
}

func floorPath(cfg *config, name string) string {
	return filepath.Join(cfg.peers, "bin", "hello-"+name)
}

// runOverhead times the ready path with every target already up: from
// spawning a process (CLOCK_MONOTONIC just before fork) to the stamp
// helper's first action; the baselines are the helper run directly, and a
// Go hello world, the same linking more of the standard library, and
// otelwait --version, each run to exit. Rows run round-robin, one at a
// time.
func runOverhead(cfg *config) ([]*ovRow, error) {
	targets := map[Kind]*target{}
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	for _, k := range allKinds {
		t, err := newTarget(k)
		if err != nil {
			return nil, fmt.Errorf("%w: target %s: %v", errHarness, k, err)
		}
		targets[k] = t
		if err := t.ready(); err != nil {
			return nil, fmt.Errorf("%w: target %s: %v", errHarness, k, err)
		}
	}
	rows := []*ovRow{
		{label: "stamp helper run directly (spawn → its first action)", role: "direct", argv: func(out string) []string { return []string{cfg.stamp, out} }},
		{label: "Go hello world (spawn → exit)", role: "hello", bin: cfg.hello, toExit: true, argv: func(string) []string { return []string{cfg.hello} }},
	}
	for _, f := range floorProgs {
		bin := floorPath(cfg, f.name)
		rows = append(rows, &ovRow{label: fmt.Sprintf("Go hello world linking %s, never called (spawn → exit)", f.pkg), role: "floor", pkg: f.pkg, bin: bin, toExit: true,
			argv: func(string) []string { return []string{bin} }})
	}
	otelwait := filepath.Join(cfg.peers, "bin", "otelwait")
	rows = append(rows, &ovRow{label: "otelwait --version (spawn → exit): the binary's own start", role: "version", tool: "otelwait", bin: otelwait, toExit: true,
		argv: func(string) []string { return []string{otelwait, "--version"} }})
	for _, t := range cfg.tools {
		if !t.Installed {
			continue
		}
		for _, k := range allKinds {
			if t.Wrapper && t.Can(k) {
				rows = append(rows, &ovRow{label: fmt.Sprintf("%s, %s target up", t.Name, k), tool: t.Name, kind: k,
					argv: func(out string) []string { return t.argv(k, targets[k].addr, 60*time.Second, []string{cfg.stamp, out}) }})
			}
		}
	}
	for _, t := range cfg.tools {
		if !t.Installed || t.checkArgv == nil {
			continue
		}
		for _, k := range allKinds {
			if t.checkArgv(k, "h:1") != nil {
				rows = append(rows, &ovRow{label: fmt.Sprintf("%s single check, %s target up (spawn → exit 0)", t.Name, k), tool: t.Name, kind: k, toExit: true,
					argv: func(string) []string { return t.checkArgv(k, targets[k].addr) }})
			}
		}
	}
	for _, r := range rows {
		if r.bin != "" {
			fi, err := os.Stat(r.bin)
			if err != nil {
				return nil, fmt.Errorf("%w: %v (run bench/run.sh)", errHarness, err)
			}
			r.bytes = fi.Size()
		}
		r.command = shJoin(r.argv("OUT"))
		for _, t := range targets {
			r.command = strings.ReplaceAll(r.command, t.addr, "127.0.0.1:PORT")
		}
	}
	logf("ready path: %d rows × %d runs", len(rows), cfg.ovReps)
	for i := range cfg.ovReps {
		for j, row := range rows {
			out := filepath.Join(cfg.work, fmt.Sprintf("ov-%d-%d.stamp", i, j))
			ms, fail, err := overheadRun(cfg, row, out)
			if err != nil {
				return nil, err
			}
			if fail != "" {
				row.fails = append(row.fails, fail)
			} else {
				row.ms = append(row.ms, ms)
			}
		}
	}
	return rows, nil
}

func overheadRun(cfg *config, row *ovRow, out string) (ms float64, fail string, err error) {
	defer os.Remove(out)
	r, err := start(cfg.work, row.argv(out), nil, nil)
	if err != nil {
		return 0, "", fmt.Errorf("%w: start %q: %v", errHarness, row.label, err)
	}
	defer r.stop()
	if !r.wait(cfg.grace) {
		return 0, fmt.Sprintf("not done within %s", cfg.grace), nil
	}
	if row.toExit {
		if c := r.exitCode(); c != 0 {
			return 0, fmt.Sprintf("exit %d: %s", c, lastLine(r.stderr())), nil
		}
		return float64(r.exited-r.spawn) / 1e6, "", nil
	}
	rec, err := readStamp(out)
	if err != nil {
		return 0, fmt.Sprintf("exit %d without starting the command: %s", r.exitCode(), lastLine(r.stderr())), nil
	}
	return float64(rec.T-r.spawn) / 1e6, "", nil
}
