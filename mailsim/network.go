package mailsim

import (
	"context"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
)

// Network maps logical "host:port" addresses to real loopback addresses, so a scenario can say
// "mail.example.test:587" and the connection lands on the right in-process server. Addresses it
// does not know are refused, as a closed port would be; addresses marked filtered hang until the
// dial's context ends, as a firewall that drops packets would.
type Network struct {
	mu       sync.RWMutex
	routes   map[string]string
	filtered map[string]bool
	dialer   net.Dialer
	// RTT delays every successful connect by one round trip (SYN, SYN-ACK).
	RTT time.Duration
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{routes: map[string]string{}, filtered: map[string]bool{}}
}

// Route sends connections for logical (host:port) to real (a loopback address).
func (n *Network) Route(logical, real string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.routes[logical] = real
}

// Filter makes connections to logical hang until the caller gives up.
func (n *Network) Filter(logical string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.filtered[logical] = true
}

// DialContext has the shape of net.Dialer.DialContext and probe.DialFunc.
func (n *Network) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	n.mu.RLock()
	real, ok := n.routes[address]
	filtered := n.filtered[address]
	n.mu.RUnlock()
	switch {
	case ok:
		if n.RTT > 0 {
			t := time.NewTimer(n.RTT)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
			}
		}
		c, err := n.dialer.DialContext(ctx, network, real)
		if err != nil {
			return nil, err
		}
		// The connection says it reached the logical address, as it would on a real network.
		if ap, perr := netip.ParseAddrPort(address); perr == nil {
			return &logicalConn{Conn: c, remote: net.TCPAddrFromAddrPort(ap)}, nil
		}
		return c, nil
	case filtered:
		<-ctx.Done()
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
	return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// ResolvesRemotely is false: a Network is reached by address, like the Internet (it makes a
// Network a probe.Dialer).
func (n *Network) ResolvesRemotely() bool { return false }

type logicalConn struct {
	net.Conn
	remote net.Addr
}

func (c *logicalConn) RemoteAddr() net.Addr { return c.remote }
