package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// TCP is ready when a TCP connection to its address is accepted; the
// connection is closed at once. A host name with several addresses
// (localhost: ::1 and 127.0.0.1) is ready when any of them accepts, as the
// Java exporter falls back from one to the next.
type TCP struct {
	addr    string
	dialer  net.Dialer
	refused refusals
}

// NewTCP parses HOST:PORT.
func NewTCP(addr string) (c *TCP, err error) {
	defer func() { err = hide(addr, err) }()
	if _, _, err := splitHostPort(addr); err != nil {
		return nil, err
	}
	// No TCP keep-alive: the connection is closed at once, so setting it
	// up would only be four system calls more before the command starts.
	return &TCP{addr: addr, dialer: net.Dialer{KeepAlive: -1}}, nil
}

func (c *TCP) String() string { return c.addr }

// Proto is "tcp".
func (c *TCP) Proto() string { return "tcp" }

// Check dials once.
func (c *TCP) Check(ctx context.Context) error {
	conn, err := c.dialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return c.refused.explain(ctx, c.addr, err)
		}
		return err
	}
	zerolog.Ctx(ctx).Debug().Str("addr", conn.RemoteAddr().String()).Msg("accepted")
	return conn.Close()
}

// refusals explains the refused connections to one target. When the
// address is a loopback literal and the other address family's loopback
// accepts, the server is up but listens on one family only, and the
// address given will never work. Finding that out costs a connection to
// the other address, so it is looked at again at most every diagnoseEvery
// and the conclusion kept meanwhile: the probe rate stays the target's own.
type refusals struct {
	mu      sync.Mutex
	addr    string    // the address last looked at
	checked time.Time // when
	accepts string    // the other address, if it accepted then
}

// diagnoseEvery is how often a refused target's other loopback family is
// tried.
const diagnoseEvery = 5 * time.Second

// explain returns err, with a hint if the other loopback family accepts.
func (r *refusals) explain(ctx context.Context, addr string, err error) error {
	host, port, serr := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	if serr != nil || ip == nil || !ip.IsLoopback() {
		return err
	}
	other := net.JoinHostPort("::1", port)
	if ip.To4() == nil {
		other = net.JoinHostPort("127.0.0.1", port)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.addr != addr || time.Since(r.checked) >= diagnoseEvery {
		r.addr, r.checked, r.accepts = addr, time.Now(), ""
		var d net.Dialer
		if conn, derr := d.DialContext(ctx, "tcp", other); derr == nil {
			_ = conn.Close()
			r.accepts = other
		}
	}
	if r.accepts == "" {
		return err
	}
	return &HintError{
		Err:    fmt.Errorf("%w (but %s accepts)", err, r.accepts),
		Hint:   fmt.Sprintf("the server listens on %s only: probe %s, and make sure the app sends there too (or have the server listen on both)", r.accepts, r.accepts),
		Config: true,
	}
}
