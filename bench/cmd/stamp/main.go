// Command stamp is the command every tool under test starts. Its first
// action is to read CLOCK_MONOTONIC, the clock the harness's target servers
// read when they turn ready, so the two are comparable across processes.
// run.sh builds the same program in C (../../cstamp/stamp.c), which starts
// faster, when a C compiler is at hand, and this one otherwise.
//
//	stamp OUT [ARGS...]
//
// It writes to OUT (atomically, by rename): "t NANOSECONDS", "pid PID",
// one "arg HEX" line per ARG, and, when STAMP_STDIN=1, "stdin HEX" with
// what it read from stdin (up to 64 KiB). It exits with STAMP_EXIT
// (default 0).
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		fmt.Fprintln(os.Stderr, "stamp: clock_gettime:", err)
		os.Exit(100)
	}
	now := ts.Nano()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "stamp: usage: stamp OUT [ARGS...]")
		os.Exit(100)
	}
	out := os.Args[1]
	var b strings.Builder
	fmt.Fprintf(&b, "t %d\npid %d\n", now, os.Getpid())
	for _, a := range os.Args[2:] {
		fmt.Fprintf(&b, "arg %x\n", a)
	}
	if os.Getenv("STAMP_STDIN") == "1" {
		data, err := io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
		if err != nil {
			fmt.Fprintln(os.Stderr, "stamp: stdin:", err)
		}
		fmt.Fprintf(&b, "stdin %x\n", data)
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "stamp:", err)
		os.Exit(100)
	}
	if err := os.Rename(tmp, out); err != nil {
		fmt.Fprintln(os.Stderr, "stamp:", err)
		os.Exit(100)
	}
	code := 0
	if s := os.Getenv("STAMP_EXIT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "stamp: STAMP_EXIT:", err)
			os.Exit(100)
		}
		code = n
	}
	os.Exit(code)
}
