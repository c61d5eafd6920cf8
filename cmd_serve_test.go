package main

import (
	"io"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mailscout/mailscout/internal/serve"
)

// Engine-wide flags reach the engine the service runs, after discover's own flags have been
// applied (which once overwrote them).
func TestServeFlags(t *testing.T) {
	set, code := parseServe([]string{"--connect-rate", "5", "--dns-rate", "200", "--per-ip", "2",
		"--cache-ttl", "3m", "--deadline", "7s", "--max-concurrent", "4", "--listen", "127.0.0.1:0"}, io.Discard, io.Discard)
	if set == nil {
		t.Fatalf("exit %d", code)
	}
	e := set.cfg.Engine
	if e.Rate != 5 || e.DNSRate != 200 || e.PerIP != 2 || e.CacheTTL != 3*time.Minute || set.cfg.Deadline != 7*time.Second {
		t.Errorf("engine options: rate %v, dns-rate %v, per-ip %d, cache %v, deadline %v", e.Rate, e.DNSRate, e.PerIP, e.CacheTTL, set.cfg.Deadline)
	}
	if set.cfg.MaxConcurrent != 4 || set.listen.Addr != "127.0.0.1:0" {
		t.Errorf("service: max-concurrent %d, listen %q", set.cfg.MaxConcurrent, set.listen.Addr)
	}
	// The service's own bounds: defaults, and what the flags set.
	def := serve.DefaultConfig()
	if c := set.cfg; c.MaxPerClient != 2 || c.HistoryPerDomain != 50 || c.MaxResults != 100_000 ||
		!slices.Equal(c.TrustedProxies, def.TrustedProxies) || len(c.TrustedProxies) != 2 {
		t.Errorf("defaults: max-per-client %d, history-per-domain %d, max-results %d, trusted-proxies %v",
			c.MaxPerClient, c.HistoryPerDomain, c.MaxResults, c.TrustedProxies)
	}
	set, code = parseServe([]string{"--max-per-client", "1", "--history-per-domain", "7", "--max-results", "900",
		"--trust-proxy-headers", "--trusted-proxies", "10.0.0.0/8, fd00::/8,192.0.2.1"}, io.Discard, io.Discard)
	if set == nil {
		t.Fatalf("exit %d", code)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("192.0.2.1/32")}
	if c := set.cfg; c.MaxPerClient != 1 || c.HistoryPerDomain != 7 || c.MaxResults != 900 || !c.TrustProxyHeaders || !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("flags: max-per-client %d, history-per-domain %d, max-results %d, trust %v, trusted-proxies %v",
			c.MaxPerClient, c.HistoryPerDomain, c.MaxResults, c.TrustProxyHeaders, c.TrustedProxies)
	}
	for _, bad := range [][]string{{"--connect-rate", "-1"}, {"--dns-rate", "-1"}, {"extra"}, {"--trusted-proxies", "proxy.example"}} {
		if set, code := parseServe(bad, io.Discard, io.Discard); set != nil || code != exitUsage {
			t.Errorf("%q: exit %d, want %d", bad, code, exitUsage)
		}
	}
}
