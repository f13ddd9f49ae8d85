package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// sockDiag looks up listening TCP sockets through NETLINK_SOCK_DIAG
// (inet_diag), the interface ss(8) uses. It needs no privilege: it sees
// the sockets of the caller's own network namespace.
type sockDiag struct {
	fd  int
	seq uint32
	buf []byte
}

const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	tcpListen        = 10 // TCP_LISTEN, as a state number
	diagReqLen       = 56 // struct inet_diag_req_v2
	diagMsgLen       = 72 // struct inet_diag_msg
)

func openListenTable() listenTable {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.NETLINK_INET_DIAG)
	if err != nil {
		return nil
	}
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		_ = syscall.Close(fd)
		return nil
	}
	return &sockDiag{fd: fd, buf: make([]byte, 32<<10)}
}

func (s *sockDiag) Close() error { return syscall.Close(s.fd) }

// listening asks the kernel which socket would take a connection to addr:
// an exact lookup (not a dump of the table), the same one an arriving SYN
// gets, so it finds a listener on addr itself, on the wildcard address, or
// a dual-stack [::] socket for an IPv4 addr; and nothing for a socket that
// is bound but not yet listening.
func (s *sockDiag) listening(addr netip.AddrPort) ([]uint64, error) {
	s.seq++
	req := make([]byte, syscall.NLMSG_HDRLEN+diagReqLen)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], sockDiagByFamily)
	ne.PutUint16(req[6:], syscall.NLM_F_REQUEST)
	ne.PutUint32(req[8:], s.seq)
	r := req[syscall.NLMSG_HDRLEN:]
	r[0] = syscall.AF_INET6
	ip := addr.Addr().Unmap()
	if ip.Is4() {
		r[0] = syscall.AF_INET
	}
	r[1] = syscall.IPPROTO_TCP
	ne.PutUint32(r[4:], 1<<tcpListen)
	// struct inet_diag_sockid: the socket's own end is addr; the peer is
	// the same address on port 0, which no connection has.
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], addr.Port())
	a := ip.AsSlice()
	copy(id[4:20], a)
	copy(id[20:36], a)
	// INET_DIAG_NOCOOKIE: any socket, whatever its cookie.
	ne.PutUint32(id[40:], ^uint32(0))
	ne.PutUint32(id[44:], ^uint32(0))
	if err := syscall.Sendto(s.fd, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	for {
		n, _, err := syscall.Recvfrom(s.fd, s.buf, 0)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return nil, fmt.Errorf("sock_diag: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(s.buf[:n])
		if err != nil {
			return nil, fmt.Errorf("sock_diag: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != s.seq {
				continue // the answer to an earlier, abandoned request
			}
			switch m.Header.Type {
			case syscall.NLMSG_ERROR:
				if len(m.Data) < 4 {
					return nil, errors.New("sock_diag: short error reply")
				}
				switch errno := syscall.Errno(-int32(ne.Uint32(m.Data))); errno {
				case 0, syscall.ENOENT:
					return nil, nil // nothing would take the connection
				default:
					return nil, fmt.Errorf("sock_diag: %w", errno)
				}
			case sockDiagByFamily:
				d := m.Data
				if len(d) < diagMsgLen || d[1] != tcpListen {
					// An established connection from addr to itself, port
					// 0: impossible; or a socket not listening, which
					// takes no connection.
					return nil, nil
				}
				return []uint64{uint64(ne.Uint32(d[68:]))}, nil
			}
		}
	}
}
