package probe

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// listenAfter listens on addr after d and sends the listener (nil if
// listening failed, which fails the test).
func listenAfter(t *testing.T, d time.Duration, network, addr string) <-chan net.Listener {
	t.Helper()
	opened := make(chan net.Listener, 1)
	time.AfterFunc(d, func() {
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Error(err)
		}
		opened <- ln
	})
	return opened
}

// freeAddr returns a loopback address nothing listens on (for now).
func freeAddr(t *testing.T, network, host string) string {
	t.Helper()
	ln, err := net.Listen(network, net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("no %s loopback here: %v", network, err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestTCPListenerOpensLate(t *testing.T) {
	addr := freeAddr(t, "tcp4", "127.0.0.1")
	c, err := NewTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(t.Context()); err == nil {
		t.Fatal("Check before listening: have nil, want an error")
	}
	opened := listenAfter(t, 150*time.Millisecond, "tcp", addr)
	if err := Wait(t.Context(), []Checker{c}, fastOpts()); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	ln := <-opened
	if ln == nil {
		t.FailNow()
	}
	defer func() { _ = ln.Close() }()
	// Check closes its connection at once: the listener sees a connection
	// whose peer has closed it.
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("read from the probe's connection: have %d, %v; want EOF", n, err)
	}
}

// A link-local address is reachable only through the interface its zone
// names; the zone must reach the dial.
func TestTCPLinkLocalZone(t *testing.T) {
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() != nil || !ipn.IP.IsLinkLocalUnicast() {
				continue
			}
			host := ipn.IP.String() + "%" + ifc.Name
			ln, err := net.Listen("tcp6", net.JoinHostPort(host, "0"))
			if err != nil {
				continue
			}
			defer func() { _ = ln.Close() }()
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			c, err := NewTCP(net.JoinHostPort(host, port))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Check(t.Context()); err != nil {
				t.Fatalf("Check %s: %v", c, err)
			}
			return
		}
	}
	t.Skip("no interface with a link-local IPv6 address to listen on")
}

// localhost resolves to ::1 and 127.0.0.1; a server on either is ready.
func TestTCPLocalhostEitherFamily(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
			if err != nil {
				t.Skipf("no %s here: %v", host, err)
			}
			defer func() { _ = ln.Close() }()
			ips, _ := net.DefaultResolver.LookupHost(t.Context(), "localhost")
			if len(ips) < 2 {
				t.Skipf("localhost resolves to %v only", ips)
			}
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			c, err := NewTCP("localhost:" + port)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Check(t.Context()); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestTCPOtherFamilyHint(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if l6, err := net.Listen("tcp6", "[::1]:"+port); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		_ = l6.Close()
	}
	var accepted atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = conn.Close()
		}
	}()
	c, _ := NewTCP("[::1]:" + port)
	for range 5 {
		err = c.Check(t.Context())
		if !IsConfig(err) || !strings.Contains(Hint(err), "127.0.0.1:"+port) {
			t.Fatalf("have %v (hint %q), want a hint naming 127.0.0.1:%s", err, Hint(err), port)
		}
	}
	// The other address is tried once, not once per attempt.
	time.Sleep(50 * time.Millisecond)
	if n := accepted.Load(); n != 1 {
		t.Errorf("the other family's listener saw %d connections over 5 attempts, want 1", n)
	}
}

// A name that resolves to one loopback family, as localhost does on many
// hosts, gets the hint too when the server listens on the other.
func TestTCPOtherFamilyHintForName(t *testing.T) {
	ips, err := net.DefaultResolver.LookupHost(t.Context(), "localhost")
	if err != nil || len(ips) != 1 {
		t.Skipf("localhost resolves to %v (%v), not one family", ips, err)
	}
	network, other := "tcp6", "[::1]"
	if strings.Contains(ips[0], ":") {
		network, other = "tcp4", "127.0.0.1"
	}
	ln, err := net.Listen(network, net.JoinHostPort(strings.Trim(other, "[]"), "0"))
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	defer func() { _ = ln.Close() }()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	c, _ := NewTCP("localhost:" + port)
	if err := c.Check(t.Context()); !IsConfig(err) || !strings.Contains(Hint(err), other+":"+port) {
		t.Fatalf("have %v (hint %q), want a hint naming %s:%s", err, Hint(err), other, port)
	}
}

func TestTargetParsing(t *testing.T) {
	tests := []struct {
		kind, in string
		wantErr  string // "" means valid
	}{
		{"tcp", "localhost:4317", ""},
		{"tcp", "[::1]:4317", ""},
		{"tcp", "10.0.0.1:1", ""},
		{"tcp", "::1:4317", "brackets"},
		{"tcp", "localhost", "HOST:PORT"},
		{"tcp", ":4317", "missing host"},
		{"tcp", "localhost:0", "port"},
		{"tcp", "localhost:65536", "port"},
		{"tcp", "localhost:http", "port"},
		{"tcp", "localhost:+80", "port"},
		{"tcp", "[fe80::zz]:1", "IPv6"},
		{"tcp", "[fe80::1%lo]:4317", ""},
		{"tcp", "[fe80::1%]:4317", "IPv6"},
		{"tcp", "[fe80::1%a/b]:4317", "invalid"},
		{"http", "http://[fe80::1%25é]:13133/", "IPv6"},
		{"tcp", "10.0.0.1%lo:4317", "invalid host"},
		{"grpc", "grpc://[fe80::1%lo]:4317", ""},
		{"http", "http://[fe80::1%25lo]:13133/", ""},
		{"grpc", "localhost:13132", ""},
		{"grpc", "grpc://localhost:13132/traces/http", ""},
		{"grpc", "grpcs://collector.example:443/", ""},
		{"grpc", "http://localhost:4317", "scheme"},
		{"grpc", "grpc://localhost", "HOST:PORT"},
		{"http", "http://localhost:13133/", ""},
		{"http", "https://user:pw@h/x?token=s", ""},
		{"http", "http://[::1]:13133/health/status", ""},
		{"http", "localhost:13133", "scheme"},
		{"http", "ftp://h/", "scheme"},
		{"http", "http:///x", "missing host"},
		{"http", "http://h:99999/", "port"},
		{"http", "http://h/#frag", "fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.in, func(t *testing.T) {
			var err error
			switch tt.kind {
			case "tcp":
				_, err = NewTCP(tt.in)
			case "grpc":
				_, err = NewGRPC(tt.in, TLS{})
			case "http":
				_, err = NewHTTP(tt.in, HTTPOptions{})
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("have %v, want valid", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("have %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func TestStringRedacts(t *testing.T) {
	c, err := NewHTTP("https://user:secret@h:8443/health?token=abc&x=1", HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.String(); strings.Contains(s, "secret") || strings.Contains(s, "abc") {
		t.Errorf("String() = %q leaks a secret", s)
	}
}

// The fuzzers check that parsing never panics, that what parses
// round-trips (parsing a target's String() gives the same target), and that
// neither String() nor an error shows a secret (see showsSecret).
func FuzzTCP(f *testing.F) {
	for _, s := range []string{"localhost:4317", "[::1]:1", "a:b:c", ":0", "[::1%eth0]:80", "u:s3cret@h:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := NewTCP(s)
		if err != nil {
			showsSecret(t, s, err.Error()+"\n"+Hint(err))
			return
		}
		showsSecret(t, s, c.String())
		c2, err := NewTCP(c.String())
		if err != nil || c2.addr != c.addr {
			t.Fatalf("%q: round trip gave %v, %v", s, c2, err)
		}
	})
}

func FuzzGRPC(f *testing.F) {
	for _, s := range []string{"localhost:13132", "grpc://h:1/traces/http", "grpcs://[::1]:443/", "grpc://", "x://y", "grpc://u:s3cret@h:1/x?t=s3cret"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := NewGRPC(s, TLS{})
		if err != nil {
			showsSecret(t, s, err.Error()+"\n"+Hint(err))
			return
		}
		showsSecret(t, s, c.String())
		c2, err := NewGRPC(c.String(), TLS{})
		if err != nil || c2.conn.base != c.conn.base || c2.service != c.service {
			t.Fatalf("%q: round trip gave %+v, %v", s, c2, err)
		}
	})
}

func FuzzHTTP(f *testing.F) {
	for _, s := range []string{"http://localhost:13133/", "https://u:p@h/x?t=1", "http://[::1]:1/a%20b", "http://h:0/", "http://%zz", "http://u:s3cret@h:0/?s3cret"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := NewHTTP(s, HTTPOptions{})
		if err != nil {
			showsSecret(t, s, err.Error()+"\n"+Hint(err))
			return
		}
		showsSecret(t, s, c.String())
		c2, err := NewHTTP(c.ep.url.String(), HTTPOptions{})
		if err != nil || c2.ep.url.String() != c.ep.url.String() {
			t.Fatalf("%q: round trip gave %v, %v", s, c2, err)
		}
	})
}

func FuzzStatusSet(f *testing.F) {
	for _, s := range []string{"200-299", "200,301-302", "503", "500-599", "-1", "200-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseStatusSet(s)
		if err != nil {
			return
		}
		if set.Contains(503) {
			t.Fatalf("%q accepts 503", s)
		}
		set2, err := ParseStatusSet(set.String())
		if err != nil || set2.String() != set.String() {
			t.Fatalf("%q: round trip gave %v, %v", s, set2, err)
		}
	})
}

// An answer is kept for diagnoseEvery, per key; one cut short by the end of
// the attempt is not kept.
func TestAsked(t *testing.T) {
	var a asked[int]
	n := 0
	ask := func() int { n++; return n }
	first := a.get(t.Context(), "k", ask)
	if again := a.get(t.Context(), "k", ask); first != 1 || again != 1 {
		t.Fatalf("have %d then %d, want 1 twice: asked again within diagnoseEvery", first, again)
	}
	if a.get(t.Context(), "other", ask) != 2 {
		t.Fatal("kept the answer for another key")
	}
	done, cancel := context.WithCancel(t.Context())
	cancel()
	a = asked[int]{}
	if a.get(done, "k", ask) != 3 || a.get(t.Context(), "k", ask) != 4 {
		t.Fatal("kept an answer cut short")
	}
}
