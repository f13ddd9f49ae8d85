package probe

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/otelwait/otelwait/internal/redact"
)

// Signals are the OTLP signals, each exported with its own request.
var Signals = []string{"traces", "metrics", "logs"}

// OTLP is ready when an OTLP receiver accepts an empty export for its
// signal: the very request an exporter makes, carrying no data, so nothing
// reaches the Collector's pipeline. Over gRPC that is an empty request to
// the signal service's Export method; over HTTP a POST of an empty
// application/x-protobuf body to the signal's path.
//
// Answers that waiting cannot fix are errors with a hint, marked Config:
// no pipeline for the signal (gRPC Unimplemented, HTTP 404), rejected
// credentials (Unauthenticated, PermissionDenied, 401, 403), a server
// that isn't OTLP (405, 415), a redirect (3xx, never followed).
type OTLP struct {
	display string
	signal  string

	// OTLP/gRPC
	conn *grpcClient
	md   http.Header // sent as metadata

	// OTLP/HTTP
	ep *httpEndpoint
}

// OTLPOptions are the settings of an OTLP target besides its address.
type OTLPOptions struct {
	Header []string // "Name: value", sent as HTTP headers or gRPC metadata
	TLS    TLS
}

// NewOTLP parses an --otlp URL. The scheme picks the protocol: grpc:// or
// grpcs:// (TLS) for OTLP/gRPC, whose path may name the signal (/traces,
// /metrics, /logs; traces when empty); http:// or https:// for
// OTLP/HTTP, posted to the URL's path (/v1/traces when empty), as an
// exporter does with a per-signal endpoint. A grpc:// target takes no
// user:password, query or fragment: credentials go in headers.
func NewOTLP(raw string, opt OTLPOptions) (c *OTLP, err error) {
	defer func() { err = hide(raw, err) }()
	shown := redact.URL(raw)
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || !validScheme(scheme) {
		return nil, &HintError{
			Err:  fmt.Errorf("otlp target %q: want a URL", shown),
			Hint: "e.g. http://localhost:4318 for OTLP/HTTP or grpc://localhost:4317 for OTLP/gRPC",
		}
	}
	switch scheme {
	case "grpc", "grpcs":
		addr, signal, _ := strings.Cut(rest, "/")
		if extra := grpcExtra(rest); extra != "" {
			hint := `send credentials as gRPC metadata with --http-header, e.g. --http-header "Authorization: Bearer $TOKEN"`
			if extra == "fragment" {
				hint = "write grpc://HOST:PORT[/SIGNAL], or grpcs:// for TLS"
			}
			return nil, &HintError{
				Err:  fmt.Errorf("otlp target %q: grpc targets take no %s", shown, extra),
				Hint: hint,
			}
		}
		if _, _, err := splitHostPort(addr); err != nil {
			return nil, fmt.Errorf("otlp target %q: %w", shown, err)
		}
		if signal == "" {
			signal = "traces"
		}
		if !isSignal(signal) {
			return nil, &HintError{
				Err:  fmt.Errorf("otlp target %q: unknown signal %q", shown, signal),
				Hint: "the path of a grpc:// target names the signal: /traces, /metrics or /logs",
			}
		}
		endpoint := map[string]string{"grpc": "http", "grpcs": "https"}[scheme] + "://" + addr
		return newOTLP(raw, "grpc", endpoint, signal, opt)
	case "http", "https":
		u, err := url.Parse(raw)
		if err == nil && (u.Path == "" || u.Path == "/") && u.RawPath == "" {
			u.Path = "/v1/traces"
			raw = u.String()
		}
		return newOTLP("", "http/protobuf", raw, "", opt)
	}
	return nil, &HintError{
		Err:  fmt.Errorf("otlp target %q: unknown scheme %q", shown, scheme),
		Hint: "use http:// or https:// for OTLP/HTTP, grpc:// or grpcs:// for OTLP/gRPC",
	}
}

// NewOTLPEndpoint makes an OTLP target from an exporter's settings:
// protocol "grpc" or "http/protobuf", the endpoint URL as the exporter
// uses it (for http/protobuf the full per-signal URL), and the signal.
func NewOTLPEndpoint(protocol, endpoint, signal string, opt OTLPOptions) (c *OTLP, err error) {
	defer func() { err = hide(endpoint, err) }()
	return newOTLP("", protocol, endpoint, signal, opt)
}

func newOTLP(display, protocol, endpoint, signal string, opt OTLPOptions) (*OTLP, error) {
	u, port, err := parseHTTPURL(endpoint)
	if err != nil {
		return nil, fmt.Errorf("otlp target: %w", err)
	}
	c := &OTLP{display: display, signal: signal}
	switch protocol {
	case "grpc":
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			return nil, fmt.Errorf("otlp target %q: a grpc endpoint has no path or query", redactURL(u))
		}
		if !isSignal(signal) {
			return nil, fmt.Errorf("otlp target %q: unknown signal %q", redactURL(u), signal)
		}
		if c.md, _, err = ParseHeaders(opt.Header); err != nil {
			return nil, err
		}
		if c.conn, err = newGRPCClient(net.JoinHostPort(u.Hostname(), port), u.Scheme == "https", opt.TLS); err != nil {
			return nil, fmt.Errorf("otlp target %q: %w", redactURL(u), err)
		}
		c.conn.otlp = true
		if c.display == "" {
			c.display = map[string]string{"http": "grpc", "https": "grpcs"}[u.Scheme] + "://" + u.Host + "/" + signal
		}
	case "http/protobuf":
		if c.signal == "" {
			c.signal = signalOfPath(u.Path)
		}
		if c.ep, err = newHTTPEndpoint(u, opt.Header, opt.TLS, StatusSet{{200, 299}}, true); err != nil {
			return nil, fmt.Errorf("otlp target %q: %w", redactURL(u), err)
		}
		c.display = redactURL(u)
	default:
		return nil, fmt.Errorf("otlp protocol %q: want grpc or http/protobuf", protocol)
	}
	return c, nil
}

func isSignal(s string) bool {
	for _, sig := range Signals {
		if s == sig {
			return true
		}
	}
	return false
}

// signalOfPath names the signal an OTLP/HTTP path is for, if it says.
func signalOfPath(p string) string {
	for _, sig := range Signals {
		if strings.HasSuffix(p, "/v1/"+sig) {
			return sig
		}
	}
	return ""
}

func (c *OTLP) String() string { return c.display }

// Proto is "otlp/grpc" or "otlp/http".
func (c *OTLP) Proto() string {
	if c.conn != nil {
		return "otlp/grpc"
	}
	return "otlp/http"
}

// Check sends one empty export.
func (c *OTLP) Check(ctx context.Context) error {
	if c.conn != nil {
		return c.checkGRPC(ctx)
	}
	return c.checkHTTP(ctx)
}

// exportMethod is the full gRPC method an exporter calls for signal.
func exportMethod(signal string) string {
	service := map[string]string{"traces": "trace.v1.TraceService", "metrics": "metrics.v1.MetricsService", "logs": "logs.v1.LogsService"}[signal]
	return "/opentelemetry.proto.collector." + service + "/Export"
}

func (c *OTLP) checkGRPC(ctx context.Context) error {
	// An empty Export*ServiceRequest encodes to zero bytes; the response's
	// fields (a partial success) are ignored.
	_, err := c.conn.unary(ctx, exportMethod(c.signal), nil, c.md)
	switch grpcCode(err) {
	case codeOK:
		return nil
	case codeUnimplemented:
		hint := fmt.Sprintf("the Collector has no %s pipeline with an otlp receiver on this port, or this isn't an OTLP/gRPC port", c.signal)
		if c.conn.port != "4317" {
			hint += portHint(c.conn.port)
		}
		return &HintError{
			Err:    fmt.Errorf("otlp %s export not implemented by the server: %w", c.signal, err),
			Hint:   hint,
			Config: true,
		}
	case codeUnauthenticated, codePermissionDenied:
		return &HintError{Err: err, Hint: "the receiver rejects the credentials: check the headers (OTEL_EXPORTER_OTLP_HEADERS or --http-header)", Config: true}
	}
	return c.conn.transportHint(ctx, err)
}

func (c *OTLP) checkHTTP(ctx context.Context) error {
	code, header, body, err := c.ep.do(ctx, http.MethodPost, "application/x-protobuf")
	if err != nil || c.ep.accept.Contains(code) {
		return err
	}
	if code >= 300 && code < 400 {
		return c.redirected(code, header.Get("Location"))
	}
	err = statusHint(code, body)
	switch code {
	case http.StatusNotFound:
		what := "pipeline for this signal"
		if c.signal != "" {
			what = c.signal + " pipeline"
		}
		return &HintError{Err: err, Hint: "the Collector has no " + what + " with an otlp receiver on this port, or the path is wrong (the signal paths are /v1/traces, /v1/metrics, /v1/logs)", Config: true}
	case http.StatusUnauthorized, http.StatusForbidden:
		return &HintError{Err: err, Hint: "the receiver rejects the credentials: check the headers (OTEL_EXPORTER_OTLP_HEADERS or --http-header)", Config: true}
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		return &HintError{Err: err, Hint: "this is not an OTLP/HTTP receiver" + portHint(urlPort(c.ep.url)), Config: true}
	}
	return err
}

// redirected explains a redirect, which an OTLP/HTTP receiver never
// answers: exporters fail on it, or follow it with a GET that drops the
// data, and an auth proxy answers it with its login page. The body is left
// out: it repeats the location, unredacted.
func (c *OTLP) redirected(code int, location string) error {
	err := fmt.Errorf("status %d %s", code, http.StatusText(code))
	hint := "the endpoint redirects"
	if location != "" {
		shown := redact.URL(location)
		if u, perr := c.ep.url.Parse(location); perr == nil {
			shown = redactURL(u)
		}
		hint += fmt.Sprintf(" to %q", shown)
	}
	return &HintError{Err: err, Hint: hint + ": an OTLP receiver answers exports itself; point the exporter at the receiver", Config: true}
}

func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return map[string]string{"http": "80", "https": "443"}[u.Scheme]
}

func portHint(port string) string {
	if k := wellKnown(port); k != "" {
		return ": " + k
	}
	return ""
}
