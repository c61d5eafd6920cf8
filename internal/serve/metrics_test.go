package serve

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricValue reads one sample from the Prometheus text format; -1 when it is not there.
func metricValue(t *testing.T, text, sample string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t, nil)
	scrape := func() string {
		resp, body := ts.get(t, "/metrics")
		if resp.StatusCode != 200 {
			t.Fatalf("/metrics: %d", resp.StatusCode)
		}
		return string(body)
	}
	// While a slow discovery runs, the gauge says so.
	done := make(chan struct{})
	go func() {
		defer close(done)
		ts.get(t, "/v1/discover?target=alice@slow.example")
	}()
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(t, scrape(), "mailscout_discoveries_in_flight") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the in-flight gauge never showed the running discovery")
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-done
	ts.get(t, "/v1/discover?target=alice@slow.example") // a cache hit
	ts.get(t, "/v1/discover?target=alice@nothing.example")
	text := scrape()
	cases := []struct {
		sample string
		want   func(float64) bool
	}{
		{`mailscout_discoveries_total{status="ok"}`, func(v float64) bool { return v == 1 }},
		{`mailscout_discoveries_total{status="unusable"}`, func(v float64) bool { return v == 1 }},
		{`mailscout_discoveries_total{status="dns_failed"}`, func(v float64) bool { return v == 0 }},
		{`mailscout_discovery_duration_seconds_count`, func(v float64) bool { return v == 2 }},
		{`mailscout_probes_total{error_kind="none"}`, func(v float64) bool { return v > 0 }},
		{`mailscout_probes_total{error_kind="refused"}`, func(v float64) bool { return v > 0 }},
		{`mailscout_cache_hits_total`, func(v float64) bool { return v == 1 }},
		{`mailscout_discoveries_in_flight`, func(v float64) bool { return v == 0 }},
		{`mailscout_http_requests_total{code="200",route="discover"}`, func(v float64) bool { return v == 3 }},
	}
	for _, tc := range cases {
		if v := metricValue(t, text, tc.sample); !tc.want(v) {
			t.Errorf("%s = %v", tc.sample, v)
		}
	}
	if !strings.Contains(text, "go_goroutines") || !strings.Contains(text, "process_resident_memory_bytes") {
		t.Error("no runtime or process metrics")
	}
}
