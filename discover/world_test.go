package discover_test

import (
	"context"
	"flag"
	"os"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// TestMain checks that no test leaves a goroutine behind. Fuzzing runs without the check: the
// fuzzing engine's own goroutines may still be winding down when it returns.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

// startWorld starts spec and returns options that make discovery use it for DNS, connections
// and trust, with timeouts short enough for tests.
func startWorld(t testing.TB, spec mailsim.WorldSpec) (*mailsim.World, discover.Options) {
	t.Helper()
	w, err := mailsim.StartWorld(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	o := discover.DefaultOptions()
	o.Resolver = &discover.DNSResolver{Servers: []string{w.DNSAddr()}, Timeout: time.Second}
	o.Probe.Dial = w
	o.Probe.RootCAs = w.CA.Pool()
	o.Probe.ConnectTimeout = 3 * time.Second
	o.Probe.GreetingTimeout = 300 * time.Millisecond
	o.Probe.OperationTimeout = 3 * time.Second
	o.NoISPDB = true
	o.Deadline = 15 * time.Second
	// The world's hosts live in TEST-NET (documentation) addresses, which the guard against
	// internal addresses would refuse for domains without servers of their own there; the
	// guard's own tests set the policy they test.
	o.Private = discover.PrivateAllow
	return w, o
}

func run(t testing.TB, target string, o discover.Options) *discover.Report {
	t.Helper()
	r, err := discover.Run(context.Background(), target, o)
	if r == nil {
		t.Fatal(err)
	}
	return r
}

// configs returns "proto host:port security" of the working configurations, in report order.
func configs(r *discover.Report, p probe.Protocol) []string {
	var out []string
	for _, c := range r.Configs {
		if c.Protocol == p {
			out = append(out, c.Host+":"+itoa(c.Port)+" "+string(c.Security))
		}
	}
	return out
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

// find returns the probe result for an endpoint; findConfig the working configuration.
func find(r *discover.Report, p probe.Protocol, host string, port int, sec probe.Security) *discover.Config {
	return findIn(r.Probes, p, host, port, sec)
}

func findConfig(r *discover.Report, p probe.Protocol, host string, port int, sec probe.Security) *discover.Config {
	return findIn(r.Configs, p, host, port, sec)
}

func findIn(cs []discover.Config, p probe.Protocol, host string, port int, sec probe.Security) *discover.Config {
	for i := range cs {
		if c := &cs[i]; c.Protocol == p && c.Host == host && c.Port == port && c.Security == sec {
			return c
		}
	}
	return nil
}

func hasWarning(ws []probe.Warning, code string) bool {
	return slices.ContainsFunc(ws, func(w probe.Warning) bool { return w.Code == code })
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}
