package discover

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// cacheEP is a made-up endpoint for the cache's own tests: nothing connects to it.
func cacheEP(i int) endpoint {
	return endpoint{probe.SMTP, fmt.Sprintf("mx%d.example", i), 25, probe.Plain}
}

// useCached asks for ep as a discovery would, and reports whether the cache answered.
func useCached(d *dispatcher, ep endpoint) bool {
	answered := false
	j := &job{target: probe.Target{Protocol: ep.protocol, Host: ep.host, Port: ep.port, Security: ep.security, Addrs: lo},
		deliver: func(r jobResult) { answered = r.shared }}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.cache[ep]; !ok {
		return false // add would start a flight
	}
	d.add(j)
	return answered
}

// cachedEPs lists the numbers of the cacheEP endpoints in the cache.
func cachedEPs(d *dispatcher) []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []int
	for ep := range d.cache {
		var i int
		fmt.Sscanf(ep.host, "mx%d.example", &i)
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

func storeEP(d *dispatcher, i, joined int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.store(cacheEP(i), probe.Result{OK: true, Host: cacheEP(i).host}, joined)
}

// A full cache keeps its most used entries: expired ones go first, then the least hit, down to
// 3/4 of the bound; a cache hit and a discovery that joined the probe both count as a use.
func TestCacheSweepKeepsMostUsed(t *testing.T) {
	e := testEngine(t, nil)
	defer e.Close()
	d := e.disp
	d.maxCache = 8
	// Uses of entries 0…7: 5, 3, 0, 1, 2, 10 (then expired), 4, 6. Entry 7's six are
	// discoveries that joined its flight; the others' are cache hits.
	uses := []int{5, 3, 0, 1, 2, 10, 4, 0}
	for i, n := range uses {
		storeEP(d, i, 0)
		for range n {
			if !useCached(d, cacheEP(i)) {
				t.Fatalf("entry %d: not answered from the cache", i)
			}
		}
	}
	storeEP(d, 7, 6) // a re-probe with six joiners: its hits add to the entry's
	d.mu.Lock()
	if h := d.cache[cacheEP(7)].hits; h != 6 {
		t.Errorf("entry 7 has %d hits, want 6", h)
	}
	if h := d.cache[cacheEP(0)].hits; h != 5 {
		t.Errorf("entry 0 has %d hits, want 5", h)
	}
	d.cache[cacheEP(5)].expires = time.Now().Add(-time.Second)
	d.mu.Unlock()
	if useCached(d, cacheEP(5)) {
		t.Fatal("an expired entry answered")
	}

	// The ninth entry: entry 5 (expired, however used) goes, then the least used (2, no hit)
	// down to 6 entries; then the new one.
	storeEP(d, 8, 0)
	if got, want := cachedEPs(d), []int{0, 1, 3, 4, 6, 7, 8}; !slices.Equal(got, want) {
		t.Errorf("after the first sweep: %v, want %v", got, want)
	}
	// Two more new entries, never used: the cache is full again at the second, and the two
	// entries without a hit (8 and 9) go, not entry 3, used once.
	storeEP(d, 9, 0)
	storeEP(d, 10, 0)
	if got, want := cachedEPs(d), []int{0, 1, 3, 4, 6, 7, 10}; !slices.Equal(got, want) {
		t.Errorf("after the second sweep: %v, want %v", got, want)
	}
}

// Of entries used as often, the oldest go first.
func TestCacheSweepOldestOfEqualUse(t *testing.T) {
	e := testEngine(t, nil)
	defer e.Close()
	d := e.disp
	d.maxCache = 8
	for i := range 8 {
		storeEP(d, i, 1)
	}
	d.mu.Lock()
	base := time.Now().Add(time.Hour)
	for i, age := range []int{2, 0, 7, 1, 5, 3, 6, 4} { // entry 2 is the oldest, then 6
		d.cache[cacheEP(i)].expires = base.Add(time.Duration(-age) * time.Minute)
	}
	d.mu.Unlock()
	storeEP(d, 8, 0)
	if got, want := cachedEPs(d), []int{0, 1, 3, 4, 5, 7, 8}; !slices.Equal(got, want) {
		t.Errorf("after the sweep: %v, want %v (the two oldest of equal use gone)", got, want)
	}
}

// On loopback, through the engine: a popular endpoint stays cached while many one-off endpoints
// fill the cache over and over; asked again, it is answered without a connection.
func TestPopularEndpointSurvivesFullCache(t *testing.T) {
	popular := startSMTP(t, "ok", 0)
	e := testEngine(t, nil)
	defer e.Close()
	e.disp.mu.Lock()
	e.disp.maxCache = 4
	e.disp.mu.Unlock()
	ctx := context.Background()
	for range 3 {
		if r := e.Probe(ctx, tgt(popular.port()))[0]; !r.OK {
			t.Fatalf("popular: %s", r.Error)
		}
	}
	for i := range 12 {
		s := startSMTP(t, "ok", 0)
		if r := e.Probe(ctx, tgt(s.port()))[0]; !r.OK {
			t.Fatalf("one-off %d: %s", i, r.Error)
		}
	}
	before := e.Stats().Connections
	if r := e.Probe(ctx, tgt(popular.port()))[0]; !r.OK {
		t.Fatalf("popular again: %s", r.Error)
	}
	if n := e.Stats().Connections - before; n != 0 {
		t.Errorf("the popular endpoint was probed again (%d connections): a full cache dropped it", n)
	}
}

// BenchmarkCacheSweep: one sweep of a full cache of 100,000 entries (the engine's bound) down to
// 75,000, by use; it runs once per 25,000 new entries, under the dispatcher's lock.
func BenchmarkCacheSweep(b *testing.B) {
	d := &dispatcher{maxCache: 100_000, cacheTTL: time.Hour}
	eps := make([]endpoint, 125_000)
	for i := range eps {
		eps[i] = cacheEP(i)
	}
	exp := time.Now().Add(time.Hour)
	for b.Loop() {
		b.StopTimer()
		d.cache = make(map[endpoint]*cacheEntry, d.maxCache)
		for i := range d.maxCache {
			d.cache[eps[i]] = &cacheEntry{expires: exp.Add(time.Duration(i)), hits: i * 7919 % 13}
		}
		b.StartTimer()
		d.sweepCache()
	}
	if len(d.cache) != 75_000 {
		b.Fatalf("%d entries after the sweep", len(d.cache))
	}
}
