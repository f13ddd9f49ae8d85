package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/otelwait/otelwait/internal/redact"
)

// TLS is how https and grpcs targets verify the server and present a client
// certificate. Verification is on unless InsecureSkipVerify is set.
type TLS struct {
	CAFile             string // PEM bundle that replaces the system roots
	CertFile, KeyFile  string // client certificate and key, both or neither
	ServerName         string // overrides the name checked in the server's certificate
	InsecureSkipVerify bool

	loaded *tls.Config // set by Load
}

// Load reads the files named by t, so that a missing or malformed file is a
// usage error before any waiting starts, and returns t holding the result:
// the targets built with it then share those bytes instead of reading the
// files again.
func (t TLS) Load() (TLS, error) {
	cfg, err := t.Config()
	if err != nil {
		return t, err
	}
	t.loaded = cfg
	return t, nil
}

// Config returns a tls.Config of its own for one target: a copy of what
// Load read, or else loaded from the files named by t. Targets call it when
// they are parsed, never while waiting.
func (t TLS) Config() (*tls.Config, error) {
	if t.loaded != nil {
		return t.loaded.Clone(), nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // asked for explicitly, and logged as a warning
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca file %q: no PEM certificate found", t.CAFile)
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("a client certificate needs both a certificate file and a key file")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// splitHostPort checks a HOST:PORT address: a non-empty host name or IP
// literal (IPv6 in brackets) and a numeric port from 1 to 65535. Its errors
// show addr redacted, as every error about a target does.
func splitHostPort(addr string) (host, port string, err error) {
	if i := strings.IndexAny(addr, "@?#"); i >= 0 {
		what := map[byte]string{'@': "user:password", '?': "query", '#': "fragment"}[addr[i]]
		return "", "", &HintError{
			Err:  fmt.Errorf("address %q: HOST:PORT takes no %s", redact.URL(addr), what),
			Hint: "e.g. localhost:4317 or [::1]:4317",
		}
	}
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		var aerr *net.AddrError
		if errors.As(err, &aerr) && strings.Contains(aerr.Err, "too many colons") {
			return "", "", &HintError{
				Err:  fmt.Errorf("address %q: IPv6 literal without brackets", addr),
				Hint: "write IPv6 addresses in brackets, e.g. [::1]:4317",
			}
		}
		return "", "", &HintError{
			Err:  fmt.Errorf("address %q: want HOST:PORT", addr),
			Hint: "e.g. localhost:4317 or [::1]:4317",
		}
	}
	if host == "" {
		return "", "", &HintError{
			Err:  fmt.Errorf("address %q: missing host", addr),
			Hint: "name the host, e.g. localhost" + addr,
		}
	}
	if strings.ContainsAny(host, " \t\r\n/@?#[]") {
		return "", "", fmt.Errorf("address %q: invalid host %q", addr, host)
	}
	// An IPv6 literal may name its zone, as link-local addresses need:
	// [fe80::1%eth0]:4317 (in a URL, [fe80::1%25eth0]): an interface's
	// name or index.
	if strings.Contains(host, ":") {
		ip, perr := netip.ParseAddr(host)
		if perr != nil || strings.ContainsFunc(ip.Zone(), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r))
		}) {
			return "", "", fmt.Errorf("address %q: invalid IPv6 address %q", addr, host)
		}
	} else if strings.Contains(host, "%") {
		return "", "", fmt.Errorf("address %q: invalid host %q", addr, host)
	}
	if n, perr := strconv.ParseUint(port, 10, 16); perr != nil || n == 0 || port[0] == '+' {
		return "", "", fmt.Errorf("address %q: port %q is not a number from 1 to 65535", addr, port)
	}
	return host, port, nil
}

// grpcExtra names what a gRPC target can't carry but a URL can: a
// user:password (an '@' anywhere: no health service or signal has one), a
// query or a fragment; "" when it has none. rest is the target without its
// scheme.
func grpcExtra(rest string) string {
	switch {
	case strings.Contains(rest, "@"):
		return "user:password"
	case strings.Contains(rest, "?"):
		return "query"
	case strings.Contains(rest, "#"):
		return "fragment"
	}
	return ""
}

// hide returns err, an error about the target raw, with every quote of
// what redact.URL hides in raw taken out of its message and hint
// (redact.Problem): parsers quote the part at fault, and that part may be
// a password typed where a port or a service goes. Every constructor's
// error goes through it.
func hide(raw string, err error) error {
	if err == nil {
		return nil
	}
	msg := redact.Problem(raw, err.Error())
	if h, ok := errors.AsType[*HintError](err); ok {
		if hint := redact.Problem(raw, h.Hint); msg != err.Error() || hint != h.Hint {
			return &HintError{Err: errors.New(msg), Hint: hint, Config: h.Config}
		}
		return err
	}
	if msg != err.Error() {
		return errors.New(msg)
	}
	return err
}

// redactURL hides what a URL may carry in secret, as redact.URL does: the
// userinfo password, or a user name without one (often a token), and every
// query value (an entry without '=' whole).
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery = redact.Query(c.RawQuery)
	if _, ok := c.User.Password(); c.User != nil && !ok {
		c.User = url.User("xxxxx")
	}
	return c.Redacted()
}

// validScheme reports whether s has the syntax of a URL scheme (RFC 3986:
// a letter, then letters, digits, '+', '-' or '.'), so that it can be
// quoted in a message without quoting a secret typed where a scheme goes.
func validScheme(s string) bool {
	for i, r := range s {
		switch {
		case 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// wellKnown names what usually listens on a Collector's default ports, for
// hints when a probe of one protocol reaches a port of another.
func wellKnown(port string) string {
	switch port {
	case "4317":
		return "4317 is OTLP over gRPC"
	case "4318":
		return "4318 is OTLP over HTTP"
	case "13133":
		return "13133 is the health_check extension (HTTP)"
	case "13132":
		return "13132 is the healthcheckv2 extension's gRPC health service"
	}
	return ""
}

// suggest is the flag and target that probe addr (HOST:PORT) in proto,
// "grpc" or "http", the protocol its port was found to speak by a probe of
// the other: OTLP for an --otlp target (otlp) or an OTLP port, the health
// check for a health check's port, else both choices. secure keeps TLS.
func suggest(proto, addr string, otlp, secure bool) string {
	_, port, _ := net.SplitHostPort(addr)
	s := ""
	if secure {
		s = "s"
	}
	if proto == "grpc" {
		switch {
		case otlp || port == "4317":
			return "--otlp grpc" + s + "://" + addr
		case port == "13132":
			return "--grpc grpc" + s + "://" + addr
		}
		return "--grpc grpc" + s + "://" + addr + " for a gRPC health service, or --otlp grpc" + s + "://" + addr + " for an OTLP receiver"
	}
	switch {
	case otlp || port == "4318":
		return "--otlp http" + s + "://" + addr
	case port == "13133":
		return "--http http" + s + "://" + addr + "/"
	}
	return "--http http" + s + "://" + addr + "/ for an HTTP endpoint, or --otlp http" + s + "://" + addr + " for an OTLP receiver"
}

// tlsHint explains a TLS connection that failed for a reason waiting
// won't fix, or returns nil: a certificate that doesn't verify, or a server
// that answers in plaintext, for which plain is the flag and target to use
// instead.
func tlsHint(err error, plain string) *HintError {
	var (
		unknown x509.UnknownAuthorityError
		name    x509.HostnameError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
	)
	var hint string
	switch {
	case errors.As(err, &unknown):
		hint = "the server's certificate is signed by an authority the system doesn't trust: pass that CA with --ca-file"
	case errors.As(err, &name):
		hint = fmt.Sprintf("the server's certificate is not for %q", name.Host)
		if name.Certificate != nil {
			var names []string
			names = append(names, name.Certificate.DNSNames...)
			for _, ip := range name.Certificate.IPAddresses {
				names = append(names, ip.String())
			}
			if len(names) > 0 {
				hint += " but for " + strings.Join(names, ", ")
			}
		}
		hint += ": name one it holds with --tls-server-name, or probe by that name"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		hint = "the server's certificate has expired or is not valid yet"
		if c := invalid.Cert; c != nil {
			hint += fmt.Sprintf(" (valid from %s to %s)", c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
		}
		hint += ": renew it, or check this machine's clock"
	case errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &record):
		hint = "the server answers in plaintext, not TLS: use " + plain
	default:
		return nil
	}
	return &HintError{Err: err, Hint: hint, Config: true}
}
