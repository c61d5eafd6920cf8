package serve

import (
	"errors"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mailscout/mailscout/discover"
)

func TestFlightGroup(t *testing.T) {
	var g flightGroup
	k := key{target: "a.example", protocols: allProtocols}
	admitted := 0
	admit := func() error { admitted++; return nil }
	refuse := errors.New("full")

	f1, leader, err := g.join(k, false, admit)
	if err != nil || !leader {
		t.Fatalf("first join: leader %v, %v", leader, err)
	}
	f2, leader, err := g.join(k, false, func() error { t.Fatal("begin called for a running flight"); return nil })
	if err != nil || leader || f2 != f1 {
		t.Fatalf("second join: leader %v, same flight %v, %v", leader, f2 == f1, err)
	}
	if _, _, err := g.join(key{target: "b.example"}, false, func() error { return refuse }); err != refuse {
		t.Fatalf("refused admission: %v", err)
	}
	if g.running() != 1 || admitted != 1 {
		t.Fatalf("running %d, admitted %d", g.running(), admitted)
	}

	events, changed := f1.since(0)
	if len(events) != 0 {
		t.Fatalf("events before any: %v", events)
	}
	f1.publish(discover.Event{Kind: discover.EventSource, Name: "one"})
	select {
	case <-changed:
	default:
		t.Fatal("publish did not wake followers")
	}
	f1.publish(discover.Event{Kind: discover.EventProbe, Host: "two"})
	cases := []struct {
		from int
		want int
	}{{0, 2}, {1, 1}, {2, 0}, {5, 0}}
	for _, tc := range cases {
		if got, _ := f1.since(tc.from); len(got) != tc.want {
			t.Errorf("since(%d): %d events, want %d", tc.from, len(got), tc.want)
		}
	}

	res := &result{Key: k}
	_, changed = f1.since(2)
	g.finish(k, false, f1, res, nil)
	select {
	case <-f1.done:
	default:
		t.Fatal("done not closed")
	}
	select {
	case <-changed:
	default:
		t.Fatal("followers not woken at the end")
	}
	if f1.res != res || g.running() != 0 {
		t.Fatalf("after finish: res %v, running %d", f1.res, g.running())
	}
	if _, leader, _ := g.join(k, false, admit); !leader {
		t.Error("a finished flight was joined")
	}
}

// A refresh joins only a fresh flight: one started without it may answer from cached probe
// results older than the request. Anyone else joins a fresh flight too.
func TestFreshFlights(t *testing.T) {
	var g flightGroup
	k := key{target: "a.example", protocols: allProtocols}
	admit := func() error { return nil }
	stale, _, _ := g.join(k, false, admit)
	fresh, leader, _ := g.join(k, true, admit)
	if !leader || fresh == stale {
		t.Fatal("a refresh joined a flight that is not fresh")
	}
	if f, leader, _ := g.join(k, true, admit); leader || f != fresh {
		t.Error("a refresh did not join the fresh flight")
	}
	if f, leader, _ := g.join(k, false, admit); leader || f != fresh {
		t.Error("a plain request did not join the fresh flight")
	}
	g.finish(k, true, fresh, nil, nil)
	if f, leader, _ := g.join(k, false, admit); leader || f != stale {
		t.Error("a plain request did not join the other flight")
	}
	g.finish(k, false, stale, nil, nil)
	if g.running() != 0 {
		t.Errorf("%d flights running after both finished", g.running())
	}
}

// A hundred identical requests at once cost one discovery, and all get the same result.
func TestSingleflight(t *testing.T) {
	ts := newTestServer(t, nil)
	const n = 100
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, body := ts.get(t, "/v1/discover?target=slow.example")
			if resp.StatusCode != 200 {
				t.Errorf("status %d: %s", resp.StatusCode, clip(string(body)))
			}
			ids[i] = resp.Header.Get("X-Mailscout-Result")
		})
	}
	wg.Wait()
	if got := ts.engine.Stats().Discoveries; got != 1 {
		t.Errorf("%d discoveries for %d identical requests", got, n)
	}
	for _, id := range ids {
		if id != ids[0] || !validID(id) {
			t.Fatalf("results differ: %q and %q", ids[0], id)
		}
	}
	shared, hits := testutil.ToFloat64(ts.metrics.shared), testutil.ToFloat64(ts.metrics.cacheHits)
	if shared+hits != n-1 || shared == 0 {
		t.Errorf("shared %v + cache hits %v, want %d with some shared", shared, hits, n-1)
	}
}
