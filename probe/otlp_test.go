package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/otelwait/otelwait/internal/testserver"
)

func TestOTLPGRPC(t *testing.T) {
	var got atomic.Int32
	addr := serveGRPC(t, func(s *grpc.Server) { testserver.OTLPGRPC(s, []string{"traces", "logs"}, "Bearer t", &got) })
	opt := OTLPOptions{Header: []string{"Authorization: Bearer t"}}
	for _, tt := range []struct {
		target string
		ready  bool
		hint   string
	}{
		{"grpc://" + addr, true, ""},
		{"grpc://" + addr + "/logs", true, ""},
		{"grpc://" + addr + "/metrics", false, "no metrics pipeline"},
	} {
		t.Run(tt.target, func(t *testing.T) {
			c, err := NewOTLP(tt.target, opt)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(t.Context())
			if (err == nil) != tt.ready || !strings.Contains(Hint(err), tt.hint) || (err != nil) != IsConfig(err) {
				t.Fatalf("have %v (hint %q), want ready=%v and a config hint about %q", err, Hint(err), tt.ready, tt.hint)
			}
		})
	}
	if got.Load() != 2 {
		t.Errorf("the server accepted %d empty exports, want 2", got.Load())
	}
	c, _ := NewOTLP("grpc://"+addr, OTLPOptions{Header: []string{"Authorization: Bearer wrong"}})
	if err := c.Check(t.Context()); !IsConfig(err) || !strings.Contains(Hint(err), "credentials") {
		t.Errorf("wrong token: have %v (hint %q), want a credentials hint", err, Hint(err))
	}
}

// A receiver that comes up late is waited for.
func TestOTLPGRPCLate(t *testing.T) {
	addr := freeAddr(t, "tcp4", "127.0.0.1")
	c, err := NewOTLPEndpoint("grpc", "http://"+addr, "metrics", OTLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.String() != "grpc://"+addr+"/metrics" {
		t.Errorf("String: have %q, want the --otlp form", c.String())
	}
	var got atomic.Int32
	time.AfterFunc(100*time.Millisecond, func() {
		serveGRPCOn(t, addr, func(s *grpc.Server) { testserver.OTLPGRPC(s, Signals, "", &got) })
	})
	if err := Wait(t.Context(), []Checker{c}, fastOpts()); err != nil {
		t.Fatal(err)
	}
	if got.Load() != 1 {
		t.Errorf("have %d exports, want 1", got.Load())
	}
}

func otlpHTTP(t *testing.T, signals []string, ready *atomic.Bool, got *atomic.Int32) *httptest.Server {
	t.Helper()
	var readyFn func() bool
	if ready != nil {
		readyFn = ready.Load
	}
	srv := httptest.NewServer(testserver.OTLPHTTP(signals, readyFn, got))
	t.Cleanup(srv.Close)
	return srv
}

func TestOTLPHTTP(t *testing.T) {
	var ready atomic.Bool
	var got atomic.Int32
	srv := otlpHTTP(t, []string{"traces", "metrics"}, &ready, &got)
	c, err := NewOTLP(srv.URL, OTLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.URL + "/v1/traces"; c.String() != want {
		t.Errorf("String: have %q, want %q", c.String(), want)
	}
	if err := c.Check(t.Context()); err == nil || IsConfig(err) {
		t.Fatalf("503: have %v, want a retryable error", err)
	}
	time.AfterFunc(100*time.Millisecond, func() { ready.Store(true) })
	if err := Wait(t.Context(), []Checker{c}, fastOpts()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ target, hint string }{
		{srv.URL + "/v1/metrics", ""},
		{srv.URL + "/v1/logs", "no logs pipeline"},
	} {
		c, err := NewOTLP(tt.target, OTLPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Check(t.Context())
		if (tt.hint == "") != (err == nil) || !strings.Contains(Hint(err), tt.hint) {
			t.Errorf("%s: have %v (hint %q), want hint %q", tt.target, err, Hint(err), tt.hint)
		}
	}
}

// An OTLP/HTTP receiver answers exports itself: a redirect, such as an
// auth proxy's to its login page, is never followed and never ready, and the
// hint names where it leads, redacted. A plain --http target follows it.
func TestOTLPHTTPRedirect(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var followed atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/login" {
					followed.Add(1)
					return // 200
				}
				w.Header().Set("Location", "/login?next=s3cret")
				w.WriteHeader(code)
			}))
			defer srv.Close()
			c, err := NewOTLP(srv.URL, OTLPOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(t.Context())
			want := fmt.Sprintf("redirects to %q", srv.URL+"/login?next=redacted")
			if !IsConfig(err) || !strings.Contains(err.Error(), strconv.Itoa(code)) || !strings.Contains(Hint(err), want) ||
				strings.Contains(err.Error()+Hint(err), "s3cret") {
				t.Errorf("have %v (hint %q), want a config error with a hint naming %q", err, Hint(err), want)
			}
			if n := followed.Load(); n != 0 {
				t.Errorf("the redirect was followed %d times", n)
			}
			h, err := NewHTTP(srv.URL, HTTPOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Check(t.Context()); err != nil || followed.Load() != 1 {
				t.Errorf("--http: have %v after %d requests to the location, want it followed and ready", err, followed.Load())
			}
		})
	}
}

// OTLP/HTTP aimed at the gRPC port, and the reverse, get a hint.
func TestOTLPWrongProtocol(t *testing.T) {
	var got atomic.Int32
	grpcAddr := serveGRPC(t, func(s *grpc.Server) { testserver.OTLPGRPC(s, Signals, "", &got) })
	httpSrv := otlpHTTP(t, Signals, nil, &got)
	for _, tt := range []struct{ target, hint string }{
		// An --otlp target is pointed to OTLP in the other protocol,
		// never to --grpc or --http.
		{"http://" + grpcAddr, ": use --otlp grpc://" + grpcAddr},
		{"grpc://" + httpSrv.Listener.Addr().String(), ": use --otlp http://" + httpSrv.Listener.Addr().String()},
	} {
		c, err := NewOTLP(tt.target, OTLPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		err = c.Check(ctx)
		cancel()
		if !strings.HasSuffix(Hint(err), tt.hint) || !IsConfig(err) {
			t.Errorf("%s: have %v (hint %q), want a config error with a hint ending %q", tt.target, err, Hint(err), tt.hint)
		}
	}
	if got.Load() != 0 {
		t.Errorf("%d exports reached a receiver through the wrong protocol", got.Load())
	}
}

func TestOTLPParsing(t *testing.T) {
	for in, want := range map[string]string{
		"localhost:4317":            "want a URL",
		"tcp://localhost:4317":      "unknown scheme",
		"grpc://localhost:4317/foo": "unknown signal",
		"grpc://localhost":          "HOST:PORT",
		"http://":                   "missing host",
	} {
		if _, err := NewOTLP(in, OTLPOptions{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: have %v, want an error about %q", in, err, want)
		}
	}
	if _, err := NewOTLPEndpoint("grpc", "http://h:4317/v1/traces", "traces", OTLPOptions{}); err == nil {
		t.Error("grpc endpoint with a path: have nil, want an error")
	}
	if _, err := NewOTLPEndpoint("http/json", "http://h:4318/v1/traces", "traces", OTLPOptions{}); err == nil {
		t.Error("http/json: have nil, want an error")
	}
}

func FuzzOTLP(f *testing.F) {
	for _, s := range []string{"grpc://localhost:4317", "grpcs://[::1]:4317/logs", "http://h:4318", "https://u:p@h/v1/logs?x=1", "grpc://h:1/",
		"ftp://u:s3cret@h/", "grpc://u:s3cret@h:1/traces?t=s3cret"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := NewOTLP(s, OTLPOptions{})
		if err != nil {
			showsSecret(t, s, err.Error()+"\n"+Hint(err))
			return
		}
		showsSecret(t, s, c.String())
		if strings.HasPrefix(s, "http") {
			return // String() is redacted and has the default path: not a round trip
		}
		c2, err := NewOTLP(c.String(), OTLPOptions{})
		if err != nil || c2.conn.base != c.conn.base || c2.signal != c.signal {
			t.Fatalf("%q: round trip gave %+v, %v", s, c2, err)
		}
	})
}

// The exporters send no credentials from the endpoint's user:password, so
// neither does an OTLP probe; an --http probe sends them, as curl does.
func TestOTLPHTTPSendsNoUserinfo(t *testing.T) {
	auth := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth <- r.Header.Get("Authorization")
	}))
	defer srv.Close()
	withUser := strings.Replace(srv.URL, "://", "://user:s3cret@", 1)
	otlp, err := NewOTLP(withUser+"/v1/traces", OTLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := otlp.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if have := <-auth; have != "" {
		t.Errorf("otlp: have Authorization %q, want none", have)
	}
	web, err := NewHTTP(withUser+"/", HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := web.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if have := <-auth; !strings.HasPrefix(have, "Basic ") {
		t.Errorf("http: have Authorization %q, want basic authentication", have)
	}
}
