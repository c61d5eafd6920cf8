package serve

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchClient keeps enough idle connections for the load, as a busy reverse proxy would.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 2000, MaxIdleConnsPerHost: 2000, IdleConnTimeout: time.Minute}}
}

// BenchmarkCachedAutoconfig issues b.N autoconfig requests for a domain whose discovery is
// cached, at a fixed 500 requests per second (open loop: each request is sent at its scheduled
// time whether or not the earlier ones have come back, and its latency is counted from that
// time, so a stall shows up in the percentiles instead of slowing the load down). Run it with
// a fixed count, e.g. -benchtime 5000x (10 s). The rate limiter is on, with room for the load.
func BenchmarkCachedAutoconfig(b *testing.B) {
	const perSecond = 500
	ts := newTestServer(b, func(c *Config) {
		c.RateLimit, c.RateBurst = 10*perSecond, perSecond
		// Logs are formatted as in production, and then dropped rather than kept in the test's
		// memory buffer, whose growth would be the test's cost, not the service's.
		c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	})
	url := ts.URL + "/mail/config-v1.1.xml?emailaddress=alice@good.example"
	client := benchClient()
	get := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var buf [4096]byte
		for {
			if _, err := resp.Body.Read(buf[:]); err != nil {
				break
			}
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := get(); err != nil { // the discovery, once
		b.Fatal(err)
	}
	for range 50 { // warm connections
		get()
	}
	lat := make([]time.Duration, b.N)
	var failed atomic.Int64
	var wg sync.WaitGroup
	interval := time.Second / perSecond
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Go(func() {
			if err := get(); err != nil {
				failed.Add(1)
			}
			lat[i] = time.Since(at)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	if got := ts.engine.Stats().Discoveries; got != 1 {
		b.Errorf("%d discoveries for one cached domain", got)
	}
}

// BenchmarkOneDomain100 sends 100 concurrent requests for one domain not yet known (a new
// domain each iteration) and checks they cost one discovery.
func BenchmarkOneDomain100(b *testing.B) {
	ts := newTestServer(b, nil)
	client := benchClient()
	b.ResetTimer()
	for i := range b.N {
		before := ts.engine.Stats().Discoveries
		var wg sync.WaitGroup
		var bad atomic.Int64
		for range 100 {
			wg.Go(func() {
				resp, err := client.Get(fmt.Sprintf("%s/v1/discover?target=alice@one%d.hosted.example", ts.URL, i))
				if err != nil {
					bad.Add(1)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad.Add(1)
				}
			})
		}
		wg.Wait()
		if n := bad.Load(); n > 0 {
			b.Fatalf("%d of 100 requests failed", n)
		}
		if d := ts.engine.Stats().Discoveries - before; d != 1 {
			b.Fatalf("100 concurrent requests for one domain cost %d discoveries", d)
		}
	}
	b.ReportMetric(1, "discoveries/100req")
}

// BenchmarkDistinct1000 sends 1,000 concurrent requests for 1,000 distinct domains to a
// service with --max-concurrent 8: at most 8 discoveries may run, the rest must be turned away
// at once, and memory must stay bounded. Peak heap is sampled every 5 ms; peak RSS is the
// process's resident set sampled the same way (the test binary's, world and client included).
func BenchmarkDistinct1000(b *testing.B) {
	const n, limit = 1000, 8
	client := benchClient()
	var peakHeap, peakRSS, peakInFlight, ok, busy float64
	for i := range b.N {
		b.StopTimer()
		// Every request comes from loopback: the per-client bound is lifted so that the
		// service-wide one is what is measured.
		ts := newTestServer(b, func(c *Config) { c.MaxConcurrent, c.MaxPerClient = limit, n })
		runtime.GC()
		stop := make(chan struct{})
		sampled := make(chan [2]uint64)
		go sampleMemory(stop, sampled)
		b.StartTimer()
		var wg sync.WaitGroup
		var codes [600]atomic.Int64
		for j := range n {
			wg.Go(func() {
				resp, err := client.Get(fmt.Sprintf("%s/v1/discover?target=d%d-%d.hosted.example", ts.URL, i, j))
				if err != nil {
					codes[0].Add(1)
					return
				}
				resp.Body.Close()
				codes[resp.StatusCode].Add(1)
			})
		}
		wg.Wait()
		b.StopTimer()
		close(stop)
		mem := <-sampled
		peakHeap = max(peakHeap, float64(mem[0])/(1<<20))
		peakRSS = max(peakRSS, float64(mem[1])/(1<<20))
		peakInFlight = max(peakInFlight, float64(ts.disc.peak.Load()))
		ok, busy = float64(codes[200].Load()), float64(codes[503].Load())
		if ok+busy != n {
			b.Fatalf("of %d requests %v answered 200, %v 503, %d failed", n, ok, busy, codes[0].Load())
		}
		if ts.disc.peak.Load() > limit {
			b.Fatalf("%d discoveries ran at once, limit %d", ts.disc.peak.Load(), limit)
		}
		ts.stop() // each iteration measures one service, not the ones before it
		client.CloseIdleConnections()
		b.StartTimer()
	}
	b.ReportMetric(peakInFlight, "peak-in-flight")
	b.ReportMetric(ok, "ok")
	b.ReportMetric(busy, "busy-503")
	b.ReportMetric(peakHeap, "peak-heap-MB")
	b.ReportMetric(peakRSS, "peak-rss-MB")
}

// sampleMemory reports the highest heap in use and resident set size seen until stop closes.
func sampleMemory(stop <-chan struct{}, out chan<- [2]uint64) {
	var peak [2]uint64
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak[0] = max(peak[0], ms.HeapInuse)
		peak[1] = max(peak[1], rss())
		select {
		case <-stop:
			out <- peak
			return
		case <-t.C:
		}
	}
}

// rss is the process's resident set size from /proc (0 where there is none).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
