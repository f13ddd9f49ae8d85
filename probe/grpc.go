package probe

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/otelwait/otelwait/internal/redact"
	"github.com/rs/zerolog"
)

// GRPC is ready when the server's grpc.health.v1 service reports SERVING
// for its service ("" is the whole server).
//
// It watches the status with the Watch stream, so a flip to SERVING is seen
// the moment the server sends it, for as long as an attempt lasts; a server
// that doesn't implement Watch is asked with Check from then on. The first
// SERVICE_UNKNOWN ends its attempt at once, so that a misspelt service is
// reported within milliseconds rather than after the attempt timeout;
// later attempts keep watching, to see the service registered.
type GRPC struct {
	raw     string
	service string
	conn    *grpcClient
	noWatch atomic.Bool
	// A Watch stream has reported SERVICE_UNKNOWN.
	unknownSeen atomic.Bool
}

// NewGRPC parses [grpc://|grpcs://]HOST:PORT[/SERVICE]. A service name may
// itself contain slashes (Collector pipeline ids such as traces/http).
// grpcs means TLS, configured by t. A user:password, a query or a fragment,
// which a gRPC target can't carry, is an error.
func NewGRPC(target string, t TLS) (c *GRPC, err error) {
	defer func() { err = hide(target, err) }()
	shown := redact.URL(target)
	rest, secure := strings.CutPrefix(target, "grpcs://")
	if !secure {
		rest, _ = strings.CutPrefix(target, "grpc://")
	}
	if i := strings.Index(rest, "://"); i >= 0 {
		err := fmt.Errorf("grpc target %q: want [grpc://|grpcs://]HOST:PORT[/SERVICE]", shown)
		if validScheme(rest[:i]) {
			err = fmt.Errorf("grpc target %q: unknown scheme %q", shown, rest[:i])
		}
		return nil, &HintError{
			Err:  err,
			Hint: "write grpc://HOST:PORT, grpcs://HOST:PORT for TLS, or HOST:PORT",
		}
	}
	addr, service, _ := strings.Cut(rest, "/")
	if extra := grpcExtra(rest); extra != "" {
		return nil, &HintError{
			Err:  fmt.Errorf("grpc target %q: grpc targets take no %s", shown, extra),
			Hint: "write [grpc://|grpcs://]HOST:PORT[/SERVICE]: the health check sends no credentials",
		}
	}
	conn, err := newGRPCClient(addr, secure, t)
	if err != nil {
		return nil, fmt.Errorf("grpc target %q: %w", shown, err)
	}
	return &GRPC{raw: target, service: service, conn: conn}, nil
}

func (c *GRPC) String() string { return c.raw }

// Proto is "grpc".
func (c *GRPC) Proto() string { return "grpc" }

// The health service's methods and statuses (grpc/health/v1/health.proto).
const (
	healthCheck = "/grpc.health.v1.Health/Check"
	healthWatch = "/grpc.health.v1.Health/Watch"

	serving        = 1
	serviceUnknown = 3
)

var servingStatus = map[uint64]string{0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}

// Check watches (or checks) the health status once.
func (c *GRPC) Check(ctx context.Context) error {
	req := healthRequest(c.service)
	if !c.noWatch.Load() {
		err := c.watch(ctx, req)
		if grpcCode(err) != codeUnimplemented && !errors.Is(err, errWatchEnded) {
			return c.diagnose(ctx, err)
		}
		zerolog.Ctx(ctx).Debug().AnErr("watch", err).Msg("no usable Watch on the server: using Check")
		c.noWatch.Store(true)
	}
	resp, err := c.conn.unary(ctx, healthCheck, req, nil)
	if err != nil {
		return c.diagnose(ctx, err)
	}
	if s := healthStatus(resp); s != serving {
		return statusError(s, c.service)
	}
	return nil
}

// errWatchEnded is a Watch stream the server ended, with OK, before
// sending any status: a Watch that doesn't watch, so Check is used instead.
var errWatchEnded = errors.New("the server ended the Watch stream without a status")

// watch reads the Watch stream until SERVING or until ctx is done.
func (c *GRPC) watch(ctx context.Context, req []byte) error {
	stream, err := c.conn.call(ctx, healthWatch, req, nil, false)
	if err != nil {
		return err
	}
	defer stream.close()
	var last uint64 = 1 << 63 // none yet
	for {
		resp, err := stream.recv()
		if err != nil {
			switch {
			case last != 1<<63:
				// Cut at the end of the attempt, or by the server: what
				// counts is the last status it sent.
				return statusError(last, c.service)
			case ctx.Err() != nil:
				return fmt.Errorf("no health status: %w", ctx.Err())
			case errors.Is(err, io.EOF):
				return errWatchEnded
			}
			return err
		}
		last = healthStatus(resp)
		if last == serving {
			return nil
		}
		if last == serviceUnknown && c.unknownSeen.CompareAndSwap(false, true) {
			return statusError(last, c.service)
		}
		zerolog.Ctx(ctx).Debug().Str("status", servingStatus[last]).Msg("watch")
	}
}

func statusError(s uint64, service string) error {
	if s == serviceUnknown {
		return unknownService(service)
	}
	name, ok := servingStatus[s]
	if !ok {
		name = strconv.FormatUint(s, 10)
	}
	return fmt.Errorf("health status %s", name)
}

func unknownService(service string) error {
	return &HintError{
		Err:  fmt.Errorf("health service %q unknown to the server", service),
		Hint: `name a service the server reports: "" for the whole server; with the Collector's healthcheckv2, a pipeline id such as traces or traces/http, or extensions`,
	}
}

// diagnose adds a hint to the errors a user can act on.
func (c *GRPC) diagnose(ctx context.Context, err error) error {
	switch grpcCode(err) {
	case codeOK:
		return nil
	case codeUnimplemented:
		return &HintError{
			Err:    fmt.Errorf("grpc.health.v1 not implemented by the server: %w", err),
			Hint:   "a Collector's OTLP receiver never implements it: probe it with " + suggest("grpc", c.conn.addr, true, c.conn.secure) + ", or point --grpc at the healthcheckv2 extension's gRPC port (13132 by default)",
			Config: true,
		}
	case codeNotFound:
		return unknownService(c.service)
	}
	return c.conn.transportHint(ctx, err)
}

// healthRequest encodes a HealthCheckRequest: field 1, the service name.
func healthRequest(service string) []byte {
	if service == "" {
		return nil
	}
	b := []byte{1<<3 | 2}
	b = binary.AppendUvarint(b, uint64(len(service)))
	return append(b, service...)
}

// healthStatus decodes the status (field 1, a varint) of a
// HealthCheckResponse, skipping any other field; 0 (UNKNOWN) if absent or
// malformed.
func healthStatus(b []byte) uint64 {
	var status uint64
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return 0
		}
		b = b[n:]
		var v uint64
		switch tag & 7 {
		case 0: // varint
			v, n = binary.Uvarint(b)
		case 1: // 64-bit
			n = 8
		case 2: // length-delimited
			var l uint64
			l, n = binary.Uvarint(b)
			if n > 0 {
				n += int(min(l, uint64(len(b))))
			}
		case 5: // 32-bit
			n = 4
		default:
			return 0
		}
		if n <= 0 || n > len(b) {
			return 0
		}
		b = b[n:]
		if tag == 1<<3 { // field 1, varint
			status = v
		}
	}
	return status
}

// The gRPC status codes otelwait tells apart (google.rpc.Code).
const (
	codeOK               = 0
	codeCanceled         = 1
	codeUnknown          = 2
	codeDeadlineExceeded = 4
	codeNotFound         = 5
	codePermissionDenied = 7
	codeInternal         = 13
	codeUnimplemented    = 12
	codeUnavailable      = 14
	codeUnauthenticated  = 16
)

var codeNames = map[int]string{
	0: "OK", 1: "Canceled", 2: "Unknown", 3: "InvalidArgument", 4: "DeadlineExceeded", 5: "NotFound",
	6: "AlreadyExists", 7: "PermissionDenied", 8: "ResourceExhausted", 9: "FailedPrecondition",
	10: "Aborted", 11: "OutOfRange", 12: "Unimplemented", 13: "Internal", 14: "Unavailable",
	15: "DataLoss", 16: "Unauthenticated",
}

// grpcError is a status a server answered with.
type grpcError struct {
	code int
	msg  string
}

func (e *grpcError) Error() string {
	name, ok := codeNames[e.code]
	if !ok {
		name = "code " + strconv.Itoa(e.code)
	}
	if e.msg == "" {
		return "grpc status " + name
	}
	return "grpc status " + name + ": " + e.msg
}

// grpcCode is err's gRPC status code: codeOK for nil, codeUnknown for
// errors that are not a status.
func grpcCode(err error) int {
	if err == nil {
		return codeOK
	}
	if s, ok := errors.AsType[*grpcError](err); ok {
		return s.code
	}
	return codeUnknown
}

// grpcClient makes gRPC calls over HTTP/2, with prior knowledge over
// plaintext (h2c) or negotiated by TLS ALPN, using net/http's own HTTP/2.
//
// grpc-go and protobuf would cost the static binary 3.5 MB and every start
// about 1 ms of package initialisation, for the two calls a probe makes: a
// unary call and a server stream of small messages. The tests run against
// grpc-go's own servers, and e2e/ against the real Collector.
//
// Each call opens its own connection and closes it when done, so the
// probe's backoff alone decides when the next connection is tried: a kept
// connection would reconnect on gRPC's own backoff (up to 120 s), and see
// a server that came up only at its next retry.
type grpcClient struct {
	addr, port string
	base       string // scheme://host:port
	secure     bool   // over TLS
	otlp       bool   // an OTLP receiver's, for hints
	client     *http.Client
	refused    refusals
	// Whether the port speaks TLS, or HTTP/1, asked to explain closed
	// connections.
	tls, http1 asked[bool]
}

func newGRPCClient(addr string, secure bool, t TLS) (*grpcClient, error) {
	_, port, err := splitHostPort(addr)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:              nil,
		DialContext:        (&net.Dialer{}).DialContext,
		DisableKeepAlives:  true,
		DisableCompression: true,
		Protocols:          new(http.Protocols),
	}
	scheme := "http"
	if secure {
		scheme = "https"
		if tr.TLSClientConfig, err = t.Config(); err != nil {
			return nil, err
		}
		tr.Protocols.SetHTTP2(true)
	} else {
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	return &grpcClient{addr: addr, port: port, base: scheme + "://" + addr, secure: secure, client: &http.Client{Transport: tr}}, nil
}

// maxMessage bounds a message a probe accepts: health statuses and export
// responses are a few bytes.
const maxMessage = 64 << 10

// grpcStream is one call's response.
type grpcStream struct {
	resp         *http.Response
	body         *bufio.Reader
	trailersOnly bool     // the status, OK, came with the headers
	secrets      []string // of the request, for the status message (see secretsOf)
}

// call starts a call of method with one request message and headers md,
// unary or server-streaming, and returns the response stream; a status the server answered with at
// once is returned as a *grpcError.
func (g *grpcClient) call(ctx context.Context, method string, msg []byte, md http.Header, unary bool) (*grpcStream, error) {
	body := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(body[1:], uint32(len(msg)))
	body = append(body, msg...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+method, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range md {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	req.Header.Set("User-Agent", "otelwait")
	if d, ok := ctx.Deadline(); ok && unary {
		// A stream is ended by the client: a server ending it first would
		// hide the last status it sent.
		req.Header.Set("Grpc-Timeout", strconv.FormatInt(max(time.Until(d).Milliseconds(), 1), 10)+"m")
	}
	resp, err := g.client.Do(req)
	if err != nil {
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		return nil, err
	}
	if st := resp.Header.Get("Grpc-Status"); st != "" { // trailers only
		_ = resp.Body.Close()
		secrets := secretsOf(md, nil)
		if err := statusOf(st, resp.Header.Get("Grpc-Message"), secrets); err != nil {
			return nil, err
		}
		// OK with no message: the stream ends at once.
		return &grpcStream{resp: resp, body: bufio.NewReader(http.NoBody), trailersOnly: true, secrets: secrets}, nil
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "application/grpc") {
		excerpt := oneLine(hideSecrets(readSome(ctx, resp.Body), secretsOf(md, nil)))
		return nil, &notGRPCError{status: resp.StatusCode, contentType: ct, body: excerpt}
	}
	return &grpcStream{resp: resp, body: bufio.NewReader(resp.Body), secrets: secretsOf(md, nil)}, nil
}

// unary makes a call that answers one message and returns it, or nil if
// there is none. The call's outcome is the status that ends it, read after
// the messages, as the Java exporter takes it: a server may send a message
// and then fail the call, and an OK without a message is a success.
func (g *grpcClient) unary(ctx context.Context, method string, msg []byte, md http.Header) ([]byte, error) {
	s, err := g.call(ctx, method, msg, md, true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	var first []byte
	for {
		m, err := s.recv()
		switch {
		case errors.Is(err, io.EOF):
			return first, nil
		case err != nil:
			return nil, err
		case first == nil:
			first = m
		}
	}
}

// recv returns the next message; at the end of the stream it returns the
// status the server ended it with, or io.EOF for OK.
func (s *grpcStream) recv() ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(s.body, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, s.trailerStatus()
		}
		return nil, err
	}
	if hdr[0] != 0 {
		return nil, &grpcError{code: codeInternal, msg: "compressed message"}
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxMessage {
		return nil, &grpcError{code: codeInternal, msg: fmt.Sprintf("message of %d bytes", n)}
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(s.body, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

func (s *grpcStream) trailerStatus() error {
	if s.trailersOnly {
		return io.EOF
	}
	st := s.resp.Trailer.Get("Grpc-Status")
	if st == "" {
		return &grpcError{code: codeInternal, msg: "stream ended without a status"}
	}
	if err := statusOf(st, s.resp.Trailer.Get("Grpc-Message"), s.secrets); err != nil {
		return err
	}
	return io.EOF
}

func (s *grpcStream) close() { _ = s.resp.Body.Close() }

// statusOf parses a grpc-status and its percent-encoded grpc-message, with
// secrets the request carried hidden in it.
func statusOf(code, msg string, secrets []string) error {
	c, err := strconv.Atoi(code)
	if err != nil {
		return &grpcError{code: codeUnknown, msg: "malformed grpc-status " + strconv.Quote(code)}
	}
	if c == codeOK {
		return nil
	}
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	return &grpcError{code: c, msg: string(hideSecrets([]byte(msg), secrets))}
}

// notGRPCError is an HTTP answer that isn't gRPC's.
type notGRPCError struct {
	status      int
	contentType string
	body        string
}

func (e *notGRPCError) Error() string {
	s := fmt.Sprintf("not a gRPC answer: HTTP %d, content-type %q", e.status, e.contentType)
	if e.body != "" {
		s += ": " + e.body
	}
	return s
}

// transportHint explains an error that isn't a gRPC status: the port may
// speak HTTP/1 rather than gRPC, or listen on the other loopback family, or
// its certificate may not verify.
func (g *grpcClient) transportHint(ctx context.Context, err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return g.refused.explain(ctx, err)
	}
	flag := map[bool]string{false: "--grpc grpc://", true: "--otlp grpc://"}[g.otlp]
	if h := tlsHint(err, flag+g.addr); h != nil {
		return h
	}
	msg := err.Error()
	known := ""
	if k := wellKnown(g.port); k != "" {
		known = " (" + k + ")"
	}
	_, notGRPC := errors.AsType[*notGRPCError](err)
	// An HTTP/1 answer read as HTTP/2 makes a frame header whose length,
	// "HTT" as a number, is far beyond the largest frame allowed: net/http
	// says "http2: frame too large" (an unexported error), and adds a note
	// when the answer starts with "HTTP/1.1 ".
	http1 := strings.Contains(msg, "http2: frame too large") || strings.Contains(msg, "HTTP/1.1 header")
	// net/http's HTTP/2 reports a connection that broke before the
	// request was sent with errors of its own, unexported: the cause (an
	// answer that isn't HTTP/2) is lost, so it is asked for again.
	closed := errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(msg, "http2: client conn could not be established") ||
		strings.Contains(msg, "http2: client conn is closed") || strings.Contains(msg, "http2: client conn not usable")
	if !g.secure && (closed || http1) && ctx.Err() == nil && g.tls.get(ctx, "", func() bool { return g.speaksTLS(ctx) }) {
		// A TLS server closes a connection that opens with HTTP/2's
		// preface, or answers it with an alert, which also reads as a
		// frame too large.
		return &HintError{
			Err:    err,
			Hint:   "the server speaks TLS: use " + map[bool]string{false: "--grpc grpcs://", true: "--otlp grpcs://"}[g.otlp] + g.addr,
			Config: true,
		}
	}
	switch {
	case notGRPC || http1 || strings.Contains(msg, "ALPN") ||
		closed && ctx.Err() == nil && g.http1.get(ctx, "", func() bool { return g.speaksHTTP1(ctx) }):
		return &HintError{
			Err:    err,
			Hint:   "the server does not speak gRPC (HTTP/2)" + known + ": use " + suggest("http", g.addr, g.otlp, g.secure),
			Config: true,
		}
	case closed && ctx.Err() == nil:
		return &HintError{
			Err:  err,
			Hint: "the connection was closed without an answer: if the port serves HTTP/1" + known + ", use " + suggest("http", g.addr, g.otlp, g.secure),
		}
	}
	return err
}

// speaksTLS tells whether the server completes a TLS handshake. Asked only
// to explain a plaintext connection that failed; nothing is sent, so the
// certificate is not verified.
func (g *grpcClient) speaksTLS(ctx context.Context) bool {
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}} //nolint:gosec // only to tell whether the port speaks TLS
	conn, err := d.DialContext(ctx, "tcp", g.addr)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// speaksHTTP1 tells whether the server answers an HTTP/1.1 request: an
// HTTP/1 server closes a connection that opens with HTTP/2's preface, or
// answers it, depending on timing. Asked only to explain such a closed
// connection.
func (g *grpcClient) speaksHTTP1(ctx context.Context) bool {
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true, Protocols: new(http.Protocols)}
	tr.Protocols.SetHTTP1(true)
	if t, ok := g.client.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		tr.TLSClientConfig = t.TLSClientConfig.Clone()
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/", http.NoBody)
	if err != nil {
		return false
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return false
	}
	// The status line says enough: a body without a length would be read
	// until the server closes, which it may not.
	_ = resp.Body.Close()
	return true
}
