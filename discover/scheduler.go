package discover

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/mailscout/mailscout/internal/netaddr"
	"github.com/mailscout/mailscout/probe"
)

// scheduler is one discovery. It alone owns the discovery's state — sources, candidates, host
// lookups, results, connection count, warnings — and changes it only on its own goroutine, in
// answer to events: a source's finding, a host's addresses, a probe's result. Sources and
// lookups run on goroutines of their own and only send events; probes run in the engine's
// dispatcher, which sends results back. The report is built from the final state at the end.
type scheduler struct {
	e      *Engine
	opts   Options
	target Target
	ctx    context.Context // the discovery's: the caller's context with the deadline
	cancel context.CancelFunc
	loop   context.Context // canceled when the loop ends: stops sources and lookups
	stop   context.CancelFunc
	start  time.Time
	seq    uint64
	inbox  *mailbox
	group  sync.WaitGroup // sources and host lookups

	fetcher *fetcher
	guard   *guard

	sources        []*sourceRun
	pendingSources int
	cands          map[candKey]*candidate
	byJob          map[*job]*candidate
	candOrder      int
	dropped        int // proposals beyond MaxCandidates
	hosts          map[string]*hostState
	hostOrder      []string
	pendingHosts   int
	outstanding    int    // jobs handed to the dispatcher whose result has not come back
	pendingJobs    []*job // made while handling events, handed over together after them
	submitted      int    // connections budgeted (jobs submitted)
	records        []record
	connections    int
	closed         bool // the loop has ended: findings are recorded, nothing new is probed
	stopCause      *probe.Cut
	done           int // probes finished, for progress

	dns          DNSReport
	mxHosts      map[string]bool
	mxAuthentic  bool
	srvAuthentic bool
	nxdomain     bool
	dnsFailure   error
	localFailure error // this machine ran out of descriptors (a lookup or a connection)
	notOffered   map[probe.Protocol]int
	warnings     []probe.Warning
}

type hostState struct {
	done      bool
	addrs     []netip.Addr
	authentic bool
	err       error
	waiting   []*candidate
}

// event is one thing that happened, sent to the scheduler's inbox.
type event struct {
	finding  *finding
	resolved *resolved
	result   *jobResult
}

type resolved struct {
	host string
	a    Answer[netip.Addr]
	err  error
}

// record is one result, in the order results came. Configurations are built from the records
// at the end, so that sources naming a candidate after its probe finished are still credited.
type record struct {
	c       *candidate
	r       probe.Result
	derived bool // the plain configuration seen during a STARTTLS probe
}

func newScheduler(e *Engine, t Target, o Options, parent context.Context) *scheduler {
	s := &scheduler{
		e: e, opts: o, target: t, start: time.Now(), seq: e.seq.Add(1), inbox: newMailbox(),
		cands: map[candKey]*candidate{}, byJob: map[*job]*candidate{}, hosts: map[string]*hostState{},
		mxHosts: map[string]bool{}, srvAuthentic: true, notOffered: map[probe.Protocol]int{},
	}
	s.ctx, s.cancel = context.WithTimeoutCause(parent, o.Deadline, errDeadline)
	s.loop, s.stop = context.WithCancel(s.ctx)
	s.guard = &guard{policy: o.Private, domain: t.Domain, dns: e.dns}
	s.fetcher = newFetcher(o.Probe.Dial, e.dns, s.guard, o.Probe.RootCAs, o.FetchTimeout)
	return s
}

var errDeadline = errors.New("the discovery deadline was reached")

// discover runs the discovery to its end and returns the report.
func (s *scheduler) discover() *Report {
	defer s.cancel()
	complete := s.run()
	s.finish()
	working := s.working()
	if s.opts.Credentials != nil && s.ctx.Err() == nil {
		s.verify(working)
	}
	return s.report(complete, working)
}

// run is the loop: it ends when nothing is pending (true), when fast mode has its answer, or
// when the deadline or the caller ends the discovery (false).
func (s *scheduler) run() bool {
	if p := probe.ProxyURL(s.opts.Probe.Dial); p != "" {
		how := "; mail server names were resolved here and the proxy was given addresses"
		if s.opts.Probe.Dial.ResolvesRemotely() {
			how = "; the proxy resolves the mail servers' names itself when connecting"
		}
		s.warn(WarnLocalDNS, "MX, SRV and address lookups went to the local resolver, not through the proxy "+p+how)
	}
	s.startSources()
	for {
		s.drain()
		if s.idle() {
			return true
		}
		if s.opts.Fast && s.answered() {
			s.stopCause = &probe.Cut{Reason: probe.CutAnswered}
			return false
		}
		select {
		case <-s.inbox.notify:
		case <-s.ctx.Done():
			s.stopCause = &probe.Cut{Reason: probe.CutCanceled}
			if errors.Is(context.Cause(s.ctx), errDeadline) {
				s.stopCause.Reason = probe.CutDeadline
			}
			return false
		}
	}
}

// finish stops what is still running and takes in every result that is owed.
func (s *scheduler) finish() {
	s.closed = true
	s.stop()
	if s.stopCause != nil {
		for j := range s.byJob {
			if c := s.byJob[j]; c.state == stateQueued {
				s.e.disp.withdraw(j, s.stopCause)
			}
		}
	}
	for s.drain(); s.outstanding > 0; s.drain() {
		<-s.inbox.notify
	}
	s.group.Wait()
	s.drain()
}

func (s *scheduler) drain() {
	for _, e := range s.inbox.take() {
		switch {
		case e.finding != nil:
			s.found(e.finding)
		case e.resolved != nil:
			s.resolvedHost(e.resolved)
		case e.result != nil:
			s.finished(e.result)
		}
	}
	if len(s.pendingJobs) > 0 {
		// Handed over together, so that the dispatcher starts the most promising first.
		s.e.disp.submit(s.pendingJobs...)
		s.pendingJobs = nil
	}
}

// idle: no source, lookup or probe pending.
func (s *scheduler) idle() bool {
	return s.pendingSources == 0 && s.pendingHosts == 0 && s.outstanding == 0
}

// propose takes a candidate seen by a source.
func (s *scheduler) propose(src *sourceRun, p proposal) {
	if s.closed || !s.wants(p.target.Protocol) {
		return
	}
	k := candKey{p.target.Protocol, p.target.Host, p.target.Port, p.target.Security}
	if c, ok := s.cands[k]; ok {
		c.merge(p)
		src.report.Candidates++
		return
	}
	if len(s.cands) >= MaxCandidates {
		s.dropped++
		return
	}
	src.report.Candidates++
	c := newCandidate(p, s.candOrder)
	s.candOrder++
	s.cands[k] = c
	h, ok := s.hosts[c.Host]
	if !ok {
		h = &hostState{}
		s.hosts[c.Host] = h
		s.hostOrder = append(s.hostOrder, c.Host)
		s.pendingHosts++
		host := c.Host
		s.group.Go(func() {
			a, err := s.e.dns.LookupAddr(s.loop, host)
			s.inbox.push(event{resolved: &resolved{host: host, a: a, err: err}})
		})
	}
	if h.done {
		s.enqueue(c, h)
	} else {
		h.waiting = append(h.waiting, c)
	}
}

func (s *scheduler) resolvedHost(e *resolved) {
	h := s.hosts[e.host]
	s.pendingHosts--
	h.done, h.addrs, h.authentic, h.err = true, capAddrs(e.a.Records), e.a.Authentic, e.err
	if h.err == nil && len(h.addrs) == 0 {
		h.err = errors.New("the host has no A or AAAA record")
	}
	s.noteDNSFailure(e.err)
	for _, c := range h.waiting {
		s.enqueue(c, h)
	}
	h.waiting = nil
}

// capAddrs keeps at most MaxAddrsPerFamily addresses of each family, in their order.
func capAddrs(addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	n4, n6 := 0, 0
	for _, a := range addrs {
		switch {
		case a.Unmap().Is4() && n4 < MaxAddrsPerFamily:
			n4++
		case !a.Unmap().Is4() && n6 < MaxAddrsPerFamily:
			n6++
		default:
			continue
		}
		out = append(out, a)
	}
	return out
}

// enqueue hands a candidate whose host is resolved to the dispatcher, or records why it cannot
// be probed. Unresolvable guesses are dropped silently (most guessed names do not exist); a
// name that a source gave and that does not resolve is a failed probe, because it is a finding.
func (s *scheduler) enqueue(c *candidate, h *hostState) {
	if s.closed {
		return
	}
	if h.err != nil {
		c.state = stateDone
		if c.onlyGuessed() && !isResourceExhaustion(h.err) {
			return
		}
		kind := probe.KindDNS
		if isResourceExhaustion(h.err) {
			kind = probe.KindLocalResources
		}
		s.record(c, notProbed(c.Target, kind, "connect: "+h.err.Error()))
		return
	}
	c.addrs = h.addrs
	if s.opts.Private == PrivateRefuse {
		allowed, refusal := s.guard.filter(s.loop, c.Host, c.addrs)
		if len(allowed) == 0 {
			c.state = stateDone
			s.record(c, notProbed(c.Target, probe.KindNotAllowed, "connect: "+refusal.Error()))
			return
		}
		c.addrs = allowed
	}
	if s.submitted >= MaxConnections {
		c.state = stateDone
		s.record(c, notProbed(c.Target, probe.KindCanceled, fmt.Sprintf("not probed: the discovery had already opened its maximum of %d connections", MaxConnections)))
		return
	}
	t := c.Target
	t.Addrs = c.addrs
	j := &job{target: t, prio: prio{seq: s.seq, key: c.potential(), n: c.order}, fresh: s.opts.Fresh}
	j.deliver = func(r jobResult) { s.inbox.push(event{result: &r}) }
	c.job, c.state = j, stateQueued
	s.byJob[j] = c
	s.outstanding++
	s.submitted++
	s.pendingJobs = append(s.pendingJobs, j)
}

// notProbed is the result of a candidate that was never connected to.
func notProbed(t probe.Target, kind probe.Kind, why string) probe.Result {
	return probe.Result{Protocol: t.Protocol, Host: t.Host, Port: t.Port, Security: t.Security, ErrorKind: kind, Error: why,
		Capabilities: []string{}, AuthMethods: []string{}, AuthMethodsPlaintext: []string{}, Warnings: []probe.Warning{}}
}

// finished takes a probe's result.
func (s *scheduler) finished(jr *jobResult) {
	c := s.byJob[jr.job]
	if c == nil || c.state == stateDone {
		return
	}
	s.outstanding--
	s.connections += jr.conns
	c.state = stateDone
	s.record(c, jr.r)
	s.done++
	r := &jr.r
	v, _ := judge(r, s.mxHosts[r.Host])
	if r.ErrorKind == probe.KindCanceled {
		v = "" // stopped before it could show anything: not judged
	}
	s.progress(Event{Kind: EventProbe, Protocol: r.Protocol, Host: r.Host, Port: r.Port, Security: r.Security,
		OK: r.OK, ErrorKind: r.ErrorKind, Verdict: v, Shared: jr.shared})
}

// record keeps a result; a STARTTLS probe whose plaintext phase worked also yields the plain
// configuration, without a second connection.
func (s *scheduler) record(c *candidate, r probe.Result) {
	s.records = append(s.records, record{c: c, r: r})
	if r.ErrorKind == probe.KindLocalResources {
		s.noteLocalFailure(errors.New(r.Error))
	}
	if plain, ok := r.PlaintextPhase(); ok && s.wants(plain.Protocol) {
		s.records = append(s.records, record{c: c, r: plain, derived: true})
	}
	c.result = &r
}

// answered is fast mode's stopping rule: for every protocol wanted, a configuration that could
// be recommended is known that no pending candidate or source could outrank (latency aside).
// A protocol with nothing recommendable and nothing pending is answered too ("none"), so is one
// whose SRV records both say "." (not offered), and so is POP3 once IMAP is answered with a
// recommendation (IMAP comes first for incoming mail).
func (s *scheduler) answered() bool {
	var bounds []rankKey // the best key each pending source could still produce
	for _, src := range s.sources {
		if !src.pending {
			continue
		}
		k := rankKey{trust: -src.bound, srvPriority: noSRVPriority}
		if src.srv {
			k.srvPriority, k.srvWeight = 0, -1<<16
		}
		bounds = append(bounds, k)
	}
	imapAnswered := false
	for _, p := range []probe.Protocol{probe.SMTP, probe.IMAP, probe.POP3} {
		if !s.wants(p) || s.notOffered[p] == 2 || (p == probe.POP3 && imapAnswered) {
			continue
		}
		best, ok := s.bestEligible(p)
		pending := false
		for _, c := range s.cands {
			if c.Protocol != p || c.state == stateDone {
				continue
			}
			pending = true
			if !ok || c.potential().compare(best) < 0 {
				return false
			}
		}
		for _, k := range bounds {
			pending = true
			if !ok || k.compare(best) < 0 {
				return false
			}
		}
		if !ok && pending {
			return false
		}
		imapAnswered = p == probe.IMAP && ok
	}
	return true
}

// bestEligible is the best rank key among results of p that could be recommended.
func (s *scheduler) bestEligible(p probe.Protocol) (rankKey, bool) {
	var best rankKey
	found := false
	for _, rec := range s.records {
		if !rec.r.OK || rec.r.Protocol != p {
			continue
		}
		v, blockers := judge(&rec.r, s.mxHosts[rec.r.Host])
		if !s.recommendable(v, blockers) {
			continue
		}
		if k := keyOf(rec.c, rec.r.Security, v); !found || k.compare(best) < 0 {
			best, found = k, true
		}
	}
	return best, found
}

// recommendable: usable, or insecure in a way the caller allowed.
func (s *scheduler) recommendable(v Verdict, blockers []string) bool {
	switch v {
	case Usable:
		return true
	case Insecure:
		if s.opts.AllowInsecure {
			return true
		}
		if s.opts.Probe.AllowInsecureTLS {
			for _, b := range blockers {
				if b != BlockerLegacyTLS {
					return false
				}
			}
			return true
		}
	}
	return false
}

func (s *scheduler) warn(code, text string) {
	for _, w := range s.warnings {
		if w.Code == code && w.Text == text {
			return
		}
	}
	s.warnings = append(s.warnings, probe.Warning{Code: code, Text: text})
}

func (s *scheduler) progress(e Event) {
	if s.opts.Progress == nil {
		return
	}
	// Probes handed to the dispatcher, finished or not: it only grows. (A host still being
	// resolved is not counted: it may turn into no probe at all, and a total that shrinks would
	// move a progress bar backwards.)
	e.Done, e.Total = s.done, s.done+s.outstanding
	e.Elapsed = time.Since(s.start)
	s.opts.Progress(e)
}

// internalClass is the class of the first non-public address of a host, "" if all are public.
func internalClass(addrs []netip.Addr) netaddr.Class {
	for _, a := range addrs {
		if c := netaddr.Classify(a); c != netaddr.Public {
			return c
		}
	}
	return ""
}

// mailbox is an inbox that never blocks its senders: events from sources, lookups and the
// dispatcher queue up until the scheduler's goroutine takes them.
type mailbox struct {
	mu     sync.Mutex
	items  []event
	notify chan struct{}
}

func newMailbox() *mailbox { return &mailbox{notify: make(chan struct{}, 1)} }

func (m *mailbox) push(e event) {
	m.mu.Lock()
	m.items = append(m.items, e)
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

func (m *mailbox) take() []event {
	m.mu.Lock()
	defer m.mu.Unlock()
	items := m.items
	m.items = nil
	return items
}
