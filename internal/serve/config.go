package serve

import (
	"errors"
	"fmt"
	"log/slog"
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
	// DB is the SQLite database file; "" keeps results in memory only.
	DB string
	// Retention is how long results are kept.
	Retention time.Duration
	// ProfileIdentifier is the reverse-DNS prefix of Apple profiles; Organization their publisher.
	ProfileIdentifier string
	Organization      string
	// Examples are addresses the page offers as links (the demo world's).
	Examples []string
	// Logger receives one line per request and per discovery; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
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
		CacheTTL:          10 * time.Minute,
		CacheEntries:      500,
		RateLimit:         1,
		RateBurst:         20,
		Retention:         30 * 24 * time.Hour,
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

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
