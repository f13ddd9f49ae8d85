package probe

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func addrPort(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

func openTable(t *testing.T) listenTable {
	t.Helper()
	tab := openListenTable()
	if tab == nil {
		t.Fatal("no NETLINK_SOCK_DIAG here")
	}
	t.Cleanup(func() { _ = tab.Close() })
	return tab
}

func listeners(t *testing.T, tab listenTable, addr netip.AddrPort) []uint64 {
	t.Helper()
	got, err := tab.listening(addr)
	if err != nil {
		t.Fatalf("listening(%s): %v", addr, err)
	}
	return got
}

// The table answers what a connection would find: a listener on the
// address itself, on the wildcard, or on a dual-stack [::]; not a socket
// that is only bound, nor one on another address or port.
func TestListenTable(t *testing.T) {
	tab := openTable(t)
	free := addrPort(t, freeAddr(t, "tcp4", "127.0.0.1"))
	port := strconv.Itoa(int(free.Port()))
	if got := listeners(t, tab, free); len(got) != 0 {
		t.Fatalf("%s before listen: have %v, want none", free, got)
	}

	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Close(fd) }()
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: int(free.Port()), Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if got := listeners(t, tab, free); len(got) != 0 {
		t.Fatalf("%s bound, not listening: have %v, want none", free, got)
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	if got := listeners(t, tab, free); len(got) != 1 {
		t.Fatalf("%s listening: have %v, want one socket", free, got)
	}
	_ = syscall.Close(fd)
	if got := listeners(t, tab, free); len(got) != 0 {
		t.Fatalf("%s after close: have %v, want none", free, got)
	}

	tests := []struct {
		network, listen string
		want            bool
	}{
		{"tcp4", "127.0.0.1", true},
		{"tcp4", "0.0.0.0", true},
		{"tcp", "", true}, // Go's ":port": a dual-stack [::] where there is IPv6
		{"tcp4", "127.0.0.2", false},
	}
	for _, tt := range tests {
		t.Run(tt.network+" "+tt.listen, func(t *testing.T) {
			ln, err := net.Listen(tt.network, net.JoinHostPort(tt.listen, port))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = ln.Close() }()
			if got := listeners(t, tab, free); (len(got) == 1) != tt.want {
				t.Errorf("%s with a listener on %s: have %v, want found=%v", free, ln.Addr(), got, tt.want)
			}
		})
	}

	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer func() { _ = ln6.Close() }()
	if got := listeners(t, tab, addrPort(t, ln6.Addr().String())); len(got) != 1 {
		t.Fatalf("%s listening: have %v, want one socket", ln6.Addr(), got)
	}
}

// Every kind of checker's refusal names the loopback port that refused.
func TestRefusedLoopbackPort(t *testing.T) {
	addr := freeAddr(t, "tcp4", "127.0.0.1")
	ap := addrPort(t, addr)
	var checkers []Checker
	tcp, err := NewTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	checkers = append(checkers, tcp)
	h, err := NewHTTP("http://"+addr+"/", HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkers = append(checkers, h)
	g, err := NewGRPC(addr, TLS{})
	if err != nil {
		t.Fatal(err)
	}
	checkers = append(checkers, g)
	for _, scheme := range []string{"grpc", "http"} {
		o, err := NewOTLP(scheme+"://"+addr, OTLPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkers = append(checkers, o)
	}
	for _, c := range checkers {
		t.Run(Proto(c)+" "+c.String(), func(t *testing.T) {
			err := c.Check(t.Context())
			if err == nil {
				t.Fatal("Check: have nil, want a refusal")
			}
			if have, ok := refusedLoopback(err); !ok || have != ap {
				t.Errorf("refusedLoopback(%v): have %s, %v; want %s, true", err, have, ok, ap)
			}
		})
	}

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	d := net.Dialer{Timeout: time.Nanosecond}
	if _, err := d.Dial("tcp", ln.Addr().String()); err != nil {
		if _, ok := refusedLoopback(err); ok {
			t.Errorf("refusedLoopback(%v): a timeout is not a refusal", err)
		}
	}
}

// slowOpts retries so rarely that only a listener's appearance can make a
// second attempt come within the test.
func slowOpts() Options {
	return Options{
		Backoff:        Backoff{Initial: time.Hour, Max: time.Hour, Hold: time.Hour, Factor: 2},
		AttemptTimeout: 5 * time.Second,
	}
}

func countingTCP(t *testing.T, addr string, n *atomic.Int32) Checker {
	t.Helper()
	c, err := NewTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	return CheckFunc(addr, func(ctx context.Context) error {
		n.Add(1)
		return c.Check(ctx)
	})
}

// A refused loopback port is retried as soon as something listens on it,
// not at the end of the backoff delay.
func TestWaitWakesWhenPortListens(t *testing.T) {
	addr := freeAddr(t, "tcp4", "127.0.0.1")
	var attempts atomic.Int32
	c := countingTCP(t, addr, &attempts)
	opened := listenAfter(t, 200*time.Millisecond, "tcp4", addr)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := Wait(ctx, []Checker{c}, slowOpts())
	if ln := <-opened; ln != nil {
		defer func() { _ = ln.Close() }()
	}
	if err != nil {
		t.Fatalf("Wait: %v (the listener did not wake it)", err)
	}
	if have := attempts.Load(); have != 2 {
		t.Errorf("attempts: have %d, want 2 (refused, then accepted)", have)
	}
}

// Targets refused on one address (auto mode's three signals to one
// Collector) share the lookups, and every one of them wakes.
func TestWaitWakesEveryTargetOnOneAddress(t *testing.T) {
	addr := freeAddr(t, "tcp4", "127.0.0.1")
	attempts := make([]atomic.Int32, 3)
	var targets []Checker
	for i := range attempts {
		targets = append(targets, countingTCP(t, addr, &attempts[i]))
	}
	opened := listenAfter(t, 200*time.Millisecond, "tcp4", addr)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := Wait(ctx, targets, slowOpts())
	if ln := <-opened; ln != nil {
		defer func() { _ = ln.Close() }()
	}
	if err != nil {
		t.Fatalf("Wait: %v (the listener did not wake every target)", err)
	}
	for i := range attempts {
		if have := attempts[i].Load(); have != 2 {
			t.Errorf("target %d: attempts: have %d, want 2", i, have)
		}
	}
}

// A listener that wakes the wait but is still refused (as behind a
// redirect the table can't see; here the check's own answer is a real
// refusal kept from before) wakes it once, not on every read of the table.
func TestWaitWakesOncePerListener(t *testing.T) {
	addr := freeAddr(t, "tcp4", "127.0.0.1")
	var d net.Dialer
	_, refused := d.Dial("tcp4", addr)
	if _, ok := refusedLoopback(refused); !ok {
		t.Fatalf("dial %s: have %v, want a refusal", addr, refused)
	}
	var attempts atomic.Int32
	c := CheckFunc(addr, func(context.Context) error {
		attempts.Add(1)
		return refused
	})
	opened := listenAfter(t, 100*time.Millisecond, "tcp4", addr)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	err := Wait(ctx, []Checker{c}, slowOpts())
	if ln := <-opened; ln != nil {
		defer func() { _ = ln.Close() }()
	}
	if err == nil {
		t.Fatal("Wait: have nil, want a timeout")
	}
	if have := attempts.Load(); have != 2 {
		t.Errorf("attempts: have %d, want 2 (refused; woken once by the new listener, refused)", have)
	}
}

// BenchmarkListenTable is the cost of one read of the table, which Wait
// makes every listenPoll while a loopback port refuses.
func BenchmarkListenTable(b *testing.B) {
	tab := openListenTable()
	if tab == nil {
		b.Skip("no NETLINK_SOCK_DIAG here")
	}
	defer func() { _ = tab.Close() }()
	addr := netip.MustParseAddrPort("127.0.0.1:4317")
	for b.Loop() {
		if _, err := tab.listening(addr); err != nil {
			b.Fatal(err)
		}
	}
}
