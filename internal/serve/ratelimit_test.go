package serve

import (
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
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

// Retry-After is rounded up, the same on every route: a client that waits as told finds a
// token. (The page once rounded down: 9 where the API said 10.)
func TestRetryAfterRoundsUp(t *testing.T) {
	clock := newFakeClock(time.Now())
	ts := newTestServer(t, func(c *Config) { c.RateLimit, c.RateBurst, c.Now = 0.1, 1, clock.now })
	ts.get(t, "/v1/discover?target=x") // the one token
	clock.advance(500 * time.Millisecond)
	for _, path := range []string{"/?target=x", "/v1/discover?target=x", "/mail/config-v1.1.xml?emailaddress=a@x.example"} {
		resp, _ := ts.get(t, path)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "10" {
			t.Errorf("%s: status %d, Retry-After %q; want 429 with 10 (9.5 s, rounded up)", path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if got := retryAfter(100 * time.Millisecond); got != "1" {
		t.Errorf("retryAfter(100ms) = %s, want 1", got)
	}
}

// Forwarding headers count only with --trust-proxy-headers and from a peer in
// --trusted-proxies, and then their last value does, the one the nearest proxy appended (or
// set): for X-Forwarded-For as for X-Forwarded-Proto.
func TestTrustedProxies(t *testing.T) {
	loopback := DefaultTrustedProxies()
	cases := []struct {
		name      string
		trust     bool
		proxies   []netip.Prefix
		remote    string
		xff, xfp  []string
		client    string
		overHTTPS bool
	}{
		{"no trust", false, loopback, "127.0.0.1:5555", []string{"198.51.100.1"}, []string{"https"}, "127.0.0.1", false},
		{"a trusted proxy", true, loopback, "127.0.0.1:5555", []string{"198.51.100.1"}, []string{"https"}, "198.51.100.1", true},
		{"a trusted IPv6 proxy", true, loopback, "[::1]:5555", []string{"2001:db8::1"}, []string{"https"}, "2001:db8::1", true},
		{"a peer outside the proxy networks", true, loopback, "203.0.113.5:5555", []string{"198.51.100.1"}, []string{"https"}, "203.0.113.5", false},
		{"a proxy network of the operator's", true, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "10.1.2.3:5555", []string{"198.51.100.1"}, []string{"https"}, "198.51.100.1", true},
		{"loopback, not listed", true, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "127.0.0.1:5555", []string{"198.51.100.1"}, []string{"https"}, "127.0.0.1", false},
		{"the last Proto value counts", true, loopback, "127.0.0.1:5555", nil, []string{"https, http"}, "127.0.0.1", false},
		{"the last Proto value counts, https", true, loopback, "127.0.0.1:5555", nil, []string{"http, https"}, "127.0.0.1", true},
		{"the last Proto header counts", true, loopback, "127.0.0.1:5555", nil, []string{"https", "http"}, "127.0.0.1", false},
		{"a mapped IPv4 peer", true, loopback, "[::ffff:127.0.0.1]:5555", []string{"6.6.6.6, 198.51.100.9"}, []string{"HTTPS"}, "198.51.100.9", true},
	}
	for _, tc := range cases {
		c := Config{TrustProxyHeaders: tc.trust, TrustedProxies: tc.proxies}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		for _, v := range tc.xfp {
			r.Header.Add("X-Forwarded-Proto", v)
		}
		if got := clientAddr(r, c.fromProxy(r)).String(); got != tc.client {
			t.Errorf("%s: client %s, want %s", tc.name, got, tc.client)
		}
		if got := overHTTPS(r, c.fromProxy(r)); got != tc.overHTTPS {
			t.Errorf("%s: over HTTPS %v, want %v", tc.name, got, tc.overHTTPS)
		}
	}
	prefixes := []struct {
		in   string
		want []netip.Prefix
		ok   bool
	}{
		{"127.0.0.0/8,::1/128", loopback, true},
		{" 10.0.0.1 , 2001:db8::/32,", []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("2001:db8::/32")}, true},
		{"10.0.0.9/8", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, true},
		{"", nil, true},
		{"proxy.example", nil, false},
	}
	for _, tc := range prefixes {
		got, err := ParsePrefixes(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("ParsePrefixes(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// Through the service: from a peer outside --trusted-proxies, X-Forwarded-For does not choose
// the rate-limit bucket and X-Forwarded-Proto does not make plain HTTP count as HTTPS.
func TestUntrustedPeerThroughAPI(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.TrustProxyHeaders, c.TrustedProxies = true, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		c.RateLimit, c.RateBurst, c.AllowLogin = 0.01, 1, true
	})
	send := func(method, path, xff string) (int, string) {
		req := mustRequest(t, method, ts.URL+path, strings.NewReader(`{"target":"alice@good.example","password":"demo-password"}`))
		req.Header.Set("X-Forwarded-For", xff)
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, body := do(t, ts.client, req)
		return resp.StatusCode, errorCode(body)
	}
	steps := []struct {
		method, path, xff string
		status            int
		code              string
	}{
		{"POST", "/v1/discover", "198.51.100.1", 403, codeTLSRequired},
		{"GET", "/v1/discover?target=bad", "198.51.100.1", 400, codeBadTarget},
		{"GET", "/v1/discover?target=bad", "198.51.100.2", 429, codeRateLimited}, // the same client: the peer
	}
	for _, s := range steps {
		if status, code := send(s.method, s.path, s.xff); status != s.status || code != s.code {
			t.Errorf("%s %s from %s: %d %q, want %d %q", s.method, s.path, s.xff, status, code, s.status, s.code)
		}
	}
}
