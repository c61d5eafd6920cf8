package serve

import (
	"sync"

	"github.com/mailscout/mailscout/discover"
)

// flightGroup makes identical concurrent requests share one discovery. It is a singleflight
// (golang.org/x/sync/singleflight) that also shares progress: x/sync/singleflight hands joiners
// only the final result, but a helpdesk page that joins a discovery another user started must
// still show the probes finishing, from the first one. So a flight keeps its events, and a
// joiner replays them and then follows live.
//
// A flight is fresh when its discovery probes every endpoint anew (refresh=1, the page's "check
// again": discover.Options.Fresh). A refresh joins only a fresh flight: one that started
// without it may answer from probe results older than the request, the very ones the person
// asking wants checked again. Anyone else joins either, a fresh one first.
type flightGroup struct {
	mu sync.Mutex
	m  map[flightKey]*flight
}

type flightKey struct {
	key
	fresh bool
}

// flight is one discovery in progress.
type flight struct {
	done chan struct{} // closed when res and err are set
	res  *result
	err  error

	mu      sync.Mutex
	events  []discover.Event
	changed chan struct{} // closed and replaced at each event
}

// join returns the flight for k (a fresh one when fresh is set, see flightGroup). When none is
// running, begin is called (under the group's lock, so it must not block) to admit a new one:
// an error from it is returned as is and no flight starts. leader says the caller must run the
// new flight and call finish.
func (g *flightGroup) join(k key, fresh bool, begin func() error) (f *flight, leader bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[flightKey{k, true}]; ok {
		return f, false, nil
	}
	if f, ok := g.m[flightKey{k, false}]; ok && !fresh {
		return f, false, nil
	}
	if err := begin(); err != nil {
		return nil, false, err
	}
	if g.m == nil {
		g.m = map[flightKey]*flight{}
	}
	f = &flight{done: make(chan struct{}), changed: make(chan struct{})}
	g.m[flightKey{k, fresh}] = f
	return f, true, nil
}

// finish ends the flight: later requests for k start a new one (or, as the caller arranges,
// find the result in the cache, which must be filled before finish so no request falls
// between the two).
func (g *flightGroup) finish(k key, fresh bool, f *flight, res *result, err error) {
	g.mu.Lock()
	if fk := (flightKey{k, fresh}); g.m[fk] == f {
		delete(g.m, fk)
	}
	g.mu.Unlock()
	f.res, f.err = res, err
	close(f.done) // before changed: a follower woken by changed must find the flight done
	f.mu.Lock()
	close(f.changed)
	f.mu.Unlock()
}

// running is how many flights are in the air.
func (g *flightGroup) running() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}

// publish records an event. It is discover.Options.Progress, called on the discovery's own
// goroutine, so it only appends and wakes the followers.
func (f *flight) publish(e discover.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
	close(f.changed)
	f.changed = make(chan struct{})
}

// since returns the events from index i on, and a channel closed when there are more (or the
// flight ends).
func (f *flight) since(i int) ([]discover.Event, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []discover.Event
	if i < len(f.events) {
		out = append(out, f.events[i:]...)
	}
	return out, f.changed
}
