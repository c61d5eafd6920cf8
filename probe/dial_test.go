package probe_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// Addresses are raced RFC 8305 style: IPv6 first, IPv4 after the head start; a dead first
// address costs the head start, not the connect timeout.
func TestDialRace(t *testing.T) {
	srv, err := mailsim.Start(mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS}, ca(t))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	n := mailsim.NewNetwork()
	n.Filter("[2001:db8::1]:993")
	n.Route("192.0.2.1:993", srv.Addr())
	n.Route("192.0.2.2:993", srv.Addr())
	opts := testOptions(t)
	opts.ConnectTimeout = 5 * time.Second
	opts.Dial = n
	target := probe.Target{Protocol: probe.IMAP, Host: "mail.example.test", Port: 993, Security: probe.TLS,
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}}
	start := time.Now()
	r := probe.Run(context.Background(), target, opts)
	if !r.OK {
		t.Fatalf("%s: %s", r.ErrorKind, r.Error)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the filtered IPv6 address held the probe for %v", el)
	}
	if r.Timings.Connect < 200*time.Millisecond {
		t.Errorf("connected after %v: the IPv6 address did not get its head start", r.Timings.Connect)
	}

	// Both answer: one connection is used, the other is closed.
	target.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}
	if r := probe.Run(context.Background(), target, opts); !r.OK {
		t.Fatalf("%s: %s", r.ErrorKind, r.Error)
	}

	// None answers: the first error is reported.
	target.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("192.0.2.10")}
	if r := probe.Run(context.Background(), target, opts); r.ErrorKind != probe.KindRefused {
		t.Errorf("all refused: %s %s", r.ErrorKind, r.Error)
	}
}
