package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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

// monoNow reads CLOCK_MONOTONIC in nanoseconds, the clock the stamp helper
// reads as its first action.
func monoNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err) // never on Linux
	}
	return ts.Nano()
}

// stampRecord is what the stamp helper wrote.
type stampRecord struct {
	T     int64 // CLOCK_MONOTONIC ns at its start
	PID   int
	Args  []string
	Stdin *string
}

func readStamp(path string) (*stampRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &stampRecord{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		switch key {
		case "t":
			r.T, err = strconv.ParseInt(val, 10, 64)
		case "pid":
			r.PID, err = strconv.Atoi(val)
		case "arg":
			var b []byte
			b, err = hex.DecodeString(val)
			r.Args = append(r.Args, string(b))
		case "stdin":
			var b []byte
			b, err = hex.DecodeString(val)
			s := string(b)
			r.Stdin = &s
		}
		if err != nil {
			return nil, fmt.Errorf("stamp file %s: %w", path, err)
		}
	}
	if r.T == 0 || r.PID == 0 {
		return nil, fmt.Errorf("stamp file %s: incomplete", path)
	}
	return r, nil
}

// run is one started tool: its own process group, stdout to /dev/null,
// stderr to a file (read when something fails), killed with its whole
// process tree by stop.
type run struct {
	cmd     *exec.Cmd
	spawn   int64 // CLOCK_MONOTONIC just before fork
	exited  int64 // CLOCK_MONOTONIC just after wait4 returned
	errFile *os.File
	done    chan struct{}
	err     error // from Wait, once done is closed
}

// start starts argv in dir's scratch space with env added to the
// harness's environment; stdin is /dev/null unless given. Stdout and
// stderr are files, so no copying goroutine delays Wait.
func start(dir string, argv []string, env []string, stdin io.Reader) (*run, error) {
	errFile, err := os.CreateTemp(dir, "stderr-*")
	if err != nil {
		return nil, err
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		errFile.Close()
		return nil, err
	}
	defer devNull.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	if stdin == nil {
		cmd.Stdin = devNull
	}
	cmd.Stdout = devNull
	cmd.Stderr = errFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r := &run{cmd: cmd, errFile: errFile, done: make(chan struct{})}
	r.spawn = monoNow()
	if err := cmd.Start(); err != nil {
		errFile.Close()
		os.Remove(errFile.Name())
		return nil, err
	}
	live.Store(cmd.Process.Pid, true)
	go func() {
		r.err = cmd.Wait()
		r.exited = monoNow()
		close(r.done)
	}()
	return r, nil
}

// stderr is the end of what the process wrote to stderr.
func (r *run) stderr() string {
	data, _ := os.ReadFile(r.errFile.Name())
	if len(data) > 4096 {
		data = data[len(data)-4096:]
	}
	return string(data)
}

// wait waits up to d for the process to exit; false if it didn't.
func (r *run) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.done:
		return true
	case <-t.C:
		return false
	}
}

// exitCode is the exit status, or -1 (killed by a signal, or not exited).
func (r *run) exitCode() int {
	select {
	case <-r.done:
	default:
		return -1
	}
	return r.cmd.ProcessState.ExitCode()
}

// stop kills the process and every descendant, then reaps it.
func (r *run) stop() {
	select {
	case <-r.done:
		// Reaped: what may be left of it is still in its process group.
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	default:
		killTree(r.cmd.Process.Pid)
	}
	<-r.done
	live.Delete(r.cmd.Process.Pid)
	r.errFile.Close()
	os.Remove(r.errFile.Name())
}

// live holds the PIDs of the processes started and not yet stopped, so
// that an interrupted harness can kill them all.
var live sync.Map

// killLive kills every live process tree; for an interrupted harness.
func killLive() {
	live.Range(func(pid, _ any) bool {
		killTree(pid.(int))
		return true
	})
}

// killTree stops pid and every descendant with SIGSTOP (so none can fork
// or be reparented meanwhile), then kills them all. Some tools leave their
// process group (GNU timeout, under wait-for-it, makes its own), so the
// tree is found through /proc, not by group.
func killTree(pid int) {
	seen := map[int]bool{pid: true}
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	for range 5 { // until no new descendant appears; bounded
		grew := false
		for _, p := range descendants(pid) {
			if !seen[p] {
				seen[p] = true
				grew = true
				_ = syscall.Kill(p, syscall.SIGSTOP)
			}
		}
		if !grew {
			break
		}
	}
	for p := range seen {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// procInfo is what /proc/PID/stat says of a process.
type procInfo struct {
	pid, ppid int
}

func allProcs() []procInfo {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, ok := statFields(pid)
		if !ok {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out = append(out, procInfo{pid, ppid})
	}
	return out
}

// statFields reads /proc/PID/stat and returns its fields from the third
// (state) on, so that field n of proc(5) is f[n-3]; ok is false if the
// process is gone.
func statFields(pid int) (f []string, ok bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, false
	}
	// comm may hold spaces and parentheses: fields follow the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, false
	}
	f = strings.Fields(string(data[i+1:]))
	if len(f) < 15 {
		return nil, false
	}
	return f, true
}

// cpuTicks is the CPU time pid has used, in clock ticks: utime, stime,
// cutime and cstime of /proc/PID/stat (fields 14–17), that is the user and
// system time of all its threads, plus that of the children it has reaped
// (which includes what their own reaped children used). ok is false if
// the process is gone. A zombie still reports its own time until reaped.
func cpuTicks(pid int) (ticks int64, ok bool) {
	f, ok := statFields(pid)
	if !ok {
		return 0, false
	}
	for _, n := range []int{14, 15, 16, 17} {
		v, err := strconv.ParseInt(f[n-3], 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += v
	}
	return ticks, true
}

// atClkTck is AT_CLKTCK of <elf.h>: the auxiliary vector's entry for the
// frequency of times(2) and /proc/PID/stat's times.
const atClkTck = 17

// clockTicks is the number of clock ticks per second (USER_HZ), read from
// the auxiliary vector as sysconf(_SC_CLK_TCK) does; 100, Linux's value on
// every common architecture, if it can't be read.
var clockTicks = sync.OnceValue(func() int64 {
	aux, err := unix.Auxv()
	if err == nil {
		for _, kv := range aux {
			if kv[0] == atClkTck && kv[1] > 0 {
				return int64(kv[1])
			}
		}
	}
	return 100
})

// descendants lists every live descendant of pid.
func descendants(pid int) []int {
	children := map[int][]int{}
	for _, p := range allProcs() {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 10000 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// memKiB reads VmHWM and VmRSS (KiB) of pid; ok is false if it's gone or
// a zombie.
func memKiB(pid int) (hwm, rss int64, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSuffix(strings.TrimSpace(v), " kB")
		switch k {
		case "VmHWM":
			hwm, _ = strconv.ParseInt(v, 10, 64)
			ok = true
		case "VmRSS":
			rss, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return hwm, rss, ok
}

// procName is /proc/PID/comm.
func procName(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(data))
}

var errHarness = errors.New("harness error")
