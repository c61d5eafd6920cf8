package discover_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// exhaustedDialer fails every connection as a process out of file descriptors does.
type exhaustedDialer struct{}

func (exhaustedDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.EMFILE}
}
func (exhaustedDialer) ResolvesRemotely() bool { return false }

// exhaustedResolver fails every lookup as a process out of file descriptors does.
type exhaustedResolver struct{}

func (exhaustedResolver) LookupMX(context.Context, string) (discover.Answer[discover.MX], error) {
	return discover.Answer[discover.MX]{}, fmt.Errorf("%w: socket: too many open files", discover.ErrLocalResources)
}
func (exhaustedResolver) LookupSRV(context.Context, string) (discover.Answer[discover.SRV], error) {
	return discover.Answer[discover.SRV]{}, fmt.Errorf("%w: socket: too many open files", discover.ErrLocalResources)
}
func (exhaustedResolver) LookupAddr(context.Context, string) (discover.Answer[netip.Addr], error) {
	return discover.Answer[netip.Addr]{}, fmt.Errorf("%w: socket: too many open files", discover.ErrLocalResources)
}

// The diagnosis says what is unknown and why, and never blames the wrong party: a failed
// lookup does not hide servers that answered, and a machine out of descriptors is neither a
// DNS failure nor a domain without mail.
func TestDiagnosisOfFailuresOnTheWay(t *testing.T) {
	spec := mailsim.DemoSpec()
	expired := func(p mailsim.Protocol) mailsim.Config {
		return mailsim.Config{Protocol: p, Mode: mailsim.TLS, Cert: mailsim.CertExpired, AuthAfterTLS: []string{"PLAIN"}}
	}
	spec.Zones = append(spec.Zones,
		mailsim.Zone{Domain: "flaky.example", MX: []mailsim.MX{{Host: "mail.flaky.example", Preference: 10}}},
		mailsim.Zone{Domain: "sf.example", ServFail: true},
	)
	// The domain's autoconfig names a POP3 server whose name SERVFAILs.
	spec.Web = append(spec.Web, mailsim.WebFile{URL: "https://autoconfig.flaky.example/mail/config-v1.1.xml", Body: xmlFor("pop3", "pop3.sf.example", 995, "SSL")})
	spec.Hosts = append(spec.Hosts, mailsim.Host{Name: "mail.flaky.example", Services: []mailsim.Service{
		{Port: 993, Config: expired(mailsim.IMAP)}, {Port: 465, Config: expired(mailsim.SMTP)},
	}})
	_, o := startWorld(t, spec)

	t.Run("servers answered, one lookup failed", func(t *testing.T) {
		r := run(t, "flaky.example", o)
		d := r.Diagnosis
		if d.Status != discover.StatusInsecureOnly || !strings.Contains(d.Summary, "Some DNS lookups failed") {
			t.Errorf("status %s: %s", d.Status, d.Summary)
		}
		if _, err := discover.Run(context.Background(), "flaky.example", o); err != nil {
			t.Errorf("Run: %v (want no error: the servers' answers are the result)", err)
		}
	})
	t.Run("nothing answered, DNS failed", func(t *testing.T) {
		r, err := discover.Run(context.Background(), "a@sf.example", o)
		if r == nil || r.Diagnosis.Status != discover.StatusDNSFailed || !strings.Contains(r.Diagnosis.Summary, "SERVFAIL") {
			t.Fatalf("report %+v", r)
		}
		if err == nil || !strings.Contains(err.Error(), "SERVFAIL") {
			t.Errorf("Run: %v", err)
		}
	})
	t.Run("out of descriptors: lookups", func(t *testing.T) {
		lo := o
		lo.Resolver = exhaustedResolver{}
		r, err := discover.Run(context.Background(), "srv.example", lo)
		if r == nil {
			t.Fatal(err)
		}
		checkLocal(t, r)
		if err != nil {
			t.Errorf("Run: %v (a local failure is in the report, not a DNS error)", err)
		}
	})
	t.Run("out of descriptors: connections", func(t *testing.T) {
		lo := o
		lo.Probe.Dial = exhaustedDialer{}
		r := run(t, "srv.example", lo)
		checkLocal(t, r)
		for _, p := range r.Probes {
			if p.ErrorKind != probe.KindLocalResources && p.ErrorKind != probe.KindCanceled {
				t.Errorf("probe %s:%d: kind %s", p.Host, p.Port, p.ErrorKind)
			}
		}
	})
}

func checkLocal(t *testing.T, r *discover.Report) {
	t.Helper()
	d := r.Diagnosis
	if d.Status != discover.StatusLocalFailure || !strings.Contains(d.Summary, "ran out of file descriptors") || strings.Contains(d.Summary, "Check the resolver") {
		t.Errorf("status %s: %s", d.Status, d.Summary)
	}
	local := false
	for _, w := range r.Warnings {
		local = local || w.Code == discover.WarnLocalResources
		if w.Code == discover.WarnDNSError {
			t.Errorf("a local failure reported as %s: %s", w.Code, w.Text)
		}
	}
	if !local {
		t.Errorf("no %s warning: %+v", discover.WarnLocalResources, r.Warnings)
	}
}

// When nothing answered, the nearest is the server the domain itself named, not a guess that
// failed the same way: the helpdesk's lead is "the server your domain names refuses".
func TestNearestPrefersNamedServers(t *testing.T) {
	spec := mailsim.WorldSpec{
		Zones: []mailsim.Zone{{Domain: "refusing.example", SRV: []mailsim.SRV{{Service: "_imaps._tcp", Target: "zz.refusing.example", Port: 993}}}},
		Hosts: []mailsim.Host{{Name: "zz.refusing.example"}, {Name: "imap.refusing.example"}, {Name: "mail.refusing.example"}},
	}
	_, o := startWorld(t, spec)
	o.Protocols = []probe.Protocol{probe.IMAP}
	r := run(t, "a@refusing.example", o)
	n := r.Nearest.Incoming
	if n == nil || n.Host != "zz.refusing.example" || n.Port != 993 {
		t.Errorf("nearest %+v, want the SRV target zz.refusing.example:993", n)
	}
}
