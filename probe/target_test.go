package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelwait/otelwait/internal/redact"
	"google.golang.org/grpc"
)

// An error about a target shows it redacted, whatever went wrong with it
// and whichever constructor parsed it; gRPC targets, which cannot carry
// credentials, say so.
func TestParseErrorsHideSecrets(t *testing.T) {
	grpcTarget := func(s string) error { _, err := NewGRPC(s, TLS{}); return err }
	otlpTarget := func(s string) error { _, err := NewOTLP(s, OTLPOptions{}); return err }
	httpTarget := func(s string) error { _, err := NewHTTP(s, HTTPOptions{}); return err }
	tcpTarget := func(s string) error { _, err := NewTCP(s); return err }
	otlpGRPCEndpoint := func(s string) error { _, err := NewOTLPEndpoint("grpc", s, "traces", OTLPOptions{}); return err }
	for _, tt := range []struct {
		name  string
		parse func(string) error
		in    string
		want  string // in the error
		hint  string // in the hint
	}{
		{"otlp unknown scheme", otlpTarget, "ftp://user:PASS@h/", `"ftp://user:xxxxx@h/": unknown scheme "ftp"`, ""},
		{"otlp no scheme", otlpTarget, "user:PASS@h:4317", `"user:xxxxx@h:4317": want a URL`, ""},
		{"otlp secret where the scheme goes", otlpTarget, "u:PASS@h://x", "want a URL", ""},
		{"otlp grpc userinfo", otlpTarget, "grpc://user:PASS@127.0.0.1:4317", `"grpc://user:xxxxx@127.0.0.1:4317": grpc targets take no user:password`, "--http-header"},
		{"otlp grpcs userinfo", otlpTarget, "grpcs://user:PASS@[::1]:4317/logs", "take no user:password", "--http-header"},
		{"otlp grpc query", otlpTarget, "grpc://h:4317/traces?token=tok3n", `"grpc://h:4317/traces?token=redacted": grpc targets take no query`, "--http-header"},
		{"otlp grpc query without path", otlpTarget, "grpc://h:4317?token=tok3n", "take no query", ""},
		{"otlp http bad port", otlpTarget, "http://user:PASS@h:0/?t=tok3n", `"http://user:xxxxx@h:0/v1/traces?t=redacted"`, ""},
		{"otlp http unparsable", otlpTarget, "http://user:PA^SS@h/?t=tok3n", `url "http://user:xxxxx@h/?t=redacted": net/url: invalid userinfo`, ""},
		{"otlp http fragment", otlpTarget, "https://user:PASS@h:4318/v1/traces?x=tok3n#f", "fragment", ""},
		{"otlp grpc endpoint with path", otlpGRPCEndpoint, "http://user:PASS@h:4317/x?t=tok3n", "has no path or query", ""},
		{"grpc userinfo", grpcTarget, "grpc://user:PASS@127.0.0.1:4317", `"grpc://user:xxxxx@127.0.0.1:4317": grpc targets take no user:password`, "no credentials"},
		{"grpc userinfo without scheme", grpcTarget, "user:PASS@127.0.0.1:4317", "take no user:password", ""},
		{"grpc query", grpcTarget, "grpc://h:13132/svc?token=tok3n", "take no query", ""},
		{"grpc '/' typed in a password", grpcTarget, "u:PASS/x@h:13132", `"u:xxxxx@h:13132": grpc targets take no user:password`, ""},
		{"grpc '@' in the service", grpcTarget, "grpc://h:13132/a:b@c", "take no user:password", ""},
		{"otlp grpc '@' in the signal", otlpTarget, "grpc://h:4317/a:b@c", "take no user:password", ""},
		{"grpc unknown scheme", grpcTarget, "tcp://u:PASS@h:1", `"tcp://u:xxxxx@h:1": unknown scheme "tcp"`, ""},
		{"grpc secret where the scheme goes", grpcTarget, "u:PASS@h://x", "want [grpc://|grpcs://]HOST:PORT", ""},
		{"tcp userinfo", tcpTarget, "user:PASS@h:1", `address "user:xxxxx@h:1": HOST:PORT takes no user:password`, ""},
		{"tcp query", tcpTarget, "h:1?k=tok3n", "takes no query", ""},
		{"http bad port", httpTarget, "http://user:PASS@h:0/?t=tok3n", `"http://user:xxxxx@h:0/?t=redacted"`, ""},
		{"http unparsable", httpTarget, "http://user:PA^SS@h/?t=tok3n", "invalid userinfo", ""},
		{"http bare query", httpTarget, "http://h:0/?tok3n", `"http://h:0/?redacted"`, ""},
		{"http '#' in the password", httpTarget, "http://user:PASS#x@h/", `url "http://user:xxxxx@h/": invalid port (redacted) after host`, ""},
		{"otlp '?' in the password", otlpTarget, "http://user:PASS?x@h:4318/", `url "http://user:xxxxx@h:4318/": invalid port (redacted) after host`, ""},
		{"http bad port shown", httpTarget, "http://h:4x/", `invalid port ":4x" after host`, ""},
		{"http bad escape", httpTarget, "http://h/%zz", `invalid URL escape "%zz"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse(tt.in)
			if err == nil {
				t.Fatalf("%q: have nil, want an error", tt.in)
			}
			msg := err.Error() + "\n" + Hint(err)
			if strings.Contains(msg, "PASS") || strings.Contains(msg, "tok3n") {
				t.Errorf("%q: the error shows a secret:\n%s", tt.in, msg)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(Hint(err), tt.hint) {
				t.Errorf("%q: have %v (hint %q), want an error with %q and a hint with %q", tt.in, err, Hint(err), tt.want, tt.hint)
			}
			if strings.Contains(Hint(err), "IPv6") {
				t.Errorf("%q: hint %q: not an IPv6 address", tt.in, Hint(err))
			}
		})
	}
}

// showsSecret fails if shown, what is said about target s, holds "s3cret"
// where s holds it only as a password or a query value: where redact.URL
// hides it.
func showsSecret(t *testing.T, s, shown string) {
	t.Helper()
	if strings.Contains(shown, "s3cret") && !strings.Contains(redact.URL(s), "s3cret") {
		t.Fatalf("%q: shows a secret: %q", s, shown)
	}
}

// A probe that reaches a port of the other protocol is pointed to the flag
// that fits the port: never to --grpc for an OTLP port, whose receiver has
// no health service, nor to --http for one.
func TestSuggest(t *testing.T) {
	for _, tt := range []struct {
		proto, addr  string
		otlp, secure bool
		want         string
	}{
		{"grpc", "h:4317", false, false, "--otlp grpc://h:4317"},
		{"grpc", "h:4317", false, true, "--otlp grpcs://h:4317"},
		{"grpc", "h:13132", false, false, "--grpc grpc://h:13132"},
		{"grpc", "h:9000", true, false, "--otlp grpc://h:9000"},
		{"grpc", "h:9000", false, false, "--grpc grpc://h:9000 for a gRPC health service, or --otlp grpc://h:9000 for an OTLP receiver"},
		{"http", "h:4318", false, false, "--otlp http://h:4318"},
		{"http", "h:13133", false, false, "--http http://h:13133/"},
		{"http", "h:13133", true, false, "--otlp http://h:13133"},
		{"http", "[::1]:9000", false, true, "--http https://[::1]:9000/ for an HTTP endpoint, or --otlp https://[::1]:9000 for an OTLP receiver"},
	} {
		if have := suggest(tt.proto, tt.addr, tt.otlp, tt.secure); have != tt.want {
			t.Errorf("suggest(%q, %q, otlp %v, secure %v): have %q, want %q", tt.proto, tt.addr, tt.otlp, tt.secure, have, tt.want)
		}
	}
}

// selfSigned makes a certificate that is its own CA, changed by edit, and
// writes it to a PEM file for --ca-file.
func selfSigned(t *testing.T, edit func(*x509.Certificate)) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "otelwait test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	edit(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, ca
}

// tlsServer serves HTTP/1.1 and HTTP/2 over TLS with cert (httptest's own
// if nil), quietly: the handshakes that fail are the point.
func tlsServer(t *testing.T, cert *tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.EnableHTTP2 = true
	if cert != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TLS failures that waiting won't fix get a hint naming the flag that fixes
// them, for every kind of target over TLS.
func TestTLSHints(t *testing.T) {
	dnsOnly, dnsOnlyCA := selfSigned(t, func(c *x509.Certificate) {
		c.IPAddresses = nil
		c.DNSNames = []string{"collector.example"}
	})
	expired, expiredCA := selfSigned(t, func(c *x509.Certificate) {
		c.NotBefore = time.Now().Add(-48 * time.Hour)
		c.NotAfter = time.Now().Add(-24 * time.Hour)
	})
	untrusted := tlsServer(t, nil)
	noIPSAN := tlsServer(t, &dnsOnly)
	stale := tlsServer(t, &expired)
	plainHTTP := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(plainHTTP.Close)
	plainGRPC := serveGRPC(t, func(*grpc.Server) {})
	host := func(s *httptest.Server) string { return s.Listener.Addr().String() }

	for _, tt := range []struct {
		name, kind, target string
		tls                TLS
		want               string // in the hint
	}{
		{"unknown authority", "http", untrusted.URL, TLS{}, "pass that CA with --ca-file"},
		{"unknown authority", "otlp", untrusted.URL, TLS{}, "--ca-file"},
		{"unknown authority", "grpc", "grpcs://" + host(untrusted), TLS{}, "--ca-file"},
		{"unknown authority", "otlp", "grpcs://" + host(untrusted), TLS{}, "--ca-file"},
		{"no IP SAN", "http", noIPSAN.URL, TLS{CAFile: dnsOnlyCA}, `not for "127.0.0.1" but for collector.example: name one it holds with --tls-server-name`},
		{"no IP SAN", "grpc", "grpcs://" + host(noIPSAN), TLS{CAFile: dnsOnlyCA}, "--tls-server-name"},
		{"wrong name", "otlp", "grpcs://" + host(noIPSAN), TLS{CAFile: dnsOnlyCA, ServerName: "other.example"}, `not for "other.example"`},
		{"expired", "http", stale.URL, TLS{CAFile: expiredCA}, "has expired or is not valid yet (valid from "},
		{"expired", "otlp", "grpcs://" + host(stale), TLS{CAFile: expiredCA}, "clock"},
		{"plaintext", "http", "https://" + host(plainHTTP) + "/x?k=tok3n", TLS{}, "use --http http://" + host(plainHTTP) + "/x?k=redacted"},
		{"plaintext", "otlp", "https://" + host(plainHTTP), TLS{}, "use --otlp http://" + host(plainHTTP) + "/v1/traces"},
		{"plaintext", "grpc", "grpcs://" + plainGRPC, TLS{}, "use --grpc grpc://" + plainGRPC},
		{"plaintext", "otlp", "grpcs://" + plainGRPC, TLS{}, "use --otlp grpc://" + plainGRPC},
		{"plaintext gRPC", "http", "https://" + plainGRPC, TLS{}, "use --http http://" + plainGRPC},
		// And the other way round.
		{"TLS", "http", "http://" + host(untrusted), TLS{}, "the server speaks TLS on this port: write https://"},
		{"TLS", "otlp", "http://" + host(untrusted), TLS{}, "write https://"},
		{"TLS", "grpc", host(untrusted), TLS{}, "the server speaks TLS: use --grpc grpcs://" + host(untrusted)},
		{"TLS", "otlp", "grpc://" + host(untrusted), TLS{}, "the server speaks TLS: use --otlp grpcs://" + host(untrusted)},
	} {
		scheme, _, _ := strings.Cut(tt.target, ":")
		t.Run(tt.name+"/"+tt.kind+"/"+scheme, func(t *testing.T) {
			var (
				c   Checker
				err error
			)
			switch tt.kind {
			case "http":
				c, err = NewHTTP(tt.target, HTTPOptions{TLS: tt.tls})
			case "grpc":
				c, err = NewGRPC(tt.target, tt.tls)
			case "otlp":
				c, err = NewOTLP(tt.target, OTLPOptions{TLS: tt.tls})
			}
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err = c.Check(ctx)
			if !IsConfig(err) || !strings.Contains(Hint(err), tt.want) || strings.Contains(Hint(err), "tok3n") {
				t.Errorf("%s %s: have %v (hint %q), want a config error with a hint about %q", tt.kind, tt.target, err, Hint(err), tt.want)
			}
		})
	}

	// The hint's advice works.
	c, err := NewHTTP(noIPSAN.URL, HTTPOptions{TLS: TLS{CAFile: dnsOnlyCA, ServerName: "collector.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(t.Context()); err != nil {
		t.Errorf("with --tls-server-name collector.example: %v", err)
	}
}
