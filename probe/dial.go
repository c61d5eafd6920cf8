package probe

import (
	"context"
	"errors"
	"github.com/mailscout/mailscout/probe/proxy"
	"net"
	"net/netip"
	"strconv"
	"time"
)

type outcome struct {
	c   net.Conn
	err error
}

func (o outcome) conn() net.Conn { return o.c }

// raceDelay is the head start one address gets before the next is tried (RFC 8305 §5 suggests
// 250 ms as the "Connection Attempt Delay").
const raceDelay = 250 * time.Millisecond

// dial connects to the target: to Target.Addrs with DialRace when given, otherwise to host:port,
// letting the dialer resolve. The connect timeout bounds either.
func dial(ctx context.Context, t Target, opts *Options) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	d := opts.Dial
	if d == nil {
		var nd net.Dialer
		d = nd.DialContext
	}
	if opts.Proxy != nil {
		pd := *opts.Proxy
		if pd.Forward == nil {
			pd.Forward = proxy.DialFunc(d)
		}
		d = pd.DialContext
		if pd.RemoteResolves() {
			// The proxy resolves the name: its view of DNS is the one that counts.
			return d(dctx, "tcp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
		}
	}
	if len(t.Addrs) == 0 {
		return d(dctx, "tcp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	}
	return DialRace(dctx, d, t.Addrs, t.Port)
}

// DialRace connects to port on the first of addrs that answers, RFC 8305 style: families
// interleaved (IPv6 first), each attempt started raceDelay after the previous one or as soon as
// it fails; the first success wins and late successes are closed. ctx bounds the whole race.
func DialRace(ctx context.Context, d DialFunc, addrs []netip.Addr, portNum int) (net.Conn, error) {
	dctx := ctx
	port := strconv.Itoa(portNum)
	addrs = interleave(addrs)
	if len(addrs) == 0 {
		return nil, errors.New("no addresses to dial")
	}
	if len(addrs) == 1 {
		return d(dctx, "tcp", net.JoinHostPort(addrs[0].String(), port))
	}
	rctx, rcancel := context.WithCancel(dctx)
	defer rcancel()
	results := make(chan outcome, len(addrs))
	next := time.NewTimer(0)
	defer next.Stop()
	started, failed := 0, 0
	var errs []error
	for {
		select {
		case <-next.C:
		case o := <-results:
			if o.err == nil {
				rcancel()
				// Close the connections of attempts that still succeed after this one.
				go closeLate(results, started-failed-1)
				return o.c, nil
			}
			failed++
			errs = append(errs, o.err)
			if failed == len(addrs) {
				return nil, errs[0]
			}
			if started > failed {
				continue // others are still in flight; the timer starts the next one
			}
		case <-dctx.Done():
			go closeLate(results, started-failed)
			return nil, errors.Join(append([]error{dctx.Err()}, errs...)...)
		}
		if started < len(addrs) {
			a := addrs[started]
			started++
			go func() {
				c, err := d(rctx, "tcp", net.JoinHostPort(a.String(), port))
				results <- outcome{c, err}
			}()
			next.Reset(raceDelay)
		}
	}
}

// closeLate waits for the pending attempts (already canceled) and closes any connection that
// still got through. The goroutine ends when the last attempt returns, promptly since its
// context is canceled.
func closeLate[T interface{ conn() net.Conn }](ch chan T, pending int) {
	for range pending {
		if c := (<-ch).conn(); c != nil {
			c.Close()
		}
	}
}

// interleave orders addresses IPv6, IPv4, IPv6, … keeping each family's order (RFC 8305 §4).
func interleave(addrs []netip.Addr) []netip.Addr {
	var v6, v4 []netip.Addr
	for _, a := range addrs {
		if a.Is4() || a.Is4In6() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	out := make([]netip.Addr, 0, len(addrs))
	for i := 0; i < len(v6) || i < len(v4); i++ {
		if i < len(v6) {
			out = append(out, v6[i])
		}
		if i < len(v4) {
			out = append(out, v4[i])
		}
	}
	return out
}
