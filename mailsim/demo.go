package mailsim

import (
	"crypto/tls"
	"time"
)

// Demo domains, one per situation a helpdesk meets. DemoSpec serves them all.
const (
	DemoSRV      = "srv.example"      // publishes RFC 6186/8314 SRV records, DNSSEC-signed
	DemoGuess    = "guess.example"    // nothing published: found by guessing host names
	DemoHosted   = "customer.example" // hosted behind a provider's MX; the provider publishes autoconfig
	DemoAutoconf = "autoconf.example" // autoconfig XML with odd host names
	DemoBroken   = "broken.example"   // wrong-name certificate, a filtered implicit-TLS port, STARTTLS injection
	DemoLegacy   = "oldtls.example"   // speaks only TLS 1.0
	DemoPlain    = "plain.example"    // no TLS anywhere: LOGINDISABLED IMAP, an SMTP relay without AUTH
	DemoNoMail   = "nomail.example"   // null MX: accepts no mail
	demoProvider = "mailhost.example"
)

// DemoSpec is the built-in demo world: a small, realistic mix of domains and servers. It backs
// `mailscout demo` and the CLI tests, so the demo can never quietly rot.
func DemoSpec() WorldSpec {
	submission := []string{"PLAIN", "LOGIN"}
	imapAuth := []string{"PLAIN", "LOGIN"}
	return WorldSpec{
		Users: map[string]string{
			"alice@" + DemoSRV: "demo-password", "alice@" + DemoGuess: "demo-password", "alice@" + DemoHosted: "demo-password",
			"alice": "demo-password", "alice@" + DemoBroken: "demo-password",
			"alice@" + DemoLegacy: "demo-password", "alice@" + DemoPlain: "demo-password",
		},
		Zones: []Zone{
			{Domain: DemoSRV, Signed: true, MX: []MX{{Host: "mx.srv.example", Preference: 10}}, SRV: []SRV{
				{Service: "_submissions._tcp", Target: "mail.srv.example", Port: 465, Priority: 0, Weight: 1},
				{Service: "_submission._tcp", Target: "mail.srv.example", Port: 587, Priority: 10, Weight: 1},
				{Service: "_imaps._tcp", Target: "mail.srv.example", Port: 993, Priority: 0, Weight: 1},
				{Service: "_imap._tcp", Target: "mail.srv.example", Port: 143, Priority: 10, Weight: 1},
				{Service: "_pop3s._tcp", Target: ".", Port: 0},
				{Service: "_pop3._tcp", Target: ".", Port: 0},
			}},
			{Domain: DemoGuess, MX: []MX{{Host: "mx.guess.example", Preference: 10}}},
			{Domain: DemoHosted, MX: []MX{{Host: "mx1.mailhost.example", Preference: 10}, {Host: "mx2.mailhost.example", Preference: 20}}},
			{Domain: demoProvider},
			{Domain: DemoAutoconf, MX: []MX{{Host: "inbound.autoconf.example", Preference: 5}}},
			{Domain: DemoBroken, MX: []MX{{Host: "mail.broken.example", Preference: 10}}},
			{Domain: DemoLegacy, MX: []MX{{Host: "mail.oldtls.example", Preference: 10}}},
			{Domain: DemoPlain, MX: []MX{{Host: "mail.plain.example", Preference: 10}}},
			{Domain: DemoNoMail, NullMX: true},
		},
		Web: []WebFile{
			{URL: "https://autoconfig." + demoProvider + "/mail/config-v1.1.xml", Body: demoProviderXML},
			{URL: "https://autoconfig." + DemoAutoconf + "/mail/config-v1.1.xml", Body: demoAutoconfXML},
		},
		Hosts: []Host{
			{Name: "mail.srv.example", Services: []Service{
				{Port: 465, Config: Config{Protocol: SMTP, Mode: TLS, AuthAfterTLS: submission}},
				{Port: 587, Config: Config{Protocol: SMTP, Mode: StartTLS, AuthAfterTLS: submission}},
				{Port: 993, Config: Config{Protocol: IMAP, Mode: TLS, AuthAfterTLS: append(imapAuth, "OAUTHBEARER"), GreetingCaps: true}},
				{Port: 143, Config: Config{Protocol: IMAP, Mode: StartTLS, LoginDisabledBeforeTLS: true, AuthAfterTLS: imapAuth}},
			}},
			{Name: "mx.srv.example", Services: []Service{
				{Port: 25, Config: Config{Protocol: SMTP, Mode: StartTLS, PreGreetingDelay: 300 * time.Millisecond}},
			}},
			{Name: "mx.guess.example"},
			{Name: "smtp.guess.example", Services: []Service{
				{Port: 465, Config: Config{Protocol: SMTP, Mode: TLS, Cert: CertExpired, AuthAfterTLS: submission}},
				{Port: 587, Config: Config{Protocol: SMTP, Mode: StartTLS, AuthAfterTLS: submission}},
			}},
			{Name: "imap.guess.example", Services: []Service{
				{Port: 993, Config: Config{Protocol: IMAP, Mode: TLS, AuthAfterTLS: imapAuth}},
				{Port: 143, Config: Config{Protocol: IMAP, Mode: StartTLS, LoginDisabledBeforeTLS: true, AuthAfterTLS: imapAuth}},
			}},
			{Name: "pop.guess.example", Services: []Service{
				{Port: 110, Config: Config{Protocol: POP3, Mode: Plain, AuthBeforeTLS: []string{"PLAIN"}, APOP: true}},
			}},
			{Name: "mx1.mailhost.example"},
			{Name: "mx2.mailhost.example"},
			{Name: "imap.mailhost.example", Services: []Service{
				{Port: 993, Config: Config{Protocol: IMAP, Mode: TLS, AuthAfterTLS: []string{"PLAIN", "XOAUTH2"}, GreetingCaps: true}},
			}},
			{Name: "smtp.mailhost.example", Services: []Service{
				{Port: 465, Config: Config{Protocol: SMTP, Mode: TLS, AuthAfterTLS: []string{"PLAIN", "XOAUTH2"}}},
				{Port: 587, Config: Config{Protocol: SMTP, Mode: StartTLS, AuthAfterTLS: []string{"PLAIN", "XOAUTH2"}}},
			}},
			{Name: "inbound.autoconf.example"},
			{Name: "in.cluster7.autoconf.example", Services: []Service{
				{Port: 993, Config: Config{Protocol: IMAP, Mode: TLS, AuthAfterTLS: []string{"PLAIN"}}},
			}},
			{Name: "pop.legacy.autoconf.example", Services: []Service{
				{Port: 995, Config: Config{Protocol: POP3, Mode: TLS, AuthAfterTLS: []string{"PLAIN"}}},
			}},
			{Name: "out.autoconf.example", Services: []Service{
				{Port: 587, Config: Config{Protocol: SMTP, Mode: StartTLS, AuthAfterTLS: []string{"PLAIN", "CRAM-MD5"}}},
			}},
			{Name: "mail.broken.example", Services: []Service{
				{Port: 465, Filtered: true},
				{Port: 587, Config: Config{Protocol: SMTP, Mode: StartTLS, Behavior: Injection}},
				// Accepts, then says nothing, not even to a ClientHello.
				{Port: 995, Config: Config{Protocol: POP3, Mode: Plain, Behavior: Silent}},
				{Port: 993, Config: Config{Protocol: IMAP, Mode: TLS, Cert: CertWrongName, AuthAfterTLS: imapAuth}},
				{Port: 143, Config: Config{Protocol: IMAP, Mode: StartTLS, LoginDisabledBeforeTLS: true, AuthAfterTLS: imapAuth}},
			}},
			{Name: "mail.oldtls.example", Services: []Service{
				{Port: 465, Config: Config{Protocol: SMTP, Mode: TLS, TLSMin: tls.VersionTLS10, TLSMax: tls.VersionTLS10, AuthAfterTLS: submission}},
				{Port: 993, Config: Config{Protocol: IMAP, Mode: TLS, TLSMin: tls.VersionTLS10, TLSMax: tls.VersionTLS10, AuthAfterTLS: imapAuth}},
			}},
			{Name: "mail.plain.example", Services: []Service{
				{Port: 25, Config: Config{Protocol: SMTP, Mode: Plain}},
				{Port: 587, Config: Config{Protocol: SMTP, Mode: Plain}},
				{Port: 143, Config: Config{Protocol: IMAP, Mode: Plain, LoginDisabledBeforeTLS: true}},
			}},
			// Not named by any source of broken.example: seen by `mailscout demo --probe-all`.
			{Name: "legacy.broken.example", Services: []Service{
				{Port: 465, Config: Config{Protocol: SMTP, Mode: TLS, TLSMin: tls.VersionTLS10, TLSMax: tls.VersionTLS10, AuthAfterTLS: []string{"LOGIN"}}},
			}},
			{Name: "preauth.broken.example", Services: []Service{
				{Port: 143, Config: Config{Protocol: IMAP, Mode: StartTLS, Behavior: Preauth}},
			}},
		},
	}
}

const demoProviderXML = `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="mailhost.example">
    <domain>mailhost.example</domain>
    <displayName>Mailhost Hosting</displayName>
    <incomingServer type="imap">
      <hostname>imap.mailhost.example</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.mailhost.example</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
`

const demoAutoconfXML = `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="autoconf.example">
    <domain>autoconf.example</domain>
    <displayName>Autoconf Example</displayName>
    <incomingServer type="imap">
      <hostname>in.cluster7.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILLOCALPART%</username>
    </incomingServer>
    <incomingServer type="pop3">
      <hostname>pop.legacy.autoconf.example</hostname>
      <port>995</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILLOCALPART%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>out.autoconf.example</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <authentication>password-encrypted</authentication>
      <username>%EMAILLOCALPART%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
`
