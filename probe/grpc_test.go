package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
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
	if grpcCode(err) != codeUnimplemented || !IsConfig(err) || !strings.Contains(Hint(err), "--otlp grpc://"+addr) {
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

// Over Watch, an unknown service is reported by the first attempt at
// once, not after the attempt timeout; later attempts watch, and see the
// service when it is registered.
func TestGRPCUnknownServiceReportedAtOnceThenWatched(t *testing.T) {
	h := health.NewServer()
	addr := serveGRPC(t, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, h) })
	c, _ := NewGRPC(addr+"/traces", TLS{})
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second) // an attempt's
	err := c.Check(ctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), `"traces" unknown`) {
		t.Fatalf("first Check: have %v, want the unknown-service error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("first Check took %v: the unknown service waited for the attempt's end", d)
	}
	time.AfterFunc(100*time.Millisecond, func() { h.SetServingStatus("traces", healthpb.HealthCheckResponse_SERVING) })
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.Check(ctx); err != nil {
		t.Fatalf("second Check, across the registration: %v", err)
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
	if !strings.Contains(Hint(err), "does not speak gRPC (HTTP/2)") {
		t.Fatalf("have %v (hint %q), want a hint that the server doesn't speak HTTP/2", err, Hint(err))
	}
}

// An HTTP/1.0 server answers the HTTP/2 preface with an HTTP/1 response;
// read as HTTP/2, it is a frame too large, or the connection closes first.
// Either way such a server is told apart from a gRPC server that fails, by
// --grpc and --otlp grpc:// alike, every time, and at once: never at the
// end of the attempt.
func TestGRPCOnHTTP10Server(t *testing.T) {
	for _, closes := range []bool{false, true} {
		t.Run(map[bool]string{false: "keeps the connection", true: "closes"}[closes], func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ln.Close() })
			go func() {
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer func() { _ = conn.Close() }()
						if _, err := conn.Read(make([]byte, 4096)); err != nil {
							return
						}
						_, _ = io.WriteString(conn, "HTTP/1.0 400 Bad Request\r\n\r\n")
						if !closes {
							_, _ = io.Copy(io.Discard, conn) // until the client closes
						}
					}()
				}
			}()
			addr := ln.Addr().String()
			g, err := NewGRPC(addr, TLS{})
			if err != nil {
				t.Fatal(err)
			}
			o, err := NewOTLP("grpc://"+addr, OTLPOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				c    Checker
				want string
			}{
				{g, "the server does not speak gRPC (HTTP/2): use --http http://" + addr + "/ for an HTTP endpoint, or --otlp http://" + addr + " for an OTLP receiver"},
				{o, "the server does not speak gRPC (HTTP/2): use --otlp http://" + addr},
			} {
				for range 20 {
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
					err := tt.c.Check(ctx)
					late := ctx.Err() != nil
					cancel()
					if late || !IsConfig(err) || Hint(err) != tt.want {
						t.Fatalf("%s: have %v (hint %q, at the deadline: %v), want hint %q at once", tt.c, err, Hint(err), late, tt.want)
					}
				}
			}
		})
	}
}

func TestGRPCRefused(t *testing.T) {
	c, _ := NewGRPC(freeAddr(t, "tcp4", "127.0.0.1"), TLS{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := c.Check(ctx); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("have %v, want connection refused at once", err)
	}
}

// countingListener counts the connections that are open on the server side.
type countingListener struct {
	net.Listener
	open atomic.Int32
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countedConn{Conn: c, l: l}, nil
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

// Every attempt closes the connection it opened, after Check and after a
// Watch cut short by the attempt's deadline alike.
func TestGRPCClosesConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	h := health.NewServer()
	h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, h)
	go func() { _ = s.Serve(cl) }()
	defer s.Stop()
	c, _ := NewGRPC(ln.Addr().String(), TLS{})
	for range 5 {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		if err := c.Check(ctx); err == nil {
			t.Fatal("ready while NOT_SERVING")
		}
		cancel()
	}
	h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for cl.open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := cl.open.Load(); n != 0 {
		t.Errorf("%d connections still open after the checks", n)
	}
}

func TestHealthMessages(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  []byte
		want uint64
	}{
		{"empty", nil, 0},
		{"serving", []byte{0x08, 0x01}, serving},
		{"not serving", []byte{0x08, 0x02}, 2},
		{"unknown field first", []byte{0x12, 0x02, 'h', 'i', 0x08, 0x01}, serving},
		{"truncated", []byte{0x08}, 0},
		{"bad length", []byte{0x12, 0x7f}, 0},
	} {
		if have := healthStatus(tt.msg); have != tt.want {
			t.Errorf("%s: have %d, want %d", tt.name, have, tt.want)
		}
	}
	if have := healthRequest("traces/http"); string(have) != "\x0a\x0btraces/http" {
		t.Errorf("healthRequest: have %q", have)
	}
	if have := healthRequest(""); len(have) != 0 {
		t.Errorf("healthRequest(\"\"): have %q, want an empty message", have)
	}
}

// healthStatus reads bytes from the network: it must never panic, and a
// status field it finds at the end is the one it returns.
func FuzzHealthStatus(f *testing.F) {
	f.Add([]byte{0x08, 0x01})
	f.Add([]byte{0x12, 0x02, 'h', 'i', 0x08, 0x02})
	f.Add([]byte{0x0d, 1, 2, 3, 4, 0x09, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := healthStatus(b)
		if s2 := healthStatus(append(append([]byte{}, b...), 0x08, 0x01)); s2 != serving && s != 0 {
			t.Fatalf("%x: a trailing SERVING was not read (have %d)", b, s2)
		}
	})
}

// serveH2C serves h over HTTP/2 without TLS, as a gRPC server is reached,
// for answers grpc-go's servers never give but proxies and other stacks
// can; it returns the address.
func serveH2C(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// grpcAnswer writes a gRPC response: messages (nil for none), then status
// st in the trailers; with trailersOnly, the status comes with the headers.
func grpcAnswer(w http.ResponseWriter, trailersOnly bool, st string, msgs ...[]byte) {
	w.Header().Set("Content-Type", "application/grpc")
	if trailersOnly {
		w.Header().Set("Grpc-Status", st)
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	w.WriteHeader(http.StatusOK)
	for _, m := range msgs {
		_, _ = w.Write(append([]byte{0, 0, 0, 0, byte(len(m))}, m...))
	}
	w.(http.Flusher).Flush()
	w.Header().Set("Grpc-Status", st)
	w.Header().Set("Grpc-Message", "backend%20down")
}

var servingMsg = []byte{0x08, 0x01} // HealthCheckResponse{status: SERVING}

// A call's outcome is the status that ends it: a message followed by an
// error is an error, as in any gRPC client, and OK without a message is
// OK for an export, as in the Java exporter.
func TestGRPCCallEndsWithItsStatus(t *testing.T) {
	// health answers Watch with watch and Check with check.
	health := func(watch, check func(w http.ResponseWriter)) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/Watch") {
				watch(w)
			} else {
				check(w)
			}
		}
	}
	noWatch := func(w http.ResponseWriter) { grpcAnswer(w, true, "12") }
	for _, tt := range []struct {
		name   string
		target string
		answer func(w http.ResponseWriter, r *http.Request)
		ready  bool
		want   string
	}{
		{"check: SERVING, then UNAVAILABLE", "",
			health(noWatch, func(w http.ResponseWriter) { grpcAnswer(w, false, "14", servingMsg) }), false, "backend down"},
		{"check: OK without a message", "",
			health(noWatch, func(w http.ResponseWriter) { grpcAnswer(w, true, "0") }), false, "UNKNOWN"},
		{"export: a message, then UNAVAILABLE", "otlp",
			func(w http.ResponseWriter, r *http.Request) { grpcAnswer(w, false, "14", nil) }, false, "backend down"},
		{"export: OK, trailers only", "otlp",
			func(w http.ResponseWriter, r *http.Request) { grpcAnswer(w, true, "0") }, true, ""},
		{"watch ends at once, OK: check", "",
			health(func(w http.ResponseWriter) { grpcAnswer(w, true, "0") },
				func(w http.ResponseWriter) { grpcAnswer(w, false, "0", servingMsg) }), true, ""},
		{"watch ends after its headers, OK: check", "",
			health(func(w http.ResponseWriter) { grpcAnswer(w, false, "0") },
				func(w http.ResponseWriter) { grpcAnswer(w, false, "0", servingMsg) }), true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := serveH2C(t, tt.answer)
			var c Checker
			var err error
			if tt.target == "otlp" {
				c, err = NewOTLP("grpc://"+addr+"/traces", OTLPOptions{})
			} else {
				c, err = NewGRPC(addr, TLS{})
			}
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			err = c.Check(ctx)
			if (err == nil) != tt.ready || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("have %v, want ready=%v, an error containing %q", err, tt.ready, tt.want)
			}
		})
	}
}

// A port that accepts and resets at once (a proxy whose backend is down)
// gets no more connections than the schedule's attempts: the questions
// that explain the reset, whether the port speaks TLS or HTTP/1, cost
// connections too, so they are asked again only every diagnoseEvery.
func TestGRPCResetPortRate(t *testing.T) {
	for _, otlp := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var accepted atomic.Int32
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				_ = c.(*net.TCPConn).SetLinger(0)
				_ = c.Close()
			}
		}()
		var c Checker
		if otlp {
			c, err = NewOTLP("grpc://"+ln.Addr().String(), OTLPOptions{})
		} else {
			c, err = NewGRPC(ln.Addr().String(), TLS{})
		}
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err = Wait(ctx, []Checker{c}, Options{Backoff: DefaultBackoff, AttemptTimeout: time.Second, Log: zerolog.Nop()})
		cancel()
		var werr *WaitError
		if !errors.As(err, &werr) {
			t.Fatalf("have %v, want not ready", err)
		}
		// 25 attempts at most in a second, and each question once (net/http
		// may dial twice for one request on a connection reset at once).
		if n, attempts := accepted.Load(), werr.NotReady[0].Attempts; n > int32(attempts)+4 || attempts > 25 {
			t.Errorf("otlp=%v: %d connections in a second for %d attempts, want at most the attempts and 4 more", otlp, n, attempts)
		}
	}
}

// A status message that echoes the credentials of the call doesn't bring
// them into the log.
func TestGRPCStatusMessageHidesSecrets(t *testing.T) {
	addr := serveH2C(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", "16")
		w.Header().Set("Grpc-Message", url.PathEscape("bad token: "+r.Header.Get("Authorization")))
		w.WriteHeader(http.StatusOK)
	})
	c, err := NewOTLP("grpc://"+addr, OTLPOptions{Header: []string{"Authorization: Bearer sk_live_S3CRET"}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(t.Context())
	if err == nil || !strings.Contains(err.Error(), "bad token") || strings.Contains(err.Error(), "sk_live_S3CRET") {
		t.Fatalf("have %v, want the status message without the token", err)
	}
}
