package probe_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
	"github.com/mailscout/mailscout/probe/proxy"
)

// A probe through a proxy: the result names the proxy (without the password), the greeting
// timeout starts only once the tunnel is up, and proxy failures have kind proxy.
func TestProbeThroughProxy(t *testing.T) {
	srv, err := mailsim.Start(mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}, GreetingCaps: true}, ca(t))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	n := mailsim.NewNetwork()
	n.Route("mail.example.test:993", srv.Addr())
	n.RTT = 300 * time.Millisecond // the proxy's connection to the server is slow
	px, err := mailsim.StartProxy(mailsim.ProxyConfig{Kind: "socks5", User: "u", Password: "s3cret", Dial: n.DialContext, DenyPorts: []int{143}})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	d, err := proxy.Parse("socks5h://u:s3cret@" + px.Addr())
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.Dial = d
	opts.GreetingTimeout = 200 * time.Millisecond // shorter than the tunnel takes to come up
	target := probe.Target{Protocol: probe.IMAP, Host: "mail.example.test", Port: 993, Security: probe.TLS}
	r := probe.Run(context.Background(), target, opts)
	if !r.OK || r.Proxy != "socks5h://u@"+px.Addr() {
		t.Fatalf("ok=%v proxy=%q %s %s", r.OK, r.Proxy, r.ErrorKind, r.Error)
	}
	if r.Timings.Connect < 300*time.Millisecond {
		t.Errorf("connect %v does not include the tunnel", r.Timings.Connect)
	}

	target.Port, target.Security = 143, probe.StartTLS
	r = probe.Run(context.Background(), target, opts)
	if r.ErrorKind != probe.KindProxy || !strings.Contains(r.Error, "not allowed by the proxy's rules") || strings.Contains(r.Error, "s3cret") {
		t.Errorf("denied port: %s %q", r.ErrorKind, r.Error)
	}
}
