package serve

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	l := newLimiter(1, 2, clock.now) // one a second, two at once
	a := netip.MustParseAddr("198.51.100.7")
	b := netip.MustParseAddr("203.0.113.9")
	v6a := netip.MustParseAddr("2001:db8:1:2::1")
	v6b := netip.MustParseAddr("2001:db8:1:2:ffff::2") // same /64
	v6c := netip.MustParseAddr("2001:db8:1:3::1")      // another /64
	steps := []struct {
		name    string
		advance time.Duration
		client  netip.Addr
		allowed bool
	}{
		{"burst 1", 0, a, true},
		{"burst 2", 0, a, true},
		{"over the burst", 0, a, false},
		{"another client has its own bucket", 0, b, true},
		{"a refused request costs nothing", 500 * time.Millisecond, a, false},
		{"refilled after a second", 500 * time.Millisecond, a, true},
		{"IPv6 /64 is one client", 0, v6a, true},
		{"same /64", 0, v6b, true},
		{"same /64, over", 0, v6a, false},
		{"another /64", 0, v6c, true},
		{"IPv4-mapped is the IPv4 client", 0, netip.MustParseAddr("::ffff:198.51.100.7"), false},
	}
	for _, s := range steps {
		clock.advance(s.advance)
		ok, wait := l.allow(s.client)
		if ok != s.allowed {
			t.Errorf("%s: allowed %v, want %v", s.name, ok, s.allowed)
		}
		if !ok && (wait <= 0 || wait > time.Second) {
			t.Errorf("%s: wait %v", s.name, wait)
		}
	}
	// Idle buckets are forgotten once they would be full again anyway.
	clock.advance(5 * time.Minute)
	l.allow(a)
	if n := len(l.clients); n != 1 {
		t.Errorf("%d buckets after the sweep, want 1", n)
	}
	if ok, _ := newLimiter(0, 0, clock.now).allow(a); !ok {
		t.Error("a zero rate limits")
	}
}

// Past maxClients new clients share one bucket: memory stays bounded.
func TestLimiterBounded(t *testing.T) {
	clock := newFakeClock(time.Now())
	l := newLimiter(1, 1, clock.now)
	base := netip.MustParseAddr("10.0.0.0").As4()
	for i := range maxClients + 10 {
		a := base
		a[1], a[2], a[3] = byte(i>>16), byte(i>>8), byte(i)
		l.allow(netip.AddrFrom4(a))
	}
	if len(l.clients) != maxClients {
		t.Errorf("%d buckets, want the bound %d", len(l.clients), maxClients)
	}
}

func TestClientAddr(t *testing.T) {
	cases := []struct {
		name   string
		remote string
		xff    []string
		trust  bool
		want   string
	}{
		{"peer", "192.0.2.1:5555", nil, false, "192.0.2.1"},
		{"header ignored without trust", "192.0.2.1:5555", []string{"198.51.100.1"}, false, "192.0.2.1"},
		{"proxy's entry is the last", "127.0.0.1:5555", []string{"6.6.6.6, 198.51.100.1"}, true, "198.51.100.1"},
		{"last header wins", "127.0.0.1:5555", []string{"6.6.6.6", "198.51.100.2"}, true, "198.51.100.2"},
		{"garbage falls back to the peer", "127.0.0.1:5555", []string{"not-an-ip"}, true, "127.0.0.1"},
		{"IPv6 peer", "[2001:db8::1]:443", nil, false, "2001:db8::1"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientAddr(r, tc.trust).String(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// Through the API: the limit is per client, and 429 says when to come back.
func TestRateLimitThroughAPI(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.RateLimit, c.RateBurst, c.TrustProxyHeaders = 0.5, 3, true })
	from := func(client string) int {
		req := mustRequest(t, "GET", ts.URL+"/v1/discover?target=bad", nil)
		req.Header.Set("X-Forwarded-For", client)
		resp, _ := do(t, ts.client, req)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q, want 2 (one request every 2 s)", resp.Header.Get("Retry-After"))
		}
		return resp.StatusCode
	}
	var got []int
	for range 4 {
		got = append(got, from("198.51.100.1"))
	}
	got = append(got, from("198.51.100.2"))
	want := []int{400, 400, 400, 429, 400}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	// Pages, assets and health checks are never limited.
	for _, p := range []string{"/", "/static/style.css", "/healthz", "/v1/openapi.json"} {
		req := mustRequest(t, "GET", ts.URL+p, nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.1")
		if resp, _ := do(t, ts.client, req); resp.StatusCode != 200 {
			t.Errorf("%s: status %d", p, resp.StatusCode)
		}
	}
}
