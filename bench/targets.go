package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Kind is a kind of target.
type Kind string

// The kinds of target, and what "down" and "ready" mean for each.
const (
	KindTCP      Kind = "tcp"       // down: port refuses (bound, not listening); ready: listening
	KindHTTP     Kind = "http"      // down: GET/HEAD / answers 503; ready: 200
	KindGRPC     Kind = "grpc"      // down: grpc.health.v1 NOT_SERVING; ready: SERVING
	KindOTLPHTTP Kind = "otlp-http" // down: port refuses; ready: OTLP/HTTP receiver listening
	KindOTLPGRPC Kind = "otlp-grpc" // down: port refuses; ready: OTLP/gRPC receiver listening
)

var allKinds = []Kind{KindTCP, KindHTTP, KindGRPC, KindOTLPHTTP, KindOTLPGRPC}

// kindDesc says in words what each kind's target does, for the report.
var kindDesc = map[Kind]string{
	KindTCP:      "TCP port: refuses (socket bound, not listening) until listen(2) at the flip",
	KindHTTP:     "HTTP `/`: listening throughout, answers 503 to any method until the flip, 200 after",
	KindGRPC:     "gRPC server with grpc-go's grpc.health.v1 service: listening throughout, `\"\"` NOT_SERVING until the flip, SERVING after (Watch streams are told at once)",
	KindOTLPHTTP: "OTLP/HTTP receiver (`POST /v1/traces`, `application/x-protobuf`, empty body → 200): port refuses until the flip, as a Collector's receiver starts last",
	KindOTLPGRPC: "OTLP/gRPC receiver (`TraceService/Export` etc. accept an empty request): port refuses until the flip",
}

// target is a loopback server for one trial. The port is bound when it is
// made, so it is reserved for the trial; ready flips it and records when,
// on CLOCK_MONOTONIC, read just before the flip (so a latency is never
// shortened by the time the flip itself takes).
type target struct {
	kind     Kind
	addr     string       // 127.0.0.1:PORT
	readyAt  atomic.Int64 // CLOCK_MONOTONIC ns of the flip; 0 before
	attempts atomic.Int64 // requests or RPCs seen (TCP: connections accepted)
	conns    atomic.Int64 // TCP connections accepted

	fd      int // bound socket, listening only once ready (TCP, OTLP)
	mu      sync.Mutex
	ln      net.Listener
	httpSrv *http.Server
	grpcSrv *grpc.Server
	health  *health.Server
	httpUp  atomic.Bool
	closed  bool
}

// newTarget binds 127.0.0.1:0 and serves the kind's "down" state.
func newTarget(kind Kind) (*target, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	t := &target{kind: kind, fd: fd, addr: fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)}
	switch kind {
	case KindHTTP:
		if err := t.listen(); err != nil {
			return nil, err
		}
		t.httpSrv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.attempts.Add(1)
			if t.httpUp.Load() {
				w.WriteHeader(http.StatusOK)
				return
			}
			w.WriteHeader(http.StatusServiceUnavailable)
		}), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = t.httpSrv.Serve(t.ln) }()
	case KindGRPC:
		if err := t.listen(); err != nil {
			return nil, err
		}
		t.health = health.NewServer()
		t.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
		t.grpcSrv = t.newGRPCServer()
		healthpb.RegisterHealthServer(t.grpcSrv, t.health)
		go func() { _ = t.grpcSrv.Serve(t.ln) }()
	case KindTCP, KindOTLPHTTP, KindOTLPGRPC:
		// Bound, not listening: a SYN gets RST, the client "connection refused".
	default:
		unix.Close(fd)
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	return t, nil
}

// listen makes the bound socket listen and wraps it as a counting
// net.Listener.
func (t *target) listen() error {
	if err := unix.Listen(t.fd, 4096); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	f := os.NewFile(uintptr(t.fd), "listener")
	ln, err := net.FileListener(f) // dups the descriptor
	f.Close()
	t.fd = -1
	if err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	t.ln = countingListener{ln, &t.conns}
	return nil
}

// ready flips the target to ready, recording the time just before.
func (t *target) ready() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.readyAt.Load() != 0 || t.closed {
		return nil
	}
	t.readyAt.Store(monoNow())
	switch t.kind {
	case KindHTTP:
		t.httpUp.Store(true)
	case KindGRPC:
		t.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	case KindTCP:
		if err := t.listen(); err != nil {
			return err
		}
		go t.acceptAndClose()
	case KindOTLPHTTP:
		if err := t.listen(); err != nil {
			return err
		}
		t.httpSrv = &http.Server{Handler: t.otlpHTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = t.httpSrv.Serve(t.ln) }()
	case KindOTLPGRPC:
		if err := t.listen(); err != nil {
			return err
		}
		t.grpcSrv = t.newGRPCServer()
		t.registerOTLP(t.grpcSrv)
		go func() { _ = t.grpcSrv.Serve(t.ln) }()
	}
	return nil
}

func (t *target) acceptAndClose() {
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		t.attempts.Add(1)
		c.Close()
	}
}

// newGRPCServer counts every RPC, unary or streaming, as an attempt.
func (t *target) newGRPCServer() *grpc.Server {
	return grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			t.attempts.Add(1)
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			t.attempts.Add(1)
			return h(srv, ss)
		}),
	)
}

var otlpServices = []string{
	"opentelemetry.proto.collector.trace.v1.TraceService",
	"opentelemetry.proto.collector.metrics.v1.MetricsService",
	"opentelemetry.proto.collector.logs.v1.LogsService",
}

// registerOTLP registers an Export method for each signal that accepts an
// empty request (the wire form of an empty Export*ServiceRequest is an
// empty message), as a Collector's otlp receiver does.
func (t *target) registerOTLP(s *grpc.Server) {
	for _, svc := range otlpServices {
		s.RegisterService(&grpc.ServiceDesc{
			ServiceName: svc,
			HandlerType: (*any)(nil),
			Methods: []grpc.MethodDesc{{
				MethodName: "Export",
				Handler: func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
					var req emptypb.Empty
					if err := dec(&req); err != nil || proto.Size(&req) != 0 {
						return nil, status.Error(codes.InvalidArgument, "not an empty request")
					}
					h := func(context.Context, any) (any, error) { return &emptypb.Empty{}, nil }
					if icpt == nil {
						return h(ctx, &req)
					}
					return icpt(ctx, &req, &grpc.UnaryServerInfo{FullMethod: "/" + svc + "/Export"}, h)
				},
			}},
		}, struct{}{})
	}
}

// otlpHTTPHandler answers as a Collector's OTLP/HTTP receiver does: 404
// for other paths, 405 for other methods, 415 for other content types.
func (t *target) otlpHTTPHandler() http.Handler {
	mux := http.NewServeMux()
	for _, sig := range []string{"traces", "metrics", "logs"} {
		mux.HandleFunc("/v1/"+sig, func(w http.ResponseWriter, r *http.Request) {
			t.attempts.Add(1)
			switch {
			case r.Method != http.MethodPost:
				w.WriteHeader(http.StatusMethodNotAllowed)
			case r.Header.Get("Content-Type") != "application/x-protobuf":
				w.WriteHeader(http.StatusUnsupportedMediaType)
			default:
				if b, _ := io.ReadAll(io.LimitReader(r.Body, 1)); len(b) != 0 {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "application/x-protobuf")
			}
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.attempts.Add(1)
		http.NotFound(w, r)
	})
	return mux
}

// close stops serving and frees the port.
func (t *target) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	if t.grpcSrv != nil {
		t.grpcSrv.Stop()
	}
	if t.httpSrv != nil {
		_ = t.httpSrv.Close()
	}
	if t.ln != nil {
		_ = t.ln.Close()
	}
	if t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}
