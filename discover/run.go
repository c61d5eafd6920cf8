package discover

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/mailscout/mailscout/probe/proxy"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mailscout/mailscout/probe"
)

// discovery is the state of one Run: sources feed proposals into one scheduler loop, which
// owns the candidates and starts probes.
type discovery struct {
	target   Target
	opts     Options
	resolver Resolver
	http     *http.Client
	ctx      context.Context // canceled when the loop ends: stops sources and probes
	group    errgroup.Group
	events   chan event
	start    time.Time
	ips      *ipKnowledge

	mu             sync.Mutex // guards what sources write
	sources        []*SourceReport
	pendingSources map[*sourceRun]bool
	dns            DNSReport
	warnings       []probe.Warning
	mxAuthentic    bool
	srvAuthentic   bool
	nxdomain       bool
	// notOffered counts, per protocol, the SRV services whose target is "." (RFC 6186 §3.4).
	notOffered map[probe.Protocol]int
}

type evKind int

const (
	evProposal evKind = iota
	evSource
	evResolved
	evProbe
)

type event struct {
	kind      evKind
	prop      proposal
	detail    string
	host      string
	addrs     []netip.Addr
	authentic bool
	err       error
	cand      *candidate
	result    probe.Result
}

// send delivers an event to the loop, or drops it once the discovery is over.
func (d *discovery) send(e event) {
	select {
	case d.events <- e:
	case <-d.ctx.Done():
	}
}

// Run discovers how to connect to the mail of target (an address or a domain). The error is
// non-nil only for a target that cannot be parsed (it matches ErrBadTarget); everything the
// network does wrong is in the report.
func Run(ctx context.Context, target string, opts Options) (*Report, error) {
	t, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	opts.fill()
	if opts.Resolver == nil {
		sys, err := SystemResolver()
		if err != nil {
			return nil, fmt.Errorf("DNS: %w", err)
		}
		opts.Resolver = sys
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Deadline)
	defer cancel()
	loopCtx, stopLoop := context.WithCancel(ctx)
	defer stopLoop()
	d := &discovery{
		target:         t,
		opts:           opts,
		resolver:       newCachingResolver(opts.Resolver),
		ctx:            loopCtx,
		events:         make(chan event, 64),
		start:          time.Now(),
		pendingSources: map[*sourceRun]bool{},
		srvAuthentic:   true,
		notOffered:     map[probe.Protocol]int{},
		ips:            newIPKnowledge(),
	}
	baseDial := opts.Probe.Dial
	if baseDial == nil {
		baseDial = defaultDial
	}
	d.http = newHTTPClient(httpDialer(baseDial, d.resolver, opts.Probe.Proxy), opts.rootCAs(), opts.FetchTimeout)
	defer d.http.CloseIdleConnections()

	d.startSources()
	if opts.Probe.Proxy != nil {
		d.warn(WarnLocalDNS, "MX, SRV and address lookups went to the local resolver, not through the proxy "+opts.Probe.Proxy.String()+
			proxyResolution(opts.Probe.Proxy))
	}
	s := newScheduler(d, baseDial)
	complete := s.loop(ctx)
	stopLoop()
	// Everything still running sees loopCtx canceled and ends promptly; collect what it says.
	done := make(chan struct{})
	go func() { d.group.Wait(); close(done) }()
	for {
		select {
		case e := <-d.events:
			if e.kind == evProbe {
				s.finish(e.cand, e.result, true)
			}
			continue
		case <-done:
		}
		break
	}
	working := s.working()
	if opts.Credentials != nil {
		sortConfigs(working) // rank order decides which configuration is tried first
		d.verify(ctx, s, working)
	}
	return d.report(s, complete, working), nil
}

// report assembles the final Report.
func (d *discovery) report(s *scheduler, complete bool, working []rankedConfig) *Report {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := &Report{
		Target:      d.target.Input,
		Proxy:       proxyName(d.opts.Probe.Proxy),
		Domain:      d.target.Domain,
		Complete:    complete,
		DNS:         d.dns,
		Warnings:    append([]probe.Warning{}, d.warnings...),
		Connections: s.connections,
		Configs:     []Config{},
		Probes:      s.probes(),
	}
	r.DNS.DNSSEC = d.mxAuthentic && d.srvAuthentic
	if r.DNS.MX == nil {
		r.DNS.MX = []MX{}
	}
	if r.DNS.SRV == nil {
		r.DNS.SRV = []SRVReport{}
	}
	slices.SortStableFunc(r.DNS.SRV, func(a, b SRVReport) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Priority, b.Priority), cmp.Compare(b.Weight, a.Weight))
	})
	r.DNS.Hosts = s.hostReports()
	for _, sr := range d.sources {
		r.Sources = append(r.Sources, *sr)
	}
	if d.nxdomain {
		r.Warnings = append(r.Warnings, probe.Warning{Code: "nxdomain", Text: "the domain " + d.target.Domain + " does not exist in DNS"})
	}
	if !complete {
		why := "the discovery deadline cut it short"
		if d.opts.Fast && s.fastDone {
			why = "--fast stopped once the best configuration of each protocol was proven"
		}
		r.Warnings = append(r.Warnings, probe.Warning{Code: "incomplete", Text: "the report is incomplete: " + why})
	}
	sortConfigs(working)
	for _, c := range working {
		r.Configs = append(r.Configs, c.Config)
	}
	r.Recommended = recommend(r.Configs)
	r.ElapsedMS = float64(time.Since(d.start).Microseconds()) / 1000
	return r
}

// recommend picks the best outgoing (SMTP) and incoming (IMAP before POP3: it keeps mail on the
// server and works across devices) configuration.
func recommend(cs []Config) Recommended {
	var rec Recommended
	best := map[probe.Protocol]*Config{}
	for i := range cs {
		if cs[i].Rank == 1 {
			best[cs[i].Protocol] = &cs[i]
		}
	}
	choice := func(c *Config) *Choice {
		if c == nil {
			return nil
		}
		ch := &Choice{Protocol: c.Protocol, Host: c.Host, Port: c.Port, Security: c.Security, Username: c.Username, Verified: fullyWorks(&c.Result)}
		if c.Auth != nil && c.Auth.OK {
			ch.LoginOK, ch.Username = true, c.Auth.Username
		}
		return ch
	}
	rec.Outgoing = choice(best[probe.SMTP])
	rec.Incoming = choice(best[probe.IMAP])
	if rec.Incoming == nil {
		rec.Incoming = choice(best[probe.POP3])
	}
	return rec
}

var errNoAddress = errors.New("host has no A or AAAA record")

func proxyName(p *proxy.Dialer) string {
	if p == nil {
		return ""
	}
	return p.String()
}

func proxyResolution(p *proxy.Dialer) string {
	if p.RemoteResolves() {
		return "; the proxy resolves the mail servers' names itself when connecting"
	}
	return "; mail server names were resolved here and the proxy was given addresses"
}
