package testserver

import (
	"crypto/tls"
	"time"
)

// DemoSpec is the built-in demo world: a small, realistic mix of what a helpdesk meets. It backs
// `mailscout demo` and is exercised by the CLI tests, so the demo can never quietly rot.
func DemoSpec() WorldSpec {
	submission := []string{"PLAIN", "LOGIN"}
	return WorldSpec{Hosts: []Host{
		{Name: "smtp.example.test", Services: []Service{
			{Port: 465, Config: Config{Protocol: SMTP, Mode: TLS, AuthAfterTLS: submission}},
			// Postfix with smtpd_tls_auth_only: AUTH only after STARTTLS.
			{Port: 587, Config: Config{Protocol: SMTP, Mode: StartTLS, AuthAfterTLS: submission}},
			// Port 25 behind postscreen: a "220-" pre-greeting, then the real one.
			{Port: 25, Config: Config{Protocol: SMTP, Mode: StartTLS, PreGreetingDelay: 300 * time.Millisecond}},
		}},
		{Name: "imap.example.test", Services: []Service{
			{Port: 993, Config: Config{Protocol: IMAP, Mode: TLS, AuthAfterTLS: []string{"PLAIN", "LOGIN", "OAUTHBEARER"}, GreetingCaps: true}},
			// Dovecot's default: LOGINDISABLED until STARTTLS.
			{Port: 143, Config: Config{Protocol: IMAP, Mode: StartTLS, LoginDisabledBeforeTLS: true, AuthAfterTLS: []string{"PLAIN", "LOGIN"}}},
		}},
		{Name: "pop.example.test", Services: []Service{
			{Port: 995, Config: Config{Protocol: POP3, Mode: TLS, Cert: CertExpired, AuthAfterTLS: []string{"PLAIN"}}},
			{Port: 110, Config: Config{Protocol: POP3, Mode: StartTLS, Behavior: StartTLSRefused, APOP: true}},
		}},
		{Name: "legacy.example.test", Services: []Service{
			{Port: 465, Config: Config{Protocol: SMTP, Mode: TLS, TLSMin: tls.VersionTLS10, TLSMax: tls.VersionTLS10, AuthAfterTLS: []string{"LOGIN"}}},
			{Port: 587, Config: Config{Protocol: SMTP, Mode: StartTLS, Behavior: Injection}},
			{Port: 993, Filtered: true},
		}},
		{Name: "shared-hosting.example.test", Services: []Service{
			{Port: 993, Config: Config{Protocol: IMAP, Mode: TLS, Cert: CertWrongName, AuthAfterTLS: []string{"PLAIN"}}},
			{Port: 143, Config: Config{Protocol: IMAP, Mode: StartTLS, Behavior: Preauth}},
		}},
	}}
}
