package serve

import (
	"encoding/json"
	"testing"
)

func TestHealthz(t *testing.T) {
	ts := newTestServer(t, nil)
	resp, body := ts.get(t, "/healthz")
	var h struct {
		Status   string `json:"status"`
		InFlight *int   `json:"discoveries_in_flight"`
	}
	if err := json.Unmarshal(body, &h); err != nil || resp.StatusCode != 200 || h.Status != "ok" || h.InFlight == nil {
		t.Fatalf("status %d: %s (%v)", resp.StatusCode, body, err)
	}
	// A database that no longer answers takes the instance out of the load balancer.
	ts.store.db.Close()
	resp, body = ts.get(t, "/healthz")
	if resp.StatusCode != 503 || errorCode(body) != codeUnavailable {
		t.Errorf("with the database closed: %d %s", resp.StatusCode, body)
	}
}

// New refuses a configuration that cannot work, saying which value is wrong.
func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*Config)
	}{
		{"deadline", func(c *Config) { c.Deadline = 0 }},
		{"request timeout", func(c *Config) { c.RequestTimeout = -1 }},
		{"max concurrent", func(c *Config) { c.MaxConcurrent = 0 }},
		{"max per client", func(c *Config) { c.MaxPerClient = 0 }},
		{"history per domain", func(c *Config) { c.HistoryPerDomain = 0 }},
		{"max results", func(c *Config) { c.MaxResults = -1 }},
		{"proxy headers from nowhere", func(c *Config) { c.TrustProxyHeaders, c.TrustedProxies = true, nil }},
		{"cache entries", func(c *Config) { c.CacheEntries = 0 }},
		{"burst", func(c *Config) { c.RateLimit, c.RateBurst = 1, 0 }},
		{"domain", func(c *Config) { c.Domains = []string{"not a domain"} }},
		{"database", func(c *Config) { c.DB = t.TempDir() + "/missing/dir/x.db" }},
	}
	for _, tc := range cases {
		c := testConfig(t)
		tc.mut(&c)
		if s, err := New(c); err == nil {
			s.Close()
			t.Errorf("%s: accepted", tc.name)
		}
	}
	c := testConfig(t)
	c.Domains = []string{"Bücher.Example."}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cfg.Domains[0] != "xn--bcher-kva.example" {
		t.Errorf("domain normalised to %q", s.cfg.Domains[0])
	}
}
