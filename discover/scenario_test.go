package discover_test

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// The demo world's domains, each a scenario.
func TestDemoScenarios(t *testing.T) {
	w, o := startWorld(t, mailsim.DemoSpec())

	t.Run("srv", func(t *testing.T) {
		r := run(t, "alice@srv.example", o)
		eq(t, "smtp", configs(r, probe.SMTP), []string{"mail.srv.example:465 tls", "mail.srv.example:587 starttls"})
		eq(t, "imap", configs(r, probe.IMAP), []string{"mail.srv.example:993 tls", "mail.srv.example:143 starttls"})
		eq(t, "pop3", configs(r, probe.POP3), nil)
		if !r.Complete || !r.DNS.DNSSEC {
			t.Errorf("complete=%v dnssec=%v", r.Complete, r.DNS.DNSSEC)
		}
		if c := r.Configs[0]; c.Sources[0] != discover.SourceSRV || c.Username != "alice@srv.example" || c.Rank != 1 {
			t.Errorf("first config %+v", c)
		}
		if !hasWarning(r.Warnings, discover.WarnNoServices) {
			t.Errorf("SRV target '.' not reported: %v", r.Warnings)
		}
		if in := r.Recommended.Incoming; in == nil || in.Host != "mail.srv.example" || in.Port != 993 || !in.Verified {
			t.Errorf("recommended incoming %+v", in)
		}
	})

	t.Run("guess-only/valid-starttls-beats-expired-tls", func(t *testing.T) {
		r := run(t, "bob@guess.example", o)
		eq(t, "smtp", configs(r, probe.SMTP), []string{"smtp.guess.example:587 starttls", "smtp.guess.example:465 tls"})
		eq(t, "imap", configs(r, probe.IMAP), []string{"imap.guess.example:993 tls", "imap.guess.example:143 starttls"})
		// Cleartext only: the plain configuration comes from the STARTTLS probe's plaintext phase.
		eq(t, "pop3", configs(r, probe.POP3), []string{"pop.guess.example:110 plain"})
		pop := findConfig(r, probe.POP3, "pop.guess.example", 110, probe.Plain)
		if !hasWarning(pop.Warnings, "no_tls") || !hasWarning(pop.Warnings, "plaintext_auth") || !hasWarning(pop.Warnings, discover.WarnDerivedPlain) {
			t.Errorf("plain pop3 warnings %v", pop.Warnings)
		}
		if r.Recommended.Outgoing.Port != 587 || r.Recommended.Incoming.Protocol != probe.IMAP {
			t.Errorf("recommended %+v %+v", r.Recommended.Outgoing, r.Recommended.Incoming)
		}
	})

	t.Run("hosted-behind-mx-provider", func(t *testing.T) {
		r := run(t, "carol@customer.example", o)
		eq(t, "smtp", configs(r, probe.SMTP), []string{"smtp.mailhost.example:465 tls", "smtp.mailhost.example:587 starttls"})
		eq(t, "imap", configs(r, probe.IMAP), []string{"imap.mailhost.example:993 tls"})
		c := r.Configs[0]
		if c.Sources[0] != discover.SourceProvider || !hasWarning(c.Warnings, discover.WarnUntrustedHost) {
			t.Errorf("sources %v warnings %v", c.Sources, c.Warnings)
		}
		if c.Username != "carol@customer.example" {
			t.Errorf("username %q", c.Username)
		}
	})

	t.Run("autoconfig-odd-hosts", func(t *testing.T) {
		r := run(t, "dave@autoconf.example", o)
		eq(t, "smtp", configs(r, probe.SMTP), []string{"out.autoconf.example:587 starttls"})
		eq(t, "imap", configs(r, probe.IMAP), []string{"in.cluster7.autoconf.example:993 tls"})
		eq(t, "pop3", configs(r, probe.POP3), []string{"pop.legacy.autoconf.example:995 tls"})
		if u := r.Configs[0].Username; u != "dave" {
			t.Errorf("username %q, want the local part (%%EMAILLOCALPART%%)", u)
		}
		var asked bool
		for _, u := range w.WebRequests() {
			asked = asked || strings.Contains(u, "emailaddress=dave%40autoconf.example")
		}
		if !asked {
			t.Errorf("autoconfig not asked with ?emailaddress=: %v", w.WebRequests())
		}
	})

	t.Run("broken", func(t *testing.T) {
		r := run(t, "eve@broken.example", o)
		eq(t, "imap", configs(r, probe.IMAP), []string{"mail.broken.example:143 starttls", "mail.broken.example:993 tls"})
		eq(t, "smtp", configs(r, probe.SMTP), nil)
		inj := find(r, probe.SMTP, "mail.broken.example", 587, probe.StartTLS)
		if inj == nil || inj.ErrorKind != probe.KindStartTLSInjection {
			t.Errorf("587: %+v", inj)
		}
		filtered := find(r, probe.SMTP, "mail.broken.example", 465, probe.TLS)
		if filtered == nil || filtered.ErrorKind != probe.KindConnectTimeout || !strings.Contains(filtered.Error, "gave up after") {
			t.Errorf("465: %+v", filtered)
		}
		// The filtered port did not hold the answer for the 3 s connect timeout: what the
		// other ports of the address taught cut it short.
		if filtered.Timings.Total > 2*time.Second {
			t.Errorf("filtered port held the probe %v", filtered.Timings.Total)
		}
	})
}

func TestScenarios(t *testing.T) {
	imap := func(mut func(*mailsim.Config)) mailsim.Config {
		c := mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}
		if mut != nil {
			mut(&c)
		}
		return c
	}
	spec := mailsim.WorldSpec{
		Zones: []mailsim.Zone{
			{Domain: "slow.example"},
			{Domain: "legacy.example"},
			{Domain: "nomail.example", NullMX: true},
			{Domain: "xn--bcher-kva.example", MX: []mailsim.MX{{Host: "mail.xn--bcher-kva.example", Preference: 10}}},
			{Domain: "httponly.example"},
			{Domain: "isp.example"},
			{Domain: "tcp.example", TCPOnly: true, MX: []mailsim.MX{{Host: "mx.tcp.example", Preference: 10}}},
			{Domain: "servfail.example", ServFail: true},
			{Domain: "elsewhere.example"},
			{Domain: "ispdb.example"},
			{Domain: "mixed.example"},
		},
		Web: []mailsim.WebFile{
			{URL: "http://autoconfig.httponly.example/mail/config-v1.1.xml", Body: xmlFor("imap", "imap.elsewhere.example", 993, "SSL")},
			{URL: "https://ispdb.example/v1.1/isp.example", Body: xmlFor("imap", "imap.elsewhere.example", 993, "SSL")},
			// Wrong: port 993 speaks implicit TLS, not STARTTLS.
			{URL: "https://autoconfig.mixed.example/mail/config-v1.1.xml", Body: xmlFor("imap", "imap.mixed.example", 993, "STARTTLS")},
		},
		Hosts: []mailsim.Host{
			{Name: "imap.slow.example", Services: []mailsim.Service{
				{Port: 993, Config: imap(func(c *mailsim.Config) { c.GreetingDelay = 800 * time.Millisecond })},
				{Port: 143, Config: imap(func(c *mailsim.Config) { c.Mode = mailsim.StartTLS })},
			}},
			{Name: "imap.legacy.example", Services: []mailsim.Service{
				{Port: 993, Config: imap(func(c *mailsim.Config) { c.TLSMin, c.TLSMax = tls.VersionTLS10, tls.VersionTLS10 })},
			}},
			{Name: "mail.xn--bcher-kva.example", Services: []mailsim.Service{{Port: 993, Config: imap(nil)}}},
			{Name: "imap.elsewhere.example", Services: []mailsim.Service{{Port: 993, Config: imap(nil)}}},
			{Name: "mx.tcp.example"},
			{Name: "imap.mixed.example", Services: []mailsim.Service{{Port: 993, Config: imap(func(c *mailsim.Config) { c.GreetingDelay = 200 * time.Millisecond })}}},
		},
	}
	_, o := startWorld(t, spec)
	imapOnly := o
	imapOnly.Protocols = []probe.Protocol{probe.IMAP}

	t.Run("slow-greeting", func(t *testing.T) {
		r := run(t, "a@slow.example", imapOnly)
		p := find(r, probe.IMAP, "imap.slow.example", 993, probe.TLS)
		if p == nil || p.ErrorKind != probe.KindGreetingTimeout {
			t.Fatalf("993: %+v", p)
		}
		eq(t, "imap", configs(r, probe.IMAP), []string{"imap.slow.example:143 starttls"})
	})

	t.Run("legacy-tls-only", func(t *testing.T) {
		r := run(t, "a@legacy.example", imapOnly)
		if p := find(r, probe.IMAP, "imap.legacy.example", 993, probe.TLS); p == nil || p.ErrorKind != probe.KindTLSVersion {
			t.Fatalf("993: %+v", p)
		}
		eq(t, "imap", configs(r, probe.IMAP), nil)
		allow := imapOnly
		allow.Probe.AllowInsecureTLS, allow.Probe.TLSMin = true, tls.VersionTLS10
		r = run(t, "a@legacy.example", allow)
		c := findConfig(r, probe.IMAP, "imap.legacy.example", 993, probe.TLS)
		if c == nil || !hasWarning(c.Warnings, "legacy_tls") || r.Recommended.Incoming.Verified {
			t.Errorf("with --allow-insecure-tls: %+v", c)
		}
	})

	t.Run("null-mx", func(t *testing.T) {
		r := run(t, "a@nomail.example", imapOnly)
		if !r.DNS.NullMX || !hasWarning(r.Warnings, discover.WarnNullMX) || len(r.Configs) != 0 {
			t.Errorf("null_mx=%v warnings=%v configs=%d", r.DNS.NullMX, r.Warnings, len(r.Configs))
		}
	})

	t.Run("nxdomain", func(t *testing.T) {
		r := run(t, "a@nowhere.example", imapOnly)
		if !hasWarning(r.Warnings, "nxdomain") || len(r.Configs) != 0 || r.Recommended.Incoming != nil {
			t.Errorf("warnings=%v configs=%d", r.Warnings, len(r.Configs))
		}
	})

	t.Run("idn", func(t *testing.T) {
		r := run(t, "jörg@bücher.example", imapOnly)
		if r.Domain != "xn--bcher-kva.example" {
			t.Errorf("domain %q", r.Domain)
		}
		eq(t, "imap", configs(r, probe.IMAP), []string{"mail.xn--bcher-kva.example:993 tls"})
		if u := r.Configs[0].Username; u != "jörg@xn--bcher-kva.example" {
			t.Errorf("username %q", u)
		}
	})

	t.Run("http-autoconfig-pointing-elsewhere", func(t *testing.T) {
		r := run(t, "a@httponly.example", imapOnly)
		c := findConfig(r, probe.IMAP, "imap.elsewhere.example", 993, probe.TLS)
		if c == nil || !hasWarning(c.Warnings, discover.WarnHTTPSource) || !hasWarning(c.Warnings, discover.WarnUntrustedHost) {
			t.Fatalf("config %+v", c)
		}
	})

	t.Run("ispdb", func(t *testing.T) {
		o := imapOnly
		o.NoISPDB, o.ISPDB = false, "https://ispdb.example/v1.1/"
		r := run(t, "a@isp.example", o)
		c := findConfig(r, probe.IMAP, "imap.elsewhere.example", 993, probe.TLS)
		if c == nil || c.Sources[0] != discover.SourceISPDB {
			t.Fatalf("config %+v", c)
		}
	})

	t.Run("dns-tcp-fallback", func(t *testing.T) {
		r := run(t, "a@tcp.example", imapOnly)
		if len(r.DNS.MX) != 1 || r.DNS.MX[0].Host != "mx.tcp.example" {
			t.Errorf("MX over TCP: %+v", r.DNS.MX)
		}
	})

	t.Run("mode-mismatch-cut-short", func(t *testing.T) {
		o := imapOnly
		o.Probe.GreetingTimeout = 4 * time.Second
		r := run(t, "a@mixed.example", o)
		p := find(r, probe.IMAP, "imap.mixed.example", 993, probe.StartTLS)
		if p == nil || p.ErrorKind != probe.KindGreetingTimeout || !strings.Contains(p.Error, "speaks implicit TLS") {
			t.Fatalf("993 starttls: %+v", p)
		}
		if p.Timings.Total > 2*time.Second {
			t.Errorf("the STARTTLS probe waited %v although the port was known to speak TLS", p.Timings.Total)
		}
		eq(t, "imap", configs(r, probe.IMAP), []string{"imap.mixed.example:993 tls"})
	})

	t.Run("servfail", func(t *testing.T) {
		r := run(t, "a@servfail.example", imapOnly)
		for _, s := range r.Sources {
			if s.Kind == discover.SourceMX && (s.OK || !strings.Contains(s.Error, "SERVFAIL")) {
				t.Errorf("MX source %+v", s)
			}
		}
	})
}

func xmlFor(typ, host string, port int, socket string) string {
	tag := "incomingServer"
	if typ == "smtp" {
		tag = "outgoingServer"
	}
	return `<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="x"><domain>x</domain>` +
		`<` + tag + ` type="` + typ + `"><hostname>` + host + `</hostname><port>` + itoa(port) + `</port><socketType>` + socket +
		`</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></` + tag + `></emailProvider></clientConfig>`
}
