package serve

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per client (golang.org/x/time/rate). Clients are IP addresses;
// IPv6 clients are their /64, which one subscriber usually holds whole and could otherwise walk
// through to get a fresh bucket per request. Buckets idle for longer than it takes them to
// refill are forgotten, and the table is bounded: past maxClients, new clients share one bucket,
// so a flood of spoofed-looking sources costs memory no matter what.
type limiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu       sync.Mutex
	clients  map[netip.Prefix]*bucket
	overflow *rate.Limiter
	swept    time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const maxClients = 100_000

func newLimiter(perSecond float64, burst int, now func() time.Time) *limiter {
	if perSecond <= 0 {
		return nil
	}
	return &limiter{rate: rate.Limit(perSecond), burst: burst, now: now, clients: map[netip.Prefix]*bucket{},
		overflow: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// allow takes a token for the client, or returns how long until one is there.
func (l *limiter) allow(client netip.Addr) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	p := clientPrefix(client)
	b, ok := l.clients[p]
	switch {
	case ok:
	case len(l.clients) < maxClients:
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.clients[p] = b
	default:
		b = &bucket{lim: l.overflow}
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets buckets that have been idle long enough to be full again: forgetting them
// changes nothing for their client. It runs at most once a minute.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	refill := time.Duration(float64(l.burst)/float64(l.rate)*float64(time.Second)) + time.Second
	for p, b := range l.clients {
		if now.Sub(b.seen) > refill {
			delete(l.clients, p)
		}
	}
}

// clientPrefix is what one client is: an IPv4 address, or an IPv6 /64.
func clientPrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// clientAddr is the address of the client: the connection's peer, or, when the operator says a
// reverse proxy is in front (--trust-proxy-headers), the last address in X-Forwarded-For — the
// one the proxy itself appended; everything left of it is whatever the client claimed.
func clientAddr(r *http.Request, trustProxy bool) netip.Addr {
	if trustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				return a.Unmap()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.IPv4Unspecified() // not a TCP peer (a test's recorder): one shared bucket
	}
	return a.Unmap()
}

// overHTTPS says whether the client's request reached us encrypted: directly over TLS, or, with
// --trust-proxy-headers, at a proxy that says so in X-Forwarded-Proto.
func overHTTPS(r *http.Request, trustProxy bool) bool {
	if r.TLS != nil {
		return true
	}
	return trustProxy && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}
