package discover_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
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
