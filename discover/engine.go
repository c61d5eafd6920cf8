package discover

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// Errors Run returns (match them with errors.Is).
var (
	// ErrDNS: DNS did not work. Either no resolver could be set up (no report), or the
	// resolver failed during the discovery: the report comes back too, its diagnosis status is
	// dns_failed, and what it found is unknown rather than absent.
	ErrDNS = errors.New("DNS failed")
	// ErrCanceled: the caller canceled ctx. The report of what was learned comes back too.
	ErrCanceled = errors.New("discovery canceled")
)

// An Engine runs discoveries that share what can be shared: DNS answers (for their TTL), probe
// results per endpoint (for Options.CacheTTL), and the politeness budget of every server
// address. A batch of a thousand domains hosted by one provider probes the provider's servers
// once, and never opens more than Options.PerIP connections to one of them at a time. An
// Engine is safe for concurrent use; Close it when done.
type Engine struct {
	opts    Options
	ctx     context.Context
	cancel  context.CancelFunc
	dns     *dnsCache
	disp    *dispatcher
	fetches *fetchCache
	seq     atomic.Uint64
	runs    atomic.Int64
}

// Stats are an engine's counters since it started.
type Stats struct {
	Discoveries int64 // discoveries run
	Connections int64 // TCP connections opened to mail servers
	SharedHits  int64 // probes answered by another discovery's, without a connection: from the result cache or by joining one under way
}

// NewEngine makes an engine from the engine-wide fields of opts (see Options).
func NewEngine(opts Options) (*Engine, error) {
	opts.fill()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Resolver == nil {
		sys, err := SystemResolver()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDNS, err)
		}
		opts.Resolver = sys
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{opts: opts, ctx: ctx, cancel: cancel}
	lookups, flights := descriptorBudget(opts.Concurrency)
	e.dns = newDNSCache(ctx, opts.Resolver, lookups, dnsCacheEntries, opts.DNSRate)
	e.disp = newDispatcher(ctx, opts, flights)
	e.fetches = newFetchCache(opts.CacheTTL)
	return e, nil
}

// Close stops every probe and lookup still running and waits for them.
func (e *Engine) Close() error {
	e.cancel()
	e.disp.close()
	e.dns.wait()
	return nil
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{Discoveries: e.runs.Load(), Connections: e.disp.connections.Load(), SharedHits: e.disp.sharedHits.Load()}
}

// Run discovers how to connect to the mail of target (an address or a domain) with a one-off
// engine. Errors: ErrBadTarget (no report) for a target that cannot be parsed; ErrDNS without a
// report when no resolver could be set up, and with one when DNS failed during the discovery;
// ErrCanceled, with the report so far, when ctx was canceled. Everything else the network does
// wrong is in the report.
func Run(ctx context.Context, target string, opts Options) (*Report, error) {
	if _, err := ParseTarget(target); err != nil {
		return nil, err
	}
	e, err := NewEngine(opts)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return e.Run(ctx, target, opts)
}

// Run runs one discovery on the engine. Only the per-discovery fields of opts are read (see
// Options); errors are as for the package's Run.
func (e *Engine) Run(ctx context.Context, target string, opts Options) (*Report, error) {
	t, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	o := e.opts
	o.Protocols, o.Deadline, o.Fast = opts.Protocols, opts.Deadline, opts.Fast
	o.Credentials, o.TrustHost, o.VerifyAll, o.AllowInsecure, o.Progress = opts.Credentials, opts.TrustHost, opts.VerifyAll, opts.AllowInsecure, opts.Progress
	o.Fresh = opts.Fresh
	if len(o.Protocols) == 0 {
		o.Protocols = []probe.Protocol{probe.SMTP, probe.IMAP, probe.POP3}
	}
	if o.Deadline <= 0 {
		o.Deadline = 20 * time.Second
	}
	if o.Credentials != nil {
		if err := o.Credentials.Validate(); err != nil {
			return nil, err
		}
	}
	e.runs.Add(1)
	s := newScheduler(e, t, o, ctx)
	rep := s.discover()
	switch {
	case ctx.Err() != nil:
		return rep, fmt.Errorf("%w: %w", ErrCanceled, context.Cause(ctx))
	case rep.Diagnosis.Status == StatusDNSFailed:
		return rep, fmt.Errorf("%w: %v", ErrDNS, s.dnsFailure)
	}
	return rep, nil
}
