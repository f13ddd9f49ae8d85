package probe

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/otelwait/otelwait/internal/redact"
)

// maxBody is how much of a response body a probe reads, for the error
// message; the rest is never read.
const maxBody = 512

// excerptWait bounds the time spent reading that much: a server that
// answers at once but sends its body slowly must not hold up the next
// attempt.
const excerptWait = 50 * time.Millisecond

// maxRedirects bounds the redirects an HTTP probe follows.
const maxRedirects = 5

// HTTP is ready when a GET of its URL answers with an accepted status: any
// 2xx unless told otherwise, and never 503.
type HTTP struct {
	display string
	ep      *httpEndpoint
}

// HTTPOptions are the settings shared by every --http target.
type HTTPOptions struct {
	Header []string  // "Name: value"
	Accept StatusSet // nil means 2xx
	TLS    TLS
}

// NewHTTP parses an http or https URL.
func NewHTTP(raw string, opt HTTPOptions) (c *HTTP, err error) {
	defer func() { err = hide(raw, err) }()
	u, _, err := parseHTTPURL(raw)
	if err != nil {
		return nil, err
	}
	accept := opt.Accept
	if accept == nil {
		accept = StatusSet{{200, 299}}
	}
	ep, err := newHTTPEndpoint(u, opt.Header, opt.TLS, accept, false)
	if err != nil {
		return nil, fmt.Errorf("http target %q: %w", redactURL(u), err)
	}
	return &HTTP{display: redactURL(u), ep: ep}, nil
}

// httpEndpoint is a URL with the client and headers every attempt on it
// uses, built once.
type httpEndpoint struct {
	url     *url.URL
	header  http.Header
	host    string    // a Host header given by the user
	accept  StatusSet // the statuses that mean ready
	client  *http.Client
	otlp    bool     // an OTLP/HTTP receiver's: redirects are answers, not followed
	secrets []string // what the request carries that an answer must not show
	refused refusals
}

// newHTTPEndpoint builds the endpoint of an --http target, or with otlp of
// an OTLP/HTTP one, ready on a status in accept. A user:password in the URL
// is sent as basic authentication to an --http target, as curl does, but
// never to an OTLP receiver: the exporters ignore it, so the probe must not
// succeed where the export would be refused.
func newHTTPEndpoint(u *url.URL, header []string, t TLS, accept StatusSet, otlp bool) (*httpEndpoint, error) {
	if otlp && u.User != nil {
		c := *u
		c.User = nil
		u = &c
	}
	h, host, err := ParseHeaders(header)
	if err != nil {
		return nil, err
	}
	// A redirect is followed unless its status is itself ready, or the
	// target is an OTLP receiver.
	client, err := newHTTPClient(u, t, func(code int) bool { return !otlp && !accept.Contains(code) })
	if err != nil {
		return nil, err
	}
	return &httpEndpoint{url: u, header: h, host: host, accept: accept, client: client, otlp: otlp, secrets: secretsOf(h, u.User)}, nil
}

// secretsOf lists what a request carries that an answer quoting it must
// not show, as an error page may echo the credentials it was sent: the
// values of headers, and the words in them; a URL's password, or its user
// name when it has none (often a token), and their basic-auth form. Under
// 4 bytes a value is no secret, and hiding it would garble the message
// (X-Debug: 1). Longest first, so that no part of a longer one is left.
func secretsOf(h http.Header, user *url.Userinfo) []string {
	var all []string
	for _, vs := range h {
		for _, v := range vs {
			all = append(append(all, v), strings.Fields(v)...)
		}
	}
	if user != nil {
		p, ok := user.Password()
		all = append(all, base64.StdEncoding.EncodeToString([]byte(user.Username()+":"+p)))
		if !ok {
			p = user.Username()
		}
		all = append(all, p)
	}
	var s []string
	for _, w := range all {
		if len(w) >= 4 && !slices.Contains(s, w) {
			s = append(s, w)
		}
	}
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	return s
}

// hideSecrets replaces every secret in b.
func hideSecrets(b []byte, secrets []string) []byte {
	for _, s := range secrets {
		if s != "" {
			b = bytes.ReplaceAll(b, []byte(s), []byte("<redacted>"))
		}
	}
	return b
}

// do sends one request without a body, with Content-Type contentType if
// set, and returns the status, the header and, for a status that isn't
// ready, the start of the body, secrets hidden; an error means no answer,
// with a hint where one helps. A ready answer's body is not read: its
// status says all, and a body that never ends would hold the command back.
func (e *httpEndpoint) do(ctx context.Context, method, contentType string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.url.String(), http.NoBody)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = e.header.Clone()
	if e.host != "" {
		req.Host = e.host
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "otelwait")
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, nil, e.transportHint(ctx, req.URL, stripURL(err))
	}
	if e.accept.Contains(resp.StatusCode) || resp.StatusCode == http.StatusSwitchingProtocols {
		// A 101's body is the connection itself, which ctx doesn't govern.
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header, nil, nil
	}
	return resp.StatusCode, resp.Header, hideSecrets(readSome(ctx, resp.Body), e.secrets), nil
}

// parseHTTPURL checks an absolute http or https URL with a host and, if
// given, a valid port; it returns the port, defaulted from the scheme.
func parseHTTPURL(raw string) (*url.URL, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		// Its quote of the part at fault may hold a secret: every
		// constructor's error goes through hide, which drops it.
		return nil, "", fmt.Errorf("url %q: %w", redact.URL(raw), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, "", &HintError{
			Err:  fmt.Errorf("url %q: scheme must be http or https", redact.URL(raw)),
			Hint: "e.g. http://localhost:13133/",
		}
	}
	if u.Host == "" {
		return nil, "", fmt.Errorf("url %q: missing host", redactURL(u))
	}
	if u.Fragment != "" {
		return nil, "", fmt.Errorf("url %q: a fragment is never sent to the server", redactURL(u))
	}
	port := u.Port()
	hostport := u.Host
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		hostport = net.JoinHostPort(u.Hostname(), port)
	}
	if _, _, err := splitHostPort(hostport); err != nil {
		return nil, "", fmt.Errorf("url %q: %w", redactURL(u), err)
	}
	return u, port, nil
}

// ParseHeaders parses "Name: value" headers, one per line (an item may hold
// several lines; empty lines are skipped), returning a Host header
// separately (Go sends it from the request, not the header map).
func ParseHeaders(items []string) (http.Header, string, error) {
	h := http.Header{}
	var host string
	for _, item := range items {
		for line := range strings.Lines(item) {
			line = strings.TrimRight(line, "\r\n")
			if strings.TrimSpace(line) == "" {
				continue
			}
			name, value, ok := strings.Cut(line, ":")
			name = strings.TrimSpace(name)
			if n := validToken(name); !ok || n < len(name) || name == "" {
				// Never the value, which may be a secret, nor what
				// follows a space in the name: a value typed without
				// its colon.
				what := "a header without a colon"
				switch {
				case ok && n > 0:
					what = fmt.Sprintf("header %q", name[:n])
				case ok:
					what = "a header without a name"
				}
				return nil, "", &HintError{
					Err:  fmt.Errorf("%s: want \"Name: value\"", what),
					Hint: `e.g. --http-header "Authorization: Bearer $TOKEN"`,
				}
			}
			value = strings.TrimSpace(value)
			if !validHeaderValue(value) {
				return nil, "", &HintError{
					Err:  fmt.Errorf("header %q: control character in the value", name),
					Hint: "a header value holds no control character but tab: check how it was quoted, or the file it was read from",
				}
			}
			if textproto.CanonicalMIMEHeaderKey(name) == "Host" {
				host = value
				continue
			}
			h.Add(name, value)
		}
	}
	return h, host, nil
}

// validToken returns the length of the longest prefix of s that is an HTTP
// token (RFC 9110), what a header name must be.
func validToken(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return i
		}
	}
	return len(s)
}

// validHeaderValue reports whether v holds no control character but
// horizontal tab, as net/http requires of a header value
// (httpguts.ValidHeaderFieldValue).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// newHTTPClient builds the client used by every attempt on one target,
// following up to maxRedirects redirects if follow, else none. Over plain
// HTTP (HTTP/1.1) the connection is kept between attempts, as the app's
// client keeps its own: a server answering 503 for seconds is asked over
// one connection rather than 25 a second, and the attempt that finds it
// ready costs no connect. A connection the server closed, or an attempt
// cut short (which closes its connection), makes the next attempt dial
// again; the descriptor is close-on-exec, so the command never inherits
// it. Over TLS every attempt dials anew: the connection may be HTTP/2,
// which outlives a request cut short, so a peer gone silent would take
// every later attempt with it. Proxies from the environment are not used,
// since the target is what the app itself will connect to.
func newHTTPClient(u *url.URL, t TLS, follow func(code int) bool) (*http.Client, error) {
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            (&net.Dialer{}).DialContext,
		DisableKeepAlives:      u.Scheme == "https",
		MaxIdleConnsPerHost:    1,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      true,
	}
	if u.Scheme == "https" {
		cfg, err := t.Config()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !follow(req.Response.StatusCode) {
				return http.ErrUseLastResponse
			}
			if len(via) >= maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return nil
		},
	}, nil
}

func (c *HTTP) String() string { return c.display }

// Proto is "http".
func (c *HTTP) Proto() string { return "http" }

// Check sends one GET.
func (c *HTTP) Check(ctx context.Context) error {
	code, _, body, err := c.ep.do(ctx, http.MethodGet, "")
	if err != nil || c.ep.accept.Contains(code) {
		return err
	}
	return statusHint(code, body)
}

// stripURL unwraps the *url.Error of a request, which quotes the URL
// unredacted, leaving the method and the cause.
func stripURL(err error) error {
	if uerr, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", strings.ToUpper(uerr.Op), uerr.Err)
	}
	return err
}

// readSome reads at most maxBody bytes of body, for at most excerptWait,
// and closes it.
func readSome(ctx context.Context, body io.ReadCloser) []byte {
	ctx, cancel := context.WithTimeout(ctx, excerptWait)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = body.Close() })
	defer stop()
	b, _ := io.ReadAll(io.LimitReader(body, maxBody))
	_ = body.Close()
	return b
}

// statusHint explains an HTTP status that isn't ready.
func statusHint(code int, body []byte) error {
	err := fmt.Errorf("status %d %s", code, http.StatusText(code))
	if s := oneLine(body); s != "" {
		err = fmt.Errorf("%w: %s", err, s)
	}
	switch {
	case code == http.StatusServiceUnavailable && bytes.Contains(body, []byte("Server not available")):
		return &HintError{Err: err, Hint: "the Collector's health_check extension answers 503 until every pipeline has started"}
	case code == http.StatusInternalServerError && bytes.Contains(body, []byte("Server not available")):
		return &HintError{Err: err, Hint: "health_check with check_collector_pipeline enabled answers 500 while an exporter fails; that option is discouraged upstream"}
	case code == http.StatusBadRequest && (bytes.Contains(body, []byte("HTTP request to an HTTPS server")) ||
		bytes.Contains(body, []byte("plain HTTP request was sent to HTTPS port"))):
		// Go's and nginx's answers to plaintext on a TLS port.
		return &HintError{Err: err, Hint: "the server speaks TLS on this port: write https://", Config: true}
	case code == http.StatusNotFound:
		return &HintError{Err: err, Hint: "check the path: the health_check extension serves / on :13133 unless its path is configured"}
	}
	return err
}

// oneLine makes a short, printable, single-line excerpt of a body.
func oneLine(b []byte) string {
	if !utf8.Valid(b) {
		return ""
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// transportHint explains an HTTP request that got no response.
func (e *httpEndpoint) transportHint(ctx context.Context, u *url.URL, err error) error {
	port := urlPort(u)
	addr := net.JoinHostPort(u.Hostname(), port)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return e.refused.explain(ctx, err)
	}
	plain := *u
	plain.Scheme = "http"
	flag := map[bool]string{false: "--http ", true: "--otlp "}[e.otlp]
	if h := tlsHint(err, flag+redactURL(&plain)); h != nil {
		return h
	}
	msg := err.Error()
	if strings.Contains(msg, "readLoopPeekFailLocked") {
		// An HTTP/2 server (gRPC) sends its settings as soon as a
		// connection opens: net/http sees bytes before any request.
		err = errors.New("the server sent data before any request, as HTTP/2 servers do")
	}
	if strings.Contains(msg, "readLoopPeekFailLocked") || strings.Contains(msg, "malformed HTTP response") ||
		strings.Contains(msg, "HTTP/1.x transport connection broken") && !strings.Contains(msg, "response headers exceeded") {
		hint := "the server does not answer HTTP/1"
		if k := wellKnown(port); k != "" {
			hint += "; " + k
		}
		return &HintError{Err: err, Hint: hint + ": use " + suggest("grpc", addr, e.otlp, u.Scheme == "https"), Config: true}
	}
	return err
}

// StatusSet is a set of HTTP status codes, as inclusive ranges.
type StatusSet [][2]int

// ParseStatusSet parses a comma-separated list of codes and ranges, such as
// "200-299,301". 503 is never accepted: it is what a server that is not yet
// ready answers.
func ParseStatusSet(s string) (StatusSet, error) {
	var set StatusSet
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		from, err1 := strconv.Atoi(lo)
		to := from
		var err2 error
		if isRange {
			to, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || from < 100 || to > 599 || from > to {
			return nil, &HintError{
				Err:  fmt.Errorf("status %q: want codes from 100 to 599 or ranges of them", part),
				Hint: "e.g. 200-299,301",
			}
		}
		if from <= 503 && 503 <= to {
			return nil, &HintError{
				Err:  fmt.Errorf("status %q includes 503", part),
				Hint: "503 means the server is not ready yet, which is what otelwait waits through",
			}
		}
		set = append(set, [2]int{from, to})
	}
	return set, nil
}

// Contains reports whether code is in the set.
func (s StatusSet) Contains(code int) bool {
	for _, r := range s {
		if r[0] <= code && code <= r[1] {
			return true
		}
	}
	return false
}

func (s StatusSet) String() string {
	parts := make([]string, len(s))
	for i, r := range s {
		parts[i] = strconv.Itoa(r[0])
		if r[1] != r[0] {
			parts[i] += "-" + strconv.Itoa(r[1])
		}
	}
	return strings.Join(parts, ",")
}
