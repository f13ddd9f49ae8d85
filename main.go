// Command otelwait waits until the OpenTelemetry Collector a program sends
// to is ready, then execs the program unchanged.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	stdlog "log"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/otelwait/otelwait/exec"
	"github.com/otelwait/otelwait/otelconf"
	"github.com/otelwait/otelwait/probe"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

// Exit codes. Anything else is the command's own: otelwait becomes it.
const (
	exitOK          = 0
	exitCheckFailed = 1   // --check: a target is not ready
	exitUsage       = 2   // bad flags or targets
	exitTimeout     = 124 // the timeout passed before every target was ready
	exitNotExec     = 126 // the command exists but can't be executed
	exitNotFound    = 127 // the command doesn't exist
	exitSignal      = 128 // + the signal's number, when stopped by SIGINT or SIGTERM
)

const description = `Wait until every target is ready, then exec COMMAND in place of otelwait:
same PID, argv exactly as given, environment and stdin/stdout/stderr untouched.
Without COMMAND, exit 0 once ready.

Examples:
  otelwait -- java -javaagent:/otel.jar -jar /app.jar     (auto: where the agent exports)
  otelwait --otlp http://localhost:4318 -- java -javaagent:/otel.jar -jar /app.jar
  otelwait --http http://localhost:13133/ --grpc localhost:13132/traces -- ./server
  otelwait --tcp db:5432 --timeout 2m && ./run-tests
  otelwait --check --http http://localhost:13133/      (one attempt: a HEALTHCHECK)

Exit codes: 0 ready (or the command's own code), 1 --check failed, 2 usage,
124 timed out, 126 command not executable, 127 command not found,
128+n stopped by signal n.`

// cli is otelwait's command line. Every option can also be set from the
// environment variable named in its env tag. A target option's value, on
// the command line or in its variable, holds one target or several
// separated by commas (see splitList); headers are one per line in their
// variable.
type cli struct {
	TCP  []string `name:"tcp" placeholder:"HOST:PORT" type:"list" env:"OTELWAIT_TCP" group:"Targets (repeatable; all must be ready)" help:"Ready when a TCP connection is accepted."`
	GRPC []string `name:"grpc" placeholder:"[grpc[s]://]HOST:PORT[/SERVICE]" type:"list" env:"OTELWAIT_GRPC" group:"Targets (repeatable; all must be ready)" help:"Ready when grpc.health.v1 reports SERVICE (default: the whole server) SERVING; grpcs uses TLS."`
	HTTP []string `name:"http" placeholder:"URL" type:"urls" env:"OTELWAIT_HTTP" group:"Targets (repeatable; all must be ready)" help:"Ready when a GET answers with an accepted status (2xx by default; never 503)."`
	OTLP []string `name:"otlp" placeholder:"URL" type:"urls" env:"OTELWAIT_OTLP" group:"Targets (repeatable; all must be ready)" help:"Ready when the OTLP receiver accepts an empty export: http[s]://HOST:PORT[/v1/SIGNAL] for OTLP/HTTP, grpc[s]://HOST:PORT[/SIGNAL] for OTLP/gRPC. With no targets at all, otelwait waits where the Java agent will export (see --explain)."`

	HTTPStatus string   `name:"http-status" default:"200-299" placeholder:"CODES" env:"OTELWAIT_HTTP_STATUS" group:"HTTP and OTLP" help:"Statuses that mean ready for --http: codes and ranges, e.g. 200-299,301."`
	Header     []string `name:"http-header" placeholder:"'NAME: VALUE'" sep:"none" env:"OTELWAIT_HTTP_HEADER" group:"HTTP and OTLP" help:"Header sent with every --http and --otlp probe (gRPC metadata for OTLP/gRPC); repeatable (one per line in the environment variable)."`

	CAFile     string `name:"ca-file" placeholder:"FILE" type:"pemfile" env:"OTELWAIT_CA_FILE" group:"TLS (https, grpcs targets)" help:"PEM CA bundle that replaces the system roots."`
	CertFile   string `name:"cert-file" placeholder:"FILE" type:"pemfile" env:"OTELWAIT_CERT_FILE" group:"TLS (https, grpcs targets)" help:"Client certificate (PEM), with --key-file."`
	KeyFile    string `name:"key-file" placeholder:"FILE" type:"pemfile" env:"OTELWAIT_KEY_FILE" group:"TLS (https, grpcs targets)" help:"Client private key (PEM), with --cert-file."`
	ServerName string `name:"tls-server-name" placeholder:"NAME" env:"OTELWAIT_TLS_SERVER_NAME" group:"TLS (https, grpcs targets)" help:"Name to verify in the server's certificate."`
	Insecure   bool   `name:"tls-insecure-skip-verify" env:"OTELWAIT_TLS_INSECURE_SKIP_VERIFY" group:"TLS (https, grpcs targets)" help:"Don't verify the server's certificate (logged as a warning)."`

	Timeout        time.Duration `name:"timeout" default:"60s" env:"OTELWAIT_TIMEOUT" group:"Waiting" help:"Give up after this long (exit 124); 0 waits forever."`
	AttemptTimeout time.Duration `name:"attempt-timeout" default:"2s" env:"OTELWAIT_ATTEMPT_TIMEOUT" group:"Waiting" help:"Bound on one attempt (never longer than --timeout)."`
	Interval       time.Duration `name:"interval" default:"40ms" env:"OTELWAIT_INTERVAL" group:"Waiting" help:"Time from the start of one attempt to the next for the first 3s of the wait (the first such delay stretched by a random part of itself: a phase of the wait's own)."`
	MaxInterval    time.Duration `name:"max-interval" default:"300ms" env:"OTELWAIT_MAX_INTERVAL" group:"Waiting" help:"The delay then grows by half per attempt up to this or --interval, whichever is longer (plus up to 10% jitter; the first delay at this is stretched by the wait's phase, up to 100%)."`
	FailOpen       bool          `name:"fail-open" env:"OTELWAIT_FAIL_OPEN" group:"Waiting" help:"On timeout, warn and start COMMAND anyway (exit 0 without one); no effect with --check."`
	Check          bool          `name:"check" env:"OTELWAIT_CHECK" group:"Waiting" help:"Try each target once and exit 0 if all are ready, 1 if not (for HEALTHCHECK); takes no COMMAND."`

	Install *string `name:"install" placeholder:"PATH" help:"Copy this binary to PATH (into it, if a directory) and exit: for an initContainer that shares otelwait with the app through an emptyDir."`
	Explain bool    `name:"explain" env:"OTELWAIT_EXPLAIN" help:"Print what otelwait would wait for, and where each setting came from, then exit 0."`

	LogLevel  string      `name:"log-level" default:"info" enum:"debug,info,warn,error" env:"OTELWAIT_LOG_LEVEL" help:"debug, info, warn or error."`
	LogFormat string      `name:"log-format" default:"auto" enum:"auto,console,json" env:"OTELWAIT_LOG_FORMAT" help:"auto (console on a terminal, JSON otherwise), console or json."`
	Version   versionFlag `name:"version" help:"Print the version and exit."`

	Command []string `arg:"" optional:"" passthrough:"partial" name:"command" help:"The command to exec once ready, with its arguments."`

	args    []string // the arguments, as given
	env     []string // the environment, as the command will get it
	targets []probe.Checker
	plan    *otelconf.Plan // with no targets given: where the Java agent will export
	refused error          // with plan, for --explain: why otelwait won't wait there (a *refusal)
}

// Validate strips the command's leading "--", checks options against each
// other and parses every target, so bad input is a usage error before any
// waiting starts.
func (c *cli) Validate() error {
	// kong hands over the command with invalid UTF-8 replaced; the
	// command is the tail of the arguments, so take it from there, byte for
	// byte.
	if n := len(c.Command); n > 0 && n <= len(c.args) {
		c.Command = c.args[len(c.args)-n:]
	}
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	if c.Install != nil {
		if *c.Install == "" {
			return &probe.HintError{Err: errors.New("--install: empty path"), Hint: "name the file or directory to copy otelwait to, e.g. --install /opt/otelwait"}
		}
		if len(c.Command) > 0 || len(c.TCP)+len(c.GRPC)+len(c.HTTP)+len(c.OTLP) > 0 || c.Check || c.Explain {
			return errors.New("--install goes alone: no targets, command, --check or --explain")
		}
		return nil
	}
	if c.Timeout < 0 || c.AttemptTimeout <= 0 || c.Interval <= 0 || c.MaxInterval <= 0 {
		return errors.New("--timeout can't be negative; --attempt-timeout, --interval and --max-interval must be positive")
	}
	if c.Check && len(c.Command) > 0 {
		return &probe.HintError{
			Err:  errors.New("--check takes no command"),
			Hint: "use --check alone as a health check, or drop it to wait and then run the command",
		}
	}
	accept, err := probe.ParseStatusSet(c.HTTPStatus)
	if err != nil {
		return fmt.Errorf("--http-status: %w", err)
	}
	tls, err := probe.TLS{CAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile, ServerName: c.ServerName, InsecureSkipVerify: c.Insecure}.Load()
	if err != nil {
		return err
	}
	for _, o := range []struct {
		flag    string
		targets []string
	}{{"--tcp", c.TCP}, {"--grpc", c.GRPC}, {"--http", c.HTTP}, {"--otlp", c.OTLP}} {
		if err := checkEmpty(o.flag, o.targets); err != nil {
			return err
		}
	}
	for _, t := range c.TCP {
		p, err := probe.NewTCP(t)
		if err != nil {
			return fmt.Errorf("--tcp: %w", err)
		}
		c.targets = append(c.targets, p)
	}
	for _, t := range c.GRPC {
		p, err := probe.NewGRPC(t, tls)
		if err != nil {
			return fmt.Errorf("--grpc: %w", err)
		}
		c.targets = append(c.targets, p)
	}
	for _, t := range c.HTTP {
		p, err := probe.NewHTTP(t, probe.HTTPOptions{Header: c.Header, Accept: accept, TLS: tls})
		if err != nil {
			return fmt.Errorf("--http: %w", err)
		}
		c.targets = append(c.targets, p)
	}
	for _, t := range c.OTLP {
		p, err := probe.NewOTLP(t, probe.OTLPOptions{Header: c.Header, TLS: tls})
		if err != nil {
			return fmt.Errorf("--otlp: %w", err)
		}
		c.targets = append(c.targets, p)
	}
	if len(c.targets) > 0 {
		return nil
	}
	plan, targets, err := autoTargets(c.env, c.Command, probe.OTLPOptions{Header: c.Header, TLS: tls})
	if _, ok := errors.AsType[*refusal](err); ok && c.Explain {
		c.plan, c.refused = &plan, err
		return nil
	}
	if err != nil {
		return err
	}
	c.plan, c.targets = &plan, targets
	return nil
}

func main() {
	// otelwait waits on sockets and timers; one P spares the wake-ups of
	// an idle second one (a third of the CPU of a long wait, measured),
	// unless the environment asks for more.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	// The command gets the environment exactly as otelwait got it.
	env := os.Environ()
	unsetEmpty(env)
	os.Exit(run(os.Args[1:], env, os.Stdout, os.Stderr))
}

// unsetEmpty unsets the empty OTELWAIT_ variables in otelwait's own
// environment (not the command's), so that, as the OpenTelemetry
// specification has it for OTEL_ variables, an empty value means unset:
// Kubernetes manifests often set value: "".
func unsetEmpty(env []string) {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); v == "" && strings.HasPrefix(k, "OTELWAIT_") {
			_ = os.Unsetenv(k)
		}
	}
}

// versionFlag prints the version and exits 0 before anything else is
// looked at, as kong.VersionFlag does, without a kong variable: every
// variable is interpolated into every flag's strings on every start.
type versionFlag bool

// BeforeReset is kong's hook.
func (versionFlag) BeforeReset(app *kong.Kong) error {
	fmt.Fprintln(app.Stdout, versionString())
	app.Exit(0)
	return nil
}

// newParser builds kong's model of the command line, filled into c. It
// passes kong no variables: each one costs a regular expression match per
// flag on every start, so defaults and help are written out (and
// TestDefaultsMatchBackoff keeps them true).
func newParser(c *cli, stdout, stderr io.Writer) *kong.Kong {
	parser, err := kong.New(c,
		kong.Name("otelwait"),
		kong.Description(description),
		kong.Writers(stdout, stderr),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Help(help),
		kong.NamedMapper("list", listMapper(false)),
		kong.NamedMapper("urls", listMapper(true)),
		kong.NamedMapper("pemfile", kong.MapperFunc(pemFileMapper)),
	)
	if err != nil {
		panic(err) // the struct is wrong: a bug, not input
	}
	return parser
}

// help is kong's help with the usage line in the order otelwait reads its
// arguments: kong puts [flags] last, but flags after the command are the
// command's.
func help(o kong.HelpOptions, ctx *kong.Context) error {
	var b strings.Builder
	out := ctx.Stdout
	ctx.Stdout = &b
	err := kong.DefaultHelpPrinter(o, ctx)
	ctx.Stdout = out
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, strings.Replace(b.String(), " [<command> ...] [flags]", " [flags] [--] [<command> ...]", 1))
	return err
}

// listMapper parses a target option's value into its targets (see
// splitList), appending them: the option may also be repeated.
func listMapper(urls bool) kong.MapperFunc {
	return func(ctx *kong.DecodeContext, target reflect.Value) error {
		var s string
		if err := ctx.Scan.PopValueInto("targets", &s); err != nil {
			return err
		}
		for _, it := range splitList(s, urls) {
			target.Set(reflect.Append(target, reflect.ValueOf(it)))
		}
		return nil
	}
}

// pemFileMapper takes the path of an existing file, as kong's existingfile
// does (a leading ~ is the home directory), but refuses an empty one, which
// existingfile would take for the current directory: --ca-file "$CA" with
// CA unset.
func pemFileMapper(ctx *kong.DecodeContext, target reflect.Value) error {
	var s string
	if err := ctx.Scan.PopValueInto("file", &s); err != nil {
		return err
	}
	if s != "" {
		s = kong.ExpandPath(s)
	}
	switch fi, err := os.Stat(s); {
	case s == "":
		return &probe.HintError{Err: errors.New("empty path"), Hint: "is a variable unset? name a PEM file"}
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%q does not exist", s)
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%q is a directory", s)
	}
	target.SetString(s)
	return nil
}

// splitList splits one value of a target option into targets: commas
// separate them and spaces around them don't count, as in
// OTELWAIT_TCP="db:5432, cache:6379". In a list of URLs, a comma separates
// only where the next URL begins (",http://…") or at the end, so a comma inside a URL,
// as in ?a=1,2, needs no escaping; elsewhere "\," is a comma that
// separates nothing. Empty targets are kept, for Validate to refuse: kong
// would quote the whole value of a variable in a mapper's error, and a URL
// may hold a secret.
func splitList(s string, urls bool) []string {
	var items []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ',':
			b.WriteByte(',')
			i++
		case s[i] == ',' && (!urls || startsURL(s[i+1:]) || strings.TrimSpace(s[i+1:]) == ""):
			items = append(items, b.String())
			b.Reset()
		default:
			b.WriteByte(s[i])
		}
	}
	items = append(items, b.String())
	for i, it := range items {
		items[i] = strings.TrimSpace(it)
	}
	return items
}

// checkEmpty refuses an empty target: --tcp "$ADDR" with ADDR unset must
// not quietly turn into auto mode, nor "a,,b" into two targets.
func checkEmpty(flag string, targets []string) error {
	switch {
	case !slices.Contains(targets, ""):
		return nil
	case len(targets) == 1:
		return &probe.HintError{
			Err:  fmt.Errorf("%s: empty target", flag),
			Hint: fmt.Sprintf(`is a variable unset, as in %s "$ADDR"? with no targets at all, otelwait waits where the Java agent exports`, flag),
		}
	}
	return &probe.HintError{
		Err:  fmt.Errorf("%s: empty target in a list", flag),
		Hint: "two commas in a row, or one at the end?",
	}
}

// startsURL reports whether s, after spaces, begins with a URL scheme (a
// letter, then letters, digits, "+", "-" or ".") and "://".
func startsURL(s string) bool {
	scheme, _, ok := strings.Cut(strings.TrimLeft(s, " \t\r\n"), "://")
	if !ok || scheme == "" {
		return false
	}
	for i, c := range []byte(scheme) {
		letter := 'a' <= c|0x20 && c|0x20 <= 'z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// run is otelwait; it returns the exit code, unless it execs the command
// with env.
func run(args, env []string, stdout, stderr io.Writer) int {
	// First, so that a signal is never met by the Go runtime's own answer
	// (exit 2, or a goroutine dump): not while parsing either. Until the
	// wait starts, a signal ends otelwait at once: nothing before it looks
	// for one, and reading a file (a FIFO named as a certificate) may block.
	ctx, sig := withSignals(context.Background(), func(s os.Signal) {
		fmt.Fprintf(stderr, "otelwait: stopped: %v\n", s)
		os.Exit(exitSignal + int(s.(syscall.Signal)))
	})
	defer sig.stop()
	c := cli{env: env, args: args}
	parser := newParser(&c, stdout, stderr)
	if _, err := parser.Parse(args); err != nil {
		return usage(stderr, err)
	}
	var err error
	if c.Install != nil {
		path, err := exec.InstallSelf(*c.Install)
		if errors.Is(err, exec.ErrInstallDir) {
			err = &probe.HintError{Err: err, Hint: "the directory must exist and be writable: in Kubernetes, an emptyDir the initContainer mounts there"}
		}
		if err != nil {
			return usage(stderr, err)
		}
		fmt.Fprintf(stderr, "otelwait: installed %s\n", path)
		return exitOK
	}
	if c.Explain {
		explain(stdout, &c)
		return exitOK
	}
	log := newLogger(stderr, c.LogLevel, c.LogFormat)
	if c.Insecure {
		log.Warn().Msg("TLS certificates are not verified (--tls-insecure-skip-verify)")
	}
	if p := c.plan; p != nil {
		for _, w := range p.Warnings {
			log.Warn().Str("problem", w).Msg("java agent configuration")
		}
		if why := nothingToWaitFor(p); why != "" {
			log.Info().Str("reason", why).Msg("nothing to wait for")
		} else {
			log.Info().Str("defaults", p.Defaults).Msg("auto mode")
		}
	}

	var cmd exec.Cmd
	if len(c.Command) > 0 {
		if cmd, err = exec.Resolve(c.Command, exec.SearchPath(os.LookupEnv("PATH"))); err != nil {
			fmt.Fprintf(stderr, "otelwait: %v\n", err)
			if h := exec.Hint(err); h != "" {
				fmt.Fprintf(stderr, "otelwait: hint: %s\n", h)
			}
			if errors.Is(err, exec.ErrNotFound) {
				return exitNotFound
			}
			return exitNotExec
		}
	}

	ctx, cancel := withTimeout(ctx, c.Timeout)
	defer cancel()

	backoff := probe.DefaultBackoff
	// The delay never shrinks: --interval 500ms alone is a schedule of
	// 500ms, not a conflict with the default --max-interval.
	backoff.Initial, backoff.Max = c.Interval, max(c.MaxInterval, c.Interval)
	opt := probe.Options{
		Backoff:        backoff,
		AttemptTimeout: c.AttemptTimeout,
		Log:            log,
	}
	if c.Timeout > 0 {
		opt.AttemptTimeout = min(opt.AttemptTimeout, c.Timeout)
	}
	if c.Check {
		opt.Attempts = 1
	}
	start := time.Now()
	switch {
	case c.Check:
		// One attempt each: --timeout bounds nothing but that attempt.
		log.Info().Strs("targets", names(c.targets)).Dur("attempt_timeout", opt.AttemptTimeout).Msg("checking")
	case len(c.targets) > 0:
		log.Info().Strs("targets", names(c.targets)).Dur("timeout", c.Timeout).Msg("waiting")
	}
	sig.handOver()
	err = probe.Wait(ctx, c.targets, opt)
	if s := sig.received(); s != nil {
		log.Warn().Str("signal", s.String()).Dur("elapsed", probe.Since(start)).Msg("stopped")
		return exitSignal + int(s.(syscall.Signal))
	}
	if err != nil {
		var werr *probe.WaitError
		if !errors.As(err, &werr) {
			panic(err) // Wait returns nothing else
		}
		for _, n := range werr.NotReady {
			ev := log.Error().Str("target", n.Target.String()).Str("proto", probe.Proto(n.Target)).Int("attempts", n.Attempts).Err(n.Err)
			if h := probe.Hint(n.Err); h != "" {
				ev = ev.Str("hint", h)
			}
			ev.Msg("not ready")
		}
		if c.Check {
			return exitCheckFailed
		}
		log.Error().Int("not_ready", len(werr.NotReady)).Int("targets", len(c.targets)).Dur("elapsed", probe.Since(start)).Msg("timed out")
		if !c.FailOpen {
			return exitTimeout
		}
		log.Warn().Msg("STARTING ANYWAY (--fail-open): telemetry sent before the targets are ready may be lost")
	}
	if len(cmd.Args) == 0 {
		return exitOK
	}
	log.Info().Str("cmd", cmd.Path).Int("args", len(cmd.Args)-1).Dur("elapsed", probe.Since(start)).Msg("exec")
	sig.stop()
	if s := sig.received(); s != nil {
		return exitSignal + int(s.(syscall.Signal))
	}
	err = cmd.Exec(env)
	fmt.Fprintf(stderr, "otelwait: %v\n", err)
	if errors.Is(err, exec.ErrNotFound) {
		return exitNotFound
	}
	return exitNotExec
}

// usage prints a parse or validation error as one line, with a hint line
// when there is one, and returns the usage exit code.
func usage(w io.Writer, err error) int {
	fmt.Fprintf(w, "otelwait: %v\n", err)
	if h := probe.Hint(err); h != "" {
		fmt.Fprintf(w, "otelwait: hint: %s\n", h)
	} else {
		fmt.Fprintln(w, "otelwait: hint: see otelwait --help")
	}
	return exitUsage
}

// signals turns SIGINT, SIGTERM, SIGQUIT and SIGHUP into a call of early,
// until handOver, and then into the cancellation of a context, remembering
// the first one received.
type signals struct {
	ch       chan os.Signal
	first    chan os.Signal
	stopFn   func()
	handedTo atomic.Bool // the wait: a signal cancels the context
}

func withSignals(parent context.Context, early func(os.Signal)) (context.Context, *signals) {
	ctx, cancel := context.WithCancelCause(parent)
	s := &signals{ch: make(chan os.Signal, 1), first: make(chan os.Signal, 1)}
	// SIGQUIT and SIGHUP too: the Go runtime's own answer, a goroutine dump
	// and exit 2 for SIGQUIT, and for SIGHUP exit 2 as PID 1 (the kernel
	// drops the signal the runtime raises again to die of it), would read
	// as a usage error. A signal the parent ignored (SIGINT in a script's
	// background job, SIGHUP under nohup) stays ignored.
	sigs := slices.DeleteFunc([]os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP}, signal.Ignored)
	signal.Notify(s.ch, sigs...)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case v := <-s.ch:
			if !s.handedTo.Load() {
				early(v)
			}
			s.first <- v
			cancel(fmt.Errorf("received %v", v))
		case <-done:
		}
	}()
	s.stopFn = func() {
		// Stop disables what Notify enabled once every signal already
		// caught has reached s.ch (signal.Reset would only disable them
		// again, a round trip each to the runtime's signal thread). One
		// the goroutine left there, choosing done, is taken here.
		signal.Stop(s.ch)
		close(done)
		<-exited
		select {
		case v := <-s.ch:
			select {
			case s.first <- v: // the first, unless the goroutine took one
			default:
			}
		default:
		}
		cancel(nil)
	}
	return ctx, s
}

// handOver makes a signal from now on cancel the context, for the wait to
// end, rather than call early.
func (s *signals) handOver() { s.handedTo.Store(true) }

// received returns the signal that stopped the wait, or nil.
func (s *signals) received() os.Signal {
	select {
	case v := <-s.first:
		s.first <- v
		return v
	default:
		return nil
	}
}

// stop gives SIGINT, SIGTERM, SIGQUIT and SIGHUP back the handling
// otelwait started with, as the command will have it after exec; it may be
// called more than once.
func (s *signals) stop() {
	if s.stopFn != nil {
		s.stopFn()
		s.stopFn = nil
	}
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func newLogger(w io.Writer, level, format string) zerolog.Logger {
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "console"
		}
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	// UTC: the same in every container, and no time zone file to load.
	zerolog.TimestampFunc = func() time.Time { return time.Now().UTC() }
	zerolog.DurationFieldFormat = zerolog.DurationFormatString
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	log := zerolog.New(w).Level(lvl).With().Timestamp().Str("logger", "otelwait").Logger()
	// net/http reports oddities of a server through the standard logger
	// (an HTTP/2 server answering an HTTP/1 probe, say): keep them in the
	// log's format, at debug level, since the probe's error already says it.
	stdlog.SetFlags(0)
	stdlog.SetOutput(debugWriter{log})
	return log
}

// debugWriter logs each write at debug level.
type debugWriter struct{ log zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Str("source", "go").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

func names(cs []probe.Checker) []string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return s
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && !strings.HasPrefix(bi.Main.Version, "(") {
		return bi.Main.Version
	}
	return "(devel)"
}
