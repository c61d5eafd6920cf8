// Package dialrace connects to the first of several addresses that answers, the way RFC 8305
// ("Happy Eyeballs v2") asks: families interleaved, IPv6 first, each attempt started a short
// head start after the previous one or as soon as it fails. Probes and autoconfig fetches both
// use it, with discovery's own resolver's answers, so that neither leans on the system resolver.
//
// It is written here rather than taken from net.Dialer because net.Dialer races only names it
// resolves itself, and mailscout resolves with its own DNS client (to read the AD bit and to go
// through a test world's resolver).
package dialrace

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// DialFunc opens one connection.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Delay is the head start one address gets before the next is tried (RFC 8305 §5 suggests
// 250 ms as the "Connection Attempt Delay").
const Delay = 250 * time.Millisecond

type outcome struct {
	c   net.Conn
	err error
}

// Dial connects to port on the first of addrs that answers. The first success wins and late
// successes are closed; when every attempt fails, the first error is returned. ctx bounds the
// whole race.
func Dial(ctx context.Context, d DialFunc, addrs []netip.Addr, port int) (net.Conn, error) {
	p := strconv.Itoa(port)
	addrs = Interleave(addrs)
	if len(addrs) == 0 {
		return nil, errors.New("no addresses to dial")
	}
	if len(addrs) == 1 {
		return d(ctx, "tcp", net.JoinHostPort(addrs[0].String(), p))
	}
	rctx, rcancel := context.WithCancel(ctx)
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
		case <-ctx.Done():
			go closeLate(results, started-failed)
			return nil, errors.Join(append([]error{ctx.Err()}, errs...)...)
		}
		if started < len(addrs) {
			a := addrs[started]
			started++
			go func() {
				c, err := d(rctx, "tcp", net.JoinHostPort(a.String(), p))
				results <- outcome{c, err}
			}()
			next.Reset(Delay)
		}
	}
}

// closeLate waits for the pending attempts (already canceled) and closes any connection that
// still got through. It ends when the last attempt returns, promptly since its context is
// canceled.
func closeLate(ch chan outcome, pending int) {
	for range pending {
		if o := <-ch; o.c != nil {
			o.c.Close()
		}
	}
}

// Interleave orders addresses IPv6, IPv4, IPv6, … keeping each family's order (RFC 8305 §4).
func Interleave(addrs []netip.Addr) []netip.Addr {
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
