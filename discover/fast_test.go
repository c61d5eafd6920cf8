package discover_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// --fast returns the same recommendation as the full report, marked incomplete, without
// waiting for the slow and silent endpoints.
func TestFastGivesTheSameAnswer(t *testing.T) {
	spec := mailsim.DemoSpec()
	// A silent guessed port: the full report waits for its greeting timeout, --fast need not,
	// since it could not outrank the SRV-published implicit-TLS server even if it worked.
	spec.Hosts = append(spec.Hosts, mailsim.Host{Name: "imap.srv.example", Services: []mailsim.Service{
		{Port: 143, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.Plain, Behavior: mailsim.Silent}},
	}})
	_, o := startWorld(t, spec)
	o.Probe.GreetingTimeout = 2 * time.Second
	full := run(t, "alice@srv.example", o)
	o.Fast = true
	fast := run(t, "alice@srv.example", o)
	if !full.Complete || fast.Complete {
		t.Errorf("complete: full=%v fast=%v", full.Complete, fast.Complete)
	}
	if !reflect.DeepEqual(fast.Recommended, full.Recommended) {
		t.Errorf("fast recommends %+v / %+v, full %+v / %+v", fast.Recommended.Incoming, fast.Recommended.Outgoing, full.Recommended.Incoming, full.Recommended.Outgoing)
	}
	if fast.Elapsed >= full.Elapsed || full.Elapsed < 2*time.Second {
		t.Errorf("fast took %v, full %v", fast.Elapsed, full.Elapsed)
	}
	if !hasWarning(fast.Warnings, "incomplete") {
		t.Errorf("fast report does not say it is incomplete: %v", fast.Warnings)
	}
}

// One connection per (host, port, security), whatever the number of sources naming it; the
// plain configuration costs no connection of its own.
func TestNoRedundantConnections(t *testing.T) {
	w, o := startWorld(t, mailsim.DemoSpec())
	before := w.Accepted()
	r := run(t, "alice@srv.example", o)
	seen := map[string]bool{}
	for _, p := range r.Probes {
		k := string(p.Protocol) + p.Host + itoa(p.Port) + string(p.Security)
		if seen[k] {
			t.Errorf("probed twice: %s %s:%d %s", p.Protocol, p.Host, p.Port, p.Security)
		}
		seen[k] = true
	}
	connected := 0
	for _, p := range r.Probes {
		if p.Address != "" {
			connected++
		}
	}
	if r.Connections != connected {
		t.Errorf("connections %d, probes that connected %d", r.Connections, connected)
	}
	// Every connection that reached a server is one the report counts, and no other.
	if got := w.Accepted() - before; got != r.Connections {
		t.Errorf("servers accepted %d connections, report says %d", got, r.Connections)
	}
}

// Cancellation stops a discovery at once and leaves nothing running (goleak checks at exit).
func TestCancel(t *testing.T) {
	spec := mailsim.DemoSpec()
	_, o := startWorld(t, spec)
	o.Probe.GreetingTimeout = 10 * time.Second
	o.Probe.ConnectTimeout = 10 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	r, err := discover.Run(ctx, "eve@broken.example", o)
	if !errors.Is(err, discover.ErrCanceled) || r == nil {
		t.Fatalf("canceled discovery: %v, report %v", err, r != nil)
	}
	if time.Since(start) > 3*time.Second || r.Complete {
		t.Errorf("took %v, complete=%v", time.Since(start), r.Complete)
	}
}

func TestProtocolsFilter(t *testing.T) {
	_, o := startWorld(t, mailsim.DemoSpec())
	o.Protocols = []probe.Protocol{probe.SMTP}
	r := run(t, "alice@srv.example", o)
	for _, p := range r.Probes {
		if p.Protocol != probe.SMTP {
			t.Errorf("probed %s", p.Protocol)
		}
	}
	if r.Recommended.Incoming != nil {
		t.Errorf("incoming recommended without imap/pop3")
	}
}
