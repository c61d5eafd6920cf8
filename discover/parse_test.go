package discover

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/probe"
)

func TestParseTargetIPAddress(t *testing.T) {
	for _, in := range []string{"127.0.0.1", "alice@192.0.2.1", "alice@[2001:db8::1]", "bob@[IPv6:2001:db8::1]."} {
		_, err := ParseTarget(in)
		var ipErr *IPAddressError
		if !errors.As(err, &ipErr) || !errors.Is(err, ErrBadTarget) {
			t.Errorf("ParseTarget(%q): %v, want an IPAddressError wrapping ErrBadTarget", in, err)
		}
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in, address, domain, local string
		bad                        bool
	}{
		{"alice@example.com", "alice@example.com", "example.com", "alice", false},
		{"  Example.COM. ", "", "example.com", "", false},
		{"bob@Mail.Example.org", "bob@mail.example.org", "mail.example.org", "bob", false},
		{"jörg@bücher.example", "jörg@xn--bcher-kva.example", "xn--bcher-kva.example", "jörg", false},
		{"user@xn--bcher-kva.example", "user@xn--bcher-kva.example", "xn--bcher-kva.example", "user", false},
		{"a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk", "sub.example.co.uk", "a.b+tag", false},
		{"weird\"@x@example.com", "weird\"@x@example.com", "example.com", "weird\"@x", false},
		{"@example.com", "", "", "", true},
		{"alice@", "", "", "", true},
		{"localhost", "", "", "", true},
		{"exa mple.com", "", "", "", true},
		{"a@exa_mple..com", "", "", "", true},
		{"a b@example.com", "", "", "", true},
		{"", "", "", "", true},
		{"http://example.com", "", "", "", true},
		{strings.Repeat("a", 64) + ".com", "", "", "", true},
		{"127.0.0.1", "", "", "", true},
		{"alice@192.0.2.1", "", "", "", true},
		{"alice@[192.0.2.1]", "", "", "", true},
		{"alice@[IPv6:2001:db8::1]", "", "", "", true},
		{"10.0.0.1.example", "", "10.0.0.1.example", "", false},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if tt.bad {
			if err == nil || !errors.Is(err, ErrBadTarget) {
				t.Errorf("ParseTarget(%q) = %+v, %v; want ErrBadTarget", tt.in, got, err)
			}
			continue
		}
		if err != nil || got.Address != tt.address || got.Domain != tt.domain || got.LocalPart != tt.local {
			t.Errorf("ParseTarget(%q) = %+v, %v", tt.in, got, err)
		}
	}
	if t1, _ := ParseTarget("x@xn--bcher-kva.example"); t1.DomainUnicode != "bücher.example" {
		t.Errorf("DomainUnicode = %q", t1.DomainUnicode)
	}
}

const sampleConfig = `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <domain>example.com</domain>
    <displayName>Example Mail</displayName>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <authentication>OAuth2</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="pop3">
      <hostname>pop.example.com</hostname>
      <port>110</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username>
    </incomingServer>
    <incomingServer type="exchange">
      <hostname>outlook.example.com</hostname>
      <port>443</port>
      <socketType>SSL</socketType>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>bad host</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.com</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <authentication>password-encrypted</authentication>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.com</hostname>
      <port>99999</port>
      <socketType>SSL</socketType>
    </outgoingServer>
  </emailProvider>
</clientConfig>`

func TestParseAutoconfig(t *testing.T) {
	doc, err := ParseAutoconfig([]byte(sampleConfig), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := []AutoconfigServer{
		{Protocol: probe.IMAP, Host: "imap.example.com", Port: 993, Security: probe.TLS, Username: "%EMAILADDRESS%", Auth: []string{"password-cleartext", "OAuth2"}, Order: 0},
		{Protocol: probe.POP3, Host: "pop.example.com", Port: 110, Security: probe.StartTLS, Username: "%EMAILLOCALPART%", Order: 0},
		{Protocol: probe.SMTP, Host: "smtp.example.com", Port: 587, Security: probe.StartTLS, Auth: []string{"password-encrypted"}, Order: 0},
	}
	if len(doc.Servers) != len(want) {
		t.Fatalf("servers %+v", doc.Servers)
	}
	for i, w := range want {
		g := doc.Servers[i]
		if g.Protocol != w.Protocol || g.Host != w.Host || g.Port != w.Port || g.Security != w.Security || g.Username != w.Username || strings.Join(g.Auth, ",") != strings.Join(w.Auth, ",") {
			t.Errorf("server %d = %+v, want %+v", i, g, w)
		}
	}
	if len(doc.Skipped) != 3 || doc.DisplayName != "Example Mail" {
		t.Errorf("skipped %q, display name %q", doc.Skipped, doc.DisplayName)
	}
	for _, bad := range []string{"", "<html>not it</html>", "<clientConfig><emailProvider/></clientConfig>", `<?xml version="1.0" encoding="ISO-8859-1"?><clientConfig/>`, strings.Repeat(" ", maxAutoconfigSize+1)} {
		if _, err := ParseAutoconfig([]byte(bad), "example.com"); err == nil {
			t.Errorf("accepted %.40q", bad)
		}
	}
}

func TestUsernameHint(t *testing.T) {
	addr, _ := ParseTarget("alice@example.com")
	dom, _ := ParseTarget("example.com")
	for _, tt := range []struct {
		tmpl string
		t    Target
		want string
	}{
		{"%EMAILADDRESS%", addr, "alice@example.com"},
		{"%EMAILLOCALPART%", addr, "alice"},
		{"", addr, "alice@example.com"},
		{"%EMAILLOCALPART%@mail.%EMAILDOMAIN%", addr, "alice@mail.example.com"},
		{"%EMAILADDRESS%", dom, "%EMAILADDRESS%"},
		{"fixed", addr, "fixed"},
	} {
		if got := UsernameHint(tt.tmpl, tt.t); got != tt.want {
			t.Errorf("UsernameHint(%q) = %q, want %q", tt.tmpl, got, tt.want)
		}
	}
}

// The autoconfig parser reads documents from the network: it must never panic, and whatever it
// accepts must be usable (valid host, port, security).
func FuzzParseAutoconfig(f *testing.F) {
	f.Add([]byte(sampleConfig))
	f.Add([]byte(`<clientConfig><emailProvider><incomingServer type="imap"><hostname>a.b</hostname><port>1</port><socketType>plain</socketType></incomingServer></emailProvider></clientConfig>`))
	f.Add([]byte(`<clientConfig version="1.1"><emailProvider id="&amp;"><domain>x</domain></emailProvider></clientConfig>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseAutoconfig(data, "example.com")
		if err != nil {
			return
		}
		for _, s := range doc.Servers {
			if !validHostname(s.Host) || s.Port < 1 || s.Port > 65535 || (s.Security != probe.TLS && s.Security != probe.StartTLS && s.Security != probe.Plain) {
				t.Fatalf("unusable server accepted: %+v", s)
			}
		}
	})
}

// Targets come from users, URLs and files. Whatever is accepted is a lower-case domain with a
// dot, and parses to itself: its ASCII domain, its address and its Unicode form name the same
// target again (one target, one cache key, one name in the report).
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"alice@example.com", "bücher.example", "a@b@c.d", "", "@", "xn--x.y",
		"\x80.example", "a\u2135b.example", "jörg@BÜCHER.example.", "xn--zn7c.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if !strings.Contains(tg.Domain, ".") || tg.Domain != strings.ToLower(tg.Domain) {
			t.Fatalf("bad domain %q from %q", tg.Domain, s)
		}
		again := []string{tg.Domain, tg.DomainUnicode}
		if tg.Address != "" {
			again = append(again, tg.Address)
		}
		for _, a := range again {
			tg2, err := ParseTarget(a)
			if err != nil || tg2.Domain != tg.Domain || tg.Address != "" && a == tg.Address && tg2.Address != tg.Address {
				t.Fatalf("%q from %q does not parse to itself: %+v, %v", a, s, tg2, err)
			}
		}
	})
}
