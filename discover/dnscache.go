package discover

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// dnsCache is the engine's resolver: every question is asked once while its answer lives (its
// TTL, clamped), concurrent askers share the one lookup, and a bounded number of lookups is in
// flight, so a domain with 400 MX records costs a bounded number of sockets. It is shared by
// every discovery of an engine: in a batch, a provider's host names are resolved once.
type dnsCache struct {
	next    Resolver
	ctx     context.Context // the engine's: a lookup outlives any one discovery that asked
	sem     chan struct{}
	limiter *rate.Limiter // Options.DNSRate; nil for none
	mu      sync.Mutex
	closed  bool // wait has begun: no lookup may start
	entries map[dnsKey]*dnsEntry
	max     int // entries kept; expired ones are swept when it is reached
	wg      sync.WaitGroup
}

type dnsKey struct {
	qtype byte // 'M' MX, 'S' SRV, 'A' addresses
	name  string
}

// questions is how many DNS questions the lookup sends: an address lookup asks for A and AAAA.
func (k dnsKey) questions() int {
	if k.qtype == 'A' {
		return 2
	}
	return 1
}

type dnsEntry struct {
	ready   chan struct{}
	val     any // Answer[MX], Answer[SRV] or Answer[netip.Addr]
	err     error
	expires time.Time
}

// How long answers live: their TTL, at most maxCacheTTL; an answer without a TTL (or with 0,
// which must not make every candidate of a discovery ask again) minCacheTTL; a resolver failure
// failureCacheTTL, so that it is retried soon.
const (
	minCacheTTL     = 30 * time.Second
	maxCacheTTL     = time.Hour
	failureCacheTTL = 5 * time.Second // a resolver failure is retried soon
)

func newDNSCache(ctx context.Context, next Resolver, lookups, maxEntries int, perSecond float64) *dnsCache {
	c := &dnsCache{next: next, ctx: ctx, sem: make(chan struct{}, lookups), entries: map[dnsKey]*dnsEntry{}, max: maxEntries}
	if perSecond > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(perSecond), max(2, int(perSecond))) // an address lookup is 2
	}
	return c
}

func cached[T any](c *dnsCache, ctx context.Context, k dnsKey, ask func(context.Context) (Answer[T], error)) (Answer[T], error) {
	c.mu.Lock()
	e, ok := c.entries[k]
	if ok && !e.expires.IsZero() && time.Now().After(e.expires) {
		ok = false
	}
	if !ok && c.closed {
		c.mu.Unlock()
		return Answer[T]{}, context.Canceled // the engine is closed: no new lookup may start
	}
	if !ok {
		if len(c.entries) >= c.max {
			c.sweep()
		}
		e = &dnsEntry{ready: make(chan struct{})}
		c.entries[k] = e
		c.wg.Go(func() {
			c.fill(e, k.questions(), func(ctx context.Context) (any, time.Duration, error) {
				a, err := ask(ctx)
				return a, a.TTL, err
			})
		})
	}
	c.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return Answer[T]{}, ctx.Err()
	}
	a, _ := e.val.(Answer[T])
	return a, e.err
}

// fill runs one lookup under the concurrency bound and publishes its answer.
func (c *dnsCache) fill(e *dnsEntry, questions int, ask func(context.Context) (any, time.Duration, error)) {
	var val any
	var ttl time.Duration
	var err error
	select {
	case c.sem <- struct{}{}:
		if c.limiter != nil {
			err = c.limiter.WaitN(c.ctx, questions)
		}
		if err == nil {
			val, ttl, err = ask(c.ctx)
		}
		<-c.sem
	case <-c.ctx.Done():
		err = c.ctx.Err()
	}
	switch {
	case err != nil && !errors.Is(err, ErrNXDomain):
		ttl = failureCacheTTL
	case ttl <= 0:
		ttl = minCacheTTL
	}
	ttl = min(ttl, maxCacheTTL)
	c.mu.Lock()
	e.val, e.err, e.expires = val, err, time.Now().Add(ttl)
	c.mu.Unlock()
	close(e.ready)
}

// wait returns when every lookup started has ended (the engine's context ends them).
func (c *dnsCache) wait() {
	c.mu.Lock()
	c.closed = true // under the lock every lookup starts under: none starts once Wait has begun
	c.mu.Unlock()
	c.wg.Wait()
}

// sweep drops expired entries, then, if still full, finished ones at random (map order).
func (c *dnsCache) sweep() {
	now := time.Now()
	for k, e := range c.entries {
		if !e.expires.IsZero() && now.After(e.expires) {
			delete(c.entries, k)
		}
	}
	for k, e := range c.entries {
		if len(c.entries) < c.max*3/4 {
			break
		}
		if !e.expires.IsZero() {
			delete(c.entries, k)
		}
	}
}

func (c *dnsCache) LookupMX(ctx context.Context, d string) (Answer[MX], error) {
	return cached(c, ctx, dnsKey{'M', d}, func(ctx context.Context) (Answer[MX], error) { return c.next.LookupMX(ctx, d) })
}

func (c *dnsCache) LookupSRV(ctx context.Context, n string) (Answer[SRV], error) {
	return cached(c, ctx, dnsKey{'S', n}, func(ctx context.Context) (Answer[SRV], error) { return c.next.LookupSRV(ctx, n) })
}

func (c *dnsCache) LookupAddr(ctx context.Context, h string) (Answer[netip.Addr], error) {
	return cached(c, ctx, dnsKey{'A', h}, func(ctx context.Context) (Answer[netip.Addr], error) { return c.next.LookupAddr(ctx, h) })
}

// dnsCacheEntries bounds the engine's DNS cache: a batch of a million domains asks mostly
// names that only one discovery needs, so the cache keeps what is shared (a provider's names,
// asked again and again, come back at once) and forgets the rest, at a few hundred bytes each.
const dnsCacheEntries = 50_000
