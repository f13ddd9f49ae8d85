package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// A refused connection to a loopback address means nothing listens there
// in this network namespace, which a pod's containers share. Instead of
// connecting again blindly at the end of each backoff delay, Wait then
// asks the kernel every few milliseconds (listenPoll) which socket would
// take a connection to that address (on Linux through NETLINK_SOCK_DIAG: a
// lookup in the kernel's table of listening sockets, which the target
// never sees), and tries again as soon as a new one would. A Collector
// whose receiver comes up is so noticed within milliseconds, and a target
// that is down gets no more connections than the backoff allows, plus one
// per new listening socket. The backoff's own attempts go on regardless,
// so where the table can't answer (a listener reached through NAT, a
// platform without sock_diag) only those milliseconds are lost.

// listenPoll is how often the kernel's table of listening sockets is read
// while a loopback address refuses and the next attempt is delay away: a
// twentieth of the delay, so every 2 ms while attempts come every 40 ms,
// slowing with the schedule to every 15 ms once they come every 300 ms.
// A read itself takes about 5 µs; waking up for it costs more (tens of
// microseconds of CPU on a virtual machine), which the slowing keeps to a
// few milliseconds of CPU a second in a long wait. The benchmark harness
// reports CPU per second of waiting.
func listenPoll(delay time.Duration) time.Duration {
	return min(max(delay/20, 2*time.Millisecond), 20*time.Millisecond)
}

// listenTable returns the identity (socket inode) of the listening TCP
// socket that would take a connection to addr, if any. It is nil where the
// platform cannot tell.
type listenTable interface {
	listening(addr netip.AddrPort) ([]uint64, error)
	Close() error
}

// refusedLoopback returns the loopback address that refused err's
// connection.
func refusedLoopback(err error) (netip.AddrPort, bool) {
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return netip.AddrPort{}, false
	}
	op, ok := errors.AsType[*net.OpError](err)
	if !ok {
		return netip.AddrPort{}, false
	}
	addr, ok := op.Addr.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := addr.AddrPort()
	ip := ap.Addr().Unmap()
	if !ip.IsLoopback() || ap.Port() == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, ap.Port()), true
}

// listenWatch follows one target's refused loopback address.
type listenWatch struct {
	table listenTable
	addr  netip.AddrPort
	// seen holds every listener of addr seen so far; only a socket not in
	// it wakes the wait, so a listener that takes the connection and
	// still refuses (gone again at once, say) makes attempts come faster
	// only once.
	seen map[uint64]bool
}

// newListenWatch opens the platform's table; nil if it has none.
func newListenWatch() *listenWatch {
	t := openListenTable()
	if t == nil {
		return nil
	}
	return &listenWatch{table: t, seen: map[uint64]bool{}}
}

func (w *listenWatch) close() {
	if w != nil {
		_ = w.table.Close()
	}
}

// note records the listener of addr as it is now, before an attempt on
// it; it returns false if the table can't be read.
func (w *listenWatch) note(addr netip.AddrPort) bool {
	if w.addr != addr {
		w.addr, w.seen = addr, map[uint64]bool{}
	}
	_, err := w.fresh()
	return err == nil
}

// fresh reads the table and reports whether a listener appeared that was
// not seen before.
func (w *listenWatch) fresh() (bool, error) {
	inodes, err := w.table.listening(w.addr)
	if err != nil {
		return false, err
	}
	found := false
	for _, ino := range inodes {
		if !w.seen[ino] {
			w.seen[ino] = true
			found = true
		}
	}
	return found, nil
}

// sleep waits until the timer fires, ctx is done, or a new listener of
// the watched address appears, whichever is first, looking every poll. It
// returns false only when ctx is done.
func (w *listenWatch) sleep(ctx context.Context, timer <-chan time.Time, poll time.Duration) bool {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer:
			return true
		case <-tick.C:
			found, err := w.fresh()
			if found {
				return true
			}
			if err != nil {
				// The table stopped answering: the timer alone decides.
				select {
				case <-ctx.Done():
					return false
				case <-timer:
					return true
				}
			}
		}
	}
}
