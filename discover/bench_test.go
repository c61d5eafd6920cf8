package discover_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
)

// benchRTT is the simulated round trip of the benchmark world: every connect, DNS answer and
// server write arrives one RTT after the request.
const benchRTT = 50 * time.Millisecond

// criticalPath is the physical minimum for proving an implicit-TLS configuration found by SRV:
// SRV lookup, A/AAAA lookup (in parallel), TCP connect, TLS 1.3 handshake, greeting, and one
// capability command: 6 round trips. Nothing can be known sooner.
const criticalPath = 6 * benchRTT

// benchSpec: bench.example publishes SRV for submission and IMAP on box7.bench.example, says
// POP3 is not offered, and has a guessed POP3 host whose port never greets.
func benchSpec(filterBest bool) mailsim.WorldSpec {
	auth := []string{"PLAIN", "LOGIN"}
	best := mailsim.Service{Port: 993, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: auth, GreetingCaps: true}}
	if filterBest {
		best = mailsim.Service{Port: 993, Filtered: true}
	}
	return mailsim.WorldSpec{
		RTT: benchRTT,
		Zones: []mailsim.Zone{{Domain: "bench.example", MX: []mailsim.MX{{Host: "mx.bench.example", Preference: 10}}, SRV: []mailsim.SRV{
			{Service: "_submissions._tcp", Target: "box7.bench.example", Port: 465},
			{Service: "_submission._tcp", Target: "box7.bench.example", Port: 587, Priority: 10},
			{Service: "_imaps._tcp", Target: "box7.bench.example", Port: 993},
			{Service: "_imap._tcp", Target: "box7.bench.example", Port: 143, Priority: 10},
			{Service: "_pop3s._tcp", Target: "."},
			{Service: "_pop3._tcp", Target: "."},
		}}},
		Hosts: []mailsim.Host{
			{Name: "box7.bench.example", Services: []mailsim.Service{
				{Port: 465, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: auth}},
				{Port: 587, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: auth}},
				best,
				{Port: 143, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.StartTLS, AuthAfterTLS: auth}},
			}},
			{Name: "mx.bench.example"},
			{Name: "pop3.bench.example", Services: []mailsim.Service{
				{Port: 995, Config: mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.Plain, Behavior: mailsim.Silent}},
			}},
		},
	}
}

func benchOptions(w *mailsim.World) discover.Options {
	o := discover.DefaultOptions() // default timeouts: 5 s connect, 4 s greeting
	o.Resolver = &discover.DNSResolver{Servers: []string{w.DNSAddr()}}
	o.Probe.Dial = w
	o.Probe.RootCAs = w.CA.Pool()
	o.NoISPDB = true
	return o
}

func benchDiscover(b *testing.B, spec mailsim.WorldSpec, fast bool, check func(*discover.Report)) {
	w, err := mailsim.StartWorld(spec)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	o := benchOptions(w)
	o.Fast = fast
	var total time.Duration
	var conns int
	for b.Loop() {
		start := time.Now()
		r, err := discover.Run(context.Background(), "alice@bench.example", o)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		conns = r.Connections
		check(r)
	}
	perOp := total / time.Duration(b.N)
	b.ReportMetric(float64(perOp.Milliseconds()), "ms/discovery")
	b.ReportMetric(float64(perOp)/float64(criticalPath), "x-critical-path")
	b.ReportMetric(float64(conns), "connections")
}

// BenchmarkFastAnswer: --fast, time to the proven answer against the 6-RTT physical minimum
// (target ≤ 1.25×).
func BenchmarkFastAnswer(b *testing.B) {
	benchDiscover(b, benchSpec(false), true, func(r *discover.Report) {
		if in := r.Recommended.Incoming; in == nil || in.Port != 993 {
			b.Fatalf("recommended %+v", in)
		}
	})
}

// BenchmarkFastAnswerBestFiltered: the best candidate's port silently drops packets; default
// settings (target ≤ 1.5 s; Thunderbird's guesser needs over 10 s).
func BenchmarkFastAnswerBestFiltered(b *testing.B) {
	benchDiscover(b, benchSpec(true), true, func(r *discover.Report) {
		if in := r.Recommended.Incoming; in == nil || in.Port != 143 {
			b.Fatalf("recommended %+v", in)
		}
	})
}

// BenchmarkFullReport: everything probed, including a port that never greets (target ≤
// greeting timeout + critical path + 10%).
func BenchmarkFullReport(b *testing.B) {
	benchDiscover(b, benchSpec(false), false, func(r *discover.Report) {
		if !r.Complete {
			b.Fatal("incomplete")
		}
	})
}

// hostileSpec: every service of mail.hostile.example is named by SRV; how the host behaves is
// the benchmark's subject.
func hostileSpec(rtt time.Duration, service func(port int, p mailsim.Protocol, m mailsim.Mode) mailsim.Service) mailsim.WorldSpec {
	var services []mailsim.Service
	for _, s := range []struct {
		port int
		p    mailsim.Protocol
		m    mailsim.Mode
	}{{465, mailsim.SMTP, mailsim.TLS}, {587, mailsim.SMTP, mailsim.StartTLS}, {993, mailsim.IMAP, mailsim.TLS}, {143, mailsim.IMAP, mailsim.StartTLS}, {995, mailsim.POP3, mailsim.TLS}, {110, mailsim.POP3, mailsim.StartTLS}} {
		services = append(services, service(s.port, s.p, s.m))
	}
	return mailsim.WorldSpec{
		RTT: rtt,
		Zones: []mailsim.Zone{{Domain: "bench.example", MX: []mailsim.MX{{Host: "mail.hostile.example", Preference: 10}}, SRV: []mailsim.SRV{
			{Service: "_submissions._tcp", Target: "mail.hostile.example", Port: 465},
			{Service: "_submission._tcp", Target: "mail.hostile.example", Port: 587},
			{Service: "_imaps._tcp", Target: "mail.hostile.example", Port: 993},
			{Service: "_imap._tcp", Target: "mail.hostile.example", Port: 143},
			{Service: "_pop3s._tcp", Target: "mail.hostile.example", Port: 995},
			{Service: "_pop3._tcp", Target: "mail.hostile.example", Port: 110},
		}}},
		Hosts: []mailsim.Host{{Name: "mail.hostile.example", Services: services}},
	}
}

// tlsDropped: a firewall silently drops every implicit-TLS port (465, 993, 995) while the
// STARTTLS ports of the same address work.
func tlsDropped(port int, p mailsim.Protocol, m mailsim.Mode) mailsim.Service {
	if m == mailsim.TLS {
		return mailsim.Service{Port: port, Filtered: true}
	}
	return mailsim.Service{Port: port, Config: mailsim.Config{Protocol: p, Mode: m, AuthAfterTLS: []string{"PLAIN"}}}
}

// BenchmarkFastTLSPortsDropped: fast mode when every implicit-TLS port is dropped (targets:
// ≤ 1.5 s at 50 ms RTT, ≤ 0.6 s on loopback). The slots of the address must not sit in the
// dropped connects: what the answered ones show cuts them.
func BenchmarkFastTLSPortsDropped(b *testing.B) {
	for _, rtt := range []time.Duration{benchRTT, 0} {
		b.Run(fmt.Sprintf("rtt=%v", rtt), func(b *testing.B) {
			benchDiscover(b, hostileSpec(rtt, tlsDropped), true, func(r *discover.Report) {
				if in, out := r.Recommended.Incoming, r.Recommended.Outgoing; in == nil || in.Port != 143 || out == nil || out.Port != 587 {
					b.Fatalf("recommended %+v %+v", in, out)
				}
			})
		})
	}
}

// BenchmarkSilentHost: a host that accepts every port and never says a word; the full report
// (target ≤ greeting timeout + 10%: 4.4 s with the default 4 s).
func BenchmarkSilentHost(b *testing.B) {
	benchDiscover(b, hostileSpec(benchRTT, func(port int, p mailsim.Protocol, m mailsim.Mode) mailsim.Service {
		return mailsim.Service{Port: port, Config: mailsim.Config{Protocol: p, Mode: m, Behavior: mailsim.Silent}}
	}), false, func(r *discover.Report) {
		if r.Recommended.Incoming != nil || !r.Complete {
			b.Fatalf("recommended %+v complete=%v", r.Recommended.Incoming, r.Complete)
		}
	})
}

// BenchmarkDrippingHost: a host whose greeting dribbles out a byte every 200 ms on every port;
// the full report (target ≤ greeting timeout + 10%).
func BenchmarkDrippingHost(b *testing.B) {
	benchDiscover(b, hostileSpec(benchRTT, func(port int, p mailsim.Protocol, m mailsim.Mode) mailsim.Service {
		return mailsim.Service{Port: port, Config: mailsim.Config{Protocol: p, Mode: m, Behavior: mailsim.Drip}}
	}), false, func(r *discover.Report) {
		if r.Recommended.Incoming != nil || !r.Complete {
			b.Fatalf("recommended %+v complete=%v", r.Recommended.Incoming, r.Complete)
		}
	})
}
