package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/rs/zerolog"
)

// TCP is ready when a TCP connection to its address is accepted; the
// connection is closed at once. A host name with several addresses
// (localhost: ::1 and 127.0.0.1) is ready when any of them accepts, as the
// Java exporter falls back from one to the next.
type TCP struct {
	addr   string
	dialer net.Dialer
}

// NewTCP parses HOST:PORT.
func NewTCP(addr string) (*TCP, error) {
	if _, _, err := splitHostPort(addr); err != nil {
		return nil, err
	}
	return &TCP{addr: addr}, nil
}

func (c *TCP) String() string { return c.addr }

// Proto is "tcp".
func (c *TCP) Proto() string { return "tcp" }

// Check dials once.
func (c *TCP) Check(ctx context.Context) error {
	conn, err := c.dialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return refusedHint(ctx, c.addr, err)
		}
		return err
	}
	zerolog.Ctx(ctx).Debug().Str("addr", conn.RemoteAddr().String()).Msg("accepted")
	return conn.Close()
}

// refusedHint diagnoses a connection to addr refused with err: when addr is
// a loopback literal and the other address family's loopback accepts, the
// server is up but listens on one family only, and the address given will
// never work. Otherwise err is returned as it is.
func refusedHint(ctx context.Context, addr string, err error) error {
	host, port, serr := net.SplitHostPort(addr)
	if serr != nil {
		return err
	}
	var other string
	switch ip := net.ParseIP(host); {
	case ip == nil || !ip.IsLoopback():
		return err
	case ip.To4() != nil:
		other = net.JoinHostPort("::1", port)
	default:
		other = net.JoinHostPort("127.0.0.1", port)
	}
	var d net.Dialer
	conn, derr := d.DialContext(ctx, "tcp", other)
	if derr != nil {
		return err
	}
	_ = conn.Close()
	return &HintError{
		Err:    fmt.Errorf("%w (but %s accepts)", err, other),
		Hint:   fmt.Sprintf("the server listens on %s only: probe localhost:%s, or %s", other, port, other),
		Config: true,
	}
}
