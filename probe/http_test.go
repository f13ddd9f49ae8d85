package probe

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
)

func TestHTTP503Then200(t *testing.T) {
	var ready atomic.Bool
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if r.Method != http.MethodGet || r.Header.Get("Authorization") != "Bearer s3cret" || r.Host != "collector.local" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"Server available"}`))
	}))
	defer srv.Close()
	c, err := NewHTTP(srv.URL+"/", HTTPOptions{Header: []string{"Authorization: Bearer s3cret\nHost: collector.local"}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(t.Context())
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(Hint(err), "health_check") {
		t.Fatalf("Check on 503: have %v (hint %q), want a 503 error with the health_check hint", err, Hint(err))
	}
	time.AfterFunc(100*time.Millisecond, func() { ready.Store(true) })
	if err := Wait(t.Context(), []Checker{c}, fastOpts()); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if !ready.Load() || gets.Load() < 3 {
		t.Fatalf("ready=%v after %d GETs: it proceeded on 503", ready.Load(), gets.Load())
	}
}

// A server answering 503 is asked again over the same connection, and one
// that closes it after every answer still gets asked.
func TestHTTPKeepsItsConnection(t *testing.T) {
	for _, tt := range []struct {
		name      string
		close     bool
		wantConns func(n int32) bool
	}{
		{"kept", false, func(n int32) bool { return n == 1 }},
		{"closed by the server", true, func(n int32) bool { return n >= 5 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var gets, conns atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.close {
					w.Header().Set("Connection", "close")
				}
				if gets.Add(1) <= 5 {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			c, err := NewHTTP(srv.URL+"/", HTTPOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := Wait(t.Context(), []Checker{c}, fastOpts()); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if g, n := gets.Load(), conns.Load(); g != 6 || !tt.wantConns(n) {
				t.Errorf("%d GETs over %d connections", g, n)
			}
		})
	}
}

// A connection that stops answering costs one attempt: over TLS, where
// HTTP/2 resets only the stream of an attempt cut short, the next attempt
// dials again rather than waiting on the same connection.
func TestHTTP2HungConnectionIsDropped(t *testing.T) {
	var mu sync.Mutex
	first := "" // the first connection's remote address
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if first == "" {
			first = r.RemoteAddr
			mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		hung := r.RemoteAddr == first
		mu.Unlock()
		if hung {
			<-r.Context().Done() // as a peer gone silent would
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := TLS{CAFile: ca}.Load()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewHTTP(srv.URL, HTTPOptions{TLS: loaded})
	if err != nil {
		t.Fatal(err)
	}
	opt := fastOpts()
	opt.AttemptTimeout = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := Wait(ctx, []Checker{c}, opt); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

func TestHTTPStatuses(t *testing.T) {
	tests := []struct {
		code   int
		accept string
		ready  bool
		hint   string
	}{
		{200, "", true, ""},
		{204, "", true, ""},
		{301, "", false, ""}, // a redirect to nowhere: followed, then 404
		{404, "", false, "path"},
		{500, "", false, ""},
		{401, "200-299,401", true, ""},
		{418, "200", false, ""},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/" {
					if tt.code == 301 {
						http.Redirect(w, r, "/moved", tt.code)
						return
					}
					w.WriteHeader(tt.code)
					return
				}
				w.WriteHeader(http.StatusNotFound)
			}))
			defer srv.Close()
			opt := HTTPOptions{}
			if tt.accept != "" {
				var err error
				if opt.Accept, err = ParseStatusSet(tt.accept); err != nil {
					t.Fatal(err)
				}
			}
			c, err := NewHTTP(srv.URL, opt)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(t.Context())
			if (err == nil) != tt.ready {
				t.Fatalf("have %v, want ready=%v", err, tt.ready)
			}
			if !strings.Contains(Hint(err), tt.hint) {
				t.Errorf("hint: have %q, want one about %q", Hint(err), tt.hint)
			}
		})
	}
}

func TestHTTPRedirectLoopIsBounded(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Redirect(w, r, "/", http.StatusFound)
	}))
	defer srv.Close()
	c, _ := NewHTTP(srv.URL, HTTPOptions{})
	if err := c.Check(t.Context()); err == nil || n.Load() > maxRedirects+1 {
		t.Fatalf("have %v after %d requests, want an error after at most %d", err, n.Load(), maxRedirects+1)
	}
}

// A huge body is not read beyond maxBody: the server's write blocks.
func TestHTTPReadsLittleBody(t *testing.T) {
	wrote := make(chan int64, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		var total int64
		chunk := make([]byte, 64<<10)
		for range 1024 { // 64 MiB if anyone read it all
			n, err := w.Write(chunk)
			total += int64(n)
			if err != nil {
				break
			}
		}
		wrote <- total
	}))
	defer srv.Close()
	c, _ := NewHTTP(srv.URL, HTTPOptions{})
	if err := c.Check(t.Context()); err == nil {
		t.Fatal("have ready on 503")
	}
	if total := <-wrote; total >= 64<<20 {
		t.Errorf("the server wrote all %d bytes: the body was read in full", total)
	}
}

// A server that accepts and never answers cannot stall an attempt.
func TestHTTPHangingServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	c, _ := NewHTTP("http://"+ln.Addr().String()+"/", HTTPOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Check(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("have ready from a silent server")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Check did not honour its deadline")
	}
}

func TestHTTPOnGRPCPortHint(t *testing.T) {
	addr := serveGRPC(t, func(*grpc.Server) {})
	c, _ := NewHTTP("http://"+addr+"/", HTTPOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err := c.Check(ctx)
	if want := "use --grpc grpc://" + addr + " for a gRPC health service, or --otlp grpc://" + addr + " for an OTLP receiver"; !strings.HasSuffix(Hint(err), want) {
		t.Fatalf("have %v (hint %q), want a hint ending %q", err, Hint(err), want)
	}
}

func TestParseHeaders(t *testing.T) {
	h, host, err := ParseHeaders([]string{"X-A: 1, 2", "x-b:3\r\n\nHost: h"})
	if err != nil || h.Get("X-A") != "1, 2" || h.Get("X-B") != "3" || host != "h" {
		t.Fatalf("have %v %q %v", h, host, err)
	}
	for _, bad := range []string{"novalue", ": v", "Bad Name: v"} {
		if _, _, err := ParseHeaders([]string{bad}); err == nil {
			t.Errorf("%q: have nil, want an error", bad)
		}
	}
	_, _, err = ParseHeaders([]string{"Authorization Bearer s3cret"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("have %v, want an error that doesn't show the value", err)
	}
}

// A header that net/http would refuse to send on every attempt is a usage
// error: the value is never shown, the header always named, whether it is
// for --http, OTLP/HTTP or OTLP/gRPC metadata.
func TestHeaderControlCharacters(t *testing.T) {
	for _, value := range []string{"a\x01b", "s3cret\x00", "a\rb", "a\x7f", "\x1b[0m"} {
		header := []string{"Authorization: " + value}
		opt := OTLPOptions{Header: header}
		for name, parse := range map[string]func() error{
			"http":      func() error { _, err := NewHTTP("http://h:1/", HTTPOptions{Header: header}); return err },
			"otlp/http": func() error { _, err := NewOTLP("http://h:4318", opt); return err },
			"otlp/grpc": func() error { _, err := NewOTLP("grpc://h:4317", opt); return err },
			"endpoint":  func() error { _, err := NewOTLPEndpoint("grpc", "http://h:4317", "logs", opt); return err },
		} {
			err := parse()
			if err == nil || !strings.Contains(err.Error(), `header "Authorization": control character`) || strings.Contains(err.Error(), value) || Hint(err) == "" {
				t.Errorf("%s %q: have %v (hint %q), want an error naming the header and not its value", name, value, err, Hint(err))
			}
		}
	}
	// A tab is allowed, and sent.
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got <- r.Header.Get("X-Tab") }))
	defer srv.Close()
	c, err := NewHTTP(srv.URL, HTTPOptions{Header: []string{"X-Tab: a\tb"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if have := <-got; have != "a\tb" {
		t.Errorf("X-Tab: have %q, want %q", have, "a\tb")
	}
	// A name must be a token; what follows its first bad character may
	// be a value whose colon was forgotten, and is not shown.
	for _, bad := range []string{"X(A): v", "Authorization Bearer s3cret:x", "X\x01: v"} {
		_, _, err := ParseHeaders([]string{bad})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: have %v, want an error that doesn't show the value", bad, err)
		}
	}
}

func TestParseStatusSet(t *testing.T) {
	for in, want := range map[string]string{"200-299": "200-299", " 200 , 301-302": "200,301-302", "100-502,504-599": "100-502,504-599"} {
		s, err := ParseStatusSet(in)
		if err != nil || s.String() != want {
			t.Errorf("%q: have %v, %v; want %q", in, s, err, want)
		}
	}
	for _, in := range []string{"", "503", "500-599", "abc", "99", "600", "300-200", "200-"} {
		if _, err := ParseStatusSet(in); err == nil {
			t.Errorf("%q: have nil, want an error", in)
		}
	}
}

// A CA file replaces the system roots; Load reads it once, and the targets
// built from what it returns need the file no more.
func TestHTTPSWithCAFileLoadedOnce(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}
	if err := os.WriteFile(ca, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	plain, err := NewHTTP(srv.URL, HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Check(t.Context()); err == nil {
		t.Fatal("Check with the system roots: have nil, want a verification error")
	}
	loaded, err := TLS{CAFile: ca}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(ca); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c, err := NewHTTP(srv.URL, HTTPOptions{TLS: loaded})
		if err != nil {
			t.Fatalf("NewHTTP after the CA file is gone: %v", err)
		}
		if err := c.Check(t.Context()); err != nil {
			t.Fatalf("Check with the CA file's root: %v", err)
		}
	}
	if _, err := (TLS{CAFile: ca}).Load(); err == nil {
		t.Error("Load of a missing CA file: have nil, want an error")
	}
}

// An answer whose body doesn't come, or never ends, holds an attempt no
// longer than it takes to read the status: a ready status's body is not
// read, another's only briefly, and a 101's, the connection itself, never.
func TestHTTPBodiesThatDontEnd(t *testing.T) {
	for _, tt := range []struct {
		name  string
		code  int
		ready bool
	}{
		{"101 switching protocols", http.StatusSwitchingProtocols, false},
		{"503, body stalls", http.StatusServiceUnavailable, false},
		{"200, body stalls", http.StatusOK, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tt.code == http.StatusSwitchingProtocols {
					w.Header().Set("Connection", "Upgrade")
					w.Header().Set("Upgrade", "websocket")
				} else {
					w.Header().Set("Content-Length", "100")
				}
				w.WriteHeader(tt.code)
				w.(http.Flusher).Flush()
				<-release
			}))
			defer srv.Close()
			defer close(release)
			c, err := NewHTTP(srv.URL, HTTPOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- c.Check(ctx) }()
			select {
			case err := <-done:
				if (err == nil) != tt.ready {
					t.Fatalf("have %v, want ready=%v", err, tt.ready)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("Check still reading a body the server holds back")
			}
		})
	}
}

// With a redirect status among the accepted ones, that status is the
// answer: the redirect is not followed.
func TestHTTPAcceptedRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:1/login", http.StatusFound)
	}))
	defer srv.Close()
	accept, _ := ParseStatusSet("200-299,302")
	c, err := NewHTTP(srv.URL, HTTPOptions{Accept: accept})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(t.Context()); err != nil {
		t.Fatalf("have %v, want ready on the accepted 302", err)
	}
}

// An error page that echoes the credentials it was sent doesn't bring them
// into the log: header values, and a URL's password sent as basic
// authentication.
func TestHTTPExcerptHidesSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("bad credentials: " + r.Header.Get("Authorization") + " " + r.Header.Get("X-Api-Key")))
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://app:hunter22@", 1)
	c, err := NewHTTP(u, HTTPOptions{Header: []string{"X-Api-Key: Token s3cretkey"}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(t.Context())
	if err == nil || !strings.Contains(err.Error(), "bad credentials") {
		t.Fatalf("have %v, want the 401 with its excerpt", err)
	}
	for _, s := range []string{"s3cretkey", "hunter22", "YXBwOmh1bnRlcjIy"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows %q", err, s)
		}
	}
	// A user name without a password, often a token: neither in the
	// target's name nor in an echo of the basic authentication it makes.
	u = strings.Replace(srv.URL, "http://", "http://ghp_T0KEN@", 1)
	c, err = NewHTTP(u, HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(t.Context())
	for _, s := range []string{c.String(), err.Error()} {
		if strings.Contains(s, "ghp_T0KEN") || strings.Contains(s, "Z2hwX1QwS0VOOg") {
			t.Errorf("%q shows the token", s)
		}
	}
}

// Headers over the limit are not a sign that the server speaks something
// other than HTTP/1.
func TestHTTPHugeHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("a", 70<<10))
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c, _ := NewHTTP(srv.URL, HTTPOptions{})
	err := c.Check(t.Context())
	if err == nil || !strings.Contains(err.Error(), "exceeded") || strings.Contains(Hint(err), "HTTP/1") || IsConfig(err) {
		t.Fatalf("have %v (hint %q), want the header limit without a protocol hint", err, Hint(err))
	}
}
