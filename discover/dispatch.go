package discover

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/mailscout/mailscout/internal/dialrace"
	"github.com/mailscout/mailscout/probe"
)

// dispatcher runs the probes of every discovery of an engine. It is the one owner of what is
// known per server address (sessions open, round trip, what the address has shown) and of the
// endpoint results shared between discoveries, and it decides when each probe starts and when
// a wait has become pointless. Schedulers hand it jobs and get results back through the job's
// deliver function; they never see its state. All of it is guarded by mu; timers and probe
// goroutines come back through methods that take it.
//
// Politeness counts what servers limit: connections. A connect in flight holds a slot of its
// address until the address's round trip shows it is hopeless (another port answered many
// times faster: the port is filtered, and the connect is cut) or, while no round trip is known,
// for a second; a session holds its slot until its first greeting line arrives or, for a server
// that stays silent, until silence has lasted many round trips. Silent probes then stop
// counting, so they never queue behind each other: on a host that never speaks, every probe
// waits about one greeting timeout, at the same time, and the first full timeout ends the
// others (the host has shown it greets on no port).
type dispatcher struct {
	ctx         context.Context // the engine's
	opts        probe.Options
	proxied     bool
	perIP       int
	concurrency int
	maxFlights  int // the descriptor budget: flights running at once, stalled ones included
	limiter     *rate.Limiter
	cacheTTL    time.Duration
	maxCache    int

	mu        sync.Mutex
	closed    bool
	addrs     map[string]*addrInfo
	flights   map[endpoint]*flight // shareable flights not yet done
	ready     readyHeap
	delayed   []*flight // waiting out a back-off
	running   int       // flights holding a concurrency slot
	total     int       // every running flight
	cache     map[endpoint]*cacheEntry
	pumpTimer *time.Timer
	doneCount int
	wg        sync.WaitGroup
	lingering map[net.Conn]struct{}     // sessions said goodbye to, waiting for the server to close
	releases  map[*time.Timer]*addrInfo // slots to be freed after a pause (releaseAfter)

	connections atomic.Int64 // every TCP connection opened
	sharedHits  atomic.Int64 // jobs answered without a connection of their own: cache or a flight joined
}

// endpoint is what a shared probe result is keyed by: the same (protocol, host, port,
// security) is one probe, whichever discoveries ask for it. The certificate was checked against
// host, so the result holds for every discovery that names the server by that name.
type endpoint struct {
	protocol probe.Protocol
	host     string
	port     int
	security probe.Security
}

type cacheEntry struct {
	r       probe.Result
	expires time.Time
	// hits counts the discoveries it answered without a probe of their own: those that joined
	// the flight that made it, and those it answered from the cache. A full cache keeps the
	// most used (sweepCache): a batch's provider endpoints, not the one-off endpoints around them.
	hits int
}

// job is one discovery's request for one probe.
type job struct {
	target probe.Target
	prio   prio
	// creds make it a login: never shared, never cached.
	creds *probe.Credentials
	// fresh skips the result cache (Options.Fresh); a flight under way is still joined.
	fresh   bool
	deliver func(jobResult) // called exactly once, from any goroutine; must not block
	flight  *flight         // the dispatcher's, under its lock
	joined  bool            // it joined another discovery's flight (counted in sharedHits)
}

// jobResult is what a job gets back.
type jobResult struct {
	job *job
	r   probe.Result
	// conns are the connections the flight opened, charged to the first of its jobs still
	// waiting at the end: when the discovery that started it withdraws, a joiner inherits them,
	// so that the discoveries' counts add up to the engine's.
	conns  int
	shared bool // another discovery's probe or the cache answered it (it joined, or hit the cache)
}

// flight is one probe run (or about to run) for one or more jobs.
type flight struct {
	ep      endpoint
	target  probe.Target
	creds   *probe.Credentials
	jobs    []*job
	prio    prio
	addr    *addrInfo
	state   flightState
	holds   bool // holds a slot of its address (and of the concurrency limit)
	started time.Time

	connected   bool
	connectedAt time.Time
	greeted     bool
	crowd       int // other connected sessions on the address when the greeting came
	cut         *probe.Cut
	cancel      context.CancelCauseFunc
	timer       *time.Timer
	gen         int     // invalidates timers of earlier decisions
	linger      *linger // the goodbye of its last session, while the server has not closed
	attempts    int
	notBefore   time.Time
	conns       atomic.Int32
}

type flightState int

const (
	queued flightState = iota
	delayedState
	running
	finished
)

func (f *flight) plaintext() bool { return f.target.Security != probe.TLS }

// cooldown is how long a finished session's slot stays taken: a couple of round trips, and at
// least slotCooldown.
func cooldown(a *addrInfo, proxied bool) time.Duration {
	if proxied || a.rtt <= 0 {
		return slotCooldown
	}
	return max(2*a.rtt, slotCooldown)
}

const slotCooldown = 20 * time.Millisecond

// Retry of a session refused as "too many connections" while others were open, or had just
// closed (a server notices a closed session a moment after the client has left it).
const (
	maxAttempts  = 3
	retryBackoff = 500 * time.Millisecond
	crowdMemory  = 2 * time.Second
)

func newDispatcher(ctx context.Context, opts Options, flights int) *dispatcher {
	d := &dispatcher{
		ctx: ctx, opts: opts.Probe, proxied: probe.ProxyURL(opts.Probe.Dial) != "",
		perIP: opts.PerIP, concurrency: opts.Concurrency, maxFlights: flights,
		cacheTTL: opts.CacheTTL, maxCache: 100_000,
		addrs: map[string]*addrInfo{}, flights: map[endpoint]*flight{}, cache: map[endpoint]*cacheEntry{}, lingering: map[net.Conn]struct{}{}, releases: map[*time.Timer]*addrInfo{},
	}
	if opts.Rate > 0 {
		d.limiter = rate.NewLimiter(rate.Limit(opts.Rate), max(1, int(opts.Rate)))
	}
	return d
}

// submit hands jobs over, and only then starts what the limits allow: handed over together,
// the best of them start first. Each result arrives through its job's deliver.
func (d *dispatcher) submit(jobs ...*job) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, j := range jobs {
		d.add(j)
	}
	d.pump()
}

// add queues j, or answers it at once from the cache or from a flight already under way.
func (d *dispatcher) add(j *job) {
	if d.closed {
		d.deliverNow(j, &probe.Cut{Reason: probe.CutCanceled})
		return
	}
	ep := endpoint{j.target.Protocol, j.target.Host, j.target.Port, j.target.Security}
	if j.creds == nil {
		if c, ok := d.cache[ep]; ok && time.Now().Before(c.expires) && !j.fresh {
			d.sharedHits.Add(1)
			c.hits++
			j.deliver(jobResult{job: j, r: c.r, shared: true})
			return
		}
		if f, ok := d.flights[ep]; ok {
			d.sharedHits.Add(1)
			j.flight, j.joined = f, true
			f.jobs = append(f.jobs, j)
			if j.prio.less(f.prio) && f.state == queued {
				f.addr.dequeue(f)
				f.prio = j.prio
				f.addr.enqueue(f)
				d.ready.fix(f.addr)
			}
			return
		}
	}
	f := &flight{ep: ep, target: j.target, creds: j.creds, jobs: []*job{j}, prio: j.prio}
	j.flight = f
	if j.creds == nil {
		d.flights[ep] = f
	}
	f.addr = d.addrFor(j.target)
	f.addr.enqueue(f)
	d.ready.fix(f.addr)
}

// addrFor is where a target's politeness is counted: its first address (the one raced first),
// or its name when the dialer resolves names elsewhere.
func (d *dispatcher) addrFor(t probe.Target) *addrInfo {
	key, ip := "name:"+t.Host, netip.Addr{}
	if len(t.Addrs) > 0 && !d.opts.Dial.ResolvesRemotely() {
		ip = dialrace.Interleave(t.Addrs)[0]
		key = ip.String()
	}
	return d.addr(key, ip)
}

func (d *dispatcher) addr(key string, ip netip.Addr) *addrInfo {
	a, ok := d.addrs[key]
	if !ok {
		a = newAddrInfo(key, ip, d.perIP)
		d.addrs[key] = a
	}
	return a
}

// withdraw says a discovery no longer needs j (it has its answer, ran out of time, or was
// canceled): a flight nobody else waits for is stopped with cut as the cause, and j still gets
// a result, the probe's own account of being stopped.
func (d *dispatcher) withdraw(j *job, cut *probe.Cut) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := j.flight
	if f == nil || f.state == finished {
		return // already delivered (or about to be)
	}
	if len(f.jobs) > 1 {
		for i, o := range f.jobs {
			if o == j {
				f.jobs = append(f.jobs[:i], f.jobs[i+1:]...)
				break
			}
		}
		j.flight = nil
		d.deliverNow(j, cut)
		return
	}
	switch f.state {
	case queued, delayedState:
		if f.state == queued {
			f.addr.dequeue(f)
			d.ready.fix(f.addr)
		} else {
			d.undelay(f)
		}
		d.forget(f)
		f.state = finished
		d.deliverNow(j, cut)
		if a := f.addr; len(a.live) == 0 && len(a.queue) == 0 {
			a.idleSince = time.Now()
		}
	case running:
		if f.cut == nil {
			f.cut = cut
			f.cancel(cut)
		}
		// A job that comes later must not join a flight stopped for someone else's reason:
		// it starts its own.
		d.forget(f)
	}
}

// deliverNow answers j without a connection: the probe's own words for a stop before it began.
func (d *dispatcher) deliverNow(j *job, cut *probe.Cut) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cut)
	o := d.opts
	o.Trace, o.Credentials = nil, j.creds
	j.deliver(jobResult{job: j, r: probe.Run(ctx, j.target, o)})
}

func (d *dispatcher) forget(f *flight) {
	if d.flights[f.ep] == f {
		delete(d.flights, f.ep)
	}
}

// pump starts queued flights while the limits allow, best first.
func (d *dispatcher) pump() {
	for d.running < d.concurrency && d.total < d.maxFlights && d.ready.Len() > 0 && !d.closed {
		a := d.ready[0]
		if d.limiter != nil {
			r := d.limiter.Reserve()
			if wait := r.Delay(); wait > 0 {
				r.Cancel()
				d.pumpAfter(wait)
				return
			}
		}
		f := a.queue[0]
		a.queue = a.queue[1:]
		d.start(f)
		d.ready.fix(a)
	}
}

func (d *dispatcher) pumpAfter(wait time.Duration) {
	if d.pumpTimer != nil {
		d.pumpTimer.Stop()
	}
	d.pumpTimer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.pumpTimer = nil
		now := time.Now()
		kept := d.delayed[:0]
		for _, f := range d.delayed {
			if now.Before(f.notBefore) {
				kept = append(kept, f)
				continue
			}
			f.state = queued
			f.addr.enqueue(f)
			d.ready.fix(f.addr)
		}
		d.delayed = kept
		d.pump()
		d.scheduleDelayed()
	})
}

func (d *dispatcher) scheduleDelayed() {
	if len(d.delayed) == 0 || d.pumpTimer != nil {
		return
	}
	first := d.delayed[0].notBefore
	for _, f := range d.delayed[1:] {
		if f.notBefore.Before(first) {
			first = f.notBefore
		}
	}
	d.pumpAfter(time.Until(first))
}

func (d *dispatcher) undelay(f *flight) {
	for i, o := range d.delayed {
		if o == f {
			d.delayed = append(d.delayed[:i], d.delayed[i+1:]...)
			return
		}
	}
}

// start runs f's probe on a goroutine of its own.
func (d *dispatcher) start(f *flight) {
	a := f.addr
	f.state, f.holds, f.started = running, true, time.Now()
	a.idleSince = time.Time{}
	f.connected, f.greeted, f.cut = false, false, nil
	a.held++
	a.live[f] = struct{}{}
	d.running++
	d.total++
	ctx, cancel := context.WithCancelCause(d.ctx)
	f.cancel = cancel
	opts := d.opts
	opts.Credentials = f.creds
	opts.Dial = countingDialer{Dialer: d.opts.Dial, n: &f.conns, all: &d.connections}
	opts.Linger = func(c net.Conn) { d.linger(f, c) }
	opts.Trace = &probe.Trace{
		Connected: func(remote netip.AddrPort, took time.Duration) { d.connected(f, remote, took) },
		Greeted:   func() { d.greeted(f) },
		TLSReady:  func(remote netip.AddrPort) { d.tlsReady(f, remote) },
	}
	t := f.target
	d.arm(f)
	d.wg.Go(func() {
		r := probe.Run(ctx, t, opts)
		cancel(nil)
		d.done(f, r)
	})
}

// arm sets f's timer for the next decision the rules make about it.
func (d *dispatcher) arm(f *flight) {
	f.gen++
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	if f.state != running || f.cut != nil {
		return
	}
	dec := f.addr.next(f, d.proxied, time.Now())
	if dec.at.IsZero() {
		return
	}
	gen := f.gen
	f.timer = time.AfterFunc(time.Until(dec.at), func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if f.gen != gen || f.state != running {
			return
		}
		d.act(f, dec)
	})
}

func (d *dispatcher) act(f *flight, dec decision) {
	switch {
	case dec.cut != nil && f.cut == nil:
		f.cut = dec.cut
		f.cancel(dec.cut)
	case dec.stall && f.holds:
		d.release(f)
		d.arm(f)
		d.pump()
	}
}

// release stops f counting against its address's limit and the concurrency limit.
func (d *dispatcher) release(f *flight) {
	f.holds = false
	f.addr.held--
	d.running--
	d.ready.fix(f.addr)
}

func (d *dispatcher) connected(f *flight, remote netip.AddrPort, took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f.connected, f.connectedAt = true, time.Now()
	if remote.IsValid() && !d.proxied && remote.Addr() != f.addr.ip && f.addr.ip.IsValid() {
		d.move(f, d.addr(remote.Addr().String(), remote.Addr()))
	}
	a := f.addr
	if !d.proxied && a.ip.IsValid() && (a.rtt == 0 || took < a.rtt) {
		a.rtt = took
		for o := range a.live {
			d.arm(o) // connects in flight here now have a known patience
		}
	}
	d.arm(f)
}

// move accounts f on the address it really connected to (the race may pick another).
func (d *dispatcher) move(f *flight, to *addrInfo) {
	from := f.addr
	delete(from.live, f)
	to.live[f] = struct{}{}
	if f.holds {
		from.held--
		to.held++
	}
	f.addr = to
	d.ready.fix(from)
	d.ready.fix(to)
}

func (d *dispatcher) greeted(f *flight) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := f.addr
	f.greeted, a.greeted, a.silent = true, true, false
	for o := range a.live {
		if o != f && o.connected {
			f.crowd++
		}
	}
	if !f.holds {
		// A stalled session that starts talking is a session again.
		f.holds = true
		a.held++
		d.running++
		d.ready.fix(a)
	}
	d.arm(f)
}

func (d *dispatcher) tlsReady(f *flight, remote netip.AddrPort) {
	if f.target.Security != probe.TLS {
		return // a handshake after STARTTLS says nothing about implicit TLS
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	a := f.addr
	a.tlsPorts[f.target.Port] = true
	for o := range a.live {
		if o.target.Port == f.target.Port && o.plaintext() {
			d.arm(o)
		}
	}
}

// done takes a finished probe: what it teaches about its address, a retry when the address
// only refused a second session, and otherwise delivery to every job that waits for it.
func (d *dispatcher) done(f *flight, r probe.Result) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := f.addr
	f.gen++
	if f.timer != nil {
		f.timer.Stop()
	}
	switch {
	case f.holds && !f.connected:
		f.holds = false
		a.held--
		d.running--
	case f.holds && f.linger != nil && !f.linger.ended:
		// The server has not closed its side yet: the slot is freed when it has (linger.go).
		f.holds = false
		f.linger.release = true
	case f.holds:
		// The slot stays taken a moment after the connection closed: the server notices the
		// close a little later (Postfix's anvil counts the session until smtpd is done with
		// it), and a connection opened at once would be one too many there.
		f.holds = false
		d.releaseAfter(a, cooldown(a, d.proxied))
	}
	f.linger = nil
	delete(a.live, f)
	d.total--
	ownWait := f.cut == nil
	switch {
	case ownWait && r.ErrorKind == probe.KindGreetingTimeout && !a.greeted:
		a.silent = true
		for o := range a.live {
			d.arm(o)
		}
	case ownWait && r.ErrorKind == probe.KindConnectTimeout && a.rtt == 0 && !d.proxied:
		a.down = true
		for o := range a.live {
			d.arm(o)
		}
	}
	crowded := f.crowd > 0 || time.Since(a.lastEnd) < crowdMemory
	if f.connected {
		a.lastEnd = time.Now()
	}
	if ownWait && tooManyConnections(&r) && crowded && f.attempts+1 < maxAttempts && !d.closed {
		// The address took the other sessions and refused this one: it limits connections per
		// client. One at a time from now on, and this probe again after a pause.
		a.limit, a.strict = 1, true
		f.attempts++
		f.state, f.notBefore, f.crowd = delayedState, time.Now().Add(time.Duration(f.attempts)*retryBackoff), 0
		d.delayed = append(d.delayed, f)
		d.ready.fix(a)
		d.scheduleDelayed()
		d.pump()
		return
	}
	f.state = finished
	d.forget(f)
	if f.creds == nil && ownWait && cacheable(&r) && d.cacheTTL > 0 {
		joined := 0
		for _, j := range f.jobs {
			if j.joined {
				joined++
			}
		}
		d.store(f.ep, r, joined)
	}
	conns := int(f.conns.Load())
	for i, j := range f.jobs {
		res := jobResult{job: j, r: r, shared: j.joined}
		if i == 0 {
			res.conns = conns
		}
		j.deliver(res)
	}
	if len(a.live) == 0 && len(a.queue) == 0 {
		a.idleSince = time.Now()
	}
	d.ready.fix(a)
	d.doneCount++
	if d.doneCount%1024 == 0 {
		d.sweepAddrs()
	}
	d.pump()
}

// tooManyConnections reports a session refused in its greeting in a way that may be temporary:
// SMTP 421 (RFC 5321 §3.8), IMAP's * BYE, POP3's -ERR greeting. Whether it was about the number
// of connections is decided by whether others were open at the time, not by the server's prose.
func tooManyConnections(r *probe.Result) bool {
	if r.ErrorKind != probe.KindRejected {
		return false
	}
	g := r.Greeting
	switch r.Protocol {
	case probe.SMTP:
		return strings.HasPrefix(g, "421")
	case probe.IMAP:
		return len(g) >= 5 && strings.EqualFold(g[:5], "* BYE")
	case probe.POP3:
		return strings.HasPrefix(g, "-ERR")
	}
	return false
}

// cacheable: a result that says something about the endpoint, not about this run.
func cacheable(r *probe.Result) bool {
	switch r.ErrorKind {
	case probe.KindCanceled, probe.KindTimeout, probe.KindLocalResources, probe.KindProxy, probe.KindAuth:
		return false
	}
	return true
}

// store caches ep's result r, which hits discoveries besides its own have used already (they
// joined its flight). An entry it replaces (expired, or re-probed for a fresh discovery) hands on
// its hits: the endpoint is as popular as it was. A new entry in a full cache sweeps it first.
func (d *dispatcher) store(ep endpoint, r probe.Result, hits int) {
	if old, ok := d.cache[ep]; ok {
		hits += old.hits
	} else if len(d.cache) >= d.maxCache {
		d.sweepCache()
	}
	d.cache[ep] = &cacheEntry{r: r, expires: time.Now().Add(d.cacheTTL), hits: hits}
}

// sweepCache makes room in a full cache: expired entries go first, then, while more than 3/4
// of maxCache remain, the least used (fewest hits; of as many, the oldest, which expires first).
// A provider's endpoints that a thousand domains of a batch use stay, however many endpoints
// of one domain each pass through. It runs once per maxCache/4 new entries, under the
// dispatcher's lock, so it does not sort the cache: it counts the entries per number of hits
// (sweepHitsCap and more are one count), and sorts only the expiries of those at the cut.
func (d *dispatcher) sweepCache() {
	now := time.Now()
	var perHits [sweepHitsCap + 1]int
	for k, c := range d.cache {
		if !now.Before(c.expires) {
			delete(d.cache, k)
			continue
		}
		perHits[min(c.hits, sweepHitsCap)]++
	}
	excess := len(d.cache) - d.maxCache*3/4
	if excess <= 0 {
		return
	}
	// Every entry with fewer than cut hits goes (below of them), and the oldest of those with
	// cut hits make up the rest. The counts add up to more than excess: cut is within them.
	cut, below := 0, 0
	for below+perHits[cut] < excess {
		below += perHits[cut]
		cut++
	}
	ages := make([]int64, 0, perHits[cut])
	for _, c := range d.cache {
		if min(c.hits, sweepHitsCap) == cut {
			ages = append(ages, c.expires.UnixNano())
		}
	}
	slices.Sort(ages)
	last := ages[excess-below-1]                // the youngest to go
	older, _ := slices.BinarySearch(ages, last) // those older than it all go
	ties := excess - below - older              // of those as old, this many
	for k, c := range d.cache {
		switch h, age := min(c.hits, sweepHitsCap), c.expires.UnixNano(); {
		case h < cut, h == cut && age < last:
			delete(d.cache, k)
		case h == cut && age == last && ties > 0:
			delete(d.cache, k)
			ties--
		}
	}
}

// sweepHitsCap: a cache sweep tells apart up to this many hits; more are as many.
const sweepHitsCap = 64

// sweepAddrs forgets addresses idle for long: a batch of a million domains must not keep a
// million of them.
func (d *dispatcher) sweepAddrs() {
	cutoff := time.Now().Add(-10 * time.Minute)
	for k, a := range d.addrs {
		if len(a.live) == 0 && len(a.queue) == 0 && a.held == 0 && a.heapIndex < 0 && !a.idleSince.IsZero() &&
			a.idleSince.Before(cutoff) && !d.hasDelayed(a) {
			delete(d.addrs, k)
		}
	}
}

// hasDelayed reports a flight of a waiting out a back-off: its address must be kept, with
// what it has learned (a limit of one session).
func (d *dispatcher) hasDelayed(a *addrInfo) bool {
	for _, f := range d.delayed {
		if f.addr == a {
			return true
		}
	}
	return false
}

// close stops every flight and waits for their goroutines.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	if d.pumpTimer != nil {
		d.pumpTimer.Stop()
	}
	for _, a := range d.addrs {
		for f := range a.live {
			if f.cut == nil {
				f.cut = &probe.Cut{Reason: probe.CutCanceled}
				f.cancel(f.cut)
			}
		}
	}
	// Every address's queue, not only the ready heap's: an address whose slots are all taken
	// is out of the heap with flights still queued.
	var pending []*flight
	for _, a := range d.addrs {
		pending = append(pending, a.queue...)
		a.queue, a.heapIndex = nil, -1
	}
	d.ready = nil
	pending = append(pending, d.delayed...)
	d.delayed = nil
	for _, f := range pending {
		f.state = finished
		for _, j := range f.jobs {
			d.deliverNow(j, &probe.Cut{Reason: probe.CutCanceled})
		}
	}
	for c := range d.lingering {
		c.SetDeadline(time.Unix(1, 0)) // ends the wait for the server's close at once
	}
	for t, a := range d.releases {
		if t.Stop() { // not fired yet: settle it now, so nothing changes after close returns
			delete(d.releases, t)
			d.freeSlot(a)
		}
	}
	d.mu.Unlock()
	d.wg.Wait()
}

// countingDialer counts the connections a flight opens (a legacy-TLS check is a second one).
type countingDialer struct {
	probe.Dialer
	n   *atomic.Int32
	all *atomic.Int64
}

func (c countingDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := c.Dialer.DialContext(ctx, network, address)
	if err == nil {
		c.n.Add(1)
		c.all.Add(1)
	}
	return conn, err
}

// ProxyURL passes the proxy's name through, so results still name it.
func (c countingDialer) ProxyURL() string { return probe.ProxyURL(c.Dialer) }

func (f *flight) String() string {
	return fmt.Sprintf("%s %s:%d %s", f.ep.protocol, f.ep.host, f.ep.port, f.ep.security)
}
