package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// Tool is a waiter under test. argv builds its command line to wait for a
// target of kind k at addr (127.0.0.1:PORT) for up to timeout, then run
// cmd; it is nil for kinds the tool can't probe. Every peer keeps its own
// default interval: only the overall timeout is set, so that no default
// timeout cuts a measurement short.
type Tool struct {
	Name      string
	Installed bool
	Why       string // why not installed, or the install command
	Version   string
	Path      string
	Wrapper   bool   // runs a command after waiting (else: a single check)
	Note      string // how it is driven, for the report
	argv      func(k Kind, addr string, timeout time.Duration, cmd []string) []string
	checkArgv func(k Kind, addr string) []string // a single check, if it has one
}

// Can reports whether the tool can wait for kind k.
func (t *Tool) Can(k Kind) bool {
	return t.argv != nil && t.argv(k, "h:1", time.Second, []string{"c"}) != nil
}

// manifest is bench/.peers/manifest.tsv, written by run.sh: one line per
// tool, "name<TAB>ok|failed<TAB>version<TAB>detail".
type manifestEntry struct{ status, version, detail string }

func readManifest(path string) (map[string]manifestEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]manifestEntry{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 4)
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		m[f[0]] = manifestEntry{f[1], f[2], f[3]}
	}
	return m, sc.Err()
}

// shQuote quotes s for a POSIX shell when it needs it; control characters
// and bytes that aren't UTF-8 get bash's $'…' form, so the report stays
// readable and exact.
func shQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	plain := utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0
	if plain {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteString("'")
	return b.String()
}

func shJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shQuote(a)
	}
	return strings.Join(q, " ")
}

// loadTools describes every tool, installed or not, from the manifest.
func loadTools(peers string) ([]*Tool, error) {
	man, err := readManifest(filepath.Join(peers, "manifest.tsv"))
	if err != nil {
		return nil, fmt.Errorf("%w: peers manifest: %v (run bench/run.sh, which installs the peers)", errHarness, err)
	}
	bin := filepath.Join(peers, "bin")
	tools := []*Tool{
		{
			Name: "otelwait", Path: filepath.Join(bin, "otelwait"), Wrapper: true,
			Note: "this repository, built static and stripped; execs the command",
			argv: func(k Kind, addr string, timeout time.Duration, cmd []string) []string {
				var flag []string
				switch k {
				case KindTCP:
					flag = []string{"--tcp", addr}
				case KindHTTP:
					flag = []string{"--http", "http://" + addr + "/"}
				case KindGRPC:
					flag = []string{"--grpc", addr}
				case KindOTLPHTTP:
					flag = []string{"--otlp", "http://" + addr}
				case KindOTLPGRPC:
					flag = []string{"--otlp", "grpc://" + addr}
				default:
					return nil
				}
				a := append([]string{filepath.Join(bin, "otelwait"), "--timeout", timeout.String()}, flag...)
				return append(append(a, "--"), cmd...)
			},
			checkArgv: func(k Kind, addr string) []string {
				if k != KindGRPC {
					return nil
				}
				return []string{filepath.Join(bin, "otelwait"), "--check", "--grpc", addr}
			},
		},
		{
			Name: "wait-for-it", Path: filepath.Join(peers, "debian", "usr", "bin", "wait-for-it"), Wrapper: true,
			Note: "Debian's package (a bash script): `echo > /dev/tcp/…` every 1 s under GNU timeout, then `exec`s the command",
			argv: func(k Kind, addr string, timeout time.Duration, cmd []string) []string {
				if k != KindTCP {
					return nil
				}
				secs := fmt.Sprintf("%d", int(timeout.Seconds()))
				a := []string{filepath.Join(peers, "debian", "usr", "bin", "wait-for-it"), addr, "-t", secs, "--"}
				return append(a, cmd...)
			},
		},
		{
			Name: "wait-on", Path: filepath.Join(peers, "npm", "node_modules", ".bin", "wait-on"), Wrapper: true,
			Note: "npm package, chained as its README shows (`wait-on … && cmd`) under `sh -c`; defaults: 250 ms interval (its 750 ms stability window applies to files only), 300 ms TCP connect timeout, HEAD for http://",
			argv: func(k Kind, addr string, timeout time.Duration, cmd []string) []string {
				var res string
				switch k {
				case KindTCP:
					res = "tcp:" + addr
				case KindHTTP:
					res = "http://" + addr + "/"
				default:
					return nil
				}
				script := fmt.Sprintf(`%s -t %dms %s && "$@"`,
					shQuote(filepath.Join(peers, "npm", "node_modules", ".bin", "wait-on")), timeout.Milliseconds(), shQuote(res))
				return append([]string{"/bin/sh", "-c", script, "sh"}, cmd...)
			},
		},
		{
			Name: "dockerize", Path: filepath.Join(bin, "dockerize"), Wrapper: true,
			Note: "Go module, built static and stripped; 1 s retry interval; runs the command as a child",
			argv: func(k Kind, addr string, timeout time.Duration, cmd []string) []string {
				var w string
				switch k {
				case KindTCP:
					w = "tcp://" + addr
				case KindHTTP:
					w = "http://" + addr + "/"
				default:
					return nil
				}
				a := []string{filepath.Join(bin, "dockerize"), "-timeout", timeout.String(), "-wait", w}
				return append(a, cmd...)
			},
		},
		{
			Name: "grpc-health-probe", Path: filepath.Join(bin, "grpc-health-probe"), Wrapper: false,
			Note: "Go module, built static and stripped; one check per run, so for waiting it runs in a shell loop with `sleep 1` (kubelet's shortest probe period): the loop is ours, not the tool's",
			argv: func(k Kind, addr string, _ time.Duration, cmd []string) []string {
				if k != KindGRPC {
					return nil
				}
				script := fmt.Sprintf(`until %s -addr=%s >/dev/null 2>&1; do sleep 1; done; exec "$@"`,
					shQuote(filepath.Join(bin, "grpc-health-probe")), addr)
				return append([]string{"/bin/sh", "-c", script, "sh"}, cmd...)
			},
			checkArgv: func(k Kind, addr string) []string {
				if k != KindGRPC {
					return nil
				}
				return []string{filepath.Join(bin, "grpc-health-probe"), "-addr=" + addr}
			},
		},
	}
	for _, t := range tools {
		e, ok := man[t.Name]
		switch {
		case !ok:
			t.Why = "not in the peers manifest"
		case e.status != "ok":
			t.Why = e.detail
		default:
			if _, err := os.Stat(t.Path); err != nil {
				t.Why = fmt.Sprintf("manifest says installed, but %v", err)
				break
			}
			t.Installed = true
			t.Version = e.version
			t.Why = e.detail
		}
		if !ok || e.status != "ok" {
			t.Version = e.version
		}
	}
	if !tools[0].Installed {
		return nil, fmt.Errorf("%w: otelwait was not built: %s", errHarness, tools[0].Why)
	}
	return tools, nil
}
