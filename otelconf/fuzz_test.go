package otelconf

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/otelwait/otelwait/internal/redact"
)

// Seed corpora live in testdata/fuzz/<FuzzName>. Run one target with, for example,
// go test -run='^$' -fuzz=FuzzSplitOptionsVar -fuzztime=20s ./otelconf

// quoteOption quotes tok so that splitOptionsVar returns it unchanged.
func quoteOption(tok string) string {
	if tok == "" {
		return `""`
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c == '"':
			b.WriteString(`'"'`)
		case c == '\'' || isCSpace(c):
			b.WriteString(`"` + string(rune(c)) + `"`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzSplitOptionsVar checks the JAVA_TOOL_OPTIONS tokenizer and the -D and -javaagent parsers:
// no panics, tokens survive re-quoting, parsed keys and values survive re-formatting.
func FuzzSplitOptionsVar(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		toks, err := splitOptionsVar(s)
		if err != nil {
			return
		}
		quoted := make([]string, len(toks))
		for i, tok := range toks {
			quoted[i] = quoteOption(tok)
			if k, v, ok := parseDefine(tok); ok {
				k2, v2, ok2 := parseDefine("-D" + k + "=" + v)
				if !ok2 || k2 != k || v2 != v {
					t.Errorf("parseDefine(%q) = %q, %q; re-parsed %q, %q, %v", tok, k, v, k2, v2, ok2)
				}
			}
			if jar, args, ok := parseJavaagent(tok); ok {
				jar2, args2, ok2 := parseJavaagent("-javaagent:" + jar + "=" + args)
				if !ok2 || jar2 != jar || args2 != args {
					t.Errorf("parseJavaagent(%q) = %q, %q; re-parsed %q, %q, %v", tok, jar, args, jar2, args2, ok2)
				}
			}
		}
		joined := strings.Join(quoted, " ")
		again, err := splitOptionsVar(joined)
		if err != nil || !slices.Equal(again, toks) {
			t.Errorf("splitOptionsVar(%q) = %q; re-quoted %q gives %q, %v", s, toks, joined, again, err)
		}
	})
}

// FuzzAgentArgs checks the agent argument parser: no panics, and parsed pairs survive
// re-formatting.
func FuzzAgentArgs(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		props, _ := parseAgentArgs(s)
		parts := make([]string, len(props))
		for i, p := range props {
			if p.key == "" || p.key != trimJava(p.key) || p.value != trimJava(p.value) || strings.ContainsAny(p.key, "=;") || strings.Contains(p.value, ";") {
				t.Fatalf("parseAgentArgs(%q): bad pair %q", s, p)
			}
			parts[i] = p.key + "=" + p.value
		}
		again, malformed := parseAgentArgs(strings.Join(parts, ";"))
		if !slices.Equal(again, props) || len(malformed) != 0 {
			t.Errorf("parseAgentArgs(%q) = %q; re-formatted gives %q, malformed %q", s, props, again, malformed)
		}
	})
}

// FuzzParseEndpoint checks the endpoint parser: no panics, and an accepted endpoint prints to a
// URL that parses back to the same endpoint.
func FuzzParseEndpoint(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseEndpoint(s)
		if err != nil {
			return
		}
		if e.scheme != "http" && e.scheme != "https" || e.host == "" || e.port < -1 || e.port > 65535 {
			t.Fatalf("parseEndpoint(%q) accepted %#v", s, e)
		}
		again, err := parseEndpoint(e.String())
		if err != nil || again != e {
			t.Errorf("parseEndpoint(%q) = %#v; its String %q gives %#v, %v", s, e, e.String(), again, err)
		}
		// An endpoint net/url can't parse, with an '@' in its path, may be
		// a password typed unescaped: redact.URL hides it all.
		if _, err := url.Parse(e.String()); err != nil && strings.Contains(e.path, "@") {
			return
		}
		red, err := parseEndpoint(redact.URL(e.String()))
		if err != nil || red.host != e.host || red.port != e.port || red.path != e.path {
			t.Errorf("redact.URL(%q) = %q: host, port or path changed (%v)", e.String(), redact.URL(e.String()), err)
		}
	})
}

// writeProperties writes pairs in .properties syntax, escaping what parseProperties would
// otherwise read differently.
func writeProperties(props []property) string {
	var b strings.Builder
	escape := func(s string) {
		for _, u := range utf16.Encode([]rune(s)) {
			switch {
			case u == '\\' || u == ' ' || u == '=' || u == ':' || u == '#' || u == '!':
				b.WriteByte('\\')
				b.WriteByte(byte(u))
			case u > ' ' && u < 0x7f:
				b.WriteByte(byte(u))
			default:
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		}
	}
	for _, p := range props {
		escape(p.key)
		b.WriteByte('=')
		escape(p.value)
		b.WriteByte('\n')
	}
	return b.String()
}

// FuzzParseProperties checks the .properties parser: no panics, and parsed pairs survive being
// written back and parsed again.
func FuzzParseProperties(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		props, err := parseProperties(s)
		if err != nil {
			return
		}
		written := writeProperties(props)
		again, err := parseProperties(written)
		if err != nil || !slices.Equal(again, props) {
			t.Errorf("parseProperties(%q) = %q; written as %q gives %q, %v", s, props, written, again, err)
		}
	})
}

// quoteArgFileToken quotes tok so that splitArgFile returns it unchanged.
func quoteArgFileToken(tok string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)
	return `"` + r.Replace(tok) + `"`
}

// FuzzSplitArgFile checks the @argfile tokenizer: no panics, and tokens survive re-quoting.
func FuzzSplitArgFile(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		toks := splitArgFile(s)
		var b strings.Builder
		for _, tok := range toks {
			b.WriteString(quoteArgFileToken(tok))
			b.WriteByte('\n')
		}
		if again := splitArgFile(b.String()); !slices.Equal(again, toks) {
			t.Errorf("splitArgFile(%q) = %q; re-quoted %q gives %q", s, toks, b.String(), again)
		}
	})
}

// FuzzResolve runs the whole resolution on arbitrary environments (one variable per line),
// commands (arguments separated by NUL) and file contents (served as the properties file, an
// argument file and the agent jar): no panics, and every destination is well formed.
func FuzzResolve(f *testing.F) {
	f.Fuzz(func(t *testing.T, env, args, file string) {
		in := Input{
			Env: strings.Split(env, "\n"),
			Open: openFiles(map[string]string{
				"/etc/otel.properties": file,
				"/app/jvm.args":        file,
				"/otel.jar":            file,
			}),
		}
		if args != "" {
			in.Args = strings.Split(args, "\x00")
		}
		plan, err := Resolve(in)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error")
			}
			return
		}
		if plan.Defaults == "" {
			t.Error("no Defaults")
		}
		last := -1
		for _, d := range plan.Destinations {
			i := slices.Index([]Signal{Traces, Metrics, Logs}, d.Signal)
			if i <= last {
				t.Errorf("destinations out of order: %v", plan.Destinations)
			}
			last = i
			if d.Protocol.Value != protocolGRPC && d.Protocol.Value != protocolHTTPProtobuf {
				t.Errorf("destination %v: bad protocol", d)
			}
			if _, err := parseEndpoint(d.Endpoint.Value); err != nil || d.Endpoint.Source == "" {
				t.Errorf("destination %v: endpoint %q does not parse (%v) or has no source", d.Signal, d.Endpoint.Value, err)
			}
		}
		if len(plan.Destinations)+len(plan.Skipped) != 3 && plan.Disabled.Source == "" && plan.Declarative.Source == "" {
			t.Errorf("have %d destinations and %d skipped, want 3 in all", len(plan.Destinations), len(plan.Skipped))
		}
	})
}
