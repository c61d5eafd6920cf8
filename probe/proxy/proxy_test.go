package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe/proxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// mailServer starts a plaintext SMTP server; its address is returned as a logical name too.
func mailServer(t *testing.T) (*mailsim.Server, *mailsim.Network) {
	t.Helper()
	s, err := mailsim.Start(mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain, Hostname: "mx.example.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	n := mailsim.NewNetwork()
	n.Route("mx.example.test:25", s.Addr())
	n.Route("192.0.2.25:25", s.Addr())
	n.Route("[2001:db8::25]:25", s.Addr())
	return s, n
}

func startProxy(t *testing.T, cfg mailsim.ProxyConfig) *mailsim.Proxy {
	t.Helper()
	p, err := mailsim.StartProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dialer(t *testing.T, url string) *proxy.Dialer {
	t.Helper()
	d, err := proxy.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	// Names are resolved "locally" to the logical TEST-NET address of the mail server.
	d.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
		if host == "mx.example.test" {
			return []netip.Addr{netip.MustParseAddr("192.0.2.25")}, nil
		}
		return nil, errors.New("no such host")
	}
	return d
}

// greet dials through d and reads the SMTP greeting.
func greet(d *proxy.Dialer, target string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestTunnels(t *testing.T) {
	_, n := mailServer(t)
	tests := []struct {
		name   string
		cfg    mailsim.ProxyConfig
		scheme string
		cred   string
		target string
	}{
		{"socks4/ip", mailsim.ProxyConfig{Kind: "socks4"}, "socks4", "", "192.0.2.25:25"},
		{"socks4/name-resolved-here", mailsim.ProxyConfig{Kind: "socks4"}, "socks4", "", "mx.example.test:25"},
		{"socks4/user-id", mailsim.ProxyConfig{Kind: "socks4", User: "helpdesk"}, "socks4", "helpdesk@", "mx.example.test:25"},
		{"socks4a/name-sent", mailsim.ProxyConfig{Kind: "socks4"}, "socks4a", "", "mx.example.test:25"},
		{"socks5/no-auth", mailsim.ProxyConfig{Kind: "socks5"}, "socks5", "", "mx.example.test:25"},
		{"socks5/ipv6", mailsim.ProxyConfig{Kind: "socks5"}, "socks5", "", "[2001:db8::25]:25"},
		{"socks5/auth", mailsim.ProxyConfig{Kind: "socks5", User: "u", Password: "p@ss:word"}, "socks5", "u:p%40ss%3Aword@", "mx.example.test:25"},
		{"socks5h/name-sent", mailsim.ProxyConfig{Kind: "socks5", User: "u", Password: "p"}, "socks5h", "u:p@", "mx.example.test:25"},
		{"http/no-auth", mailsim.ProxyConfig{Kind: "http"}, "http", "", "mx.example.test:25"},
		{"http/basic", mailsim.ProxyConfig{Kind: "http", User: "u", Password: "p"}, "http", "u:p@", "mx.example.test:25"},
		{"http/reply-and-greeting-in-one-packet", mailsim.ProxyConfig{Kind: "http", Coalesce: true}, "http", "", "mx.example.test:25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Dial = n.DialContext
			p := startProxy(t, tt.cfg)
			line, err := greet(dialer(t, tt.scheme+"://"+tt.cred+p.Addr()), tt.target)
			if err != nil || !strings.HasPrefix(line, "220 mx.example.test") {
				t.Fatalf("greeting %q, %v", line, err)
			}
			if p.Tunnels() != 1 {
				t.Errorf("tunnels %d", p.Tunnels())
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	_, n := mailServer(t)
	tests := []struct {
		name   string
		cfg    mailsim.ProxyConfig
		url    string // with %s for the proxy address
		target string
		kind   string
		reason string
	}{
		{"socks5/no-credentials", mailsim.ProxyConfig{Kind: "socks5", User: "u", Password: "p"}, "socks5://%s", "mx.example.test:25", proxy.KindProxy, "requires authentication"},
		{"socks5/wrong-password", mailsim.ProxyConfig{Kind: "socks5", User: "u", Password: "p"}, "socks5://u:bad@%s", "mx.example.test:25", proxy.KindProxy, "authentication failed"},
		{"socks5/ruleset", mailsim.ProxyConfig{Kind: "socks5", DenyPorts: []int{25}}, "socks5://%s", "mx.example.test:25", proxy.KindProxy, "not allowed by the proxy's rules"},
		{"socks5/target-refused", mailsim.ProxyConfig{Kind: "socks5"}, "socks5h://%s", "mx.example.test:26", proxy.KindRefused, "connection refused by the mail server"},
		{"socks4/wrong-user", mailsim.ProxyConfig{Kind: "socks4", User: "helpdesk"}, "socks4://other@%s", "192.0.2.25:25", proxy.KindProxy, "identd"},
		{"socks4/denied", mailsim.ProxyConfig{Kind: "socks4", DenyPorts: []int{25}}, "socks4a://%s", "mx.example.test:25", proxy.KindProxy, "rejected"},
		{"socks4/ipv6", mailsim.ProxyConfig{Kind: "socks4"}, "socks4://%s", "[2001:db8::25]:25", proxy.KindProxy, "IPv6"},
		{"http/407", mailsim.ProxyConfig{Kind: "http", User: "u", Password: "p"}, "http://%s", "mx.example.test:25", proxy.KindProxy, "407 Proxy Authentication Required: the proxy wants credentials (scheme Basic"},
		{"http/403", mailsim.ProxyConfig{Kind: "http", DenyPorts: []int{25}}, "http://%s", "mx.example.test:25", proxy.KindProxy, "403 Forbidden: the proxy does not allow CONNECT to port 25"},
		{"http/502", mailsim.ProxyConfig{Kind: "http"}, "http://%s", "mx.example.test:26", proxy.KindProxy, "502 Bad Gateway: the proxy could not connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Dial = n.DialContext
			p := startProxy(t, tt.cfg)
			_, err := greet(dialer(t, strings.Replace(tt.url, "%s", p.Addr(), 1)), tt.target)
			var pe *proxy.Error
			if !errors.As(err, &pe) || pe.Kind != tt.kind || !strings.Contains(pe.Reason, tt.reason) {
				t.Fatalf("err = %v (%#v), want kind %s with %q", err, pe, tt.kind, tt.reason)
			}
			if strings.Contains(err.Error(), ":p@") || strings.Contains(err.Error(), ":bad@") {
				t.Errorf("password in the error: %v", err)
			}
		})
	}
}

func TestProxyUnreachableAndSilent(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err := greet(dialer(t, "socks5://"+addr), "192.0.2.25:25")
	var pe *proxy.Error
	if !errors.As(err, &pe) || pe.Kind != proxy.KindProxy || pe.Reason != "cannot reach the proxy: connection refused" {
		t.Errorf("unreachable: %v", err)
	}

	// A proxy that accepts and never answers: the context ends the handshake at once.
	silent, _ := net.Listen("tcp", "127.0.0.1:0")
	defer silent.Close()
	go func() {
		c, err := silent.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c) // says nothing; ends when the client gives up

		}
	}()
	d := dialer(t, "http://"+silent.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = d.DialContext(ctx, "tcp", "mx.example.test:25")
	if !errors.As(err, &pe) || pe.Kind != proxy.KindTimeout || time.Since(start) > time.Second {
		t.Errorf("silent proxy: %v after %v", err, time.Since(start))
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in, kind, addr, user, pass, str string
		remote                          bool
		bad                             bool
	}{
		{in: "socks5://127.0.0.1", kind: "socks5", addr: "127.0.0.1:1080", str: "socks5://127.0.0.1:1080"},
		{in: "socks5h://u:secret@proxy.example:1085", kind: "socks5h", addr: "proxy.example:1085", user: "u", pass: "secret", str: "socks5h://u@proxy.example:1085", remote: true},
		{in: "SOCKS4A://id@[::1]:9050", kind: "socks4a", addr: "[::1]:9050", user: "id", str: "socks4a://id@[::1]:9050", remote: true},
		{in: "socks4://10.0.0.1:1080", kind: "socks4", addr: "10.0.0.1:1080", str: "socks4://10.0.0.1:1080"},
		{in: "http://u:p@squid.example", kind: "http", addr: "squid.example:8080", user: "u", pass: "p", str: "http://u@squid.example:8080", remote: true},
		{in: "https://proxy.example", bad: true},
		{in: "ftp://proxy.example", bad: true},
		{in: "socks5://", bad: true},
		{in: "socks5://h:99999", bad: true},
		{in: "http://h/path", bad: true},
		{in: "socks4://u:p@h", bad: true},
	}
	for _, tt := range tests {
		d, err := proxy.Parse(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("Parse(%q) accepted", tt.in)
			}
			continue
		}
		if err != nil || d.Kind != tt.kind || d.Addr != tt.addr || d.User != tt.user || d.Password != tt.pass || d.String() != tt.str || d.ResolvesRemotely() != tt.remote {
			t.Errorf("Parse(%q) = %+v (%s), %v", tt.in, d, d, err)
		}
	}
}
