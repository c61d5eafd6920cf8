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

// clientAddr is the address of the client: the connection's peer, or, when the request came
// through a trusted reverse proxy (Config.fromProxy), the last address in X-Forwarded-For — the
// one the proxy itself appended; everything left of it is whatever the client claimed.
func clientAddr(r *http.Request, fromProxy bool) netip.Addr {
	if fromProxy {
		if a, err := netip.ParseAddr(lastForwarded(r.Header.Values("X-Forwarded-For"))); err == nil {
			return a.Unmap()
		}
	}
	if a := peerAddr(r); a.IsValid() {
		return a
	}
	return netip.IPv4Unspecified() // not a TCP peer (a test's recorder): one shared bucket
}

// peerAddr is the address of the connection's peer, unmapped; invalid when it is not one.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// lastForwarded is the last value of a forwarding header that may come as several lines and
// comma-separated lists: what the nearest proxy appended (or set).
func lastForwarded(values []string) string {
	if len(values) == 0 {
		return ""
	}
	parts := strings.Split(values[len(values)-1], ",")
	return strings.TrimSpace(parts[len(parts)-1])
}

// overHTTPS says whether the client's request reached us encrypted: directly over TLS, or, from
// a trusted reverse proxy, at a proxy that says so in the last value of X-Forwarded-Proto.
func overHTTPS(r *http.Request, fromProxy bool) bool {
	if r.TLS != nil {
		return true
	}
	return fromProxy && strings.EqualFold(lastForwarded(r.Header.Values("X-Forwarded-Proto")), "https")
}
