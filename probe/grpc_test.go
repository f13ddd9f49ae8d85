package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// serveGRPC starts a real gRPC server on loopback with register's services
// and returns its address.
func serveGRPC(t *testing.T, register func(*grpc.Server)) string {
	t.Helper()
	return serveGRPCOn(t, "127.0.0.1:0", register)
}

func serveGRPCOn(t *testing.T, addr string, register func(*grpc.Server)) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Error(err)
		return ""
	}
	s := grpc.NewServer()
	register(s)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// checkOnlyHealth is a health service without Watch, as some servers have.
type checkOnlyHealth struct {
	healthpb.UnimplementedHealthServer
	h *health.Server
}

func (c checkOnlyHealth) Check(ctx context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return c.h.Check(ctx, r)
}

func TestGRPCTurnsServing(t *testing.T) {
	for _, watch := range []bool{true, false} {
		name := map[bool]string{true: "watch", false: "check only"}[watch]
		t.Run(name, func(t *testing.T) {
			h := health.NewServer()
			h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
			h.SetServingStatus("traces/http", healthpb.HealthCheckResponse_NOT_SERVING)
			addr := serveGRPC(t, func(s *grpc.Server) {
				if watch {
					healthpb.RegisterHealthServer(s, h)
				} else {
					healthpb.RegisterHealthServer(s, checkOnlyHealth{h: h})
				}
			})
			c, err := NewGRPC("grpc://"+addr+"/traces/http", TLS{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			err = c.Check(ctx)
			cancel()
			if err == nil || !strings.Contains(err.Error(), "NOT_SERVING") {
				t.Fatalf("Check while NOT_SERVING: have %v, want an error naming the status", err)
			}
			var flipped time.Time
			time.AfterFunc(100*time.Millisecond, func() {
				flipped = time.Now()
				h.SetServingStatus("traces/http", healthpb.HealthCheckResponse_SERVING)
			})
			if err := Wait(t.Context(), []Checker{c}, fastOpts()); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if flipped.IsZero() {
				t.Fatal("ready before the service turned SERVING")
			}
			if have := c.noWatch.Load(); have == watch {
				t.Errorf("noWatch = %v with a server that %s", have, name)
			}
		})
	}
}

// Watch sees the flip while the attempt's stream is open: one attempt
// that spans it is enough.
func TestGRPCWatchSeesFlipWithinAttempt(t *testing.T) {
	h := health.NewServer()
	h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	addr := serveGRPC(t, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, h) })
	c, _ := NewGRPC(addr, TLS{})
	time.AfterFunc(100*time.Millisecond, func() { h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING) })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.Check(ctx); err != nil {
		t.Fatalf("one Check across the flip: %v", err)
	}
}

// otlpOnly is what a Collector's OTLP port is: a gRPC server without the
// health service.
func TestGRPCUnimplementedHint(t *testing.T) {
	addr := serveGRPC(t, func(*grpc.Server) {})
	c, _ := NewGRPC(addr, TLS{})
	err := c.Check(t.Context())
	if status.Code(err) != codes.Unimplemented || !IsConfig(err) || !strings.Contains(Hint(err), "--otlp grpc://"+addr) {
		t.Fatalf("have %v (hint %q), want Unimplemented with a hint to --otlp", err, Hint(err))
	}
	// Check is used from then on, and still explains.
	if err := c.Check(t.Context()); !strings.Contains(Hint(err), "--otlp") {
		t.Fatalf("second Check: have %v, want the same hint", err)
	}
}

func TestGRPCUnknownService(t *testing.T) {
	for _, watch := range []bool{true, false} {
		h := health.NewServer()
		addr := serveGRPC(t, func(s *grpc.Server) {
			if watch {
				healthpb.RegisterHealthServer(s, h)
			} else {
				healthpb.RegisterHealthServer(s, checkOnlyHealth{h: h})
			}
		})
		c, _ := NewGRPC(addr+"/nope", TLS{})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		err := c.Check(ctx)
		if !watch {
			err = c.Check(ctx) // the first found out that Watch is missing
		}
		cancel()
		if err == nil || !strings.Contains(err.Error(), `"nope" unknown`) || Hint(err) == "" {
			t.Errorf("watch=%v: have %v, want an unknown-service error with a hint", watch, err)
		}
	}
}

func TestGRPCOnHTTPPortHint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"Server available"}`))
	}))
	defer srv.Close()
	c, _ := NewGRPC(srv.Listener.Addr().String(), TLS{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err := c.Check(ctx)
	if !strings.Contains(Hint(err), "HTTP/2") {
		t.Fatalf("have %v (hint %q), want a hint that the server doesn't speak HTTP/2", err, Hint(err))
	}
}

func TestGRPCRefused(t *testing.T) {
	c, _ := NewGRPC(freeAddr(t, "tcp4", "127.0.0.1"), TLS{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := c.Check(ctx); status.Code(err) != codes.Unavailable {
		t.Fatalf("have %v, want Unavailable at once", err)
	}
}
