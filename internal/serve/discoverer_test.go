package serve

import (
	"fmt"
	"sync"
	"testing"
)

// More distinct discoveries than --max-concurrent at once: never more run, the rest get 503
// busy with Retry-After at once, and every request gets one or the other.
func TestMaxConcurrent(t *testing.T) {
	const limit, n = 3, 40
	ts := newTestServer(t, func(c *Config) { c.MaxConcurrent = limit })
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, body := ts.get(t, fmt.Sprintf("/v1/discover?target=c%d.hosted.example", i))
			if resp.StatusCode == 503 && (errorCode(body) != codeBusy || resp.Header.Get("Retry-After") == "") {
				t.Errorf("503 without busy and Retry-After: %s", body)
			}
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if peak := ts.disc.peak.Load(); peak > limit || peak < 1 {
		t.Errorf("peak %d discoveries at once, limit %d", peak, limit)
	}
	if codes[200]+codes[503] != n || codes[200] == 0 || codes[503] == 0 {
		t.Errorf("status codes %v for %d requests", codes, n)
	}
	if got := ts.engine.Stats().Discoveries; got != int64(codes[200]) {
		t.Errorf("%d discoveries for %d answers", got, codes[200])
	}
}
