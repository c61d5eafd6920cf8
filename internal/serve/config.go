package serve

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/mailscout/mailscout/discover"
	"golang.org/x/net/idna"
)

// Config is what the operator decides. Start from DefaultConfig.
type Config struct {
	// Engine holds the engine-wide discovery options (probe timeouts, TLS bounds, resolver,
	// dialer, CA pool, concurrency, per-address politeness, ISPDB). Its Private field is
	// ignored: AllowPrivate decides, and the service never uses discover.PrivateFlag, which
	// would let any domain that names internal servers for itself steer probes at them.
	Engine discover.Options
	// AllowPrivate lets discoveries and probes reach loopback, private, link-local and other
	// non-public addresses. Only for a service that faces no strangers (or the demo world).
	AllowPrivate bool
	// AllowInsecure lets a configuration that works only insecurely be recommended when nothing
	// safe exists (it stays flagged); mail-client documents then include it.
	AllowInsecure bool
	// Deadline bounds one discovery.
	Deadline time.Duration
	// RequestTimeout bounds how long an API or page request waits for its discovery; the
	// discovery itself goes on, so a retry finds it cached.
	RequestTimeout time.Duration
	// ClientWait bounds how long a mail client's request waits. Thunderbird gives up on an
	// autoconfig fetch after 5 s, so the answer must come sooner or not at all.
	ClientWait time.Duration
	// MaxConcurrent bounds the discoveries (and /v1/probe batches) running at once; a request
	// that would start one more gets 503 busy.
	MaxConcurrent int
	// MaxPerClient bounds the discoveries (and /v1/probe batches) one client (an IPv4 address
	// or an IPv6 /64) has running at once. A discovery counts against the client that started
	// it until it ends, even after that client has hung up; joining an identical discovery
	// already running costs nothing. One more gets 429 rate_limited.
	MaxPerClient int
	// CacheTTL is how long a finished discovery answers later requests; CacheEntries bounds
	// how many are kept in memory (the database keeps the rest).
	CacheTTL     time.Duration
	CacheEntries int
	// RateLimit is the sustained requests per second one client may make to the endpoints that
	// can start work; RateBurst how many it may make at once. Zero RateLimit turns it off.
	RateLimit float64
	RateBurst int
	// Domains, when not empty, are the only domains the mail-client endpoints answer for.
	Domains []string
	// AllowLogin accepts credentials in a POST /v1/discover body over TLS.
	AllowLogin bool
	// TrustProxyHeaders takes the client address from X-Forwarded-For and the scheme from
	// X-Forwarded-Proto: only behind a reverse proxy that sets both and strips what clients sent.
	TrustProxyHeaders bool
	// TrustedProxies are the networks a reverse proxy connects from: X-Forwarded-For and
	// X-Forwarded-Proto count only (and only with TrustProxyHeaders) when the direct peer is in
	// one of them; from any other peer they are ignored.
	TrustedProxies []netip.Prefix
	// DB is the SQLite database file; "" keeps results in memory only.
	DB string
	// Retention is how long results are kept.
	Retention time.Duration
	// HistoryPerDomain bounds the results kept per domain (the newest stay); MaxResults bounds
	// the results kept in all (the oldest go first). Both are enforced as each result is
	// stored, so a stream of distinct addresses cannot grow the database without end.
	HistoryPerDomain int
	MaxResults       int
	// ProfileIdentifier is the reverse-DNS prefix of Apple profiles; Organization their publisher.
	ProfileIdentifier string
	Organization      string
	// Examples are addresses the page offers as links (the demo world's).
	Examples []string
	// Logger receives one line per request and per discovery; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// heartbeat is how often a quiet event stream gets a comment line; 0 means 15 s. Each write
	// to a stream may take at most two heartbeats. Tests shorten it.
	heartbeat time.Duration
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	e := discover.DefaultOptions()
	e.Concurrency = 64 // shared by every discovery of the service
	e.Probe.Transcript = true
	return Config{
		Engine:            e,
		Deadline:          20 * time.Second,
		RequestTimeout:    30 * time.Second,
		ClientWait:        4 * time.Second,
		MaxConcurrent:     8,
		MaxPerClient:      2,
		CacheTTL:          10 * time.Minute,
		CacheEntries:      500,
		RateLimit:         1,
		RateBurst:         20,
		Retention:         30 * 24 * time.Hour,
		HistoryPerDomain:  50,
		MaxResults:        100_000,
		TrustedProxies:    DefaultTrustedProxies(),
		ProfileIdentifier: "org.mailscout",
		Organization:      "mailscout",
	}
}

// validate rejects values that cannot work and normalises the domain list.
func (c *Config) validate() error {
	for name, d := range map[string]time.Duration{"deadline": c.Deadline, "request timeout": c.RequestTimeout,
		"client wait": c.ClientWait, "cache TTL": c.CacheTTL, "retention": c.Retention} {
		if d <= 0 {
			return fmt.Errorf("%s must be positive, not %s", name, d)
		}
	}
	switch {
	case c.MaxConcurrent < 1:
		return errors.New("max concurrent discoveries must be at least 1")
	case c.MaxPerClient < 1:
		return errors.New("max discoveries per client must be at least 1")
	case c.HistoryPerDomain < 1:
		return errors.New("the history per domain must keep at least 1 result")
	case c.MaxResults < 1:
		return errors.New("max results must be at least 1")
	case c.TrustProxyHeaders && len(c.TrustedProxies) == 0:
		return errors.New("trusting proxy headers needs at least one trusted proxy network")
	case c.CacheEntries < 1:
		return errors.New("cache entries must be at least 1")
	case c.RateLimit < 0 || c.RateLimit > 0 && c.RateBurst < 1:
		return errors.New("the rate limit must be positive with a burst of at least 1, or 0 for none")
	}
	for i, d := range c.Domains {
		a, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if err != nil || !strings.Contains(a, ".") {
			return fmt.Errorf("domain %q is not a domain name", d)
		}
		c.Domains[i] = strings.ToLower(a)
	}
	return nil
}

// DefaultTrustedProxies are the networks a reverse proxy is trusted from by default: loopback,
// where a proxy on the same host connects from.
func DefaultTrustedProxies() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// ParsePrefixes reads a comma-separated list of networks (CIDR) or single addresses.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil && a.Zone() == "" {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a network (CIDR) or an address", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// fromProxy says whether r's forwarding headers are to be believed: the operator said a proxy
// is in front (TrustProxyHeaders) and r came from one of the proxy networks.
func (c *Config) fromProxy(r *http.Request) bool {
	if !c.TrustProxyHeaders {
		return false
	}
	peer := peerAddr(r)
	if !peer.IsValid() {
		return false
	}
	for _, p := range c.TrustedProxies {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

func (c *Config) heartbeatEvery() time.Duration {
	if c.heartbeat > 0 {
		return c.heartbeat
	}
	return 15 * time.Second
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
