// Package otelconf works out, as the OpenTelemetry Java agent will, where each signal (traces,
// metrics, logs) is exported over OTLP. It reads what the agent reads: the java command line,
// the JVM option variables, the environment and the agent's properties file. It is pure: it
// reads no environment of its own, keeps no state, and opens files only through Input.Open.
//
// # Precedence
//
// Every key is first resolved across sources, highest first:
//
//  1. agent arguments, -javaagent:agent.jar=k=v;k2=v2 (agent 2.15 and later). The agent applies
//     them with System.setProperty as it starts, so they override any -D of the same key;
//  2. JVM system properties (-D), a later one winning as the JVM applies them in this order:
//     JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS (read by the java launcher), the java command line up
//     to the main class, jar or module, _JAVA_OPTIONS;
//  3. environment variables;
//  4. the properties file named by otel.javaagent.configuration-file, itself taken only from
//     a system property or the environment;
//  5. defaults: agent 2.x exports all three signals with http/protobuf to
//     http://localhost:4318/v1/{signal}; agent 1.x uses grpc to http://localhost:4317 and does
//     not export logs.
//
// Keys compare normalised, as the SDK's DefaultConfigProperties has them: system property and
// file keys lower-cased with '-' as '.', environment names lower-cased with '_' as '.', so
// OTEL_EXPORTER_OTLP_ENDPOINT is otel.exporter.otlp.endpoint. The agent's own early settings,
// otel.javaagent.enabled and otel.javaagent.configuration-file, are the exception: the agent
// reads them by exact name (see lookupExact), so -DOTEL.JAVAAGENT.ENABLED=false disables nothing.
// Then, per signal, a set per-signal key (otel.exporter.otlp.traces.endpoint) beats the generic
// one (otel.exporter.otlp.endpoint) whatever their sources: a per-signal key in the properties
// file beats a generic -D.
//
// # Sources
//
// opentelemetry-java: OtlpConfigUtil.java, DefaultConfigProperties.java, ConfigUtil.java,
// SpanExporterConfiguration.java, LogRecordExporterConfiguration.java.
// opentelemetry-java-instrumentation: AgentInitializer.java (agent arguments),
// ConfigurationFile.java and ConfigurationFileLoader.java, ConfigPropertiesUtil.java,
// EarlyInitAgentConfig.java, LegacyConfigFileEarlyInitAgentConfig.java,
// OtlpProtocolPropertiesSupplier.java, the javaagent build (manifest attributes).
// OpenJDK: HotSpot arguments.cpp (JAVA_TOOL_OPTIONS, _JAVA_OPTIONS), libjli java.c and args.c
// (command line, JDK_JAVA_OPTIONS, @argfiles). java.util.Properties.load.
//
// # Corrections to common belief, from those sources
//
//   - A grpc endpoint with a path, any endpoint with a query or fragment, an unsupported protocol
//     such as http/json, an exporter list naming "none" with others or one exporter twice, a
//     client key without a client certificate, a missing certificate file, a malformed header
//     list or timeout: the SDK throws a ConfigurationException, the agent logs it and the
//     application runs exporting nothing. Resolve reports these as errors, not warnings.
//   - A wrong port for the protocol (4317 with http/protobuf, 4318 with grpc) only makes the agent
//     log a warning; so does Resolve.
//   - A properties file that does not exist or can't be read (a directory, say, where a ConfigMap
//     was mounted instead of a file) is logged and ignored by the agent; Resolve warns.
//   - OTEL_JAVAAGENT_ENABLED (or the property) disables the agent for any value but "true",
//     including an empty one (Boolean.parseBoolean). OTEL_SDK_DISABLED needs "true"; empty is unset.
//   - An empty OTEL_EXPORTER_OTLP_ENDPOINT or _PROTOCOL is a value, not unset: the agent rejects it.
//   - The agent looks for a declarative configuration file (otel.experimental.config.file) in
//     system properties and the environment only, before anything else; then
//     otel.javaagent.enabled is not read at all. otel.config.file is treated the same: a caller
//     that refuses to guess loses nothing by it.
//   - -cp takes a value and option parsing continues; -jar does not end option parsing either
//     (java -jar -Dk=v app.jar sets k). The first argument not starting with '-' (the jar, main
//     class or source file), or the value of -m/--module, ends it.
//   - Agent arguments are split at the first '=' of each ';'-separated option and trimmed, so a
//     value may contain '=' (an earlier version of that code, AgentArgUtil, skipped such options).
//   - JDK_JAVA_OPTIONS is read by any java launcher that inherits the environment, so it counts
//     also when argv[0] is a script that will run java.
//   - Exporter names are case-sensitive: OTEL_TRACES_EXPORTER=OTLP (or None) makes the SDK throw
//     ("Unrecognized value"), so nothing at all is exported. Resolve reports it as an error, like
//     the other configurations the SDK rejects, rather than skipping the signal.
//   - Agents 1.6 to 1.12 export no metrics unless otel.metrics.exporter is set (see setDefaults).
//   - A generic http/protobuf endpoint whose path starts with "//" (http://c:4318//) is resolved
//     as a network-path reference: the agent sends to http://v1/traces. Resolve follows it, with
//     a warning.
//   - A -javaagent jar that does not exist, or has no Premain-Class, stops the JVM from starting;
//     Resolve warns. A readable jar that is not the OpenTelemetry agent (jmx_prometheus_javaagent)
//     never decides the defaults (see chooseAgent).
//
// # The command
//
// java's own arguments are read when argv[0] is java, or env(1) running java (its NAME=VALUE
// assignments, -i and -u change the environment the JVM sees). Anything else (a shell, a start
// script, a build tool) is opaque: only the environment and the JVM option variables are read,
// and java settings found in its arguments, or in variables such as JAVA_OPTS that only a script
// passes on, are reported as warnings.
package otelconf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/otelwait/otelwait/internal/redact"
)

// Input is everything the resolution reads.
type Input struct {
	// Env is the environment the command is run with, in os.Environ form ("K=V"). When the
	// command is env(1), the JVM sees it as env changes it, and Resolve follows that.
	Env []string
	// Args is the command otelwait will exec, argv[0] first. It may be empty.
	Args []string
	// Open opens files named by the configuration: the agent's properties file, @argfiles,
	// certificate files (to check they exist) and the -javaagent jar (for its version). A file
	// that implements io.ReaderAt is needed to read the jar. Open may be nil: then no file is
	// read, and Resolve says so in Plan.Defaults and Plan.Warnings.
	Open func(name string) (fs.File, error)
	// Home returns the home directory of the user the command runs as, as Java's user.home
	// gives it: the password database's entry, not HOME. It may be nil, or fail: then HOME in
	// Env is used, as the JVM does when the user has no entry.
	Home func() (string, error)
}

// Source says where a value came from, for --explain. The strings are stable:
// "agent argument", "-D on the command line", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS",
// "_JAVA_OPTIONS", "argument file <path>", "env <NAME>", "file <path>", "manifest of <jar>",
// "default (agent 2.x)", "default (agent 2.x: <jar> says <version>)" and the 1.x equivalents.
type Source string

const (
	srcAgentArgument   Source = "agent argument"
	srcCommandLine     Source = "-D on the command line"
	srcCommandLineArg  Source = "command line" // options other than -D, in messages
	srcJavaToolOptions Source = "JAVA_TOOL_OPTIONS"
	srcJDKJavaOptions  Source = "JDK_JAVA_OPTIONS"
	srcJavaOptions     Source = "_JAVA_OPTIONS"
)

// Value is one resolved setting.
type Value struct {
	// Value is the value as configured, or for Destination.Endpoint the URL the exporter uses.
	Value string
	// Source says where the value came from; it is empty when the setting is unset.
	Source Source
	// Key is the name the value was read under, as written there: a property key such as
	// "otel.exporter.otlp.traces.endpoint", or an environment variable name. For a default it is
	// the generic property key that would change it.
	Key string
}

// Signal is an OpenTelemetry signal.
type Signal string

// The three signals, in the order Resolve reports them.
const (
	Traces  Signal = "traces"
	Metrics Signal = "metrics"
	Logs    Signal = "logs"
)

const (
	protocolGRPC         = "grpc"
	protocolHTTPProtobuf = "http/protobuf"
)

// Destination is where one signal is exported over OTLP.
type Destination struct {
	// Signal is the signal exported.
	Signal Signal
	// Protocol is "grpc" or "http/protobuf".
	Protocol Value
	// Endpoint is the URL the exporter sends to: for http/protobuf the full per-signal URL (for
	// example http://localhost:4318/v1/traces); for grpc scheme://host[:port]/ as used. Its Source
	// and Key are those of the setting it was built from.
	Endpoint Value
	// CACert is the trusted certificates file, if set.
	CACert Value
	// ClientCert is the client certificate file, if set (set exactly when ClientKey is).
	ClientCert Value
	// ClientKey is the client private key file, if set.
	ClientKey Value
	// Headers is the raw header list ("k=v,k2=v2", values URL-encoded), if any. Never log it:
	// use Redact.
	Headers Value
	// Timeout is the export timeout as configured (milliseconds unless it has a unit), if set.
	Timeout Value
}

// Key identifies the destination for de-duplication: protocol, endpoint, TLS files and headers,
// and for grpc the signal, since each signal is exported with its own service's method. Two
// destinations with equal keys are sent the same request, so they need probing once. A grpc
// endpoint's trailing "/" (which the agent adds to a per-signal endpoint) does not count.
func (d Destination) Key() string {
	u := d.Endpoint.Value
	if d.Protocol.Value == protocolGRPC {
		u = strings.TrimSuffix(u, "/") + " " + string(d.Signal)
	}
	return strings.Join([]string{
		d.Protocol.Value, u, d.CACert.Value, d.ClientCert.Value, d.ClientKey.Value, d.Headers.Value,
	}, "\x00")
}

// HeaderLines returns the headers as "Name: value" lines, values URL-decoded, as the exporter
// sends them. Never log them.
func (d Destination) HeaderLines() []string {
	lines, _ := parseHeaders(d.Headers.Value) // checked by Resolve
	return lines
}

// Skip is a signal that is not exported over OTLP.
type Skip struct {
	// Signal is the signal.
	Signal Signal
	// Exporters is the exporter list in effect (for example "none" or "console"), with its source.
	Exporters Value
}

// Plan is the outcome of Resolve.
type Plan struct {
	// Disabled has a Source when nothing is exported: otel.javaagent.enabled is set to anything
	// but "true", or otel.sdk.disabled is "true". Key names the setting and Value its value.
	Disabled Value
	// Declarative has a Source when otel.experimental.config.file or otel.config.file (or
	// OTEL_EXPERIMENTAL_CONFIG_FILE, OTEL_CONFIG_FILE) is set: endpoints then come from that YAML
	// file, which this package does not read, and callers should not guess. The rest of the plan
	// is still filled in for --explain, with what would otherwise be errors turned into warnings.
	Declarative Value
	// AgentVersion is the Implementation-Version of the -javaagent jar, when readable.
	AgentVersion Value
	// Defaults is "agent 2.x" or "agent 1.x" followed by the reason in parentheses, for example
	// "agent 2.x (no -javaagent option found; assumed current)".
	Defaults string
	// Destinations has one entry per signal exported over OTLP, in the order traces, metrics, logs.
	Destinations []Destination
	// Skipped lists the signals not exported over OTLP, with their exporter list.
	Skipped []Skip
	// Warnings are classic mistakes and things Resolve could not see, one lowercase line each.
	Warnings []string
}

// Resolve works out the plan. It fails on input that cannot be understood, such as an unmatched
// quote in JAVA_TOOL_OPTIONS or a properties file too large to read, and on configuration the agent
// itself rejects (see the package documentation), since then the agent exports nothing. Error
// messages name the setting and its source and never include header values. With an error, the
// plan holds what was found before it, for --explain: the defaults, the agent's version and the
// warnings, but no destinations.
func Resolve(in Input) (Plan, error) {
	r := &resolver{in: in, seen: map[string]bool{}}
	var plan Plan
	failed := func(err error) (Plan, error) {
		return Plan{Defaults: plan.Defaults, AgentVersion: plan.AgentVersion, Warnings: r.warnings}, err
	}

	r.command()
	opts, err := r.jvmOptions()
	if err != nil {
		return failed(err)
	}
	sysprops := newLayer(false)
	var agents []javaagent
	for _, o := range opts {
		if k, v, ok := parseDefine(o.text); ok {
			src := o.src
			if src == srcCommandLineArg {
				src = srcCommandLine
			}
			r.checkKeyForm(k, src)
			sysprops.set(k, v, src)
		} else if jar, args, ok := parseJavaagent(o.text); ok {
			agents = append(agents, javaagent{jar: jar, args: args, src: o.src})
		} else if file, ok := strings.CutPrefix(o.text, "-XX:VMOptionsFile="); ok {
			r.warn("-XX:VMOptionsFile=%q (%s) is not read: options in it are not seen", file, o.src)
		}
	}
	agent := r.chooseAgent(agents)
	r.setDefaults(&plan, agent, agents)
	r.layers = []*layer{r.agentArgs(agent), sysprops, r.envLayer()}

	// EarlyInitAgentConfig.create: system properties and environment only, before anything else.
	// An empty value counts as unset, as the specification says of every OTEL_ variable.
	for _, k := range []string{"otel.experimental.config.file", "otel.config.file"} {
		if v, ok := r.lookup(k); ok && strings.TrimSpace(v.Value) != "" {
			plan.Declarative = v
			break
		}
	}
	declarative := plan.Declarative.Source != ""

	// With a declarative configuration file the agent reads none of the rest: errors in it are
	// only worth a warning in --explain.
	fail := func(err error) error {
		if !declarative {
			return err
		}
		r.warn("%v (the declarative configuration file is used instead)", err)
		return nil
	}
	if err := r.loadConfigFile(); err != nil {
		if err := fail(err); err != nil {
			return failed(err)
		}
	}
	if !declarative {
		if v, ok := r.lookupExact("otel.javaagent.enabled"); ok && !strings.EqualFold(v.Value, "true") {
			plan.Disabled = v
		} else if v, ok := r.lookup("otel.sdk.disabled"); ok && strings.EqualFold(v.Value, "true") {
			plan.Disabled = v
		}
		if plan.Disabled.Source != "" {
			plan.Warnings = r.warnings
			return plan, nil
		}
	}
	if err := r.resolveSignals(&plan); err != nil {
		if err := fail(err); err != nil {
			return failed(err)
		}
	}
	r.insecureWarnings()
	plan.Warnings = r.warnings
	return plan, nil
}

// Redact returns a header list with every value replaced: "k=v,k2=v2" becomes
// "k=<redacted>,k2=<redacted>". An entry without '=' is replaced whole.
func Redact(headers string) string {
	entries := strings.Split(headers, ",")
	for i, e := range entries {
		if k, _, ok := strings.Cut(e, "="); ok {
			entries[i] = k + "=<redacted>"
		} else if trimJava(e) != "" {
			entries[i] = "<redacted>"
		}
	}
	return strings.Join(entries, ",")
}

// entry is one value in a layer.
type entry struct {
	value string
	src   Source
	key   string // as written
}

// layer holds the values from one kind of source, by normalised key for the SDK's settings
// and by key as written for the agent's own, which it reads by exact name (see lookupExact).
type layer struct {
	env   bool             // keys are environment variable names
	norm  map[string]entry // by normalised key; a later set wins
	exact map[string]entry // by key as written; a later set wins
}

func newLayer(env bool) *layer {
	return &layer{env: env, norm: map[string]entry{}, exact: map[string]entry{}}
}

// set records key=value from src.
func (l *layer) set(key, value string, src Source) {
	e := entry{value, src, key}
	if l.env {
		l.norm[normEnv(key)] = e
	} else {
		l.norm[normProperty(key)] = e
	}
	l.exact[key] = e
}

// option is a JVM or launcher argument with where it came from.
type option struct {
	text     string
	src      Source
	fromFile bool // read from an @argfile: the launcher does not expand @ in it again
}

// javaagent is one -javaagent option.
type javaagent struct {
	jar, args string
	src       Source
	manifest  manifest
	err       error // reading the manifest
}

// resolver carries one Resolve call's working state.
type resolver struct {
	in         Input
	env        []string // the environment the JVM sees: Input.Env, changed by env(1)
	java       bool     // the command runs java, directly or through env(1)
	javaArgs   []string // then, java's arguments
	layers     []*layer // highest precedence first
	v1         bool     // agent 1.x defaults
	metricsOff bool     // agent 1.6 to 1.12: metrics not exported by default
	defaultSrc Source
	noArgFiles bool // --disable-@files seen
	warnings   []string
	seen       map[string]bool
}

// warn records a warning once.
func (r *resolver) warn(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if !r.seen[w] {
		r.seen[w] = true
		r.warnings = append(r.warnings, w)
	}
}

// getenvC looks a variable up the way C's getenv does, as HotSpot and the launcher read
// JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS and _JAVA_OPTIONS: the first entry wins.
// home is Java's user.home: Input.Home, else HOME in the command's environment.
func (r *resolver) home() (string, bool) {
	if r.in.Home != nil {
		if h, err := r.in.Home(); err == nil && h != "" {
			return h, true
		}
	}
	return r.getenvC("HOME")
}

func (r *resolver) getenvC(name string) (string, bool) {
	for _, kv := range r.env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// envLayer is the environment as DefaultConfigProperties sees it: every variable, names
// normalised; for a repeated name the last entry wins, as in Java's System.getenv map.
func (r *resolver) envLayer() *layer {
	l := newLayer(true)
	for _, kv := range r.env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			l.set(k, v, Source("env "+k))
		}
	}
	return l
}

// lookup resolves key across the layers.
func (r *resolver) lookup(key string) (Value, bool) {
	nk := normProperty(key)
	for _, l := range r.layers {
		if e, ok := l.norm[nk]; ok {
			return e.toValue(), true
		}
	}
	return Value{}, false
}

// lookupExact resolves one of the agent's own settings the way the agent reads it
// (ConfigPropertiesUtil.getString and EarlyInitAgentConfig in opentelemetry-java-instrumentation,
// ConfigurationFile for the file's path): the system property spelled exactly as key, then the
// environment variable named by key upper-cased with '.' and '-' as '_', then the properties
// file's exact key. Spellings that only normalise to key (-Dotel.javaagent.configuration.file,
// -DOTEL.JAVAAGENT.ENABLED, otel_javaagent_enabled in the environment) are not read by the
// agent: they are reported as warnings. The SDK's settings, by contrast, are read through
// DefaultConfigProperties, which normalises every key: see lookup.
func (r *resolver) lookupExact(key string) (Value, bool) {
	var found Value
	ok := false
	for _, l := range r.layers {
		name := key
		if l.env {
			name = envName(key)
		}
		if e, hit := l.exact[name]; hit && !ok {
			found, ok = e.toValue(), true
		}
		if e, hit := l.norm[normProperty(key)]; hit && e.key != name {
			r.warn("%s is not read: the agent reads this setting only as %s or %s, spelled exactly", e.toValue().describeKey(), key, envName(key))
		}
	}
	return found, ok
}

// envName is the environment variable the agent reads for one of its own settings
// (ConfigPropertiesUtil.toEnvVarName).
func envName(key string) string {
	return strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(key))
}

func (e entry) toValue() Value {
	return Value{Value: e.value, Source: e.src, Key: e.key}
}

// lookupEither returns the first of the keys that is set, as OtlpConfigUtil does for a
// per-signal key and its generic fallback.
func (r *resolver) lookupEither(keys ...string) Value {
	for _, k := range keys {
		if v, ok := r.lookup(k); ok {
			return v
		}
	}
	return Value{}
}

// maxFile bounds properties and argument files.
const maxFile = 4 << 20

// errTooLarge is readFile's error for a file over maxFile: one the JVM reads but otelwait
// doesn't.
var errTooLarge = fmt.Errorf("larger than %d bytes", maxFile)

// readFile reads a configuration file through Input.Open.
func (r *resolver) readFile(name string) ([]byte, error) {
	if r.in.Open == nil {
		return nil, errors.New("file access is disabled")
	}
	f, err := r.in.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, errTooLarge
	}
	return data, nil
}

// jvmOptions collects the JVM options in the order the JVM applies them.
func (r *resolver) jvmOptions() ([]option, error) {
	opts, err := r.envOptions(srcJavaToolOptions, "the jvm")
	if err != nil {
		return nil, err
	}
	launcher, err := r.envOptions(srcJDKJavaOptions, "the java launcher")
	if err != nil {
		return nil, err
	}
	if launcher != nil {
		before, main, _ := r.walkLauncher(launcher)
		if main != "" {
			r.warn("JDK_JAVA_OPTIONS names %q, a main class, jar or module: the java launcher refuses to start", main)
		}
		opts = append(opts, before...)
	}
	if r.java {
		args := make([]option, len(r.javaArgs))
		for i, a := range r.javaArgs {
			args[i] = option{text: a, src: srcCommandLineArg}
		}
		before, main, app := r.walkLauncher(args)
		opts = append(opts, before...)
		for _, a := range app {
			if k, _, ok := parseDefine(a.text); ok && strings.HasPrefix(normProperty(k), "otel.") {
				r.warn("-D%s comes after %q, so it is an application argument: the jvm does not see it", k, main)
			} else if jar, _, ok := parseJavaagent(a.text); ok {
				r.warn("-javaagent:%s comes after %q, so it is an application argument: the jvm does not load it", jar, main)
			}
		}
	}
	late, err := r.envOptions(srcJavaOptions, "the jvm")
	if err != nil {
		return nil, err
	}
	return append(opts, late...), nil
}

// envOptions splits the options in the environment variable named by src
// (nil if it is unset, non-nil if set, even to nothing); a value the JVM
// can't split is an error naming who refuses to start.
func (r *resolver) envOptions(src Source, refuser string) ([]option, error) {
	v, ok := r.getenvC(string(src))
	if !ok {
		return nil, nil
	}
	toks, err := splitOptionsVar(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s refuses to start", src, err, refuser)
	}
	opts := make([]option, len(toks))
	for i, t := range toks {
		opts[i] = option{text: t, src: src}
	}
	return opts, nil
}

// walkLauncher follows the java launcher (ParseArguments and GetOpt in java.c, JLI_PreprocessArg
// in args.c) over args: it expands @argfiles, skips the value of an option that takes one (when
// the next argument does not start with '-'), and stops at the first other argument not starting
// with '-' (main class, jar or source file) or at the module of -m/--module. It returns the
// options before that point, the main argument ("" if none) and the application's arguments.
func (r *resolver) walkLauncher(args []option) (before []option, main string, app []option) {
	queue := args
	value, mainValue := false, false
	for len(queue) > 0 {
		a := queue[0]
		queue = queue[1:]
		if !a.fromFile && !r.noArgFiles && len(a.text) > 1 && a.text[0] == '@' {
			if a.text[1] == '@' {
				a.text = a.text[1:] // @@x is the literal argument @x
			} else {
				path := a.text[1:]
				data, err := r.readFile(path)
				if err != nil {
					r.warn("argument file %q (%s) is not read (%v): options in it and after it are not seen", path, a.src, err)
					return before, "", nil
				}
				var expanded []option
				for _, t := range splitArgFile(string(data)) {
					expanded = append(expanded, option{text: t, src: Source("argument file " + path), fromFile: true})
				}
				queue = append(expanded, queue...)
				continue
			}
		}
		dash := strings.HasPrefix(a.text, "-")
		if value {
			value = false
			if !dash {
				if mainValue {
					return before, a.text, queue
				}
				continue
			}
		}
		if !dash {
			return before, a.text, queue
		}
		switch t := a.text; {
		case t == "-m" || t == "--module":
			value, mainValue = true, true
		case isWhiteSpaceOption(t):
			value, mainValue = true, false
		case strings.HasPrefix(t, "--module="):
			return before, strings.TrimPrefix(t, "--module="), queue
		case t == "--disable-@files":
			r.noArgFiles = true
		default:
			before = append(before, a)
		}
	}
	return before, "", nil
}

// isWhiteSpaceOption reports whether a launcher option takes the next argument as its value
// (IsWhiteSpaceOption in java.c), -m and --module aside.
func isWhiteSpaceOption(s string) bool {
	switch s {
	case "-cp", "-classpath", "--class-path", "--describe-module", "-d", "--source",
		"--module-path", "-p", "--upgrade-module-path", "--add-modules", "--enable-native-access",
		"--limit-modules", "--add-exports", "--add-opens", "--add-reads", "--patch-module":
		return true
	}
	return false
}

// chooseAgent picks the OpenTelemetry agent among the -javaagent options, reading each jar's
// manifest. The rule:
//
//   - a jar whose manifest can be read is the agent only if the manifest says so (see
//     manifest.isOTel): its Premain-Class is the upstream agent's, or a known distribution's
//     (Splunk, Elastic EDOT), or the jar holds the upstream agent's entry class beside its own
//     Premain-Class, as distributions that wrap the agent do. Any other readable jar, such as
//     jmx_prometheus_javaagent, is never taken for it, whatever its name or version;
//   - a jar that can't be read may be the agent: one whose file name says opentelemetry or otel
//     is preferred, then the first;
//   - if no jar qualifies, there is no agent (nil), as with no -javaagent at all.
//
// A readable jar is preferred to an unreadable one. If the agent is loaded twice, its second
// start returns before reading its arguments (AgentInitializer.initialize), so the first one
// counts. Jars the JVM can't load (missing, no Premain-Class) are warnings: the JVM aborts.
func (r *resolver) chooseAgent(agents []javaagent) *javaagent {
	var byManifest, byName, unread []int
	for i := range agents {
		a := &agents[i]
		if r.in.Open != nil {
			a.manifest, a.err = readManifest(r.in.Open, a.jar)
		} else {
			a.err = errors.New("file access is disabled")
		}
		name := strings.ToLower(filepath.Base(a.jar))
		switch {
		case errors.Is(a.err, fs.ErrNotExist):
			// HotSpot's instrument library: "Error opening zip file or JAR manifest missing".
			r.warn("-javaagent jar %q (%s) does not exist: the jvm refuses to start", a.jar, a.src)
		case a.err == nil && a.manifest.premain == "":
			// JPLISAgent.c: "Failed to find Premain-Class manifest attribute".
			r.warn("-javaagent jar %q (%s) has no Premain-Class in its manifest: the jvm refuses to start", a.jar, a.src)
		}
		switch {
		case a.err == nil && a.manifest.isOTel():
			byManifest = append(byManifest, i)
		case a.err == nil:
			// Not the agent, whatever its name says.
		case strings.Contains(name, "opentelemetry") || strings.Contains(name, "otel"):
			byName = append(byName, i)
		default:
			unread = append(unread, i)
		}
	}
	otel := append(append(byManifest, byName...), unread...)
	if len(byManifest)+len(byName) > 1 {
		first, second := agents[otel[0]], agents[otel[1]]
		r.warn("-javaagent:%s (%s) and -javaagent:%s (%s) both look like the opentelemetry agent: the first one's arguments apply",
			first.jar, first.src, second.jar, second.src)
	}
	if len(otel) > 0 {
		return &agents[otel[0]]
	}
	return nil
}

// setDefaults decides between agent 1.x and 2.x defaults. agents are all the -javaagent
// options, a the one chosen (nil if none is the OpenTelemetry agent).
func (r *resolver) setDefaults(plan *Plan, a *javaagent, agents []javaagent) {
	assumed := func(why string) {
		plan.Defaults = "agent 2.x (" + why + "; assumed current)"
		r.defaultSrc = "default (agent 2.x)"
	}
	switch {
	case a == nil && len(agents) > 0:
		assumed("no -javaagent jar is the opentelemetry agent")
		r.warn("no -javaagent jar is the opentelemetry agent (%q (%s) has Premain-Class %q): the opentelemetry agent may not run",
			agents[0].jar, agents[0].src, agents[0].manifest.premain)
	case a == nil:
		assumed("no -javaagent option found")
		if r.java {
			r.warn("no -javaagent option on the command line or in JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS or _JAVA_OPTIONS: the opentelemetry agent may not run")
		}
	case a.err != nil:
		assumed(fmt.Sprintf("-javaagent jar %s not readable: %v", a.jar, a.err))
	case a.manifest.version == "":
		assumed(fmt.Sprintf("-javaagent jar %s has no Implementation-Version", a.jar))
	case !a.manifest.upstream():
		plan.AgentVersion = Value{Value: a.manifest.version, Source: Source("manifest of " + a.jar), Key: "Implementation-Version"}
		assumed(fmt.Sprintf("%s is a distribution of the agent (Premain-Class %s, version %s)", a.jar, a.manifest.premain, a.manifest.version))
	default:
		plan.AgentVersion = Value{Value: a.manifest.version, Source: Source("manifest of " + a.jar), Key: "Implementation-Version"}
		v, ok := parseAgentVersion(a.manifest.version)
		if !ok {
			assumed(fmt.Sprintf("%s says %q", a.jar, a.manifest.version))
			return
		}
		major := "2.x"
		if v.major <= 1 { // 0.x predates 1.0 and shares its grpc default
			major, r.v1 = "1.x", true
		}
		// Agents 1.6 to 1.12 did not export metrics unless otel.metrics.exporter was set: the
		// SDK's autoconfigure defaulted it to "none" from 1.6.0 until opentelemetry-java
		// 1.13.0 made it "otlp" ("the Auto-configuration module now enables metric export by
		// default via OTLP, i.e. by default otel.metrics.exporter is set to otlp instead of
		// none", v1.13.0 release notes; opentelemetry-java#4330: "this behavior will be
		// carried over to javaagent users in 1.13.0"; honeycomb-opentelemetry-java#149: "otel
		// 1.6.0 defaults otel.metrics.exporter to none").
		r.metricsOff = v.major == 1 && v.minor >= 6 && v.minor <= 12
		plan.Defaults = fmt.Sprintf("agent %s (%s says %s)", major, a.jar, a.manifest.version)
		r.defaultSrc = Source(fmt.Sprintf("default (agent %s: %s says %s)", major, a.jar, a.manifest.version))
	}
}

// agentArgs returns the layer of the chosen agent's arguments.
func (r *resolver) agentArgs(a *javaagent) *layer {
	l := newLayer(false)
	if a == nil || a.args == "" {
		return l
	}
	if v, ok := parseAgentVersion(a.manifest.version); ok && a.err == nil && a.manifest.upstream() && (v.major < 2 || (v.major == 2 && v.minor < 15)) {
		r.warn("the arguments of -javaagent:%s (%s) are ignored: agent %s reads them only since 2.15", a.jar, a.src, a.manifest.version)
		return l
	}
	props, malformed := parseAgentArgs(a.args)
	for _, p := range props {
		r.checkKeyForm(p.key, srcAgentArgument)
		l.set(p.key, p.value, srcAgentArgument)
	}
	if len(malformed) > 0 {
		r.warn("-javaagent:%s (%s) has %d agent arguments that are not key=value: the agent skips them", a.jar, a.src, len(malformed))
	}
	return l
}

// loadConfigFile reads the properties file named by otel.javaagent.configuration-file and adds
// it as the lowest layer. ConfigurationFile treats the file as optional: one that is missing or
// can't be read (a directory, no permission) is logged and ignored. Only a malformed \uxxxx
// escape, which Properties.load throws on, keeps the agent from starting. A leading ~ is the
// user's home, Java's user.home (see Input.Home).
func (r *resolver) loadConfigFile() error {
	v, ok := r.lookupExact("otel.javaagent.configuration-file")
	if !ok {
		return nil
	}
	path := v.Value
	if rest, ok := strings.CutPrefix(path, "~"); ok {
		if home, ok := r.home(); ok {
			path = home + rest
		}
	}
	if r.in.Open == nil {
		r.warn("configuration file %q (%s) is not read: file access is disabled", path, v.describeKey())
		return nil
	}
	var data []byte
	var err error
	if path != "" {
		data, err = r.readFile(path)
	}
	if path == "" || errors.Is(err, fs.ErrNotExist) {
		r.warn("configuration file %q (%s) does not exist: the agent ignores it", path, v.describeKey())
		return nil
	}
	if errors.Is(err, errTooLarge) {
		return fmt.Errorf("configuration file %q (%s): %w: otelwait does not read it, so it can't tell where the agent exports", path, v.describeKey(), err)
	}
	if err != nil {
		r.warn("configuration file %q (%s) cannot be read (%v): the agent ignores it", path, v.describeKey(), err)
		return nil
	}
	props, err := parseProperties(string(data))
	if err != nil {
		return fmt.Errorf("configuration file %q (%s): %w: the agent fails to start", path, v.describeKey(), err)
	}
	l := newLayer(false)
	src := Source("file " + path)
	for _, p := range props {
		r.checkKeyForm(p.key, src)
		l.set(p.key, p.value, src)
	}
	r.layers = append(r.layers, l)
	return nil
}

// checkKeyForm warns about an environment-variable name used where a property key is read:
// property keys are only lower-cased with '-' as '.', so OTEL_EXPORTER_OTLP_ENDPOINT there is not
// otel.exporter.otlp.endpoint.
func (r *resolver) checkKeyForm(key string, src Source) {
	if strings.HasPrefix(key, "OTEL_") {
		r.warn("%s (%s) is an environment variable name: as a property the agent does not recognise it; use %s", key, src, normEnv(key))
	}
}

// resolveSignals fills in Destinations and Skipped.
func (r *resolver) resolveSignals(plan *Plan) error {
	for _, s := range []Signal{Traces, Metrics, Logs} {
		exporters, otlp, err := r.exporters(s)
		if err != nil {
			return err
		}
		if !otlp {
			plan.Skipped = append(plan.Skipped, Skip{Signal: s, Exporters: exporters})
			continue
		}
		d, err := r.destination(s)
		if err != nil {
			return err
		}
		plan.Destinations = append(plan.Destinations, d)
	}
	return nil
}

// exporters resolves otel.{signal}.exporter and reports whether it includes otlp.
func (r *resolver) exporters(s Signal) (Value, bool, error) {
	key := "otel." + string(s) + ".exporter"
	v, _ := r.lookup(key)
	names := splitList(v.Value)
	seen := map[string]bool{}
	for _, n := range names {
		if k, ok := knownExporter(n); ok && k != n {
			return v, false, fmt.Errorf("%s: exporter names are case-sensitive, and %q is not %q: the java sdk refuses to start and nothing is exported", v.describe(), n, k)
		}
		if seen[n] {
			return v, false, fmt.Errorf("%s: %q is listed twice: the java sdk refuses to start", v.describe(), n)
		}
		seen[n] = true
	}
	if len(names) == 0 {
		def := "otlp"
		if (s == Logs && r.v1) || (s == Metrics && r.metricsOff) {
			def = "none"
		}
		v = Value{Value: def, Source: r.defaultSrc, Key: key}
		seen = map[string]bool{def: true}
	}
	if seen["none"] && len(seen) > 1 {
		return v, false, fmt.Errorf("%s: \"none\" together with other exporters: the java sdk refuses to start", v.describe())
	}
	return v, seen["otlp"], nil
}

// knownExporters are the exporter names of the SDK and the agent. The SDK looks a name up
// exactly (SpanExporterConfiguration.configureExporter and its metric and log equivalents:
// NamedSpiManager.getByName, then "Unrecognized value for otel.traces.exporter"), and "none"
// only counts spelled so, so OTLP or None make it throw.
var knownExporters = []string{"otlp", "none", "console", "logging", "logging-otlp", "zipkin", "jaeger", "prometheus"}

// knownExporter returns the known exporter name that name spells, ignoring case.
func knownExporter(name string) (string, bool) {
	for _, k := range knownExporters {
		if strings.EqualFold(name, k) {
			return k, true
		}
	}
	return "", false
}

// destination resolves the OTLP settings of one signal as OtlpConfigUtil does.
func (r *resolver) destination(s Signal) (Destination, error) {
	per := func(name string) string { return "otel.exporter.otlp." + string(s) + "." + name }
	gen := func(name string) string { return "otel.exporter.otlp." + name }
	d := Destination{Signal: s}

	d.Protocol = r.lookupEither(per("protocol"), gen("protocol"))
	if d.Protocol.Source == "" {
		d.Protocol = Value{Value: protocolHTTPProtobuf, Source: r.defaultSrc, Key: gen("protocol")}
		if r.v1 {
			d.Protocol.Value = protocolGRPC
		}
	}
	if p := d.Protocol.Value; p != protocolGRPC && p != protocolHTTPProtobuf {
		return d, fmt.Errorf("%s: the java agent supports only \"grpc\" and \"http/protobuf\"; with anything else its sdk refuses to start and nothing is exported", d.Protocol.describe())
	}
	httpProto := d.Protocol.Value == protocolHTTPProtobuf

	if v, ok := r.lookup(per("endpoint")); ok {
		e, err := r.endpoint(v, httpProto)
		if err != nil {
			return d, err
		}
		if e.path == "" {
			e.path = "/"
		}
		if httpProto && e.path == "/" {
			r.warn("%s is used as is, so %s go to path \"/\": the collector serves them on \"/v1/%s\"", v.describe(), s, s)
		}
		d.Endpoint = Value{Value: e.String(), Source: v.Source, Key: v.Key}
	} else if v, ok := r.lookup(gen("endpoint")); ok {
		e, err := r.endpoint(v, httpProto)
		if err != nil {
			return d, err
		}
		if httpProto {
			for _, sig := range []Signal{Traces, Metrics, Logs} {
				if strings.HasSuffix(strings.TrimSuffix(e.path, "/"), "/v1/"+string(sig)) {
					r.warn("%s already ends in \"/v1/%s\": the agent appends \"/v1/<signal>\" to the generic endpoint; set otel.exporter.otlp.%s.endpoint for a full url", v.describe(), sig, sig)
				}
			}
			if !strings.HasSuffix(e.path, "/") {
				e.path += "/"
			}
			e.path += "v1/" + string(s)
			if strings.HasPrefix(e.path, "//") {
				// OtlpConfigUtil resolves the path with new URL(endpoint, path): a path starting
				// with "//" is a network-path reference, so what follows "//" is the host.
				ne, err := parseEndpoint(e.scheme + ":" + e.path)
				if err != nil {
					return d, fmt.Errorf("%s has a path starting with \"//\": the agent appends \"v1/%s\" and reads %q as a url naming a host, which is invalid (%s); remove the extra \"/\"", v.describe(), s, redact.URL(e.scheme+":"+e.path), redact.Problem(e.scheme+":"+e.path, err.Error()))
				}
				r.warn("%s has a path starting with \"//\": the agent appends \"v1/%s\" and reads %q as a host name, so %s go to %q; remove the extra \"/\"", v.describe(), s, redact.URL(strings.TrimPrefix(e.path, "//")), s, redact.URL(ne.String()))
				e = ne
			}
		}
		d.Endpoint = Value{Value: e.String(), Source: v.Source, Key: v.Key}
	} else {
		u := "http://localhost:4317"
		if httpProto {
			u = "http://localhost:4318/v1/" + string(s)
		}
		d.Endpoint = Value{Value: u, Source: r.defaultSrc, Key: gen("endpoint")}
	}

	for _, k := range []string{per("headers"), gen("headers")} {
		v, ok := r.lookup(k)
		if !ok {
			continue
		}
		lines, err := parseHeaders(v.Value)
		if err != nil {
			return d, fmt.Errorf("%s: %w", v.describeKey(), err)
		}
		if len(lines) > 0 {
			d.Headers = v
			break
		}
	}

	for _, k := range []string{per("timeout"), gen("timeout")} {
		if v, ok := r.lookup(k); ok && v.Value != "" {
			if !validDuration(v.Value) {
				return d, fmt.Errorf("%s: not a duration (milliseconds, or a number with unit ns, us, ms, s, m, h or d): the java sdk refuses to start", v.describe())
			}
			d.Timeout = v
			break
		}
	}

	d.CACert = r.lookupEither(per("certificate"), gen("certificate"))
	d.ClientCert = r.lookupEither(per("client.certificate"), gen("client.certificate"))
	d.ClientKey = r.lookupEither(per("client.key"), gen("client.key"))
	switch {
	case d.ClientKey.Source != "" && d.ClientCert.Source == "":
		return d, fmt.Errorf("%s is set but no client certificate (%s): the java sdk refuses to start", d.ClientKey.describeKey(), gen("client.certificate"))
	case d.ClientCert.Source != "" && d.ClientKey.Source == "":
		return d, fmt.Errorf("%s is set but no client key (%s): the java sdk refuses to start", d.ClientCert.describeKey(), gen("client.key"))
	}
	for _, v := range []Value{d.CACert, d.ClientCert, d.ClientKey} {
		if err := r.checkFile(v); err != nil {
			return d, err
		}
	}
	return d, nil
}

// endpoint parses and checks an endpoint setting as OtlpConfigUtil.validateEndpoint does.
func (r *resolver) endpoint(v Value, httpProto bool) (endpoint, error) {
	e, err := parseEndpoint(v.Value)
	if err != nil {
		return e, fmt.Errorf("%s: %s", v.describe(), redact.Problem(v.Value, err.Error()))
	}
	if !httpProto && e.path != "" && e.path != "/" {
		return e, fmt.Errorf("%s: a grpc endpoint must not have a path (%q): the java sdk refuses to start; use http/protobuf for a path", v.describe(), e.path)
	}
	switch {
	case httpProto && e.port == 4317:
		r.warn("%s uses port 4317 with protocol \"http/protobuf\": otlp/http is usually on port 4318", v.describe())
	case !httpProto && e.port == 4318:
		r.warn("%s uses port 4318 with protocol \"grpc\": otlp/grpc is usually on port 4317", v.describe())
	}
	return e, nil
}

// checkFile checks that a certificate or key file named by v can be read, which opening alone
// doesn't tell of a directory: the SDK reads it at start-up and refuses to start without it.
func (r *resolver) checkFile(v Value) error {
	if v.Source == "" || r.in.Open == nil {
		return nil
	}
	f, err := r.in.Open(v.Value)
	if err == nil {
		_, err = f.Read(make([]byte, 1))
		f.Close()
		if err == io.EOF {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w: the java sdk refuses to start", v.describe(), err)
	}
	return nil
}

// insecureWarnings flags OTEL_EXPORTER_OTLP_INSECURE and its per-signal forms, which Java lacks.
func (r *resolver) insecureWarnings() {
	for _, k := range []string{"otel.exporter.otlp.insecure", "otel.exporter.otlp.traces.insecure", "otel.exporter.otlp.metrics.insecure", "otel.exporter.otlp.logs.insecure"} {
		if v, ok := r.lookup(k); ok {
			r.warn("%s is not read by the java agent: tls follows the endpoint scheme (http:// or https://)", v.describeKey())
		}
	}
}

// describe renders a value for messages: key="value" (source), with what a URL may hold in
// secret redacted (redact.URL).
func (v Value) describe() string {
	val := redact.URL(v.Value)
	if v.Source == Source("env "+v.Key) {
		return fmt.Sprintf("%s=%q (env)", v.Key, val)
	}
	return fmt.Sprintf("%s=%q (%s)", v.Key, val, v.Source)
}

// describeKey renders a setting without its value, for secrets and long values.
func (v Value) describeKey() string {
	if v.Source == Source("env "+v.Key) {
		return v.Key + " (env)"
	}
	return fmt.Sprintf("%s (%s)", v.Key, v.Source)
}
