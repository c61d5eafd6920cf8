package main

import (
	"io"
	"testing"
	"time"
)

// Engine-wide flags reach the engine the service runs, after discover's own flags have been
// applied (which once overwrote them).
func TestServeFlags(t *testing.T) {
	set, code := parseServe([]string{"--connect-rate", "5", "--dns-rate", "200", "--per-ip", "2",
		"--cache-ttl", "3m", "--deadline", "7s", "--max-concurrent", "4", "--listen", "127.0.0.1:0"}, io.Discard)
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
	for _, bad := range [][]string{{"--connect-rate", "-1"}, {"--dns-rate", "-1"}, {"extra"}} {
		if set, code := parseServe(bad, io.Discard); set != nil || code != exitUsage {
			t.Errorf("%q: exit %d, want %d", bad, code, exitUsage)
		}
	}
}
