package discover_test

import (
	"slices"
	"testing"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
	"github.com/mailscout/mailscout/probe/proxy"
)

// Discovery through every kind of proxy finds the same working configurations as without one,
// and says that it went through the proxy and that DNS stayed local.
func TestDiscoveryThroughProxies(t *testing.T) {
	w, direct := startWorld(t, mailsim.DemoSpec())
	want := run(t, "carol@customer.example", direct)
	summary := func(r *discover.Report) []string {
		var out []string
		for _, c := range r.Configs {
			out = append(out, c.Host+":"+itoa(c.Port)+" "+string(c.Security)+" "+itoa(c.Rank))
		}
		return out
	}
	for _, kind := range []string{"socks4", "socks4a", "socks5", "socks5h", "http"} {
		t.Run(kind, func(t *testing.T) {
			cfg := mailsim.ProxyConfig{Kind: kind, User: "u", Password: "p", Dial: w.DialContext}
			url := kind + "://u:p@"
			switch kind {
			case "socks4", "socks4a":
				cfg.Kind, cfg.Password, url = "socks4", "", kind+"://u@"
			case "socks5h":
				cfg.Kind = "socks5"
			}
			px, err := mailsim.StartProxy(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer px.Close()
			d, err := proxy.Parse(url + px.Addr())
			if err != nil {
				t.Fatal(err)
			}
			o := direct
			o.Probe.Dial = d
			got := run(t, "carol@customer.example", o)
			if !slices.Equal(summary(got), summary(want)) {
				t.Errorf("through %s: %q, direct: %q", kind, summary(got), summary(want))
			}
			if got.Proxy != d.String() || !hasWarning(got.Warnings, discover.WarnLocalDNS) {
				t.Errorf("proxy %q, warnings %v", got.Proxy, got.Warnings)
			}
			for _, c := range got.Configs {
				if c.Proxy != d.String() {
					t.Errorf("config without the proxy: %+v", c.Result)
				}
			}
			if px.Tunnels() < len(got.Configs) {
				t.Errorf("only %d tunnels for %d working configurations", px.Tunnels(), len(got.Configs))
			}
		})
	}

	t.Run("refusing-proxy", func(t *testing.T) {
		px, err := mailsim.StartProxy(mailsim.ProxyConfig{Kind: "http", DenyPorts: []int{465, 587, 993, 143, 995, 110, 25}, Dial: w.DialContext})
		if err != nil {
			t.Fatal(err)
		}
		defer px.Close()
		d, _ := proxy.Parse("http://" + px.Addr())
		o := direct
		o.Probe.Dial = d
		r := run(t, "alice@srv.example", o)
		if len(r.Configs) != 0 {
			t.Errorf("configs through a refusing proxy: %v", summary(r))
		}
		p := find(r, probe.IMAP, "mail.srv.example", 993, probe.TLS)
		if p == nil || p.ErrorKind != probe.KindProxy {
			t.Fatalf("993: %+v", p)
		}
	})
}
