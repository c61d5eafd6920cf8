package discover

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/mailscout/mailscout/internal/netaddr"
)

// fetchCache shares autoconfig documents between the discoveries of an engine: a provider's
// autoconfig file, which every one of its customers' discoveries asks for, is fetched once.
// A fetch is shared only when it says something about the URL (a document, or an HTTP status),
// and only with discoveries whose guard allows every non-public class of address it touched:
// an intranet domain's document, fetched from a private address its own records point at, is
// shared with the other domains whose own addresses are private too (a hosting provider's
// customers on an internal network), never with a domain that may not reach such addresses.
type fetchCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]*fetchEntry
}

type fetchEntry struct {
	ready chan struct{}
	res   fetchResult
	err   error
	share bool
	// abandoned: the fetch failed because its caller's ctx ended, which says nothing about
	// the URL; a waiter takes over.
	abandoned bool
	touched   []netaddr.Class // the non-public classes of address the fetch connected to
	uses      int             // discoveries that joined or reused it (under fetchCache.mu)
	expires   time.Time
}

func newFetchCache(ttl time.Duration) *fetchCache {
	return &fetchCache{ttl: ttl, entries: map[string]*fetchEntry{}}
}

// get returns url's document, fetching it with fetch unless another discovery has (or is) and
// may reports that this discovery may use a fetch that touched those classes of address. fresh
// skips a finished fetch (one under way is still joined), and its own fetch replaces it.
//
// A fetch that ended because its caller's own time ran out or it was canceled says nothing
// about the URL: one of the discoveries waiting on it takes over (the first to notice), and the
// others wait on that one, so that a provider's slow or filtered autoconfig host never sees all
// its customers' discoveries at once. Each waits at most until its own ctx ends.
func (c *fetchCache) get(ctx context.Context, url string, fresh bool, may func([]netaddr.Class) bool, fetch func(context.Context) (fetchResult, error)) (fetchResult, error) {
	if c.ttl <= 0 {
		return fetch(ctx)
	}
	for {
		c.mu.Lock()
		e, ok := c.entries[url]
		if ok && !e.expires.IsZero() && (time.Now().After(e.expires) || fresh) {
			ok = false
		}
		if !ok {
			return c.lead(ctx, url, fetch)
		}
		e.uses++
		c.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return fetchResult{}, ctx.Err()
		}
		fresh = false // a fetch that ended after this caller asked is fresh enough
		switch {
		case e.abandoned:
			continue
		case !e.share || !may(e.touched):
			return fetch(ctx)
		}
		return e.res, e.err
	}
}

// lead fetches url for everyone who asks meanwhile; c.mu is held on entry and released.
func (c *fetchCache) lead(ctx context.Context, url string, fetch func(context.Context) (fetchResult, error)) (fetchResult, error) {
	if len(c.entries) >= maxFetchEntries {
		c.sweep()
	}
	e := &fetchEntry{ready: make(chan struct{})}
	c.entries[url] = e
	c.mu.Unlock()
	t := &touched{}
	e.res, e.err = fetch(context.WithValue(ctx, touchedKey{}, t))
	e.touched = t.list()
	var status *httpStatusError
	e.share = e.err == nil || errors.As(e.err, &status)
	e.abandoned = !e.share && ctx.Err() != nil
	c.mu.Lock()
	if e.share {
		e.expires = time.Now().Add(c.ttl)
	} else {
		delete(c.entries, url) // the next asker fetches for itself
	}
	c.mu.Unlock()
	close(e.ready)
	return e.res, e.err
}

// maxFetchEntries bounds the cache; a full cache drops finished entries down to 3/4 of it
// (fetches under way stay: others wait on them): the expired first, then the least used (of
// as many uses, the oldest), so that a provider's document, which every one of its customers
// uses, outlives the one-off documents of a batch's single domains.
const maxFetchEntries = 10_000

func (c *fetchCache) sweep() {
	now := time.Now()
	var finished []string
	for k, e := range c.entries {
		switch {
		case e.expires.IsZero(): // under way
		case now.After(e.expires):
			delete(c.entries, k)
		default:
			finished = append(finished, k)
		}
	}
	excess := len(c.entries) - maxFetchEntries*3/4
	if excess <= 0 {
		return
	}
	slices.SortFunc(finished, func(a, b string) int {
		ea, eb := c.entries[a], c.entries[b]
		if ea.uses != eb.uses {
			return cmp.Compare(ea.uses, eb.uses)
		}
		return ea.expires.Compare(eb.expires)
	})
	for _, k := range finished[:min(excess, len(finished))] {
		delete(c.entries, k)
	}
}

// touchedKey carries, in a fetch's context, the classes of non-public address it connected to.
type touchedKey struct{}

type touched struct {
	mu      sync.Mutex
	classes []netaddr.Class
}

func (t *touched) list() []netaddr.Class {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.classes)
}

// markTouched records that a fetch may connect to addrs (their non-public classes).
func markTouched(ctx context.Context, addrs []netip.Addr) {
	t, ok := ctx.Value(touchedKey{}).(*touched)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range addrs {
		if c := netaddr.Classify(a); c != netaddr.Public && !slices.Contains(t.classes, c) {
			t.classes = append(t.classes, c)
		}
	}
}

// httpStatusError is an answer that was not 200: a fact about the URL, shared like a document.
type httpStatusError struct{ status string }

func (e *httpStatusError) Error() string { return "HTTP " + e.status }
