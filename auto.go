package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/otelwait/otelwait/exec"
	"github.com/otelwait/otelwait/internal/redact"
	"github.com/otelwait/otelwait/otelconf"
	"github.com/otelwait/otelwait/probe"
)

// autoTargets works out, as the OpenTelemetry Java agent will, where each
// signal is exported, and returns one OTLP target per distinct request.
// TLS files and headers from the agent's configuration come first; the
// command line's fill in what it leaves unset (a CA the JVM trusts through
// its own trust store, say).
func autoTargets(env, command []string, cli probe.OTLPOptions) (otelconf.Plan, []probe.Checker, error) {
	// Checked here, so that a mistake in them is blamed on them, not on an
	// endpoint; header problems in the agent's settings are reported by
	// Resolve, naming the setting.
	if _, _, err := probe.ParseHeaders(cli.Header); err != nil {
		return otelconf.Plan{}, nil, fmt.Errorf("--http-header: %w", err)
	}
	plan, err := otelconf.Resolve(otelconf.Input{
		Env:  env,
		Args: command,
		Open: func(name string) (fs.File, error) { return os.Open(name) },
		// exec keeps the user, so the JVM's is otelwait's.
		Home: func() (string, error) {
			u, err := user.Current()
			if err != nil {
				return "", err
			}
			return u.HomeDir, nil
		},
	})
	if err != nil {
		return plan, nil, &refusal{&probe.HintError{
			Err:  fmt.Errorf("java agent configuration: %w", err),
			Hint: "the agent would export nothing: fix its configuration, or give otelwait targets explicitly (see otelwait --explain)",
		}}
	}
	if plan.Declarative.Source != "" {
		return plan, nil, &refusal{&probe.HintError{
			Err:  fmt.Errorf("%s is set (%s): the agent takes its endpoints from that file, which otelwait does not read", plan.Declarative.Key, plan.Declarative.Source),
			Hint: "give the targets explicitly, e.g. --otlp http://localhost:4318",
		}}
	}
	if plan.Disabled.Source != "" {
		return plan, nil, nil
	}
	var targets []probe.Checker
	seen := map[string]bool{}
	for _, d := range plan.Destinations {
		if seen[d.Key()] {
			continue
		}
		seen[d.Key()] = true
		opt := probe.OTLPOptions{
			Header: append(d.HeaderLines(), cli.Header...),
			TLS:    cli.TLS,
		}
		opt.TLS.CAFile = or(d.CACert.Value, cli.TLS.CAFile)
		if d.ClientCert.Value != "" {
			opt.TLS.CertFile, opt.TLS.KeyFile = d.ClientCert.Value, d.ClientKey.Value
		}
		t, err := probe.NewOTLPEndpoint(d.Protocol.Value, d.Endpoint.Value, string(d.Signal), opt)
		if err != nil {
			return plan, nil, fmt.Errorf("%s endpoint %q (%s): %w", d.Signal, redact.URL(d.Endpoint.Value), d.Endpoint.Source, err)
		}
		targets = append(targets, t)
	}
	return plan, targets, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// nothingToWaitFor says why an auto plan has no targets, or "".
func nothingToWaitFor(p *otelconf.Plan) string {
	switch {
	case p.Disabled.Source != "":
		return fmt.Sprintf("the agent exports nothing: %s=%q (%s)", p.Disabled.Key, p.Disabled.Value, p.Disabled.Source)
	case len(p.Destinations) == 0:
		return "no signal is exported over OTLP"
	}
	return ""
}

// refusal is auto mode declining to guess where the agent exports: the
// agent rejects its configuration, or takes it from a declarative file
// otelwait doesn't read. --explain shows it beside what was resolved;
// otherwise it is a usage error.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// explain prints the plan: every target and, in auto mode, every setting
// with where it came from. Header values, URL passwords and query values are
// redacted.
func explain(w io.Writer, c *cli) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer func() { _ = tw.Flush() }()
	if p := c.plan; p != nil {
		fmt.Fprintln(tw, "auto mode: no targets given, so otelwait waits where the OpenTelemetry Java agent will export")
		if p.Defaults != "" {
			fmt.Fprintf(tw, "defaults:\t%s\n", p.Defaults)
		}
		if p.AgentVersion.Source != "" {
			fmt.Fprintf(tw, "agent:\t%s\t%s\n", p.AgentVersion.Value, p.AgentVersion.Source)
		}
		if c.refused != nil {
			fmt.Fprintf(tw, "refused:\t%v\n", c.refused)
		} else if why := nothingToWaitFor(p); why != "" {
			fmt.Fprintf(tw, "nothing to wait for:\t%s\n", why)
		}
		for _, d := range p.Destinations {
			fmt.Fprintf(tw, "\n%s\tover OTLP\n", d.Signal)
			row := func(name string, v otelconf.Value) {
				if v.Source != "" {
					fmt.Fprintf(tw, "  %s\t%s\t%s\n", name, redact.URL(v.Value), v.Source)
				}
			}
			row("protocol", d.Protocol)
			row("endpoint", d.Endpoint)
			row("ca file", d.CACert)
			row("client cert", d.ClientCert)
			row("client key", d.ClientKey)
			if d.Headers.Source != "" {
				fmt.Fprintf(tw, "  headers\t%s\t%s\n", otelconf.Redact(d.Headers.Value), d.Headers.Source)
			}
		}
		for _, s := range p.Skipped {
			fmt.Fprintf(tw, "\n%s\tnot over OTLP: exporters %q\t%s\n", s.Signal, s.Exporters.Value, or(string(s.Exporters.Source), "default"))
		}
		for _, warn := range p.Warnings {
			fmt.Fprintf(tw, "\nwarning:\t%s\n", warn)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "targets:")
	if len(c.targets) == 0 {
		fmt.Fprintln(tw, "  none")
	}
	for _, t := range c.targets {
		fmt.Fprintf(tw, "  --%s\t%s\n", strings.SplitN(probe.Proto(t), "/", 2)[0], t)
	}
	if len(c.Command) > 0 {
		if cmd, err := exec.Resolve(c.Command, exec.SearchPath(os.LookupEnv("PATH"))); err != nil {
			fmt.Fprintf(tw, "command:\t%v\n", err)
		} else {
			fmt.Fprintf(tw, "command:\t%s\n", cmd.Path)
		}
	}
}
