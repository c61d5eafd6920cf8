package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailscout/mailscout/discover"
)

// result is a finished discovery as the service keeps it.
type result struct {
	ID      string // permalink ID; "" when it was not stored
	Key     key
	Report  *discover.Report
	Created time.Time // when the discovery started
	Login   bool      // credentials were used: never cached, shared or stored
}

// servesClients says mail-client documents may be built from r: a shareable discovery of the
// bare domain (never of an address: its usernames are that user's, filled in from the address,
// while a domain's are the templates themselves, "%EMAILADDRESS%"), of every protocol, whose
// DNS (and this machine) worked.
func (r *result) servesClients() bool {
	return !r.Login && r.Report != nil && r.Key.target == r.Report.Domain && !strings.Contains(r.Key.target, "@") &&
		r.Key.protocols == allProtocols && !discover.ResultsUnknown(r.Report.Diagnosis.Status)
}

// discoverer stands in front of the engine: a cache of finished discoveries, the flights in
// progress (identical requests share one), a bound on how many run at once (in all, and per
// client), and the store.
// Discoveries run on the service's context, not the request's: a client that gives up (or a
// mail client whose 5-second patience ran out) does not cancel the answer everyone else is
// waiting for, and a retry finds it in the cache.
type discoverer struct {
	engine  *discover.Engine
	cfg     *Config
	cache   *cache
	store   *store
	metrics *metrics
	log     *slog.Logger
	flights flightGroup
	sem     chan struct{}

	ctx       context.Context // canceled by close: every discovery stops
	cancel    context.CancelFunc
	mu        sync.Mutex // guards closed, perClient and wg.Add against close
	closed    bool
	perClient map[netip.Prefix]int // slots held, by the client that took them
	wg        sync.WaitGroup

	running atomic.Int64 // discoveries (and probe batches) holding a slot
	peak    atomic.Int64 // the most that ever held one at once
}

func newDiscoverer(engine *discover.Engine, cfg *Config, st *store, m *metrics, log *slog.Logger) *discoverer {
	ctx, cancel := context.WithCancel(context.Background())
	return &discoverer{
		engine: engine, cfg: cfg, store: st, metrics: m, log: log,
		cache: newCache(cfg.CacheTTL, cfg.CacheEntries, cfg.now),
		sem:   make(chan struct{}, cfg.MaxConcurrent),
		ctx:   ctx, cancel: cancel, perClient: map[netip.Prefix]int{},
	}
}

// close stops every discovery and waits for them.
func (d *discoverer) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}

// errBusy and errTimeout carry Retry-After: both say "the same request will work soon".
func errBusy(limit int) error {
	return &apiError{Code: codeBusy, RetryAfter: 5 * time.Second,
		Message: fmt.Sprintf("%d discoveries are running, the most this service runs at once; try again in a few seconds", limit)}
}

var errTimeout = &apiError{Code: codeTimeout, RetryAfter: 5 * time.Second,
	Message: "the discovery did not finish in time for this request; it goes on, and asking again shortly answers from the cache"}

// errClientBusy: this client already has its share of discoveries running. They end within the
// discovery deadline, whether or not the client still waits for them.
func errClientBusy(limit int) error {
	return &apiError{Code: codeRateLimited, RetryAfter: 5 * time.Second,
		Message: fmt.Sprintf("this client already has %d discoveries running, the most one client may; try again when one has finished", limit)}
}

var errShuttingDown = &apiError{Code: codeUnavailable, RetryAfter: 10 * time.Second, Message: "the service is shutting down"}

// admit takes a slot for one more unit of work on behalf of client, or says why not. It never
// waits: a queue would only turn overload into timeouts, while 429 or 503 with Retry-After
// tells clients to back off. The slot counts against the client until release, however long
// the work outlives the client's request.
func (d *discoverer) admit(client netip.Prefix) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errShuttingDown
	}
	if d.perClient[client] >= d.cfg.MaxPerClient {
		return errClientBusy(d.cfg.MaxPerClient)
	}
	select {
	case d.sem <- struct{}{}:
	default:
		return errBusy(cap(d.sem))
	}
	d.perClient[client]++
	d.wg.Add(1)
	n := d.running.Add(1)
	for p := d.peak.Load(); n > p && !d.peak.CompareAndSwap(p, n); p = d.peak.Load() {
	}
	return nil
}

// release gives back the slot admit took for client.
func (d *discoverer) release(client netip.Prefix) {
	d.mu.Lock()
	if d.perClient[client]--; d.perClient[client] <= 0 {
		delete(d.perClient, client)
	}
	d.mu.Unlock()
	d.running.Add(-1)
	<-d.sem
	d.wg.Done()
}

// get answers req from the cache, from the identical discovery in flight, or by starting one
// on behalf of client, waiting at most until ctx ends.
func (d *discoverer) get(ctx context.Context, req discoverRequest, client netip.Prefix) (*result, error) {
	res, f, err := d.lookup(req, client)
	if res != nil || err != nil {
		return res, err
	}
	return wait(ctx, f)
}

// lookup returns a cached result, or the flight that will produce it. A new flight counts
// against client until it ends; joining one already running costs nothing.
func (d *discoverer) lookup(req discoverRequest, client netip.Prefix) (*result, *flight, error) {
	if req.creds != nil {
		return nil, nil, errors.New("serve: a discovery with credentials must go through login")
	}
	if !req.refresh {
		if r := d.cache.get(req.key); r != nil {
			d.metrics.cacheHits.Inc()
			return r, nil, nil
		}
	}
	f, leader, err := d.flights.join(req.key, req.refresh, func() error { return d.admit(client) })
	if err != nil {
		return nil, nil, err
	}
	if !leader {
		d.metrics.shared.Inc()
		return nil, f, nil
	}
	go func() {
		defer d.release(client) // last: close waits for this goroutine to be done with the cache
		res, err := d.run(d.ctx, req, f.publish)
		if err == nil {
			d.cache.put(res) // before finish: no request may find neither cache nor flight
		}
		d.flights.finish(req.key, req.refresh, f, res, err)
	}()
	return nil, f, nil
}

func wait(ctx context.Context, f *flight) (*result, error) {
	select {
	case <-f.done:
		return f.res, f.err
	case <-ctx.Done():
		return nil, errTimeout
	}
}

// login runs a discovery with credentials for this request alone, bounded by ctx.
func (d *discoverer) login(ctx context.Context, req discoverRequest, client netip.Prefix) (*result, error) {
	if err := d.admit(client); err != nil {
		return nil, err
	}
	defer d.release(client)
	return d.run(ctx, req, nil)
}

// forClients returns a verified discovery of the domain for a mail client: the newest fresh
// discovery of the bare domain (cache, then store), else a fast one, started on behalf of
// client. Never a discovery of an address: its usernames are filled in from that address, and
// one user's login name (or a name an attacker chose by asking first) would be handed to
// everyone in the domain. Fast, because the client is waiting with a timeout of a few seconds
// and uses only the best server of each kind; a full discovery of the domain that is cached
// serves as well.
func (d *discoverer) forClients(ctx context.Context, domain string, client netip.Prefix) (*result, error) {
	if r := d.cache.forDomain(domain); r != nil {
		d.metrics.cacheHits.Inc()
		return r, nil
	}
	r, err := d.store.latestForClients(ctx, domain, d.cfg.now().Add(-d.cfg.CacheTTL))
	switch {
	case err == nil:
		d.metrics.cacheHits.Inc()
		d.cache.put(r)
		return r, nil
	case !errors.Is(err, errNoResult):
		d.log.Error("store", "err", err)
	}
	req, err := newDiscoverRequest(domain, true, "", false, d.cfg.AllowPrivate)
	if err != nil {
		return nil, err
	}
	return d.get(ctx, req, client)
}

// run runs one discovery on the engine, counts it, and stores it when it may be shared.
func (d *discoverer) run(ctx context.Context, req discoverRequest, progress func(discover.Event)) (*result, error) {
	start := d.cfg.now()
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Deadline+5*time.Second) // the engine keeps the deadline; this is a backstop
	defer cancel()
	d.metrics.inFlight.Inc()
	rep, err := d.engine.Run(ctx, req.key.target, discover.Options{
		Protocols: req.protocols, Deadline: d.cfg.Deadline, Fast: req.key.fast, Credentials: req.creds,
		AllowInsecure: d.cfg.AllowInsecure, Fresh: req.refresh, Progress: progress,
	})
	d.metrics.inFlight.Dec()
	elapsed := time.Since(start)
	log := d.log.With("target", req.key.describe(), "elapsed_ms", elapsed.Milliseconds(), "login", req.creds != nil)
	switch {
	case rep == nil && errors.Is(err, discover.ErrBadTarget):
		d.metrics.observe(statusError, elapsed.Seconds(), nil)
		return nil, newError(codeBadTarget, "%v", err)
	case rep == nil: // the engine always reports once the target parses: a bug, or no resolver
		d.metrics.observe(statusError, elapsed.Seconds(), nil)
		log.Error("discovery failed", "err", scrubAddress(err.Error(), req.key.target))
		return nil, fmt.Errorf("discovery of %s: %w", req.key.describe(), err)
	case errors.Is(err, discover.ErrCanceled):
		d.metrics.observe(statusCanceled, elapsed.Seconds(), rep)
		log.Info("discovery canceled")
		if d.ctx.Err() != nil {
			return nil, errShuttingDown
		}
		return nil, errTimeout
	case privateOnly(rep):
		d.metrics.observe(statusPrivate, elapsed.Seconds(), rep)
		log.Info("discovery refused", "status", statusPrivate)
		return nil, newError(codePrivateAddress, "every server %s names is on a non-public address (loopback, private, link-local…); this service does not probe inside networks", rep.Domain)
	}
	d.metrics.observe(rep.Diagnosis.Status, elapsed.Seconds(), rep)
	res := &result{Key: req.key, Report: rep, Created: start, Login: req.creds != nil}
	if !res.Login {
		id, err := d.store.save(d.ctx, res)
		if err != nil {
			log.Error("store", "err", err) // the answer still goes out, without a permalink
		}
		res.ID = id
	}
	// No permalink ID: it opens the result, local part and all, to whoever reads the log.
	log.Info("discovery", "status", rep.Diagnosis.Status, "probes", len(rep.Probes), "connections", rep.Connections, "complete", rep.Complete, "stored", res.ID != "")
	return res, nil
}

// scrubAddress takes the address out of an error's text before it is logged: logs name the
// domain, never a local part. target is the normalised address (or a bare domain, which stays).
func scrubAddress(text, target string) string {
	at := strings.LastIndexByte(target, '@')
	if at < 0 {
		return text
	}
	domain := target[at+1:]
	text = strings.ReplaceAll(text, strconv.Quote(target), strconv.Quote("…@"+domain))
	return strings.ReplaceAll(text, target, "…@"+domain)
}
