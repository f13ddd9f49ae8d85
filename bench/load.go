package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// loadResult is one run against a target that never becomes ready: probe
// load counted at the target, and the memory and CPU time of the waiting
// process tree.
type loadResult struct {
	Kind  Kind   `json:"kind"`
	Tool  string `json:"tool"`
	Netns bool   `json:"netns"`
	// Attempts in the first second after spawn, and per second in the
	// late window; -1 when they can't be counted.
	First float64 `json:"first"`
	Late  float64 `json:"late"`
	// The same for attempts at [::1] besides the target's 127.0.0.1
	// (refused ports only; 0 elsewhere).
	First6 float64 `json:"first6"`
	Late6  float64 `json:"late6"`
	// VmHWM of the largest process of the tree (KiB) and its name; peak of
	// the tree's summed VmRSS, sampled every 100 ms (KiB).
	HWMKiB  int64  `json:"hwm_kib"`
	HWMProc string `json:"hwm_proc"`
	TreeKiB int64  `json:"tree_kib"`
	Procs   int    `json:"procs"` // most processes seen in the tree at once
	// CPU time (user + system, ms) the tree has used since spawn, at the
	// last sample read, and the seconds from spawn to that sample; 0 s
	// when no sample could read the tool's own process.
	CPUms   float64 `json:"cpu_ms"`
	WaitedS float64 `json:"waited_s"`
	Note    string  `json:"note,omitempty"`
	Broken  bool    `json:"broken,omitempty"` // the run measured nothing sound
}

// runLoad runs every tool against every kind of never-ready target it can
// probe, cfg.loadReps times, a few at a time. Each run is a child process of
// the harness in a network namespace of its own (CLONE_NEWNET, loopback
// only), so refused connection attempts can be counted from the
// namespace's own TCP counters and no run sees another's traffic.
func runLoad(cfg *config) ([]*loadResult, error) {
	type job struct {
		t *Tool
		k Kind
	}
	var jobs []job
	for range cfg.loadReps {
		for _, k := range allKinds {
			for _, t := range cfg.tools {
				if t.Installed && t.Can(k) {
					jobs = append(jobs, job{t, k})
				}
			}
		}
	}
	logf("probe load and memory: %d runs of %s, %d at a time", len(jobs), cfg.late+cfg.lateWin, cfg.loadConc)
	results := make([]*loadResult, len(jobs))
	errs := make([]error, len(jobs))
	// At most loadConc runs at once, started at least 400 ms apart, so that
	// no tool's first second competes with other tools' start-up for the
	// CPUs (with all at once on 2 CPUs, Node.js alone took seconds to start).
	sem := make(chan struct{}, cfg.loadConc)
	var wg sync.WaitGroup
	for i, j := range jobs {
		sem <- struct{}{}
		if i > 0 {
			time.Sleep(400 * time.Millisecond)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], errs[i] = loadParent(cfg, j.t, j.k, cfg.netns)
		}()
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// loadParent starts the child run and reads its result.
func loadParent(cfg *config, t *Tool, k Kind, netns bool) (*loadResult, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append(cfg.childArgs(), "-child=load", "-kind="+string(k), "-tool="+t.Name)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if netns {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: load child %s/%s: %v", errHarness, t.Name, k, err)
	}
	live.Store(cmd.Process.Pid, true)
	defer live.Delete(cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(cfg.late + cfg.lateWin + 30*time.Second)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		killTree(cmd.Process.Pid)
		<-done
		return nil, fmt.Errorf("%w: load child %s/%s hung; stderr: %s", errHarness, t.Name, k, lastLine(stderr.String()))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: load child %s/%s: %v; stderr: %s", errHarness, t.Name, k, err, lastLine(stderr.String()))
	}
	var res loadResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("%w: load child %s/%s: %v", errHarness, t.Name, k, err)
	}
	return &res, nil
}

// loadChild is the run itself, in its own network namespace when netns.
// It prints a loadResult as JSON.
func loadChild(cfg *config, toolName string, k Kind, netns bool) error {
	var tool *Tool
	for _, t := range cfg.tools {
		if t.Name == toolName {
			tool = t
		}
	}
	if tool == nil || !tool.Installed || !tool.Can(k) {
		return fmt.Errorf("tool %q can't wait for %s here", toolName, k)
	}
	if netns {
		if err := loopbackUp(); err != nil {
			return fmt.Errorf("loopback up: %w", err)
		}
	}
	tgt, err := newTarget(k)
	if err != nil {
		return err
	}
	defer tgt.close()
	// HTTP requests and gRPC RPCs are counted at the server. Attempts at a
	// refused port are counted by the namespace: every refused connect(2)
	// is one SYN out and one RST back, two packets of its address family,
	// so attempts at 127.0.0.1 are half the IPv4 packets and attempts at
	// [::1] (a tool may try the other loopback family too) half the IPv6
	// ones; their sum is checked against Tcp ActiveOpens.
	atServer := k == KindHTTP || k == KindGRPC
	type counts struct{ v4, v6, opens float64 }
	count := func() (counts, error) {
		if atServer {
			return counts{v4: float64(tgt.attempts.Load())}, nil
		}
		if !netns {
			return counts{-1, -1, -1}, nil
		}
		c, err := readNetCounters()
		return counts{float64(c.ipOut) / 2, float64(c.ip6Out) / 2, float64(c.activeOpens)}, err
	}
	res := &loadResult{Kind: k, Tool: toolName, Netns: netns}
	out := filepath.Join(cfg.work, fmt.Sprintf("load-%d.stamp", os.Getpid()))
	c0, err := count()
	if err != nil {
		return err
	}
	r, err := start(cfg.work, tool.argv(k, tgt.addr, 60*time.Second, []string{cfg.stamp, out}), nil, nil)
	if err != nil {
		return err
	}
	defer r.stop()

	// Memory and CPU time of the tree, sampled every 200 ms until the end
	// (each sample reads /proc whole, to find the tree).
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			sampleTree(r.cmd.Process.Pid, r.spawn, res)
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()
	var c1, c2, c3 counts
	var e1, e2, e3 error
	sleepUntil(r.spawn + int64(time.Second))
	c1, e1 = count()
	sleepUntil(r.spawn + int64(cfg.late))
	c2, e2 = count()
	sleepUntil(r.spawn + int64(cfg.late+cfg.lateWin))
	c3, e3 = count()
	close(stopSampling)
	<-sampled
	sampleTree(r.cmd.Process.Pid, r.spawn, res) // the final high-water marks and CPU time
	if err := errors.Join(e1, e2, e3); err != nil {
		return err
	}

	win := cfg.lateWin.Seconds()
	switch {
	case c0.v4 < 0:
		res.First, res.Late, res.First6, res.Late6 = -1, -1, -1, -1
	case atServer:
		res.First = c1.v4 - c0.v4
		res.Late = (c3.v4 - c2.v4) / win
	default:
		res.First, res.First6 = c1.v4-c0.v4, c1.v6-c0.v6
		res.Late, res.Late6 = (c3.v4-c2.v4)/win, (c3.v6-c2.v6)/win
		// The counters are read one file after the other while the tool
		// keeps probing, so they may be an attempt or two apart.
		if got, want := (c3.v4+c3.v6)-(c0.v4+c0.v6), c3.opens-c0.opens; math.Abs(got-want) > max(2, want/20) {
			res.Note = fmt.Sprintf("packet counts (%.1f attempts) disagree with Tcp ActiveOpens (%.0f)", got, want)
			res.Broken = true
		}
	}
	select {
	case <-r.done:
		res.Note += fmt.Sprintf("the tool exited (%d) before the end: %s", r.exitCode(), lastLine(r.stderr()))
		res.Broken = true
	default:
	}
	if _, err := os.Stat(out); err == nil {
		res.Note = "the command ran although the target never became ready"
		res.Broken = true
		os.Remove(out)
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func sleepUntil(mono int64) {
	if d := time.Duration(mono - monoNow()); d > 0 {
		time.Sleep(d)
	}
}

// sampleTree updates res with the memory of pid's tree now, and with the
// CPU time the tree has used since it was spawned (at CLOCK_MONOTONIC
// spawn).
//
// The CPU time is every live process's own plus what the children it has
// reaped used (cpuTicks), so processes that came and went between samples
// (a shell loop's probes, a fork that exited) count too, through their
// parents. The tree is listed first, then each process is read after its
// parent: a child that exits and is reaped between the two reads is
// missed, never counted twice. So each sample is at most the true time,
// which only grows, and the largest is kept.
func sampleTree(pid int, spawn int64, res *loadResult) {
	procs := append([]int{pid}, descendants(pid)...)
	var sum, ticks int64
	n := 0
	top := false
	for i, p := range procs {
		if t, ok := cpuTicks(p); ok {
			ticks += t
			top = top || i == 0
		}
		hwm, rss, ok := memKiB(p)
		if !ok {
			continue
		}
		n++
		sum += rss
		if hwm > res.HWMKiB {
			res.HWMKiB = hwm
			res.HWMProc = procName(p)
		}
	}
	res.TreeKiB = max(res.TreeKiB, sum)
	res.Procs = max(res.Procs, n)
	if top {
		res.CPUms = max(res.CPUms, float64(ticks)*1000/float64(clockTicks()))
		res.WaitedS = float64(monoNow()-spawn) / 1e9
	}
}

// cpuRate is the tree's CPU time per second waited (ms/s), and whether it
// was measured.
func (l *loadResult) cpuRate() (float64, bool) {
	if l.WaitedS <= 0 {
		return 0, false
	}
	return l.CPUms / l.WaitedS, true
}

// loopbackUp sets lo up, as `ip link set lo up` does.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// netCounters are the namespace's packet and connection counters.
type netCounters struct {
	activeOpens, ipOut, ip6Out int64
}

// readNetCounters reads Tcp ActiveOpens (connect(2)s that sent a SYN, both
// families) and Ip OutRequests from /proc/net/snmp, and Ip6OutRequests
// from /proc/net/snmp6.
func readNetCounters() (netCounters, error) {
	var c netCounters
	data, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return c, err
	}
	found := 0
	heads := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if h, ok := heads[f[0]]; ok {
			for i, n := range h {
				if i >= len(f) {
					break
				}
				switch {
				case f[0] == "Tcp:" && n == "ActiveOpens":
					c.activeOpens, err = strconv.ParseInt(f[i], 10, 64)
					found++
				case f[0] == "Ip:" && n == "OutRequests":
					c.ipOut, err = strconv.ParseInt(f[i], 10, 64)
					found++
				}
				if err != nil {
					return c, err
				}
			}
			continue
		}
		heads[f[0]] = f
	}
	data, err = os.ReadFile("/proc/net/snmp6")
	if err != nil {
		return c, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "Ip6OutRequests" {
			if c.ip6Out, err = strconv.ParseInt(f[1], 10, 64); err != nil {
				return c, err
			}
			found++
		}
	}
	if found != 3 {
		return c, errors.New("counters missing from /proc/net/snmp or snmp6")
	}
	return c, nil
}

// netnsWorks tries a child in a network namespace of its own.
func netnsWorks() error {
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	return cmd.Run()
}
