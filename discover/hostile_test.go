package discover_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// Domains and servers that try to steer, stall or flood discovery. Each case says what a
// hostile or broken party does and what discovery must do about it.
func TestHostileDomains(t *testing.T) {
	smtp := func(mut func(*mailsim.Config)) mailsim.Config {
		c := mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: []string{"PLAIN"}}
		if mut != nil {
			mut(&c)
		}
		return c
	}
	imaps := mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}
	var flood []mailsim.MX
	var floodSRV []mailsim.SRV
	var floodHosts []mailsim.Host
	for i := range 400 {
		flood = append(flood, mailsim.MX{Host: fmt.Sprintf("mx%d.flood.example", i), Preference: uint16(i)})
		floodSRV = append(floodSRV, mailsim.SRV{Service: "_imaps._tcp", Target: fmt.Sprintf("imap%d.flood.example", i), Port: 993, Priority: uint16(i)})
		floodHosts = append(floodHosts, mailsim.Host{Name: fmt.Sprintf("imap%d.flood.example", i)}, mailsim.Host{Name: fmt.Sprintf("mx%d.flood.example", i)})
	}
	spec := mailsim.WorldSpec{
		Zones: []mailsim.Zone{
			{Domain: "limit.example", MX: []mailsim.MX{{Host: "mail.limit.example", Preference: 10}}},
			{Domain: "bye.example", MX: []mailsim.MX{{Host: "mail.bye.example", Preference: 10}}},
			{Domain: "badname.example", MX: []mailsim.MX{{Host: "mx.evil.example:8443/x?#.evil.example", Preference: 10}},
				SRV: []mailsim.SRV{{Service: "_imaps._tcp", Target: "imap.evil.example:993/x", Port: 993}}},
			{Domain: "flood.example", MX: flood, SRV: floodSRV},
			{Domain: "nullmx.example", NullMX: true, SRV: []mailsim.SRV{{Service: "_imaps._tcp", Target: "imap.nullmx.example", Port: 993}}},
			{Domain: "loop.example", MX: []mailsim.MX{{Host: "mx.loop.example", Preference: 10}},
				SRV: []mailsim.SRV{{Service: "_imaps._tcp", Target: "lo.loop.example", Port: 993}}},
			{Domain: "ghost.example"},
			{Domain: "cname.example", CNAMEs: []mailsim.CNAME{{Name: "cname.example", Target: "a.cname.example"}, {Name: "a.cname.example", Target: "cname.example"}}},
			{Domain: "foreign.example", Foreign: true, MX: []mailsim.MX{{Host: "mx.foreign.example", Preference: 10}}},
			{Domain: "trunc.example", Truncated: true},
		},
		Hosts: append(floodHosts,
			// One server, three names: the guessed smtp., mail. and bare names all reach it.
			mailsim.Host{Name: "smtp.limit.example", Addrs: []string{"192.0.2.77"}},
			mailsim.Host{Name: "limit.example", Addrs: []string{"192.0.2.77"}},
			mailsim.Host{Name: "mail.limit.example", Addrs: []string{"192.0.2.77"}, Services: []mailsim.Service{
				{Port: 587, Config: smtp(func(c *mailsim.Config) { c.MaxSessions = 1 })},
			}},
			// One server under three names again, one session at a time, slow to say goodbye.
			mailsim.Host{Name: "smtp.bye.example", Addrs: []string{"192.0.2.78"}},
			mailsim.Host{Name: "bye.example", Addrs: []string{"192.0.2.78"}},
			mailsim.Host{Name: "mail.bye.example", Addrs: []string{"192.0.2.78"}, Services: []mailsim.Service{
				{Port: 587, Config: smtp(func(c *mailsim.Config) { c.MaxSessions, c.QuitDelay = 1, 60*time.Millisecond })},
			}},
			mailsim.Host{Name: "imap.nullmx.example", Services: []mailsim.Service{{Port: 993, Config: imaps}, {Port: 143, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.StartTLS}}}},
			mailsim.Host{Name: "smtp.nullmx.example", Services: []mailsim.Service{{Port: 587, Config: smtp(nil)}}},
			mailsim.Host{Name: "mx.loop.example"},
			mailsim.Host{Name: "lo.loop.example", Addrs: []string{"127.0.0.9"}, Services: []mailsim.Service{{Port: 993, Config: imaps}}},
			mailsim.Host{Name: "mx.foreign.example"},
		),
	}
	w, o := startWorld(t, spec)

	t.Run("one-connection-per-address", func(t *testing.T) {
		// The server refuses a second session with 421; discovery backs off and tries again
		// one at a time, and finds it working instead of broken.
		r := run(t, "a@limit.example", o)
		for _, p := range r.Probes {
			if p.ErrorKind == probe.KindRejected {
				t.Errorf("%s:%d %s reported as refusing: %s", p.Host, p.Port, p.Security, p.Error)
			}
		}
		if out := r.Recommended.Outgoing; out == nil || out.Host != "mail.limit.example" || out.Port != 587 {
			t.Errorf("outgoing %+v", out)
		}
	})

	t.Run("a-session-ends-when-the-server-closes-it", func(t *testing.T) {
		// The server answers QUIT 60 ms late and counts the session until then. With one
		// session per address, the next one starts only after the server has closed the last:
		// the server never sees two at once, so it never refuses one.
		one := o
		one.PerIP = 1
		r := run(t, "a@bye.example", one)
		if n := w.MaxConcurrent("mail.bye.example"); n != 1 {
			t.Errorf("the server saw %d sessions at once, want 1", n)
		}
		for _, p := range r.Probes {
			if p.ErrorKind == probe.KindRejected {
				t.Errorf("%s:%d %s refused: %s", p.Host, p.Port, p.Security, p.Error)
			}
		}
		if r.Connections < 3 {
			t.Errorf("%d connections: the three names were not each probed", r.Connections)
		}
	})

	t.Run("records-that-name-no-host-are-ignored", func(t *testing.T) {
		// A host name becomes a probe target and part of autoconfig URLs: a record must not
		// choose a port or a path that way.
		before := len(w.WebRequests())
		r := run(t, "a@badname.example", o)
		for _, p := range r.Probes {
			if strings.ContainsAny(p.Host, ":/?#") {
				t.Errorf("probed %q", p.Host)
			}
		}
		for _, u := range w.WebRequests()[before:] {
			if strings.Contains(u, "evil") {
				t.Errorf("fetched %s", u)
			}
		}
		n := 0
		for _, w := range r.Warnings {
			if w.Code == discover.WarnBadRecord {
				n++
			}
		}
		if n != 2 || len(r.DNS.MX) != 0 || len(r.DNS.SRV) != 0 {
			t.Errorf("%d bad_record warnings (want 2), MX %v, SRV %v", n, r.DNS.MX, r.DNS.SRV)
		}
	})

	t.Run("400-mx-and-400-srv-are-bounded", func(t *testing.T) {
		before := w.DNSQueries()
		r := run(t, "a@flood.example", o)
		if len(r.DNS.MX) > discover.MaxMXHosts {
			t.Errorf("%d MX records kept", len(r.DNS.MX))
		}
		if n := len(r.DNS.SRV); n > discover.MaxSRVTargets {
			t.Errorf("%d SRV records kept", n)
		}
		if len(r.Probes) > discover.MaxCandidates || r.Connections > discover.MaxConnections {
			t.Errorf("%d probes, %d connections", len(r.Probes), r.Connections)
		}
		if !hasWarning(r.Warnings, discover.WarnCapped) {
			t.Errorf("no capped warning: %v", r.Warnings)
		}
		if q := w.DNSQueries() - before; q > 3*discover.MaxCandidates {
			t.Errorf("%d DNS questions for one discovery", q)
		}
	})

	t.Run("null-mx-ends-guessing", func(t *testing.T) {
		r := run(t, "a@nullmx.example", o)
		for _, p := range r.Probes {
			if p.Sources[0] != discover.SourceSRV {
				t.Errorf("probed %s:%d %s from %v", p.Host, p.Port, p.Security, p.Sources)
			}
		}
		if r.Recommended.Incoming == nil || r.Recommended.Incoming.Host != "imap.nullmx.example" {
			t.Errorf("the SRV record is still honoured: %+v", r.Recommended.Incoming)
		}
		if r.Recommended.Outgoing != nil {
			t.Errorf("smtp.nullmx.example was guessed: %+v", r.Recommended.Outgoing)
		}
	})

	t.Run("srv-target-on-loopback", func(t *testing.T) {
		flagged := o
		flagged.Private = discover.PrivateFlag
		r := run(t, "a@loop.example", flagged)
		c := findConfig(r, probe.IMAP, "lo.loop.example", 993, probe.TLS)
		if c == nil || !hasWarning(c.Warnings, discover.WarnInternalAddress) {
			t.Errorf("loopback SRV target not flagged: %+v", c)
		}
		refused := o
		refused.Private = discover.PrivateRefuse
		r = run(t, "a@loop.example", refused)
		p := find(r, probe.IMAP, "lo.loop.example", 993, probe.TLS)
		if p == nil || p.ErrorKind != probe.KindNotAllowed || p.Address != "" {
			t.Errorf("loopback SRV target probed under PrivateRefuse: %+v", p)
		}
		// Nor does the report say what the address was: a service's resolver may know internal
		// names that strangers must not map.
		js, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(js), "127.0.0.9") {
			t.Errorf("the report under PrivateRefuse shows the refused address:\n%s", js)
		}
	})

	t.Run("none-of-the-usual-names-exists", func(t *testing.T) {
		r := run(t, "a@ghost.example", o)
		if r.Diagnosis.Status != discover.StatusNoMail || len(r.Diagnosis.Tried) == 0 || !strings.Contains(r.Diagnosis.Summary, "imap.ghost.example") {
			t.Errorf("diagnosis %+v", r.Diagnosis)
		}
	})

	t.Run("cname-loop", func(t *testing.T) {
		r := run(t, "a@cname.example", o)
		if !sourceFailed(r, discover.SourceMX, "CNAME loop") {
			t.Errorf("sources %+v", r.Sources)
		}
	})

	t.Run("records-for-another-owner-are-dropped", func(t *testing.T) {
		r := run(t, "a@foreign.example", o)
		for _, mx := range r.DNS.MX {
			if mx.Host != "mx.foreign.example" {
				t.Errorf("MX %s taken from a record for another name", mx.Host)
			}
		}
	})

	t.Run("truncated-even-over-tcp", func(t *testing.T) {
		r := run(t, "a@trunc.example", o)
		if r.Diagnosis.Status != discover.StatusDNSFailed || !sourceFailed(r, discover.SourceMX, "truncated") {
			t.Errorf("status %s, sources %+v", r.Diagnosis.Status, r.Sources)
		}
	})
}

func sourceFailed(r *discover.Report, kind, words string) bool {
	for _, s := range r.Sources {
		if s.Kind == kind && !s.OK && strings.Contains(s.Error, words) {
			return true
		}
	}
	return false
}

// An autoconfig redirect must never reach an internal address, nor trade https for http.
func TestAutoconfigContainment(t *testing.T) {
	var hits atomic.Int64
	internal := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(rw, xmlFor("imap", "imap.redir.example", 993, "SSL"))
	}), ReadHeaderTimeout: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go internal.Serve(ln)
	defer internal.Close()
	spec := mailsim.WorldSpec{
		Zones: []mailsim.Zone{
			{Domain: "redir.example", MX: []mailsim.MX{{Host: "mx.redir.example", Preference: 10}}},
			{Domain: "down.example", MX: []mailsim.MX{{Host: "mx.down.example", Preference: 10}}},
		},
		Hosts: []mailsim.Host{{Name: "mx.redir.example"}, {Name: "mx.down.example"}},
		Web: []mailsim.WebFile{
			// A cloud-metadata-style address on this machine's loopback.
			{URL: "http://autoconfig.redir.example/mail/config-v1.1.xml", Redirect: "http://" + ln.Addr().String() + "/latest/meta-data/"},
			{URL: "https://autoconfig.down.example/mail/config-v1.1.xml", Redirect: "http://autoconfig.down.example/mail/config-v1.1.xml"},
			{URL: "http://autoconfig.down.example/mail/config-v1.1.xml", Body: xmlFor("imap", "imap.evil.example", 993, "SSL")},
		},
	}
	w, o := startWorld(t, spec)
	w.Net.Route(ln.Addr().String(), ln.Addr().String()) // the world could reach it: only the guard stands in the way
	o.Protocols = []probe.Protocol{probe.IMAP}

	o.Private = discover.PrivateFlag
	r := run(t, "a@redir.example", o)
	if hits.Load() != 0 {
		t.Fatalf("the internal address was requested %d times", hits.Load())
	}
	if !sourceFailed(r, discover.SourceAutoconfig, "loopback") {
		t.Errorf("sources %+v", r.Sources)
	}
	// The test can fail: with internal addresses allowed, the request goes through.
	o.Private = discover.PrivateAllow
	run(t, "a@redir.example", o)
	if hits.Load() == 0 {
		t.Error("even with PrivateAllow, the redirect was not followed")
	}

	r = run(t, "a@down.example", o)
	if !sourceFailed(r, discover.SourceAutoconfig, "from https to http") {
		t.Errorf("downgrade not refused: %+v", r.Sources)
	}
	for _, c := range r.Probes {
		if c.Host == "imap.evil.example" && slices.Contains(c.Sources, discover.SourceAutoconfig) && !hasWarning(c.Warnings, discover.WarnHTTPSource) {
			t.Errorf("a server named only over http is not flagged: %+v", c.Warnings)
		}
	}
}

// Hosts that accept every connection and then never greet, or drip their greeting a byte at a
// time: the probes there must not queue behind each other. The first full greeting timeout
// shows the host greets on no port, and the others stop waiting (how long that takes is
// measured by BenchmarkSilentHost, not asserted here).
func TestSilentAndDrippingHosts(t *testing.T) {
	silent := func(b mailsim.Behavior) []mailsim.Service {
		var out []mailsim.Service
		for _, s := range []struct {
			port int
			p    mailsim.Protocol
			m    mailsim.Mode
		}{{465, mailsim.SMTP, mailsim.TLS}, {587, mailsim.SMTP, mailsim.StartTLS}, {25, mailsim.SMTP, mailsim.StartTLS}, {993, mailsim.IMAP, mailsim.TLS}, {143, mailsim.IMAP, mailsim.StartTLS}, {995, mailsim.POP3, mailsim.TLS}, {110, mailsim.POP3, mailsim.StartTLS}} {
			out = append(out, mailsim.Service{Port: s.port, Config: mailsim.Config{Protocol: s.p, Mode: s.m, Behavior: b}})
		}
		return out
	}
	spec := mailsim.WorldSpec{
		Zones: []mailsim.Zone{
			{Domain: "silent.example", MX: []mailsim.MX{{Host: "mail.silent.example", Preference: 10}}},
			{Domain: "drip.example", MX: []mailsim.MX{{Host: "mail.drip.example", Preference: 10}}},
		},
		Hosts: []mailsim.Host{
			{Name: "mail.silent.example", Services: silent(mailsim.Silent)},
			{Name: "mail.drip.example", Services: silent(mailsim.Drip)},
		},
	}
	_, o := startWorld(t, spec)
	for _, tt := range []struct{ domain, full string }{
		{"silent.example", "server sent nothing within"},
		{"drip.example", "without finishing the first line of its greeting"},
	} {
		t.Run(tt.domain, func(t *testing.T) {
			r := run(t, "a@"+tt.domain, o)
			full, cut := 0, 0
			for _, p := range r.Probes {
				if p.Host != "mail."+tt.domain {
					continue
				}
				switch {
				case p.ErrorKind != probe.KindGreetingTimeout:
					t.Errorf("%d %s: %s %s", p.Port, p.Security, p.ErrorKind, p.Error)
				case strings.Contains(p.Error, "has not finished a greeting on any port"):
					cut++
				case strings.Contains(p.Error, tt.full) || strings.Contains(p.Error, "no answer to the TLS ClientHello"):
					full++
				default:
					t.Errorf("%d %s: %s", p.Port, p.Security, p.Error)
				}
			}
			if full == 0 || cut == 0 {
				t.Errorf("%d probes waited the full timeout, %d were cut by what the host showed", full, cut)
			}
			if r.Diagnosis.Status != discover.StatusUnusable {
				t.Errorf("status %s", r.Diagnosis.Status)
			}
		})
	}
}

// Stopping on purpose is worded for what it is: the caller's cancellation, the discovery's
// deadline, or fast mode having its answer.
func TestStopsAreWordedApart(t *testing.T) {
	spec := mailsim.DemoSpec()
	_, o := startWorld(t, spec)
	o.Probe.GreetingTimeout = 10 * time.Second

	deadline := o
	deadline.Deadline = 200 * time.Millisecond
	r := run(t, "eve@broken.example", deadline)
	p := find(r, probe.POP3, "mail.broken.example", 995, probe.TLS)
	if p == nil || p.ErrorKind != probe.KindTimeout || !strings.Contains(p.Error, "the discovery's deadline was reached") {
		t.Errorf("deadline: %+v", p)
	}
	if !strings.Contains(strings.Join(warningTexts(r.Warnings), " "), "the discovery deadline cut it short") {
		t.Errorf("warnings %v", r.Warnings)
	}

	fast := o
	fast.Fast = true
	r = run(t, "eve@broken.example", fast)
	p = find(r, probe.POP3, "mail.broken.example", 995, probe.TLS)
	if p == nil || p.ErrorKind != probe.KindCanceled || !strings.Contains(p.Error, "already had its answer") {
		t.Errorf("fast: %+v", p)
	}
}

func warningTexts(ws []probe.Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Text)
	}
	return out
}
