//go:build integration

package integration

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
)

// proxiedWorld: proxied.test publishes SRV records for mail.proxied.test (127.0.1.10), which
// serves submission, IMAP and POP3 in every mode on their real ports.
func proxiedWorld(t *testing.T) (caFile string) {
	t.Helper()
	auth := []string{"PLAIN", "LOGIN"}
	w, err := mailsim.StartWorld(mailsim.WorldSpec{
		Bind:      true,
		DNSListen: "127.0.0.1:53",
		Zones: []mailsim.Zone{{Domain: "proxied.test", MX: []mailsim.MX{{Host: "mx.proxied.test", Preference: 10}}, SRV: []mailsim.SRV{
			{Service: "_submissions._tcp", Target: "mail.proxied.test", Port: 465},
			{Service: "_imaps._tcp", Target: "mail.proxied.test", Port: 993},
			{Service: "_pop3s._tcp", Target: "mail.proxied.test", Port: 995},
		}}},
		Hosts: []mailsim.Host{
			{Name: "mail.proxied.test", Addrs: []string{"127.0.1.10"}, Services: []mailsim.Service{
				{Port: 465, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: auth}},
				{Port: 587, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: auth}},
				{Port: 993, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: auth}},
				{Port: 143, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.StartTLS, AuthAfterTLS: auth}},
				{Port: 995, Config: mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.TLS, AuthAfterTLS: auth}},
				{Port: 110, Config: mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.StartTLS, AuthAfterTLS: auth}},
			}},
			{Name: "mx.proxied.test", Addrs: []string{"127.0.1.11"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	caFile = writeFile(t, "ca.pem", string(w.CA.PEM()))
	return caFile
}

func summary(r *discover.Report) []string {
	var out []string
	for _, c := range r.Configs {
		out = append(out, fmt.Sprintf("%s %s:%d %s #%d %s", c.Protocol, c.Host, c.Port, c.Security, c.Rank, strings.Join(c.AuthMethods, ",")))
	}
	return out
}

// Discovery through dante (SOCKS 4, SOCKS 5 with a system user), microsocks (SOCKS 5 with
// authentication, names resolved by the proxy) and tinyproxy (HTTP CONNECT with Basic
// authentication) finds what discovery finds without a proxy.
func TestDiscoveryThroughRealProxies(t *testing.T) {
	ca := proxiedWorld(t)
	base := []string{"--ca-file", ca, "--no-ispdb", "--deadline", "20s"}
	direct := discoverJSON(t, append(base, "--no-proxy", "alice@proxied.test")...)
	want := summary(direct)
	if len(want) != 6 || direct.Recommended.Incoming == nil || direct.Recommended.Incoming.Port != 993 {
		t.Fatalf("direct discovery: %q", want)
	}

	dante := writeFile(t, "danted.conf", `logoutput: stderr
internal: 127.0.0.1 port = 1080
external: 127.0.0.1
clientmethod: none
socksmethod: username none
user.privileged: root
user.unprivileged: nobody
client pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
}
socks pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  command: connect
}
`)
	daemon(t, "127.0.0.1:1080", "danted", "-f", dante)
	daemon(t, "127.0.0.1:1081", "microsocks", "-i", "127.0.0.1", "-p", "1081", "-u", "mailscout", "-P", "socks-secret")
	ports := ""
	for _, p := range []int{25, 465, 587, 143, 993, 110, 995} {
		ports += fmt.Sprintf("ConnectPort %d\n", p)
	}
	tiny := writeFile(t, "tinyproxy.conf", `User nobody
Group nogroup
Port 8888
Listen 127.0.0.1
Timeout 30
MaxClients 50
Allow 127.0.0.1
LogLevel Connect
BasicAuth mailscout http-secret
`+ports)
	daemon(t, "127.0.0.1:8888", "tinyproxy", "-d", "-c", tiny)

	os.Setenv("DANTE_PASSWORD", proxyPass)
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{"dante/socks4", []string{"--proxy", "socks4://127.0.0.1:1080"}, ""},
		// dante speaks SOCKS 4 but not its 4a extension (host names): 4a is covered by the
		// in-process proxies of probe/proxy's tests.
		{"dante/socks5h-system-user", []string{"--proxy", "socks5h://" + proxyUser + "@127.0.0.1:1080", "--proxy-password-env", "DANTE_PASSWORD"}, ""},
		{"dante/socks5-system-user", []string{"--proxy", "socks5://" + proxyUser + "@127.0.0.1:1080", "--proxy-password-env", "DANTE_PASSWORD"}, ""},
		{"microsocks/socks5h", []string{"--proxy", "socks5h://mailscout@127.0.0.1:1081", "--proxy-password-stdin"}, "socks-secret\n"},
		{"tinyproxy/http-connect", []string{"--proxy", "http://mailscout:http-secret@127.0.0.1:8888"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := mailscout(t, tt.stdin, append(append([]string{"discover", "--json"}, base...), append(tt.args, "alice@proxied.test")...)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			r := discoverJSONFrom(t, out)
			if got := summary(r); !slices.Equal(got, want) {
				t.Errorf("through the proxy:\n%q\ndirect:\n%q", got, want)
			}
			if r.Proxy == "" || !strings.Contains(out, `"code": "dns_local"`) {
				t.Errorf("report does not say it went through a proxy")
			}
			if strings.Contains(out, "secret") || strings.Contains(out, proxyPass) {
				t.Errorf("a password is in the output")
			}
		})
	}

	// The table says so too, and proxy failures are the proxy's (--wide: the words are checked,
	// not where a narrow terminal would wrap them).
	out, _, code := mailscout(t, "", "probe", "--wide", "--ca-file", ca, "--proxy", "http://mailscout:wrong@127.0.0.1:8888", "mail.proxied.test:993")
	if code != 1 || !strings.Contains(out, "| fails ") || !strings.Contains(out, "[proxy]") || !strings.Contains(out, "the proxy rejected the credentials") {
		t.Errorf("wrong proxy password: exit %d\n%s", code, out)
	}
	out, _, code = mailscout(t, "", "probe", "--wide", "--ca-file", ca, "--protocol", "smtp", "--security", "plain", "--proxy", "http://mailscout:http-secret@127.0.0.1:8888", "mail.proxied.test:2525")
	if code != 1 || !strings.Contains(out, "403") || !strings.Contains(out, "does not allow CONNECT to port 2525") {
		t.Errorf("port not allowed by tinyproxy: exit %d\n%s", code, out)
	}
	out, _, code = mailscout(t, "", "probe", "--wide", "--ca-file", ca, "--proxy", "socks5://"+proxyUser+":wrong@127.0.0.1:1080", "mail.proxied.test:465")
	if code != 1 || !strings.Contains(out, "authentication failed") {
		t.Errorf("wrong SOCKS password: exit %d\n%s", code, out)
	}
	out, _, code = mailscout(t, "", "probe", "--wide", "--ca-file", ca, "--proxy", "socks5h://mailscout:socks-secret@127.0.0.1:1081", "mail.proxied.test:465")
	if code != 0 || !strings.Contains(out, "Through proxy socks5h://mailscout@127.0.0.1:1081") || !strings.Contains(out, "| usable ") {
		t.Errorf("probe through microsocks: exit %d\n%s", code, out)
	}
}
