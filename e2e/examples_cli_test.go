package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// checkScripts parses every shell script of the examples with a real shell parser (POSIX
// for #!/bin/sh) and returns its otelwait command lines, with every ${VAR:-default}
// expanded to its default (the environment is empty; an unset variable without a default
// is a problem, as under set -u).
func checkScripts(s exampleSet) (findings, []error) {
	var p problems
	var f findings
	for _, file := range s.match("examples/*/*.sh") {
		lang := syntax.LangBash
		if first, _, _ := strings.Cut(string(s[file]), "\n"); strings.HasSuffix(first, "/sh") || strings.HasSuffix(first, " sh") {
			lang = syntax.LangPOSIX
		}
		script, err := syntax.NewParser(syntax.Variant(lang)).Parse(bytes.NewReader(s[file]), file)
		if err != nil {
			p = append(p, err)
			continue
		}
		cfg := &expand.Config{Env: expand.ListEnviron(), NoUnset: true}
		errexit := false
		syntax.Walk(script, func(n syntax.Node) bool {
			ce, ok := n.(*syntax.CallExpr)
			if !ok || len(ce.Args) == 0 {
				return true
			}
			where := fmt.Sprintf("%s:%d", file, ce.Pos().Line())
			args, err := expand.Fields(cfg, ce.Args...)
			if err != nil {
				p.addf("%s: %v", where, err)
				return true
			}
			if args[0] == "set" && slices.ContainsFunc(args[1:], func(a string) bool { return strings.HasPrefix(a, "-") && strings.Contains(a, "e") }) {
				errexit = true
			}
			if path.Base(args[0]) != "otelwait" {
				return true
			}
			if !errexit {
				p.addf("%s: otelwait runs before any set -e: if it times out, the script goes on as if the services were ready", where)
			}
			f.lines = append(f.lines, otelwaitLine{file: file, where: where, argv: args})
			return true
		})
	}
	return f, p
}

// explainTarget is one target as otelwait --explain prints it.
type explainTarget struct{ flag, value string }

var explainTargetLine = regexp.MustCompile(`^\s+--(tcp|grpc|http|otlp)\s+(\S+)\s*$`)

// parseExplain returns the targets otelwait --explain lists.
func parseExplain(out string) []explainTarget {
	var ts []explainTarget
	in := false
	for _, line := range strings.Split(out, "\n") {
		if line == "targets:" {
			in = true
			continue
		}
		if m := explainTargetLine.FindStringSubmatch(line); in && m != nil {
			ts = append(ts, explainTarget{m[1], m[2]})
		} else if in && !strings.HasPrefix(line, " ") {
			in = false
		}
	}
	return ts
}

// givenTargets returns the targets an otelwait argv names, before its command.
func givenTargets(args []string) []explainTarget {
	var ts []explainTarget
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, flag := range []string{"tcp", "grpc", "http", "otlp"} {
			if v, ok := strings.CutPrefix(a, "--"+flag+"="); ok {
				ts = append(ts, explainTarget{flag, v})
			} else if a == "--"+flag && i+1 < len(args) {
				ts = append(ts, explainTarget{flag, args[i+1]})
				i++
			}
		}
	}
	return ts
}

// reachKeys returns the "scheme://host:port" a target connects to; a TCP target matches
// either scheme.
func reachKeys(t explainTarget) []string {
	v := t.value
	switch t.flag {
	case "tcp":
		return []string{"http://" + v, "grpc://" + v}
	case "grpc":
		v = strings.TrimPrefix(strings.TrimPrefix(v, "grpc://"), "grpcs://")
		hp, _, _ := strings.Cut(v, "/")
		return []string{"grpc://" + hp}
	}
	u, err := url.Parse(v)
	if err != nil {
		return nil
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	scheme := "http"
	if strings.HasPrefix(u.Scheme, "grpc") {
		scheme = "grpc"
	}
	return []string{scheme + "://" + host}
}

// runOtelwait runs the otelwait binary with args and env only (plus a fixed PATH), in an
// empty directory, and returns its output and exit code.
func runOtelwait(t *testing.T, env []string, args ...string) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin.otelwait, args...)
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, env...)
	cmd.Dir = t.TempDir()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return o.String(), e.String(), ee.ExitCode(), nil
	}
	return o.String(), e.String(), 0, err
}

// runOtelwaitLine runs one otelwait line of the examples without waiting for anything:
// with --explain inserted first, so that otelwait parses its options and targets and
// prints its plan; a --install line for real, into a temporary directory; a --check
// line also for real, against a loopback server. It returns what --explain printed.
func runOtelwaitLine(t *testing.T, l otelwaitLine) (string, error) {
	t.Helper()
	args := slices.Clone(l.argv[1:])
	show := fmt.Sprintf("otelwait %q (env %q)", args, l.env)
	if _, ok := installDir(l.argv); ok {
		return "", runInstall(t, l, args)
	}
	out, stderr, code, err := runOtelwait(t, l.env, append([]string{"--explain"}, args...)...)
	if err != nil || code != 0 {
		return out, fmt.Errorf("%s: %s --explain: exit %d %v\n%s", l.where, show, code, err, stderr)
	}
	have := parseExplain(out)
	given := givenTargets(args)
	var errs []error
	if len(given) > 0 {
		if len(have) != len(given) {
			errs = append(errs, fmt.Errorf("%s: %s: --explain lists %d targets %q, the line gives %d %q", l.where, show, len(have), have, len(given), given))
		}
		for _, g := range given {
			// --explain prints each target as parsed: an --otlp URL without a path gets
			// the traces path.
			if !slices.ContainsFunc(have, func(h explainTarget) bool {
				return h.flag == g.flag && strings.HasPrefix(h.value, g.value)
			}) {
				errs = append(errs, fmt.Errorf("%s: %s: target --%s %s missing from --explain:\n%s", l.where, show, g.flag, g.value, out))
			}
		}
	} else {
		if !strings.HasPrefix(out, "auto mode") || len(have) == 0 {
			errs = append(errs, fmt.Errorf("%s: %s: no targets and auto mode waits for nothing:\n%s", l.where, show, out))
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "warning:") && strings.Contains(line, "-javaagent jar") && strings.Contains(line, "does not exist") {
				continue // the agent jar is in the example's image, not on this machine
			}
			if strings.HasPrefix(line, "warning:") || strings.HasPrefix(line, "refused:") || strings.HasPrefix(line, "nothing to wait for:") {
				errs = append(errs, fmt.Errorf("%s: %s: auto mode says %q", l.where, show, line))
			}
		}
	}
	if l.reach != nil {
		for _, h := range have {
			if !slices.ContainsFunc(reachKeys(h), func(k string) bool { return slices.Contains(l.reach, k) }) {
				errs = append(errs, fmt.Errorf("%s: %s waits for --%s %s, where no Collector of the example listens (reachable from there: %q)", l.where, show, h.flag, h.value, l.reach))
			}
		}
	}
	if slices.Contains(args, "--check") {
		if err := runCheck(t, l, args); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// runInstall runs a --install line for real, with its directory replaced by a new
// temporary one, and checks that the copy is there and runs.
func runInstall(t *testing.T, l otelwaitLine, args []string) error {
	dir := t.TempDir()
	for i, a := range args {
		if a == "--install" && i+1 < len(args) {
			args[i+1] = dir
		} else if strings.HasPrefix(a, "--install=") {
			args[i] = "--install=" + dir
		}
	}
	_, stderr, code, err := runOtelwait(t, l.env, args...)
	if err != nil || code != 0 {
		return fmt.Errorf("%s: otelwait %q: exit %d %v\n%s", l.where, args, code, err, stderr)
	}
	copied := filepath.Join(dir, "otelwait")
	fi, err := os.Stat(copied)
	if err != nil {
		return fmt.Errorf("%s: otelwait %q: %v", l.where, args, err)
	}
	if fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s: otelwait %q: the copy has mode %v, not executable", l.where, args, fi.Mode())
	}
	if out, err := exec.Command(copied, "--version").CombinedOutput(); err != nil {
		return fmt.Errorf("%s: the installed copy doesn't run: %v\n%s", l.where, err, out)
	}
	return nil
}

// runCheck runs a --check line for real, with its --http targets pointed at a loopback
// server: exit 0 when it answers 200, 1 when it answers 503 (health_check before the
// pipelines run).
func runCheck(t *testing.T, l otelwaitLine, args []string) error {
	for _, tc := range []struct{ status, want int }{{200, 0}, {503, 1}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(tc.status) }))
		rewritten := slices.Clone(args)
		to := func(v string) (string, error) {
			u, err := url.Parse(v)
			if err != nil {
				return "", fmt.Errorf("%s: --http %q: %v", l.where, v, err)
			}
			u.Host = srv.Listener.Addr().String()
			return u.String(), nil
		}
		var err error
		for i := 0; i < len(rewritten) && err == nil; i++ {
			if v, ok := strings.CutPrefix(rewritten[i], "--http="); ok {
				v, err = to(v)
				rewritten[i] = "--http=" + v
			} else if rewritten[i] == "--http" && i+1 < len(rewritten) {
				i++
				rewritten[i], err = to(rewritten[i])
			}
		}
		if err != nil {
			srv.Close()
			return err
		}
		if ts := givenTargets(rewritten); slices.ContainsFunc(ts, func(e explainTarget) bool { return e.flag != "http" }) {
			srv.Close()
			return fmt.Errorf("%s: a --check line with other than --http targets: teach runCheck to serve them", l.where)
		}
		_, stderr, code, err := runOtelwait(t, l.env, rewritten...)
		srv.Close()
		if err != nil || code != tc.want {
			return fmt.Errorf("%s: otelwait %q against a server answering %d: exit %d %v, want %d\n%s", l.where, rewritten, tc.status, code, err, tc.want, stderr)
		}
	}
	return nil
}
