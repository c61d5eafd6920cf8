package proxy_test

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
	"github.com/mailscout/mailscout/probe/proxy"
)

// turnConn counts round trips as the client sees them: a read that follows a write.
type turnConn struct {
	net.Conn
	wrote bool
	turns *atomic.Int64
}

func (c *turnConn) Write(p []byte) (int, error) { c.wrote = true; return c.Conn.Write(p) }
func (c *turnConn) Read(p []byte) (int, error) {
	if c.wrote {
		c.turns.Add(1)
		c.wrote = false
	}
	return c.Conn.Read(p)
}

// BenchmarkProbeViaProxy measures what a proxy adds to one full implicit-TLS SMTP probe on
// loopback: time, and round trips before the mail dialogue can start (extra-round-trips, the
// client's write→read turns beyond the direct probe's).
func BenchmarkProbeViaProxy(b *testing.B) {
	ca, err := mailsim.NewCA("bench")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := mailsim.Start(mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, Hostname: "mx.example.test", AuthAfterTLS: []string{"PLAIN"}}, ca)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	n := mailsim.NewNetwork()
	n.Route("mx.example.test:465", srv.Addr())
	n.Route("192.0.2.25:465", srv.Addr())

	kinds := []struct {
		name, scheme, cred string
		cfg                mailsim.ProxyConfig
	}{
		{"direct", "", "", mailsim.ProxyConfig{}},
		{"socks4", "socks4", "", mailsim.ProxyConfig{Kind: "socks4"}},
		{"socks4a", "socks4a", "", mailsim.ProxyConfig{Kind: "socks4"}},
		{"socks5", "socks5", "", mailsim.ProxyConfig{Kind: "socks5"}},
		{"socks5-auth", "socks5", "u:p@", mailsim.ProxyConfig{Kind: "socks5", User: "u", Password: "p"}},
		{"socks5h", "socks5h", "", mailsim.ProxyConfig{Kind: "socks5"}},
		{"http-connect", "http", "", mailsim.ProxyConfig{Kind: "http"}},
		{"http-connect-basic", "http", "u:p@", mailsim.ProxyConfig{Kind: "http", User: "u", Password: "p"}},
	}
	var directTurns float64
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			var turns atomic.Int64
			count := func(ctx context.Context, network, addr string) (net.Conn, error) {
				var d net.Dialer
				real := addr
				if k.scheme == "" {
					c, err := n.DialContext(ctx, network, addr)
					if err != nil {
						return nil, err
					}
					return &turnConn{Conn: c, turns: &turns}, nil
				}
				c, err := d.DialContext(ctx, network, real)
				if err != nil {
					return nil, err
				}
				return &turnConn{Conn: c, turns: &turns}, nil
			}
			opts := probe.DefaultOptions()
			opts.RootCAs = ca.Pool()
			opts.SkipQuitReply = true
			opts.Dial = probe.DialFunc(count)
			if k.scheme != "" {
				k.cfg.Dial = n.DialContext
				p, err := mailsim.StartProxy(k.cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				d, err := proxy.Parse(k.scheme + "://" + k.cred + p.Addr())
				if err != nil {
					b.Fatal(err)
				}
				d.Resolve = func(context.Context, string) ([]netip.Addr, error) {
					return []netip.Addr{netip.MustParseAddr("192.0.2.25")}, nil
				}
				d.Forward = count
				opts.Dial = d
			}
			t := probe.Target{Protocol: probe.SMTP, Host: "mx.example.test", Port: 465, Security: probe.TLS}
			b.ReportAllocs()
			for b.Loop() {
				if r := probe.Run(context.Background(), t, opts); !r.OK {
					b.Fatalf("%s: %s", r.ErrorKind, r.Error)
				}
			}
			perProbe := float64(turns.Load()) / float64(b.N)
			if k.scheme == "" {
				directTurns = perProbe
			}
			b.ReportMetric(perProbe-directTurns, "extra-round-trips")
		})
	}
}
