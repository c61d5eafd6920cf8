package serve

import (
	"container/list"
	"sync"
	"time"
)

// cache keeps finished discoveries for a while, bounded in count: reports carry transcripts and
// weigh tens of kilobytes each, so an unbounded map would let a stream of distinct domains eat
// the memory. Least recently used entries go first. It also remembers, per domain, the newest
// result a mail client may be answered from (see forDomain).
type cache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu       sync.Mutex
	entries  map[key]*list.Element // value: *result
	order    *list.List            // front: most recently used
	byDomain map[string]key
}

func newCache(ttl time.Duration, max int, now func() time.Time) *cache {
	return &cache{ttl: ttl, max: max, now: now, entries: map[key]*list.Element{}, order: list.New(), byDomain: map[string]key{}}
}

// get returns the result for k if it is younger than the TTL.
func (c *cache) get(k key) *result {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil
	}
	r := el.Value.(*result)
	if c.now().Sub(r.Created) >= c.ttl {
		c.remove(el)
		return nil
	}
	c.order.MoveToFront(el)
	return r
}

// put stores r under its key, evicting the least recently used entry when full.
func (c *cache) put(r *result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[r.Key]; ok {
		c.remove(el)
	}
	c.entries[r.Key] = c.order.PushFront(r)
	if r.servesClients() {
		c.byDomain[r.Report.Domain] = r.Key
	}
	for c.order.Len() > c.max {
		c.remove(c.order.Back())
	}
}

// forDomain returns the newest fresh result for the domain that mail-client documents may be
// built from: a discovery of the bare domain (see result.servesClients), never of an address.
func (c *cache) forDomain(domain string) *result {
	c.mu.Lock()
	k, ok := c.byDomain[domain]
	c.mu.Unlock()
	if !ok {
		return nil
	}
	return c.get(k)
}

// len is the number of entries, expired ones included until they are looked at or evicted.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *cache) remove(el *list.Element) {
	r := el.Value.(*result)
	c.order.Remove(el)
	delete(c.entries, r.Key)
	if c.byDomain[r.Report.Domain] == r.Key {
		delete(c.byDomain, r.Report.Domain)
	}
}
