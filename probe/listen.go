package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
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
// while a loopback address refuses and the next attempt is delay away:
// every 2 ms during the backoff's hold, when a Collector is most likely to
// come up, then a tenth of the delay, every 30 ms once attempts come every
// 300 ms. A read takes about 5 µs, but waking the Go runtime up for it
// costs tens to hundreds of microseconds of CPU on a virtual machine; the
// slowing keeps a long wait to about 1 % of a core. The benchmark harness
// reports CPU per second of waiting.
func listenPoll(delay time.Duration, held bool) time.Duration {
	if held {
		return 2 * time.Millisecond
	}
	return min(max(delay/10, 2*time.Millisecond), 30*time.Millisecond)
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

// listenHub looks up, for all the targets of one Wait, the loopback
// addresses they were refused on, from one goroutine: waking up costs far
// more than a lookup, so the three signals of one Collector (auto mode's
// usual targets) cost one wake-up per poll, not three.
type listenHub struct {
	open  sync.Once
	table listenTable // nil where the platform has none

	mu     sync.Mutex // guards what follows, and the table's use
	broken bool       // a lookup failed: the backoff alone decides
	subs   map[*listenSub]bool
	kick   chan struct{} // a first subscription after none
	stop   chan struct{}
	done   chan struct{}
}

// A listenSub is one target sleeping until its backoff delay ends or a new
// listener of addr appears.
type listenSub struct {
	addr netip.AddrPort
	poll time.Duration
	// seen holds every listener of addr the target has seen; only a
	// socket not in it wakes the target, so a listener that takes the
	// connection and still refuses (gone again at once, say) makes
	// attempts come faster only once. The poller owns it while the target
	// is subscribed, the target otherwise.
	seen map[uint64]bool
	woke chan struct{}
}

func newListenHub() *listenHub {
	return &listenHub{
		subs: map[*listenSub]bool{},
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
}

// usable opens the table and starts the poller the first time; it reports
// whether lookups can be made.
func (h *listenHub) usable() bool {
	h.open.Do(func() {
		h.table = openListenTable()
		if h.table == nil {
			close(h.done)
			return
		}
		go h.run()
	})
	if h.table == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.broken
}

// close stops the poller and closes the table; Wait calls it before it
// returns, so nothing of it is left when the command is exec'd.
func (h *listenHub) close() {
	h.open.Do(func() { close(h.done) }) // never opened: nothing to stop
	if h.table == nil {
		return
	}
	close(h.stop)
	<-h.done
	_ = h.table.Close()
}

// note records addr's listener as it is now into seen, before an attempt
// on addr: what listens then can't be what the attempt missed. It reports
// whether the table answered.
func (h *listenHub) note(addr netip.AddrPort, seen map[uint64]bool) bool {
	if !h.usable() {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	inodes, err := h.table.listening(addr)
	if err != nil {
		h.broken = true
		return false
	}
	addNew(seen, inodes)
	return true
}

// addNew adds inodes to seen and reports whether any was not in it.
func addNew(seen map[uint64]bool, inodes []uint64) bool {
	found := false
	for _, ino := range inodes {
		if !seen[ino] {
			seen[ino] = true
			found = true
		}
	}
	return found
}

// sleep waits until timer fires, ctx is done, or a listener of addr not in
// seen appears, looking every poll. It returns false only when ctx is
// done.
func (h *listenHub) sleep(ctx context.Context, timer <-chan time.Time, addr netip.AddrPort, seen map[uint64]bool, poll time.Duration) bool {
	s := &listenSub{addr: addr, poll: poll, seen: seen, woke: make(chan struct{}, 1)}
	h.mu.Lock()
	if len(h.subs) == 0 {
		select {
		case h.kick <- struct{}{}:
		default:
		}
	}
	h.subs[s] = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}()
	select {
	case <-ctx.Done():
		return false
	case <-timer:
	case <-s.woke:
	}
	return true
}

// run is the poller: every poll (the shortest any subscriber asks for) it
// looks up each subscribed address once and wakes the subscribers that
// see a new listener. With no subscribers it sleeps until one comes.
func (h *listenHub) run() {
	defer close(h.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		h.mu.Lock()
		var poll time.Duration
		for s := range h.subs {
			if poll == 0 || s.poll < poll {
				poll = s.poll
			}
		}
		if h.broken {
			poll = 0
		}
		h.mu.Unlock()
		if poll == 0 {
			select {
			case <-h.kick:
				continue
			case <-h.stop:
				return
			}
		}
		timer.Reset(poll)
		select {
		case <-timer.C:
		case <-h.stop:
			return
		}
		h.lookAll()
	}
}

// lookAll looks up each subscribed address once and wakes the subscribers
// that see a new listener.
func (h *listenHub) lookAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	type answer struct {
		inodes []uint64
		err    error
	}
	answers := map[netip.AddrPort]answer{}
	for s := range h.subs {
		a, ok := answers[s.addr]
		if !ok {
			a.inodes, a.err = h.table.listening(s.addr)
			answers[s.addr] = a
		}
		if a.err != nil {
			h.broken = true // the subscribers' timers decide from now on
			return
		}
		if addNew(s.seen, a.inodes) {
			select {
			case s.woke <- struct{}{}:
			default:
			}
		}
	}
}
