package report

import (
	"cmp"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	goldenfile "github.com/mailscout/mailscout/internal/golden"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// fixtures are discovery reports made from the demo world by TestFixtures with -update, with
// everything that changes from run to run (timings, certificate dates, the order probes
// finished in) made constant. The golden tests render them.
var fixtures = map[string]string{
	"srv":      "alice@srv.example",
	"guess":    "alice@guess.example",
	"customer": "alice@customer.example",
	"broken":   "alice@broken.example",
	"login":    "alice@guess.example",
	"badlogin": "alice@guess.example",
	// A resolver that does not answer: every lookup fails, nothing is known.
	"dnsfailed": "alice@guess.example",
	// Only SMTP asked for: the report speaks of outgoing mail only.
	"smtponly": "alice@broken.example",
	// This machine is out of file descriptors: every connection fails with EMFILE.
	"localfailure": "alice@guess.example",
}

// exhaustedDialer fails every connection as a process out of file descriptors does.
type exhaustedDialer struct{}

func (exhaustedDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.EMFILE}
}
func (exhaustedDialer) ResolvesRemotely() bool { return false }

// TestFixtures rewrites testdata/discover_*.json from the demo world when run with -update;
// otherwise it checks that each fixture still decodes into a Report.
func TestFixtures(t *testing.T) {
	if !goldenfile.Updating() {
		for name := range fixtures {
			loadReport(t, name)
		}
		return
	}
	w, err := mailsim.StartWorld(mailsim.DemoSpec())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	o := discover.DefaultOptions()
	o.Resolver = &discover.DNSResolver{Servers: []string{w.DNSAddr()}}
	o.Probe.Dial = w
	o.Probe.RootCAs = w.CA.Pool()
	o.Probe.GreetingTimeout = 300 * time.Millisecond
	o.NoISPDB = true
	dead := deadResolver(t)
	for name, target := range fixtures {
		opts := o
		switch name {
		case "login":
			opts.Credentials = &probe.Credentials{Password: "demo-password"}
		case "badlogin":
			opts.Credentials = &probe.Credentials{Password: "wrong"}
		case "dnsfailed":
			opts.Resolver = &discover.DNSResolver{Servers: []string{dead}}
		case "smtponly":
			opts.Protocols = []probe.Protocol{probe.SMTP}
		case "localfailure":
			opts.Probe.Dial = exhaustedDialer{}
		}
		r, err := discover.Run(context.Background(), target, opts)
		if r == nil {
			t.Fatal(err)
		}
		normalise(r, dead)
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "discover_"+name+".json"), append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// deadResolver is a loopback address where no DNS server listens: each question to it is
// refused at once.
func deadResolver(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

var (
	dates      = regexp.MustCompile(`\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?`)
	durations  = regexp.MustCompile(`\b\d+(\.\d+)?(ms|µs|s)\b`)
	localPorts = regexp.MustCompile(`udp 127\.0\.0\.1:\d+->`)
)

// normalise makes a report independent of when and how fast it was made, and of the ports the
// dead resolver and the queries to it had.
func normalise(r *discover.Report, dead string) {
	r.Elapsed = 42 * time.Millisecond
	fix := func(s string) string {
		s = strings.ReplaceAll(s, dead, "127.0.0.1:5353")
		s = localPorts.ReplaceAllString(s, "udp 127.0.0.1:40000->")
		s = dates.ReplaceAllStringFunc(s, func(d string) string {
			if len(d) > 10 {
				return "2026-10-26T23:04:48Z"
			}
			return "2026-10-26"
		})
		return durations.ReplaceAllString(s, "250ms")
	}
	r.Diagnosis.Summary, r.Diagnosis.Incoming, r.Diagnosis.Outgoing = fix(r.Diagnosis.Summary), fix(r.Diagnosis.Incoming), fix(r.Diagnosis.Outgoing)
	for _, n := range []*discover.Near{r.Nearest.Incoming, r.Nearest.Outgoing} {
		if n != nil {
			n.Text = fix(n.Text)
		}
	}
	for _, list := range [][]discover.Config{r.Configs, r.Probes} {
		for i := range list {
			c := &list[i]
			c.Timings = probe.Timings{Connect: time.Millisecond, Greeting: 2 * time.Millisecond, TLS: 3 * time.Millisecond, Total: 10 * time.Millisecond}
			c.Error, c.VerdictText = fix(c.Error), fix(c.VerdictText)
			if c.TLS != nil {
				c.TLS.CertNotAfter, c.TLS.CertError = fix(c.TLS.CertNotAfter), fix(c.TLS.CertError)
			}
			for j := range c.Warnings {
				c.Warnings[j].Text = fix(c.Warnings[j].Text)
			}
		}
	}
	for i := range r.Warnings {
		r.Warnings[i].Text = fix(r.Warnings[i].Text)
	}
	for i := range r.Sources {
		r.Sources[i].Error = fix(r.Sources[i].Error)
	}
	for i := range r.DNS.Hosts {
		r.DNS.Hosts[i].Error = fix(r.DNS.Hosts[i].Error)
	}
	// The report sorts its warnings by text: again, now that the ports are gone from it.
	slices.SortStableFunc(r.Warnings, func(a, b probe.Warning) int { return cmp.Or(cmp.Compare(a.Code, b.Code), cmp.Compare(a.Text, b.Text)) })
	slices.SortStableFunc(r.Probes, func(a, b discover.Config) int {
		return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Security, b.Security))
	})
}
