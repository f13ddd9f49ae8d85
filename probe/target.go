package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
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
// literal (IPv6 in brackets) and a numeric port from 1 to 65535.
func splitHostPort(addr string) (host, port string, err error) {
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
	if strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return "", "", fmt.Errorf("address %q: invalid IPv6 address %q", addr, host)
	}
	if n, perr := strconv.ParseUint(port, 10, 16); perr != nil || n == 0 || port[0] == '+' {
		return "", "", fmt.Errorf("address %q: port %q is not a number from 1 to 65535", addr, port)
	}
	return host, port, nil
}

// redactURL hides what a URL may carry in secret: the userinfo password and
// every query value.
func redactURL(u *url.URL) string {
	c := *u
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			q[k] = []string{"redacted"}
		}
		c.RawQuery = q.Encode()
	}
	return c.Redacted()
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
