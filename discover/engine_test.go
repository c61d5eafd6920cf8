package discover_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// Two discoveries of one engine that name the same endpoints at the same time share one probe
// of each: the second joins the probe under way, and the engine counts it as shared.
func TestEngineSharesProbesUnderWay(t *testing.T) {
	slow := func(p mailsim.Protocol, m mailsim.Mode) mailsim.Config {
		return mailsim.Config{Protocol: p, Mode: m, AuthAfterTLS: []string{"PLAIN"}, GreetingDelay: 150 * time.Millisecond}
	}
	spec := mailsim.WorldSpec{
		Zones: []mailsim.Zone{
			{Domain: "one.example", MX: []mailsim.MX{{Host: "mx.provider.example", Preference: 10}}},
			{Domain: "two.example", MX: []mailsim.MX{{Host: "mx.provider.example", Preference: 10}}},
		},
		Hosts: []mailsim.Host{{Name: "mx.provider.example", Services: []mailsim.Service{
			{Port: 465, Config: slow(mailsim.SMTP, mailsim.TLS)},
			{Port: 993, Config: slow(mailsim.IMAP, mailsim.TLS)},
		}}},
	}
	w, o := startWorld(t, spec)
	o.Probe.GreetingTimeout = 2 * time.Second
	e, err := discover.NewEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	before := w.AcceptedAt()
	var wg sync.WaitGroup
	reports := make([]*discover.Report, 2)
	for i, target := range []string{"a@one.example", "b@two.example"} {
		wg.Go(func() {
			r, err := e.Run(context.Background(), target, o)
			if r == nil {
				t.Error(err)
			}
			reports[i] = r
		})
	}
	wg.Wait()
	after := w.AcceptedAt()
	for _, ep := range []string{"mx.provider.example:465", "mx.provider.example:993"} {
		if n := after[ep] - before[ep]; n != 1 {
			t.Errorf("%s: %d connections for two discoveries, want 1", ep, n)
		}
	}
	for _, r := range reports {
		if r == nil || r.Recommended.Incoming == nil || r.Recommended.Outgoing == nil {
			t.Fatalf("a discovery found no recommendation: %+v", r)
		}
	}
	// Each of the two endpoints was probed for one discovery and shared with the other, and
	// the probes of the provider's other ports (refused, one each) too.
	if got, min := e.Stats().SharedHits, int64(2); got < min {
		t.Errorf("SharedHits = %d, want at least %d", got, min)
	}
}

// DNSRate bounds the questions sent to the resolver: at one question per 1,000 s, a discovery
// asks no more than the limiter's burst (two: an address lookup is an A and an AAAA question)
// before its deadline, where it would otherwise ask dozens.
func TestEngineDNSRate(t *testing.T) {
	w, o := startWorld(t, mailsim.WorldSpec{Zones: []mailsim.Zone{{Domain: "one.example"}}})
	o.DNSRate = 0.001
	o.Deadline = 300 * time.Millisecond
	before := w.DNSQueries()
	r, _ := discover.Run(context.Background(), "a@one.example", o)
	if r == nil {
		t.Fatal("no report")
	}
	if n := w.DNSQueries() - before; n < 1 || n > 2 {
		t.Errorf("%d DNS questions, want 1 or 2", n)
	}
}

// Engine.Probe runs single endpoints under the engine's politeness and shares its results.
func TestEngineProbe(t *testing.T) {
	cfg := func(p mailsim.Protocol, m mailsim.Mode) mailsim.Config {
		return mailsim.Config{Protocol: p, Mode: m, AuthAfterTLS: []string{"PLAIN"}, GreetingDelay: 50 * time.Millisecond}
	}
	w, o := startWorld(t, mailsim.WorldSpec{Hosts: []mailsim.Host{{Name: "mail.one.example", Services: []mailsim.Service{
		{Port: 465, Config: cfg(mailsim.SMTP, mailsim.TLS)},
		{Port: 587, Config: cfg(mailsim.SMTP, mailsim.StartTLS)},
		{Port: 993, Config: cfg(mailsim.IMAP, mailsim.TLS)},
	}}}})
	o.PerIP = 1
	e, err := discover.NewEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	addrs := w.Addrs("mail.one.example")
	targets := []probe.Target{
		{Protocol: probe.SMTP, Host: "mail.one.example", Port: 465, Security: probe.TLS, Addrs: addrs},
		{Protocol: probe.SMTP, Host: "mail.one.example", Port: 587, Security: probe.StartTLS, Addrs: addrs},
		{Protocol: probe.IMAP, Host: "mail.one.example", Port: 993, Security: probe.TLS, Addrs: addrs},
	}
	rs := e.Probe(context.Background(), targets...)
	for i, r := range rs {
		if !r.OK || r.Port != targets[i].Port {
			t.Errorf("result %d: port %d ok=%v %s", i, r.Port, r.OK, r.Error)
		}
	}
	if n := w.MaxConcurrent("mail.one.example"); n != 1 {
		t.Errorf("%d sessions at once with PerIP 1", n)
	}
	conns := e.Stats().Connections
	again := e.Probe(context.Background(), targets[2])
	if !again[0].OK || e.Stats().Connections != conns || e.Stats().SharedHits < 1 {
		t.Errorf("a second probe within CacheTTL connected again (%d → %d connections) or failed: %s",
			conns, e.Stats().Connections, again[0].Error)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fresh := probe.Target{Protocol: probe.SMTP, Host: "mail.one.example", Port: 2525, Security: probe.Plain, Addrs: addrs}
	if r := e.Probe(ctx, fresh)[0]; r.OK || r.ErrorKind != probe.KindCanceled {
		t.Errorf("a canceled probe: ok=%v %s %s", r.OK, r.ErrorKind, r.Error)
	}
}

// recordingDialer remembers every address dialled.
type recordingDialer struct {
	probe.Dialer
	mu    sync.Mutex
	addrs []string
}

func (d *recordingDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, address)
	d.mu.Unlock()
	return d.Dialer.DialContext(ctx, network, address)
}

// Engine.Probe connects to at most MaxAddrsPerFamily addresses of each family of a target, as
// a discovery does: a host with many addresses is not many connections.
func TestEngineProbeCapsAddresses(t *testing.T) {
	w, o := startWorld(t, mailsim.WorldSpec{})
	rec := &recordingDialer{Dialer: w}
	o.Probe.Dial = rec
	o.Probe.ConnectTimeout = 200 * time.Millisecond
	e, err := discover.NewEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var addrs []netip.Addr
	for i := range 5 { // addresses of nothing in the world: every connect is refused at once
		addrs = append(addrs, netip.AddrFrom4([4]byte{192, 0, 2, byte(201 + i)}), netip.MustParseAddr(fmt.Sprintf("2001:db8::%d", 201+i)))
	}
	r := e.Probe(context.Background(), probe.Target{Protocol: probe.SMTP, Host: "many.example", Port: 587, Security: probe.StartTLS, Addrs: addrs})[0]
	if r.OK {
		t.Fatal("a probe of nothing worked")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.addrs) != 2*discover.MaxAddrsPerFamily {
		t.Errorf("dialled %v, want %d addresses (2 per family)", rec.addrs, 2*discover.MaxAddrsPerFamily)
	}
}

// Progress totals never shrink, and the last probe event has done == total: a wizard's progress
// bar moves one way and ends full. Every demo domain, including ones whose hosts resolve to
// nothing.
func TestProgressTotalsGrow(t *testing.T) {
	_, o := startWorld(t, mailsim.DemoSpec())
	for _, d := range []string{mailsim.DemoSRV, mailsim.DemoGuess, mailsim.DemoHosted, mailsim.DemoAutoconf,
		mailsim.DemoBroken, mailsim.DemoLegacy, mailsim.DemoPlain, mailsim.DemoNoMail} {
		var mu sync.Mutex
		var events []discover.Event
		o.Progress = func(e discover.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
		if r, err := discover.Run(context.Background(), "alice@"+d, o); r == nil {
			t.Fatal(err)
		}
		mu.Lock()
		last := discover.Event{}
		for i, e := range events {
			if e.Total < last.Total || e.Done < last.Done || e.Done > e.Total {
				t.Errorf("%s: event %d goes from %d/%d to %d/%d", d, i, last.Done, last.Total, e.Done, e.Total)
			}
			if e.Kind == discover.EventProbe {
				last = e
			} else {
				last.Total, last.Done = max(last.Total, e.Total), max(last.Done, e.Done)
			}
		}
		if last.Kind == discover.EventProbe && last.Done != last.Total {
			t.Errorf("%s: the last probe event says %d of %d", d, last.Done, last.Total)
		}
		mu.Unlock()
	}
}

// Options.Fresh probes and fetches anew where a later discovery of the same engine would
// otherwise reuse the first one's results.
func TestEngineFresh(t *testing.T) {
	w, o := startWorld(t, mailsim.DemoSpec())
	e, err := discover.NewEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	run := func(fresh bool) (conns int, fetches int) {
		before, web := w.Accepted(), len(w.WebRequests())
		opts := o
		opts.Fresh = fresh
		if r, err := e.Run(context.Background(), "alice@"+mailsim.DemoAutoconf, opts); r == nil {
			t.Fatal(err)
		}
		return w.Accepted() - before, len(w.WebRequests()) - web
	}
	if c, f := run(false); c == 0 || f == 0 {
		t.Fatalf("the first discovery made %d connections and %d fetches", c, f)
	}
	if c, f := run(false); c != 0 || f != 0 {
		t.Errorf("a second discovery within CacheTTL made %d connections and %d fetches, want none", c, f)
	}
	if c, f := run(true); c == 0 || f == 0 {
		t.Errorf("a fresh discovery made %d connections and %d fetches, want new ones", c, f)
	}
}

// The diagnosis speaks of what was asked and of what is in the way: POP3 alone at a domain
// whose SRV records decline it; "safely" only when safety is the problem.
func TestDiagnosisWords(t *testing.T) {
	_, o := startWorld(t, mailsim.DemoSpec())
	pop := o
	pop.Protocols = []probe.Protocol{probe.POP3}
	r := run(t, "alice@"+mailsim.DemoSRV, pop)
	if in := r.Diagnosis.Incoming; !strings.Contains(in, "offers no POP3") || strings.Contains(in, "IMAP") {
		t.Errorf("POP3 only at %s: %q", mailsim.DemoSRV, in)
	}
	if r.Diagnosis.Outgoing != "" {
		t.Errorf("outgoing was not asked for: %q", r.Diagnosis.Outgoing)
	}
	r = run(t, "alice@"+mailsim.DemoPlain, o)
	if out := r.Diagnosis.Outgoing; strings.Contains(out, "safely") || !strings.Contains(out, "no login") {
		t.Errorf("an SMTP server without AUTH: %q", out)
	}
}

// A probe that --fast stopped is not judged: its progress event carries no verdict.
func TestCanceledProbeEventHasNoVerdict(t *testing.T) {
	_, o := startWorld(t, mailsim.DemoSpec())
	o.Fast = true
	var mu sync.Mutex
	canceled := 0
	o.Progress = func(e discover.Event) {
		if e.Kind == discover.EventProbe && e.ErrorKind == probe.KindCanceled {
			mu.Lock()
			defer mu.Unlock()
			canceled++
			if e.Verdict != "" {
				t.Errorf("canceled probe %s:%d %s has verdict %q", e.Host, e.Port, e.Security, e.Verdict)
			}
		}
	}
	for _, d := range []string{mailsim.DemoBroken, mailsim.DemoGuess, mailsim.DemoSRV} {
		run(t, "alice@"+d, o)
	}
	if canceled == 0 {
		t.Fatal("no probe was canceled: broken.example's filtered and silent ports should still be pending when --fast answers")
	}
}

// A rate that is not a number is refused, not taken as "no limit".
func TestEngineRejectsBadRates(t *testing.T) {
	for _, mut := range []func(*discover.Options){
		func(o *discover.Options) { o.Rate = math.NaN() },
		func(o *discover.Options) { o.DNSRate = math.NaN() },
		func(o *discover.Options) { o.Rate = -1 },
	} {
		o := discover.DefaultOptions()
		mut(&o)
		if e, err := discover.NewEngine(o); err == nil {
			e.Close()
			t.Errorf("NewEngine accepted Rate %v DNSRate %v", o.Rate, o.DNSRate)
		}
	}
}
