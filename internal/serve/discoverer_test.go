package serve

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// More distinct discoveries than --max-concurrent at once: never more run, the rest get 503
// busy with Retry-After at once, and every request gets one or the other.
func TestMaxConcurrent(t *testing.T) {
	const limit, n = 3, 40
	// Every request comes from loopback, one client: the per-client bound (TestMaxPerClient) is
	// lifted so that the service-wide one is what is tested.
	ts := newTestServer(t, func(c *Config) { c.MaxConcurrent, c.MaxPerClient = limit, n })
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

// One client may have at most --max-per-client discoveries running, counted until they end even
// when the client has hung up: one more (a discovery or a /v1/probe batch) gets 429 with
// Retry-After, while other clients still get theirs, and joining an identical discovery already
// running costs nothing.
func TestMaxPerClient(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxConcurrent, c.MaxPerClient, c.TrustProxyHeaders = 8, 2, true })
	send := func(ctx context.Context, client, path string) (int, string, []byte) {
		req := mustRequest(t, http.MethodGet, ts.URL+path, nil).WithContext(ctx)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := ts.client.Do(req)
		if err != nil {
			return 0, "", nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), body
	}
	const a, b = "198.51.100.1", "198.51.100.2"
	// Client a starts two slow discoveries and hangs up.
	ctx, hangUp := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, target := range []string{"a1@" + domSlower, "a2@" + domSlower} {
		wg.Go(func() { send(ctx, a, "/v1/discover?target="+target) })
	}
	for deadline := time.Now().Add(5 * time.Second); ts.disc.running.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the discoveries never started")
		}
	}
	hangUp()
	wg.Wait()
	bg := context.Background()
	steps := []struct {
		name   string
		client string
		path   string
		status int
		code   string
	}{
		{"a third discovery", a, "/v1/discover?target=a3@" + domSlower, 429, codeRateLimited},
		{"a probe batch", a, "/v1/probe?endpoint=imap.good.example:993", 429, codeRateLimited},
		{"a mail client's discovery", a, "/mail/config-v1.1.xml?emailaddress=a@" + domSlower, 429, codeRateLimited},
		{"another client", b, "/v1/discover?target=b1@" + domSlower, 200, ""},
		{"joining a running discovery", a, "/v1/discover?target=a1@" + domSlower, 200, ""},
	}
	for _, s := range steps {
		status, retry, body := send(bg, s.client, s.path)
		if status != s.status || errorCode(body) != s.code {
			t.Errorf("%s: status %d, code %q; want %d %q", s.name, status, errorCode(body), s.status, s.code)
		}
		if s.status == 429 && retry == "" {
			t.Errorf("%s: no Retry-After", s.name)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ts.disc.running.Load() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the discoveries never ended")
		}
	}
	if status, _, body := send(bg, a, "/v1/discover?target=a3@"+domSlower); status != 200 {
		t.Errorf("once its discoveries ended, the client got %d: %s", status, clip(string(body)))
	}
	for deadline := time.Now().Add(5 * time.Second); ts.disc.running.Load() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the discovery never ended")
		}
	}
	ts.disc.mu.Lock()
	defer ts.disc.mu.Unlock()
	if n := len(ts.disc.perClient); n != 0 {
		t.Errorf("%d clients still counted with nothing running", n)
	}
}
