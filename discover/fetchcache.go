package discover

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// fetchCache shares autoconfig documents between the discoveries of an engine: a provider's
// autoconfig file, which every one of its customers' discoveries asks for, is fetched once.
// A fetch is shared only when it says something about the URL (a document, or an HTTP status)
// and touched no internal address (the guard's decision for one domain is not another's).
type fetchCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]*fetchEntry
}

type fetchEntry struct {
	ready   chan struct{}
	res     fetchResult
	err     error
	share   bool
	expires time.Time
}

func newFetchCache(ttl time.Duration) *fetchCache {
	return &fetchCache{ttl: ttl, entries: map[string]*fetchEntry{}}
}

// get returns url's document, fetching it with fetch unless another discovery has (or is).
func (c *fetchCache) get(ctx context.Context, url string, fetch func(context.Context) (fetchResult, error)) (fetchResult, error) {
	if c.ttl <= 0 {
		return fetch(ctx)
	}
	c.mu.Lock()
	e, ok := c.entries[url]
	if ok && !e.expires.IsZero() && time.Now().After(e.expires) {
		ok = false
	}
	if !ok {
		if len(c.entries) > 10_000 {
			c.sweep()
		}
		e = &fetchEntry{ready: make(chan struct{})}
		c.entries[url] = e
		c.mu.Unlock()
		var internal atomic.Bool
		e.res, e.err = fetch(context.WithValue(ctx, internalKey{}, &internal))
		var status *httpStatusError
		e.share = !internal.Load() && (e.err == nil || errors.As(e.err, &status))
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
	c.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return fetchResult{}, ctx.Err()
	}
	if !e.share {
		return fetch(ctx)
	}
	return e.res, e.err
}

func (c *fetchCache) sweep() {
	now := time.Now()
	for k, e := range c.entries {
		if !e.expires.IsZero() && now.After(e.expires) {
			delete(c.entries, k)
		}
	}
}

// internalKey marks, in a fetch's context, that a connection went to a non-public address.
type internalKey struct{}

func markInternal(ctx context.Context) {
	if b, ok := ctx.Value(internalKey{}).(*atomic.Bool); ok {
		b.Store(true)
	}
}

// httpStatusError is an answer that was not 200: a fact about the URL, shared like a document.
type httpStatusError struct{ status string }

func (e *httpStatusError) Error() string { return "HTTP " + e.status }
