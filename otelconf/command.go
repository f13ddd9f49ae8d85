package otelconf

import (
	"path/filepath"
	"slices"
	"strings"
)

// This file works out what the command runs: java itself, java through env(1) or an init
// (tini, dumb-init), or something otelwait can't see into (a shell, a start script, a build
// tool).

// command sets r.env to the environment the JVM will see and, when the command runs java
// (directly or through env or an init), r.java and r.javaArgs. env(1) is followed as GNU
// coreutils and busybox run it: options first (-i, -u NAME, --, and "-" after them; any other
// option makes the command opaque), then NAME=VALUE words, each replacing the variable in the
// environment the program after them inherits. tini and dumb-init run their program with their
// own environment: their options (inits) and a "--" are skipped. Anything else is opaque: its
// arguments and the environment are searched for java settings otelwait would miss, and each
// one found is a warning.
func (r *resolver) command() {
	r.env = r.in.Env
	args := r.in.Args
	for len(args) > 0 {
		name := filepath.Base(args[0])
		switch {
		case name == "java":
			r.java, r.javaArgs = true, args[1:]
			r.optionVariables("")
			return
		case name == "env":
			env, rest, ok := applyEnv(r.env, args[1:])
			if !ok {
				r.opaque(args)
				return
			}
			r.env, args = env, rest
		case inits[name] != nil:
			rest, ok := inits[name].program(args[1:])
			if !ok {
				r.opaque(args)
				return
			}
			args = rest
		default:
			r.opaque(args)
			return
		}
	}
}

// initOptions are the options of an init that runs one program: single letters, which may be
// grouped, those in withArg taking a value (attached, or the next argument), and long options
// with their value after '=' or in the next argument. An option not listed (--help, --version,
// -h, -l: they run nothing) makes the command opaque.
type initOptions struct {
	flags, withArg string
	long           map[string]bool // name: takes a value
}

// inits are the inits otelwait sees through, by the name they are run as. Their option letters
// are tini's getopt string "p:hvwgle:R:s" and dumb-init's "+hvVcr:" with --single-child,
// --rewrite and --verbose, less those that only print.
var inits = map[string]*initOptions{
	"tini":        tini,
	"tini-static": tini,
	"dumb-init":   {flags: "cv", withArg: "r", long: map[string]bool{"single-child": false, "verbose": false, "rewrite": true}},
}

var tini = &initOptions{flags: "svwg", withArg: "peR"}

// program returns the command the init runs (args after argv[0]), or false when it runs none
// otelwait can tell.
func (o *initOptions) program(args []string) ([]string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return args[i+1:], i+1 < len(args)
		case strings.HasPrefix(a, "--"):
			name, _, inline := strings.Cut(a[2:], "=")
			value, ok := o.long[name]
			if !ok {
				return nil, false
			}
			if value && !inline {
				i++
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				switch {
				case strings.IndexByte(o.flags, a[j]) >= 0:
				case strings.IndexByte(o.withArg, a[j]) >= 0:
					if j == len(a)-1 {
						i++
					}
					j = len(a)
				default:
					return nil, false
				}
			}
		default:
			return args[i:], true
		}
	}
	return nil, false
}

// applyEnv applies env(1)'s options and assignments (args, after argv[0]) to env. It returns
// the new environment and the command env runs, or false for an option it does not handle or a
// command line env itself rejects.
func applyEnv(env, args []string) ([]string, []string, bool) {
	env = slices.Clone(env)
	i := 0
options:
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-i" || a == "--ignore-environment":
			env = env[:0]
		case a == "-u" || a == "--unset":
			if i+1 == len(args) {
				return nil, nil, false
			}
			i++
			env = unsetenv(env, args[i])
		case strings.HasPrefix(a, "--unset="):
			env = unsetenv(env, strings.TrimPrefix(a, "--unset="))
		case strings.HasPrefix(a, "-u") && !strings.HasPrefix(a, "--"):
			env = unsetenv(env, a[2:])
		case a == "--":
			i++
			break options
		case strings.HasPrefix(a, "-") && a != "-":
			return nil, nil, false // -S, -C, -0, -v, --chdir, …: not followed
		default:
			break options
		}
	}
	if i < len(args) && args[i] == "-" {
		env = env[:0]
		i++
	}
	for ; i < len(args) && strings.Contains(args[i], "="); i++ {
		name, _, _ := strings.Cut(args[i], "=")
		if name == "" {
			return nil, nil, false // env: cannot set '=x'
		}
		env = append(unsetenv(env, name), args[i])
	}
	return env, args[i:], true
}

// unsetenv removes every entry of name from env, in place.
func unsetenv(env []string, name string) []string {
	return slices.DeleteFunc(env, func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == name
	})
}

// opaque warns about java settings in the arguments of a command that is not java (a shell,
// a script, a build tool): they reach the JVM, if at all, in ways otelwait does not follow.
// Commands without such settings get no warning: auto mode also serves the OpenTelemetry SDKs
// of other languages, configured through OTEL_* variables alone.
func (r *resolver) opaque(args []string) {
	name := filepath.Base(args[0])
	for _, a := range args[1:] {
		if m := javaSetting(a, true); m != "" {
			r.warn("command %q is not java, and its arguments hold %q: otelwait does not read settings passed through a shell or script, so it used only the environment and JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS and _JAVA_OPTIONS; put them there or give the targets explicitly", name, m)
			break
		}
	}
	r.optionVariables(name)
}

// optionVariables warns about -javaagent and -Dotel… options in environment variables the JVM
// does not read, such as JAVA_OPTS: only a script passes those on. script names the command
// that is not java, or is "" when java runs directly.
func (r *resolver) optionVariables(script string) {
	for _, kv := range r.env {
		k, v, _ := strings.Cut(kv, "=")
		if k == string(srcJavaToolOptions) || k == string(srcJDKJavaOptions) || k == string(srcJavaOptions) {
			continue
		}
		m := javaSetting(v, false)
		switch {
		case m == "":
		case script == "":
			r.warn("%s holds %q, but java does not read %s: the jvm does not see it; use JAVA_TOOL_OPTIONS or JDK_JAVA_OPTIONS", k, m, k)
		default:
			r.warn("%s holds %q, which otelwait does not read: if command %q passes it to java, put the options in JAVA_TOOL_OPTIONS or give the targets explicitly", k, m, script)
		}
	}
}

// planVariables are the environment variables (and prefixes of them) that decide the plan,
// looked for in the arguments of a command that is not java.
var planVariables = []string{
	"OTEL_EXPORTER_OTLP_", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER",
	"OTEL_SDK_DISABLED", "OTEL_JAVAAGENT_", "OTEL_CONFIG_FILE", "OTEL_EXPERIMENTAL_CONFIG_FILE",
	"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS",
}

// javaSetting returns the first java setting in s (an argument, a shell script or an
// environment variable's value), without its value, which may be a secret: "-javaagent" (for
// -javaagent:), a
// -D option whose key starts with otel and a separator ('.', '-' or '_', any case: the SDK
// lower-cases property keys and reads '-' as '.'), or, when assignments is set, NAME= for a
// variable of planVariables. It returns "" if there is none.
func javaSetting(s string, assignments bool) string {
	for i := 0; i < len(s); i++ {
		rest := s[i:]
		// An option starts a word: not inside a path such as /opt/opentelemetry-javaagent.jar.
		word := i == 0 || !(isNameChar(s[i-1]) || strings.IndexByte("-./:", s[i-1]) >= 0)
		switch {
		case word && strings.HasPrefix(rest, "-javaagent:"):
			return "-javaagent"
		case word && len(rest) >= 7 && rest[0] == '-' && rest[1] == 'D' && strings.EqualFold(rest[2:6], "otel") && strings.IndexByte(".-_", rest[6]) >= 0:
			end := strings.IndexAny(rest, "= \t\n\r'\"")
			if end < 0 {
				end = len(rest)
			}
			return rest[:end]
		case assignments && (i == 0 || !isNameChar(s[i-1])):
			for _, p := range planVariables {
				if !strings.HasPrefix(rest, p) {
					continue
				}
				end := len(p)
				for end < len(rest) && isNameChar(rest[end]) {
					end++
				}
				if end < len(rest) && rest[end] == '=' {
					return rest[:end+1]
				}
			}
		}
	}
	return ""
}

// isNameChar reports whether c may appear in a shell variable name.
func isNameChar(c byte) bool {
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}
