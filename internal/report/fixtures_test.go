package report

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
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
}

// TestFixtures rewrites testdata/discover_*.json from the demo world when run with -update;
// otherwise it checks that each fixture still decodes into a Report.
func TestFixtures(t *testing.T) {
	if !*update {
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
	for name, target := range fixtures {
		opts := o
		switch name {
		case "login":
			opts.Credentials = &probe.Credentials{Password: "demo-password"}
		case "badlogin":
			opts.Credentials = &probe.Credentials{Password: "wrong"}
		}
		r, err := discover.Run(context.Background(), target, opts)
		if r == nil {
			t.Fatal(err)
		}
		normalise(r)
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "discover_"+name+".json"), append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	dates     = regexp.MustCompile(`\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?`)
	durations = regexp.MustCompile(`\b\d+(\.\d+)?(ms|µs|s)\b`)
)

// normalise makes a report independent of when and how fast it was made.
func normalise(r *discover.Report) {
	r.Elapsed = 42 * time.Millisecond
	fix := func(s string) string {
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
	slices.SortStableFunc(r.Probes, func(a, b discover.Config) int {
		return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Security, b.Security))
	})
}
