package discover

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/mailscout/mailscout/probe"
)

// scheduler is the loop that owns candidates: it merges proposals, resolves each host once,
// starts probes best-first within the global and per-address limits, and decides when the
// answer is known. Only the loop goroutine touches its fields (finish runs on it too, or after
// it has ended).
type scheduler struct {
	d       *discovery
	dial    probe.DialFunc
	cands   map[string]*candidate
	hosts   map[string]*hostState
	queue   []*candidate
	running int
	perIP   map[netip.Addr]int

	// records are results in the order they came; configurations are built from them at the
	// end, so that sources naming a candidate after its probe finished are still credited.
	records     []record
	connections int
	connMu      sync.Mutex // guards connections once verification runs in parallel
	fastDone    bool
}

type hostState struct {
	done      bool
	addrs     []netip.Addr
	authentic bool
	err       error
	waiting   []*candidate
}

func newScheduler(d *discovery, dial probe.DialFunc) *scheduler {
	return &scheduler{d: d, dial: dial, cands: map[string]*candidate{}, hosts: map[string]*hostState{}, perIP: map[netip.Addr]int{}}
}

// loop runs until everything is done (true), --fast has its answer (false) or ctx ends (false).
func (s *scheduler) loop(ctx context.Context) bool {
	d := s.d
	for {
		s.startEligible()
		if s.idle() {
			return true
		}
		if d.opts.Fast && s.answered() {
			s.fastDone = true
			return false
		}
		select {
		case e := <-d.events:
			switch e.kind {
			case evProposal:
				s.propose(e.prop)
			case evResolved:
				s.resolved(e)
			case evProbe:
				s.running--
				if len(e.cand.addrs) > 0 {
					s.perIP[e.cand.addrs[0]]--
				}
				s.finish(e.cand, e.result, false)
			case evSource:
				d.progress("source", e.detail)
			}
		case <-ctx.Done():
			return false
		}
	}
}

func (d *discovery) progress(kind, detail string) {
	if d.opts.Progress != nil {
		d.opts.Progress(Event{Kind: kind, Detail: detail})
	}
}

// idle: no source, lookup or probe pending, and nothing queued.
func (s *scheduler) idle() bool {
	if s.running > 0 || len(s.queue) > 0 {
		return false
	}
	for _, h := range s.hosts {
		if !h.done {
			return false
		}
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return len(s.d.pendingSources) == 0
}

func (s *scheduler) propose(p proposal) {
	c := newCandidate(p)
	if have, ok := s.cands[c.key()]; ok {
		have.merge(p)
		return
	}
	s.cands[c.key()] = c
	h, ok := s.hosts[c.Host]
	if !ok {
		h = &hostState{}
		s.hosts[c.Host] = h
		host := c.Host
		s.d.group.Go(func() error {
			addrs, authentic, err := s.d.resolver.LookupAddr(s.d.ctx, host)
			if err == nil && len(addrs) == 0 {
				err = errNoAddress
			}
			s.d.send(event{kind: evResolved, host: host, addrs: addrs, authentic: authentic, err: err})
			return nil
		})
	}
	if h.done {
		s.enqueue(c, h)
	} else {
		h.waiting = append(h.waiting, c)
	}
}

func (s *scheduler) resolved(e event) {
	h := s.hosts[e.host]
	h.done, h.addrs, h.authentic, h.err = true, e.addrs, e.authentic, e.err
	for _, c := range h.waiting {
		s.enqueue(c, h)
	}
	h.waiting = nil
}

// enqueue queues a candidate whose host is resolved, or records why it cannot be probed.
// Unresolvable guesses are dropped silently (most guessed names do not exist); a name that a
// source gave and that does not resolve is a failed probe, because it is a finding.
func (s *scheduler) enqueue(c *candidate, h *hostState) {
	if h.err != nil {
		guessed := !slices.ContainsFunc(c.sources, func(k string) bool {
			return k != SourceGuess && k != SourceMX && k != SourceProvider
		})
		c.state = stateDone
		if guessed {
			return
		}
		r := emptyResult(c.Target)
		r.ErrorKind, r.Error = probe.KindDNS, "connect: "+h.err.Error()
		s.record(c, r)
		return
	}
	c.addrs = h.addrs
	c.state = stateQueued
	s.queue = append(s.queue, c)
}

func emptyResult(t probe.Target) probe.Result {
	return probe.Result{Protocol: t.Protocol, Host: t.Host, Port: t.Port, Security: t.Security,
		Capabilities: []string{}, AuthMethods: []string{}, AuthMethodsPlaintext: []string{}, Warnings: []probe.Warning{}}
}

// startEligible starts queued probes, best potential first, within the limits.
func (s *scheduler) startEligible() {
	if len(s.queue) == 0 || s.running >= s.d.opts.Concurrency {
		return
	}
	slices.SortStableFunc(s.queue, func(a, b *candidate) int { return a.potential().compare(b.potential()) })
	kept := s.queue[:0]
	for _, c := range s.queue {
		ip := c.addrs[0]
		if s.running >= s.d.opts.Concurrency || s.perIP[ip] >= s.d.opts.PerIP {
			kept = append(kept, c)
			continue
		}
		s.running++
		s.perIP[ip]++
		s.connections++
		c.state = stateRunning
		s.startProbe(c)
	}
	s.queue = kept
}

func (s *scheduler) startProbe(c *candidate) {
	opts := s.d.opts.Probe
	t := c.Target
	t.Addrs = c.addrs
	switch {
	case opts.Proxy == nil:
		// What one connection teaches about an address shortens the others' waits. Through a
		// proxy, connection times are the proxy's, so nothing is learned that way.
		opts.Dial = s.d.ips.dialer(s.dial, c)
	case opts.Proxy.RemoteResolves():
		t.Addrs = nil // the proxy resolves the name; its view of DNS is the one that counts
	}
	s.d.group.Go(func() error {
		r := probe.Run(s.d.ctx, t, opts)
		s.d.events <- event{kind: evProbe, cand: c, result: r} // always delivered: Run drains
		return nil
	})
}

// finish records a probe's result. late is true for probes that ended after the loop stopped.
func (s *scheduler) finish(c *candidate, r probe.Result, late bool) {
	c.state = stateDone
	if late && !r.OK && r.ErrorKind == probe.KindTimeout {
		if s.fastDone {
			r.Error = "canceled by --fast: a configuration that nothing pending could outrank was already proven"
		} else {
			r.Error = "canceled: the discovery deadline was reached"
		}
	}
	if why := c.adaptErr.Load(); why != nil && (r.ErrorKind == probe.KindConnectTimeout || r.ErrorKind == probe.KindGreetingTimeout) {
		r.Error += " " + *why
	}
	if ap := c.dialed.Load(); ap != nil && r.Security == probe.TLS && r.TLS != nil {
		s.d.ips.learnImplicitTLS(*ap)
	}
	s.record(c, r)
	s.d.progress("probe", fmt.Sprintf("%s %s:%d %s: %s", r.Protocol, r.Host, r.Port, r.Security, verdict(r)))
}

func verdict(r probe.Result) string {
	if r.OK {
		return "works"
	}
	return string(r.ErrorKind)
}

type record struct {
	c       *candidate
	r       probe.Result
	derived bool // the plain configuration seen during a STARTTLS probe
}

// record keeps a result; a STARTTLS probe whose plaintext phase worked also yields the plain
// configuration, without a second connection.
func (s *scheduler) record(c *candidate, r probe.Result) {
	s.records = append(s.records, record{c: c, r: r})
	if plain, ok := probe.PlainFromStartTLS(r); ok {
		s.records = append(s.records, record{c: c, r: plain, derived: true})
	}
	c.result = &r
}

// working returns the working configurations, unsorted, with their rank keys.
func (s *scheduler) working() []rankedConfig {
	var out []rankedConfig
	for _, rec := range s.records {
		if !rec.r.OK {
			continue
		}
		cfg := s.config(rec.c, rec.r)
		if rec.derived {
			cfg.Warnings = append(cfg.Warnings, probe.Warning{Code: WarnDerivedPlain,
				Text: "plaintext session seen during the STARTTLS probe of the same port; no separate connection was made"})
		}
		out = append(out, rankedConfig{Config: cfg, key: keyOf(rec.c, &rec.r), cand: rec.c})
	}
	return out
}

// probes returns every probe result (derived ones excluded) as configurations.
func (s *scheduler) probes() []Config {
	out := []Config{}
	for _, rec := range s.records {
		if !rec.derived {
			out = append(out, s.config(rec.c, rec.r))
		}
	}
	return out
}

func (s *scheduler) config(c *candidate, r probe.Result) Config {
	cfg := Config{Result: r, Sources: sortedSources(c.sources), Username: UsernameHint(c.username, s.d.target)}
	cfg.Warnings = slices.Clone(r.Warnings)
	if cfg.Warnings == nil {
		cfg.Warnings = []probe.Warning{}
	}
	if c.untrusted {
		cfg.Warnings = append(cfg.Warnings, probe.Warning{Code: WarnUntrustedHost,
			Text: fmt.Sprintf("%s is outside %s and was named over an untrusted path (%s): confirm it before sending a password", c.Host, s.d.target.Domain, strings.Join(c.details, "; "))})
	}
	if c.httpOnly {
		cfg.Warnings = append(cfg.Warnings, probe.Warning{Code: WarnHTTPSource,
			Text: "named only by an autoconfig file fetched over plain HTTP, which anyone on the path could have changed"})
	}
	return cfg
}

// answered is --fast's stopping rule: for every protocol wanted, a working configuration is
// known that no pending candidate or source could outrank (latency aside). A protocol that has
// nothing working and nothing pending is answered too ("none"), and so is one whose SRV records
// both say "." (not offered).
func (s *scheduler) answered() bool {
	s.d.mu.Lock()
	var bounds []rankKey // the best key each pending source could still produce
	for src := range s.d.pendingSources {
		k := rankKey{trust: -src.bound, srvPriority: noSRVPriority}
		if src.srv {
			k.srvPriority, k.srvWeight = 0, -1<<16
		}
		bounds = append(bounds, k)
	}
	notOffered := maps.Clone(s.d.notOffered)
	s.d.mu.Unlock()
	for _, p := range s.d.opts.Protocols {
		if notOffered[p] == 2 {
			// Both SRV services of the protocol say "not offered": the domain has answered.
			continue
		}
		var best *rankKey
		for _, rec := range s.records {
			if rec.r.OK && rec.r.Protocol == p {
				if k := keyOf(rec.c, &rec.r); best == nil || k.compare(*best) < 0 {
					best = &k
				}
			}
		}
		pending := false
		for _, c := range s.cands {
			if c.Protocol != p || c.state == stateDone {
				continue
			}
			pending = true
			if best == nil || c.potential().compare(*best) < 0 {
				return false
			}
		}
		for _, k := range bounds {
			// A pending source could still name an implicit-TLS candidate of its trust.
			if best == nil || k.compare(*best) < 0 {
				return false
			}
			pending = true
		}
		if best == nil && pending {
			return false
		}
	}
	return true
}

func (s *scheduler) hostReports() []HostReport {
	out := []HostReport{}
	for name, h := range s.hosts {
		if !h.done {
			continue
		}
		hr := HostReport{Host: name, Addresses: []string{}, Authentic: h.authentic}
		for _, a := range h.addrs {
			hr.Addresses = append(hr.Addresses, a.String())
		}
		if h.err != nil {
			hr.Error = h.err.Error()
		}
		out = append(out, hr)
	}
	slices.SortFunc(out, func(a, b HostReport) int { return strings.Compare(a.Host, b.Host) })
	return out
}

var defaultDial probe.DialFunc = (&net.Dialer{}).DialContext

// sourceOrder is the order sources are listed in: most authoritative first.
var sourceOrder = []string{SourceSRV, SourceAutoconfig, SourceISPDB, SourceProvider, SourceMX, SourceGuess}

func sortedSources(kinds []string) []string {
	out := slices.Clone(kinds)
	slices.SortStableFunc(out, func(a, b string) int { return slices.Index(sourceOrder, a) - slices.Index(sourceOrder, b) })
	return out
}

func (s *scheduler) countConnection() {
	s.connMu.Lock()
	s.connections++
	s.connMu.Unlock()
}
