package serve

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mailscout/mailscout/discover"
)

// fakeClock is a clock the test moves; the service reads it from its own goroutines too.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func cached(target, domain, protocols, status string, at time.Time) *result {
	return &result{Key: key{target: target, protocols: protocols}, Created: at,
		Report: &discover.Report{Domain: domain, Diagnosis: discover.Diagnosis{Status: status}}}
}

func TestCache(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	c := newCache(10*time.Minute, 2, clock.now)
	a := cached("a@x.example", "x.example", allProtocols, discover.StatusOK, clock.now())
	b := cached("b.example", "b.example", "imap", discover.StatusOK, clock.now())
	c.put(a)
	c.put(b)
	steps := []struct {
		name  string
		do    func()
		key   key
		found bool
	}{
		{"fresh", func() {}, a.Key, true},
		{"other key", func() {}, key{target: "a@x.example", fast: true, protocols: allProtocols}, false},
		{"still fresh after 9 minutes", func() { clock.advance(9 * time.Minute) }, a.Key, true},
		{"least recently used evicted", func() { c.put(cached("c.example", "c.example", allProtocols, discover.StatusOK, clock.now())) }, b.Key, false},
		{"recently used kept", func() {}, a.Key, true},
		{"expired at the TTL", func() { clock.advance(time.Minute) }, a.Key, false},
	}
	for _, s := range steps {
		s.do()
		if got := c.get(s.key) != nil; got != s.found {
			t.Errorf("%s: found %v, want %v", s.name, got, s.found)
		}
	}
}

// A mail client's request is answered from a fresh discovery of its domain, never of an address
// in it (whose usernames are that user's).
func TestCacheForDomain(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	cases := []struct {
		name string
		res  *result
		want bool
	}{
		{"address target", cached("alice@x.example", "x.example", allProtocols, discover.StatusOK, clock.now()), false},
		{"another domain's name as target", cached("y.example", "x.example", allProtocols, discover.StatusOK, clock.now()), false},
		{"bare domain", cached("x.example", "x.example", allProtocols, discover.StatusOK, clock.now()), true},
		{"some protocols only", cached("x.example", "x.example", "imap", discover.StatusOK, clock.now()), false},
		{"DNS failed", cached("x.example", "x.example", allProtocols, discover.StatusDNSFailed, clock.now()), false},
		{"out of descriptors", cached("x.example", "x.example", allProtocols, discover.StatusLocalFailure, clock.now()), false},
		{"with a login", func() *result {
			r := cached("alice@x.example", "x.example", allProtocols, discover.StatusOK, clock.now())
			r.Login = true
			return r
		}(), false},
	}
	for _, tc := range cases {
		c := newCache(time.Minute, 10, clock.now)
		c.put(tc.res)
		if got := c.forDomain("x.example") != nil; got != tc.want {
			t.Errorf("%s: served %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Through the API: a repeat is a cache hit, refresh=1 runs again, and the TTL ends reuse.
func TestCacheThroughAPI(t *testing.T) {
	clock := newFakeClock(time.Now())
	ts := newTestServer(t, func(c *Config) { c.Now = clock.now })
	steps := []struct {
		name        string
		query       string
		advance     time.Duration
		discoveries int64
		hits        float64
	}{
		{"first", "target=alice@good.example", 0, 1, 0},
		{"repeat", "target=alice@good.example", 0, 1, 1},
		{"same target, other spelling", "target=alice@GOOD.EXAMPLE.", 0, 1, 2},
		{"refresh", "target=alice@good.example&refresh=1", 0, 2, 2},
		{"within the TTL", "target=alice@good.example", 9 * time.Minute, 2, 3},
		{"after the TTL", "target=alice@good.example", 2 * time.Minute, 3, 3},
	}
	for _, s := range steps {
		clock.advance(s.advance)
		if resp, body := ts.get(t, "/v1/discover?"+s.query); resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", s.name, resp.StatusCode, clip(string(body)))
		}
		if got := ts.engine.Stats().Discoveries; got != s.discoveries {
			t.Errorf("%s: %d discoveries, want %d", s.name, got, s.discoveries)
		}
		if got := testutil.ToFloat64(ts.metrics.cacheHits); got != s.hits {
			t.Errorf("%s: %v cache hits, want %v", s.name, got, s.hits)
		}
	}
}

// refresh=1 checks again for real: the discovery probes every server anew instead of taking the
// engine's cached probe results (which a discovery of another address of the domain, or a
// refresh-less repeat, takes). The page's "Check again" and the stream ask the same way.
func TestRefreshProbesAgain(t *testing.T) {
	ts := newTestServer(t, nil)
	w := testWorld(t)
	accepted := func() int { // connections good.example's servers accepted so far
		n := 0
		for ep, c := range w.AcceptedAt() {
			if host, _, _ := strings.Cut(ep, ":"); strings.HasSuffix(host, "."+domGood) {
				n += c
			}
		}
		return n
	}
	discoverJSON := func(query string) *discover.Report {
		t.Helper()
		resp, body := ts.get(t, "/v1/discover?"+query)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", query, resp.StatusCode, clip(string(body)))
		}
		return decodeReportJSON(t, body)
	}
	steps := []struct {
		name  string
		run   func() *discover.Report
		fresh bool // connections are made, and good.example's servers accept them
	}{
		{"the first check", func() *discover.Report { return discoverJSON("target=alice@" + domGood) }, true},
		// Another key, so not the service's cache; the engine's probe results answer it.
		{"another address", func() *discover.Report { return discoverJSON("target=bob@" + domGood) }, false},
		{"refresh=1", func() *discover.Report { return discoverJSON("target=bob@" + domGood + "&refresh=1") }, true},
		{"the page's check again", func() *discover.Report {
			id, _ := check(t, ts, "bob@"+domGood+"&refresh=1")
			_, body := ts.get(t, "/v1/results/"+id)
			return decodeReportJSON(t, body)
		}, true},
		{"the stream's check again", func() *discover.Report {
			evs := stream(t, ts, "target=bob@"+domGood+"&refresh=1")
			if len(evs) < 2 || evs[len(evs)-2].name != "report" {
				t.Fatalf("stream: %v", evs)
			}
			return decodeReportJSON(t, []byte(evs[len(evs)-2].data))
		}, true},
		{"a repeat without refresh", func() *discover.Report { return discoverJSON("target=carol@" + domGood) }, false},
	}
	for _, s := range steps {
		before := accepted()
		rep := s.run()
		after := accepted()
		if s.fresh && (rep.Connections == 0 || after == before) {
			t.Errorf("%s: %d connections, the servers accepted %d: answered from cached probe results", s.name, rep.Connections, after-before)
		}
		if !s.fresh && (rep.Connections != 0 || after != before) {
			t.Errorf("%s: %d connections, the servers accepted %d; want the engine's cached results", s.name, rep.Connections, after-before)
		}
	}
}
