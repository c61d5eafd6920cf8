package discover_test

import (
	"strings"
	"testing"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

func withPassword(o discover.Options, user, password string) discover.Options {
	o.Credentials = &probe.Credentials{Username: user, Password: password}
	return o
}

func authOf(t *testing.T, r *discover.Report, p probe.Protocol, host string, port int, sec probe.Security) *probe.AuthResult {
	t.Helper()
	c := findConfig(r, p, host, port, sec)
	if c == nil {
		t.Fatalf("no config %s %s:%d %s", p, host, port, sec)
	}
	if c.Auth == nil {
		t.Fatalf("config %s %s:%d %s has no auth result", p, host, port, sec)
	}
	return c.Auth
}

func TestVerifyCredentials(t *testing.T) {
	spec := mailsim.DemoSpec()
	spec.Zones = append(spec.Zones, mailsim.Zone{Domain: "verify.example", SRV: []mailsim.SRV{
		// Outside the domain, in an unsigned answer: ranks first, but no password goes there.
		{Service: "_submissions._tcp", Target: "a.elsewhere.example", Port: 465},
		{Service: "_submission._tcp", Target: "b.verify.example", Port: 587, Priority: 10},
	}}, mailsim.Zone{Domain: "cram.example", SRV: []mailsim.SRV{
		{Service: "_submissions._tcp", Target: "a.cram.example", Port: 465},
		{Service: "_imaps._tcp", Target: "imap.cram.example", Port: 993},
	}})
	spec.Hosts = append(spec.Hosts,
		mailsim.Host{Name: "a.elsewhere.example", Services: []mailsim.Service{{Port: 465, Config: mailsim.Config{
			Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}}}},
		mailsim.Host{Name: "b.verify.example", Services: []mailsim.Service{{Port: 587, Config: mailsim.Config{
			Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: []string{"PLAIN"}}}}},
		mailsim.Host{Name: "a.cram.example", Services: []mailsim.Service{{Port: 465, Config: mailsim.Config{
			Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: []string{"CRAM-MD5", "PLAIN"}, Behavior: mailsim.BrokenCRAM}}}},
		mailsim.Host{Name: "imap.cram.example", Services: []mailsim.Service{{Port: 993, Config: mailsim.Config{
			Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}}}},
	)
	spec.Zones = append(spec.Zones, mailsim.Zone{Domain: "twouser.example", SRV: []mailsim.SRV{
		{Service: "_submissions._tcp", Target: "smtp.twouser.example", Port: 465},
	}})
	spec.Web = append(spec.Web, mailsim.WebFile{URL: "https://autoconfig.twouser.example/mail/config-v1.1.xml", Body: `<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="twouser.example"><domain>twouser.example</domain>
<incomingServer type="imap"><hostname>imap.twouser.example</hostname><port>993</port><socketType>SSL</socketType>
<authentication>password-cleartext</authentication><username>%EMAILLOCALPART%</username></incomingServer>
</emailProvider></clientConfig>`})
	spec.Hosts = append(spec.Hosts,
		mailsim.Host{Name: "imap.twouser.example", Services: []mailsim.Service{{Port: 993, Config: mailsim.Config{
			Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}}}},
		mailsim.Host{Name: "smtp.twouser.example", Services: []mailsim.Service{{Port: 465, Config: mailsim.Config{
			Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}}}},
	)
	spec.Users["alice@cram.example"] = "demo-password"
	spec.Users["alice@verify.example"] = "demo-password"
	w, o := startWorld(t, spec)
	servers := func() map[string][]string { return loginsByHost(w) }

	t.Run("correct-password", func(t *testing.T) {
		before := servers()
		r := run(t, "alice@guess.example", withPassword(o, "", "demo-password"))
		if a := authOf(t, r, probe.SMTP, "smtp.guess.example", 587, probe.StartTLS); !a.OK || a.Username != "alice@guess.example" {
			t.Errorf("smtp 587: %+v", a)
		}
		if a := authOf(t, r, probe.IMAP, "imap.guess.example", 993, probe.TLS); !a.OK {
			t.Errorf("imap 993: %+v", a)
		}
		if a := authOf(t, r, probe.IMAP, "imap.guess.example", 143, probe.StartTLS); a.Attempted || !strings.Contains(a.Error, "already succeeded") {
			t.Errorf("imap 143 after a success: %+v", a)
		}
		if a := authOf(t, r, probe.SMTP, "smtp.guess.example", 465, probe.TLS); a.Attempted || !strings.Contains(a.Error, "already succeeded") {
			t.Errorf("smtp 465: %+v", a)
		}
		if a := authOf(t, r, probe.POP3, "pop.guess.example", 110, probe.Plain); a.Attempted || !strings.Contains(a.Error, "not encrypted") {
			t.Errorf("plaintext pop3: %+v", a)
		}
		if !r.Recommended.Outgoing.LoginOK || !r.Recommended.Incoming.LoginOK {
			t.Errorf("recommended %+v %+v", r.Recommended.Outgoing, r.Recommended.Incoming)
		}
		after := servers()
		if n := len(after["smtp.guess.example"]) - len(before["smtp.guess.example"]); n != 1 {
			t.Errorf("%d logins on the SMTP server, want 1", n)
		}
		if n := len(after["pop.guess.example"]) - len(before["pop.guess.example"]); n != 0 {
			t.Errorf("%d logins on the plaintext POP3 server, want 0", n)
		}
	})

	t.Run("wrong-password-one-failure-in-all", func(t *testing.T) {
		before := servers()
		r := run(t, "alice@guess.example", withPassword(o, "", "wrong"))
		if a := authOf(t, r, probe.IMAP, "imap.guess.example", 993, probe.TLS); !a.Attempted || a.OK {
			t.Errorf("imap 993: %+v", a)
		}
		for _, c := range []struct {
			p    probe.Protocol
			host string
			port int
			sec  probe.Security
		}{{probe.IMAP, "imap.guess.example", 143, probe.StartTLS}, {probe.SMTP, "smtp.guess.example", 587, probe.StartTLS}} {
			if a := authOf(t, r, c.p, c.host, c.port, c.sec); a.Attempted || a.NotAttempted != probe.NotAttemptedAlreadyFailed {
				t.Errorf("%s %d after the rejection: %+v", c.p, c.port, a)
			}
		}
		after := servers()
		failed := 0
		for h := range after {
			failed += len(after[h]) - len(before[h])
		}
		if failed != 1 {
			t.Errorf("%d failed logins in all, want exactly 1", failed)
		}
		if r.Recommended.Outgoing.LoginOK || r.Diagnosis.Status != discover.StatusLoginFailed {
			t.Errorf("login_ok with a wrong password, or status %q", r.Diagnosis.Status)
		}
	})

	// The autoconfig names the local part for IMAP; SMTP, found by SRV, takes the address. After
	// IMAP rejects "alice", "alice@twouser.example" is not tried on SMTP: one failure in all is
	// per password, not per user name.
	t.Run("wrong-password-two-user-names", func(t *testing.T) {
		before := servers()
		r := run(t, "alice@twouser.example", withPassword(o, "", "wrong"))
		if a := authOf(t, r, probe.IMAP, "imap.twouser.example", 993, probe.TLS); !a.Attempted || a.OK || a.Username != "alice" {
			t.Errorf("imap 993: %+v", a)
		}
		if a := authOf(t, r, probe.SMTP, "smtp.twouser.example", 465, probe.TLS); a.Attempted || a.NotAttempted != probe.NotAttemptedAlreadyFailed {
			t.Errorf("smtp 465 after the rejection: %+v", a)
		}
		after := servers()
		failed := 0
		for h := range after {
			failed += len(after[h]) - len(before[h])
		}
		if failed != 1 {
			t.Errorf("%d failed logins in all, want exactly 1: %v", failed, after)
		}
		if !strings.Contains(r.Diagnosis.Summary, "imap.twouser.example") {
			t.Errorf("the diagnosis names another server than the one that rejected: %s", r.Diagnosis.Summary)
		}
	})

	t.Run("verified-ranks-first", func(t *testing.T) {
		r := run(t, "alice@verify.example", withPassword(o, "", "demo-password"))
		if a := authOf(t, r, probe.SMTP, "a.elsewhere.example", 465, probe.TLS); a.Attempted || a.NotAttempted != probe.NotAttemptedUntrustedHost {
			t.Errorf("a.elsewhere:465 (outside the domain, unsigned SRV): %+v", a)
		}
		if c := r.Configs[0]; c.Host != "b.verify.example" || c.Rank != 1 || !c.Auth.OK {
			t.Errorf("first smtp config %s:%d rank %d auth %+v", c.Host, c.Port, c.Rank, c.Auth)
		}
		if out := r.Recommended.Outgoing; out.Host != "b.verify.example" || !out.LoginOK {
			t.Errorf("recommended %+v", out)
		}
	})

	// A mechanism that is advertised and then fails counts as the one rejection: no second try
	// with another mechanism or on another server.
	t.Run("failing-mechanism-is-the-one-failure", func(t *testing.T) {
		r := run(t, "alice@cram.example", withPassword(o, "", "demo-password"))
		if a := authOf(t, r, probe.IMAP, "imap.cram.example", 993, probe.TLS); !a.OK {
			t.Errorf("imap first: %+v", a)
		}
		if a := authOf(t, r, probe.SMTP, "a.cram.example", 465, probe.TLS); !a.Attempted || a.OK || a.Mechanism != "CRAM-MD5" {
			t.Errorf("smtp CRAM-MD5 advertised but failing: %+v", a)
		}
	})

	t.Run("untrusted-host-needs-trust-host", func(t *testing.T) {
		r := run(t, "alice@customer.example", withPassword(o, "", "demo-password"))
		if a := authOf(t, r, probe.IMAP, "imap.mailhost.example", 993, probe.TLS); a.Attempted || a.NotAttempted != probe.NotAttemptedUntrustedHost {
			t.Errorf("untrusted: %+v", a)
		}
		trusted := withPassword(o, "", "demo-password")
		trusted.TrustHost = true
		r = run(t, "alice@customer.example", trusted)
		if a := authOf(t, r, probe.IMAP, "imap.mailhost.example", 993, probe.TLS); !a.OK {
			t.Errorf("with --trust-host: %+v", a)
		}
	})

	t.Run("verify-all", func(t *testing.T) {
		all := withPassword(o, "", "demo-password")
		all.VerifyAll = true
		r := run(t, "alice@srv.example", all)
		for _, port := range []int{993, 143} {
			sec := probe.TLS
			if port == 143 {
				sec = probe.StartTLS
			}
			if a := authOf(t, r, probe.IMAP, "mail.srv.example", port, sec); !a.OK {
				t.Errorf("imap %d: %+v", port, a)
			}
		}
	})

	t.Run("domain-without-user", func(t *testing.T) {
		r := run(t, "srv.example", withPassword(o, "", "demo-password"))
		if a := authOf(t, r, probe.IMAP, "mail.srv.example", 993, probe.TLS); a.Attempted || !strings.Contains(a.Error, "no user name") {
			t.Errorf("%+v", a)
		}
	})
}

// loginsByHost maps each host of the world to the logins its servers saw.
func loginsByHost(w *mailsim.World) map[string][]string { return w.LoginAttempts() }
