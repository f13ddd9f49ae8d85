package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// correctArgs are the arguments every wrapper must pass byte for byte.
var correctArgs = []string{
	"plain", "two words", "", "$HOME", "*", "'single'", `"double"`, `back\slash`,
	"--", "-t", "--timeout=1", "-wait", "new\nline", "tab\there", "ünïcødé", ";&|", "\xff",
}

const correctStdin = "stdin reaches the command\n"
const correctExit = 42

// verdict is one cell of the correctness matrix.
type verdict struct {
	ok     *bool // nil: not applicable
	detail string
}

func yes(detail string) verdict { t := true; return verdict{&t, detail} }
func no(detail string) verdict  { f := false; return verdict{&f, detail} }
func na(detail string) verdict  { return verdict{nil, detail} }

// correctRow is one tool's row.
type correctRow struct {
	tool                           string
	samePID, exitCode, stdin, argv verdict
	waits503, noStartOnTimeout     verdict
	commands                       []string
}

var correctColumns = []string{
	"same PID after exec", "exit code passed through", "stdin reaches the command",
	"argv byte-exact", "waits through 503", "command not started on timeout",
}

func (r *correctRow) cells() []verdict {
	return []verdict{r.samePID, r.exitCode, r.stdin, r.argv, r.waits503, r.noStartOnTimeout}
}

// runCorrect checks each wrapper once per property.
func runCorrect(cfg *config) ([]*correctRow, error) {
	var rows []*correctRow
	for _, t := range cfg.tools {
		if !t.Installed {
			continue
		}
		row := &correctRow{tool: t.Name}
		rows = append(rows, row)
		if !t.Wrapper {
			v := na("a single check, not a wrapper")
			row.samePID, row.exitCode, row.stdin, row.argv, row.waits503, row.noStartOnTimeout = v, v, v, v, v, v
			continue
		}
		logf("correctness: %s", t.Name)
		if err := correctExec(cfg, t, row); err != nil {
			return nil, err
		}
		if err := correct503(cfg, t, row); err != nil {
			return nil, err
		}
		if err := correctTimeout(cfg, t, row); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// correctExec: target up; the command exits 42, reads stdin and records
// its PID and argv.
func correctExec(cfg *config, t *Tool, row *correctRow) error {
	tgt, err := newTarget(KindTCP)
	if err != nil {
		return fmt.Errorf("%w: %v", errHarness, err)
	}
	defer tgt.close()
	if err := tgt.ready(); err != nil {
		return fmt.Errorf("%w: %v", errHarness, err)
	}
	out := filepath.Join(cfg.work, "correct-"+t.Name+".stamp")
	defer os.Remove(out)
	argv := t.argv(KindTCP, tgt.addr, 60*time.Second, append([]string{cfg.stamp, out}, correctArgs...))
	row.commands = append(row.commands, strings.ReplaceAll(fmt.Sprintf("STAMP_EXIT=%d STAMP_STDIN=1 %s <<< %s",
		correctExit, shJoin(argv), shQuote(strings.TrimSuffix(correctStdin, "\n"))), tgt.addr, "127.0.0.1:PORT"))
	r, err := start(cfg.work, argv, []string{fmt.Sprintf("STAMP_EXIT=%d", correctExit), "STAMP_STDIN=1"}, strings.NewReader(correctStdin))
	if err != nil {
		return fmt.Errorf("%w: start %s: %v", errHarness, t.Name, err)
	}
	defer r.stop()
	if !r.wait(cfg.grace) {
		v := no("did not finish within " + cfg.grace.String())
		row.samePID, row.exitCode, row.stdin, row.argv = v, v, v, v
		return nil
	}
	rec, err := readStamp(out)
	if err != nil {
		v := no(fmt.Sprintf("command not run (exit %d): %s", r.exitCode(), lastLine(r.stderr())))
		row.samePID, row.exitCode, row.stdin, row.argv = v, v, v, v
		return nil
	}
	if pid := r.cmd.Process.Pid; rec.PID == pid {
		row.samePID = yes("")
	} else {
		row.samePID = no(fmt.Sprintf("spawned %d, command ran as %d", pid, rec.PID))
	}
	if c := r.exitCode(); c == correctExit {
		row.exitCode = yes("")
	} else {
		row.exitCode = no(fmt.Sprintf("%d, not %d", c, correctExit))
	}
	switch {
	case rec.Stdin == nil:
		return fmt.Errorf("%w: stamp did not record stdin", errHarness)
	case *rec.Stdin == correctStdin:
		row.stdin = yes("")
	default:
		row.stdin = no(fmt.Sprintf("read %q", *rec.Stdin))
	}
	if slices.Equal(rec.Args, correctArgs) {
		row.argv = yes("")
	} else {
		row.argv = no(fmt.Sprintf("got %q", rec.Args))
	}
	return nil
}

// correct503: an HTTP target that answers 503 throughout; the command
// must not start within the observation time.
func correct503(cfg *config, t *Tool, row *correctRow) error {
	if !t.Can(KindHTTP) {
		row.waits503 = na("no HTTP probe")
		return nil
	}
	tgt, err := newTarget(KindHTTP)
	if err != nil {
		return fmt.Errorf("%w: %v", errHarness, err)
	}
	defer tgt.close()
	out := filepath.Join(cfg.work, "correct503-"+t.Name+".stamp")
	defer os.Remove(out)
	argv := t.argv(KindHTTP, tgt.addr, 60*time.Second, []string{cfg.stamp, out})
	row.commands = append(row.commands, strings.ReplaceAll(shJoin(argv), tgt.addr, "127.0.0.1:PORT")+"   # target answers 503 for "+cfg.watch503.String())
	r, err := start(cfg.work, argv, nil, nil)
	if err != nil {
		return fmt.Errorf("%w: start %s: %v", errHarness, t.Name, err)
	}
	defer r.stop()
	r.wait(cfg.watch503)
	n := tgt.attempts.Load()
	switch _, err := os.Stat(out); {
	case err == nil:
		row.waits503 = no(fmt.Sprintf("started the command on 503 (after %d requests)", n))
	case n == 0:
		return fmt.Errorf("%w: %s sent no request to the 503 target in %s; stderr: %s", errHarness, t.Name, cfg.watch503, lastLine(r.stderr()))
	default:
		row.waits503 = yes(fmt.Sprintf("%d requests in %s", n, cfg.watch503))
	}
	return nil
}

// correctTimeout: a refused TCP port and a 1 s timeout; the command must
// not start.
func correctTimeout(cfg *config, t *Tool, row *correctRow) error {
	tgt, err := newTarget(KindTCP)
	if err != nil {
		return fmt.Errorf("%w: %v", errHarness, err)
	}
	defer tgt.close()
	out := filepath.Join(cfg.work, "correcttimeout-"+t.Name+".stamp")
	defer os.Remove(out)
	argv := t.argv(KindTCP, tgt.addr, time.Second, []string{cfg.stamp, out})
	row.commands = append(row.commands, strings.ReplaceAll(shJoin(argv), tgt.addr, "127.0.0.1:PORT")+"   # port refuses throughout")
	r, err := start(cfg.work, argv, nil, nil)
	if err != nil {
		return fmt.Errorf("%w: start %s: %v", errHarness, t.Name, err)
	}
	defer r.stop()
	if !r.wait(cfg.grace) {
		row.noStartOnTimeout = no("still running " + cfg.grace.String() + " after a 1 s timeout")
		return nil
	}
	if _, err := os.Stat(out); err == nil {
		row.noStartOnTimeout = no(fmt.Sprintf("started the command anyway (exit %d)", r.exitCode()))
	} else {
		row.noStartOnTimeout = yes(fmt.Sprintf("exit %d", r.exitCode()))
	}
	return nil
}
