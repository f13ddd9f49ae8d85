package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// GRPC is ready when the server's grpc.health.v1 service reports SERVING
// for Service ("" is the whole server).
//
// It watches the status with the Watch stream, so a flip to SERVING is seen
// the moment the server sends it, for as long as an attempt lasts; a server
// that doesn't implement Watch is asked with Check from then on.
type GRPC struct {
	raw     string
	addr    string
	port    string
	service string
	creds   credentials.TransportCredentials
	noWatch atomic.Bool
}

// NewGRPC parses [grpc://|grpcs://]HOST:PORT[/SERVICE]. A service name may
// itself contain slashes (Collector pipeline ids such as traces/http).
// grpcs means TLS, configured by t.
func NewGRPC(target string, t TLS) (*GRPC, error) {
	rest, secure := strings.CutPrefix(target, "grpcs://")
	if !secure {
		rest, _ = strings.CutPrefix(target, "grpc://")
	}
	if i := strings.Index(rest, "://"); i >= 0 {
		return nil, &HintError{
			Err:  fmt.Errorf("grpc target %q: unknown scheme %q", target, rest[:i]),
			Hint: "write grpc://HOST:PORT, grpcs://HOST:PORT for TLS, or HOST:PORT",
		}
	}
	addr, service, _ := strings.Cut(rest, "/")
	_, port, err := splitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("grpc target %q: %w", target, err)
	}
	var cfg *tls.Config
	if secure {
		if cfg, err = t.Config(); err != nil {
			return nil, fmt.Errorf("grpc target %q: %w", target, err)
		}
	}
	return &GRPC{raw: target, addr: addr, port: port, service: service, creds: tlsCreds(cfg)}, nil
}

func (c *GRPC) String() string { return c.raw }

// Proto is "grpc".
func (c *GRPC) Proto() string { return "grpc" }

// Check opens a connection, watches (or checks) the health status once and
// closes the connection.
func (c *GRPC) Check(ctx context.Context) error {
	conn, err := dialGRPC(c.addr, c.creds)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	client := healthpb.NewHealthClient(conn)
	req := &healthpb.HealthCheckRequest{Service: c.service}
	if !c.noWatch.Load() {
		err := c.watch(ctx, client, req)
		if status.Code(err) != codes.Unimplemented {
			return c.diagnose(ctx, err)
		}
		zerolog.Ctx(ctx).Debug().Msg("no Watch on the server: using Check")
		c.noWatch.Store(true)
	}
	resp, err := client.Check(ctx, req)
	if err != nil {
		return c.diagnose(ctx, err)
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health status %s", s)
	}
	return nil
}

// watch reads the Watch stream until SERVING or until ctx is done.
func (c *GRPC) watch(ctx context.Context, client healthpb.HealthClient, req *healthpb.HealthCheckRequest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream
	stream, err := client.Watch(ctx, req)
	if err != nil {
		return err
	}
	var last healthpb.HealthCheckResponse_ServingStatus = -1
	for {
		resp, err := stream.Recv()
		if err != nil {
			switch {
			case ctx.Err() != nil && last >= 0:
				return statusError(last, c.service)
			case ctx.Err() != nil:
				return fmt.Errorf("no health status: %w", ctx.Err())
			}
			return err
		}
		last = resp.GetStatus()
		if last == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		zerolog.Ctx(ctx).Debug().Str("status", last.String()).Msg("watch")
	}
}

func statusError(s healthpb.HealthCheckResponse_ServingStatus, service string) error {
	if s == healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		return unknownService(service)
	}
	return fmt.Errorf("health status %s", s)
}

func unknownService(service string) error {
	return &HintError{
		Err:  fmt.Errorf("health service %q unknown to the server", service),
		Hint: `name a service the server reports: "" for the whole server; with the Collector's healthcheckv2, a pipeline id such as traces or traces/http, or extensions`,
	}
}

// diagnose adds a hint to the errors a user can act on.
func (c *GRPC) diagnose(ctx context.Context, err error) error {
	switch status.Code(err) {
	case codes.Unimplemented:
		return &HintError{
			Err:    fmt.Errorf("grpc.health.v1 not implemented by the server: %w", err),
			Hint:   "a Collector's OTLP receiver never implements it: probe it with --otlp grpc://" + c.addr + ", or point --grpc at the healthcheckv2 extension's gRPC port (13132 by default)",
			Config: true,
		}
	case codes.NotFound:
		return unknownService(c.service)
	case codes.Unavailable:
		return grpcTransportHint(ctx, c.addr, c.port, err)
	}
	return err
}

// grpcTransportHint explains an Unavailable error: the port may speak
// HTTP/1 rather than HTTP/2, or listen on the other loopback family.
func grpcTransportHint(ctx context.Context, addr, port string, err error) error {
	msg := status.Convert(err).Message()
	if strings.Contains(msg, "connection refused") {
		return refusedHint(ctx, addr, err)
	}
	if strings.Contains(msg, "server preface") || strings.Contains(msg, "frame too large") ||
		strings.Contains(msg, "malformed header") || strings.Contains(msg, "HTTP/1") {
		hint := "the server does not speak HTTP/2 (gRPC)"
		if k := wellKnown(port); k != "" {
			hint += "; " + k
		}
		return &HintError{Err: err, Hint: hint + ": use --http or --otlp http://" + addr, Config: true}
	}
	return err
}

// dialGRPC makes a client for one attempt; the caller closes it. Dialling
// per attempt, rather than keeping one connection across attempts, means the
// probe's own backoff alone decides when the next connection is tried: a
// kept connection would reconnect on gRPC's own backoff (up to 120 s) and
// notice a server that came up late.
func dialGRPC(addr string, creds credentials.TransportCredentials) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent("otelwait"),
	)
}

// tlsCreds returns TLS transport credentials, or plaintext ones for cfg nil.
func tlsCreds(cfg *tls.Config) credentials.TransportCredentials {
	if cfg == nil {
		return insecure.NewCredentials()
	}
	return credentials.NewTLS(cfg)
}
