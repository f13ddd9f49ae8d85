package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
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
			return c.refused.explain(ctx, err)
		}
		return err
	}
	zerolog.Ctx(ctx).Debug().Str("addr", conn.RemoteAddr().String()).Msg("accepted")
	return conn.Close()
}

// refusals explains the refused connections to one target. When the
// address refused is a loopback one, whether given as such or resolved
// from a name such as localhost, and the other address family's loopback
// accepts, the server is up but listens on one family only, and the
// target will never work.
type refusals struct {
	accepts asked[string] // the other address, if it accepted
}

// diagnoseEvery is how often a question that costs connections to a target
// is asked again, to explain why it is not ready.
const diagnoseEvery = 5 * time.Second

// asked keeps the answer to such a question, for one key, so that it is
// asked at most every diagnoseEvery: the target sees no more connections
// than its schedule's, however often its attempts fail.
type asked[T any] struct {
	mu  sync.Mutex
	key string
	at  time.Time
	val T
}

// get returns the answer for key, asking again when it is older than
// diagnoseEvery or was for another key. An answer cut short by the end of
// ctx, the attempt's, is used once but not kept: it may be wrong.
func (a *asked[T]) get(ctx context.Context, key string, ask func() T) T {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.at.IsZero() || a.key != key || time.Since(a.at) >= diagnoseEvery {
		v := ask()
		if ctx.Err() != nil {
			a.at = time.Time{}
			return v
		}
		a.key, a.at, a.val = key, time.Now(), v
	}
	return a.val
}

// explain returns err, with a hint if the other loopback family accepts.
func (r *refusals) explain(ctx context.Context, err error) error {
	refused, ok := refusedLoopback(err)
	if !ok {
		return err
	}
	other := netip.AddrPortFrom(netip.IPv6Loopback(), refused.Port()).String()
	if refused.Addr().Is6() {
		other = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), refused.Port()).String()
	}
	accepts := r.accepts.get(ctx, refused.String(), func() string {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", other)
		if err != nil {
			return ""
		}
		_ = conn.Close()
		return other
	})
	if accepts == "" {
		return err
	}
	return &HintError{
		Err:    fmt.Errorf("%w (but %s accepts)", err, accepts),
		Hint:   fmt.Sprintf("the server listens on %s only: probe %s, and make sure the app sends there too (or have the server listen on both)", accepts, accepts),
		Config: true,
	}
}
