package discover

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// ipKnowledge is what probes learn about a server address and share: the fastest connect seen.
// A port that stays silent while another port of the same address answered in a millisecond is
// filtered, not slow; waiting the full connect timeout for it only holds the answer hostage.
type ipKnowledge struct {
	mu    sync.Mutex
	ips   map[netip.Addr]*ipState
	ports map[netip.AddrPort]chan struct{} // closed once a TLS handshake there succeeded
}

type ipState struct {
	rtt   time.Duration
	known chan struct{} // closed once rtt is set
}

// Adaptive connect timeout: a generous multiple of the measured connect time, never below a
// floor that absorbs scheduling noise and a lost SYN's first retransmission is not waited for.
const (
	adaptiveFactor = 8
	adaptiveFloor  = 500 * time.Millisecond
)

func newIPKnowledge() *ipKnowledge {
	return &ipKnowledge{ips: map[netip.Addr]*ipState{}, ports: map[netip.AddrPort]chan struct{}{}}
}

func (k *ipKnowledge) portTLS(ap netip.AddrPort) chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, ok := k.ports[ap]
	if !ok {
		ch = make(chan struct{})
		k.ports[ap] = ch
	}
	return ch
}

// learnImplicitTLS records that a TLS handshake succeeded at ap: the port speaks implicit TLS,
// so a plaintext client there will never be greeted.
func (k *ipKnowledge) learnImplicitTLS(ap netip.AddrPort) {
	ch := k.portTLS(ap)
	k.mu.Lock()
	defer k.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

func (k *ipKnowledge) state(ip netip.Addr) *ipState {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.ips[ip]
	if !ok {
		s = &ipState{known: make(chan struct{})}
		k.ips[ip] = s
	}
	return s
}

func (k *ipKnowledge) observe(ip netip.Addr, d time.Duration) {
	s := k.state(ip)
	k.mu.Lock()
	defer k.mu.Unlock()
	select {
	case <-s.known:
		s.rtt = min(s.rtt, d)
	default:
		s.rtt = d
		close(s.known)
	}
}

func (k *ipKnowledge) limit(ip netip.Addr) time.Duration {
	s := k.state(ip)
	k.mu.Lock()
	defer k.mu.Unlock()
	return max(adaptiveFactor*s.rtt, adaptiveFloor)
}

type dialOutcome struct {
	c   net.Conn
	err error
}

// dialer wraps base: it records connect times, and cuts a connect short once another
// connection to the same address has shown how fast that address answers. The probe then
// reports connect_timeout, and c.adaptErr says why it came early.
func (k *ipKnowledge) dialer(base probe.DialFunc, c *candidate) probe.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return base(ctx, network, addr)
		}
		ip := ap.Addr()
		st := k.state(ip)
		start := time.Now()
		dctx, cancel := context.WithCancel(ctx)
		defer cancel()
		out := make(chan dialOutcome, 1)
		go func() {
			conn, err := base(dctx, network, addr)
			out <- dialOutcome{conn, err}
		}()
		known := st.known
		var cut <-chan time.Time
		for {
			select {
			case o := <-out:
				if o.err != nil {
					return nil, o.err
				}
				k.observe(ip, time.Since(start))
				c.dialed.Store(&ap)
				if c.Security == probe.TLS {
					return o.c, nil
				}
				return k.watchGreeting(o.c, ap, c), nil
			case <-known:
				known = nil
				t := time.NewTimer(time.Until(start.Add(k.limit(ip))))
				defer t.Stop()
				cut = t.C
			case <-cut:
				cancel()
				if o := <-out; o.c != nil {
					o.c.Close()
				}
				k.mu.Lock()
				rtt := st.rtt
				k.mu.Unlock()
				why := fmt.Sprintf("(gave up after %s: another port of %s accepted a connection in %s)", max(adaptiveFactor*rtt, adaptiveFloor).Round(time.Millisecond), ip, rtt.Round(100*time.Microsecond))
				c.adaptErr.Store(&why)
				return nil, &net.OpError{Op: "dial", Net: network, Err: timeoutError{}}
			}
		}
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "connect timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// watchGreeting cuts the wait for a plaintext greeting short once a TLS handshake on the same
// address and port has succeeded: that port speaks implicit TLS and will stay silent. The watch
// ends with the connection.
func (k *ipKnowledge) watchGreeting(conn net.Conn, ap netip.AddrPort, c *candidate) net.Conn {
	w := &watchedConn{Conn: conn, closed: make(chan struct{})}
	learned := k.portTLS(ap)
	go func() {
		select {
		case <-learned:
			if !w.spoke.Load() {
				w.cut.Store(true)
				why := "(stopped waiting: a TLS handshake on the same port succeeded, so it speaks implicit TLS)"
				c.adaptErr.Store(&why)
				conn.SetReadDeadline(time.Now())
			}
		case <-w.closed:
		}
	}()
	return w
}

type watchedConn struct {
	net.Conn
	spoke     atomic.Bool // the server sent something
	cut       atomic.Bool
	closeOnce sync.Once
	closed    chan struct{}
}

func (w *watchedConn) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	if n > 0 {
		w.spoke.Store(true)
	}
	return n, err
}

func (w *watchedConn) Close() error {
	w.closeOnce.Do(func() { close(w.closed) })
	return w.Conn.Close()
}
