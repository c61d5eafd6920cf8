package clientconfig

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// cfg is a configuration of a report for alice@example.com.
func cfg(p probe.Protocol, host string, port int, sec probe.Security, v discover.Verdict, sources []string, warnings ...string) discover.Config {
	c := discover.Config{Result: probe.Result{Protocol: p, Host: host, Port: port, Security: sec, OK: true,
		AuthMethods: []string{"PLAIN"}}, Sources: sources, Username: "alice@example.com", Verdict: v}
	for _, w := range warnings {
		c.Warnings = append(c.Warnings, probe.Warning{Code: w})
	}
	return c
}

func names(ss []Server) []string {
	var out []string
	for _, s := range ss {
		out = append(out, fmt.Sprintf("%s %s:%d %s %s", s.Protocol, s.Host, s.Port, s.Security, s.Username))
	}
	return out
}

// What a mail client is handed: usable configurations, the recommended ones first; insecure
// ones only when recommended; unusable ones never; and no host outside the domain that was
// named over an untrusted path, except a provider's own HTTPS autoconfig found through the MX.
func TestFromReport(t *testing.T) {
	src := []string{discover.SourceSRV}
	for _, tc := range []struct {
		name            string
		configs         []discover.Config
		recIn, recOut   *discover.Choice
		wantIn, wantOut []string
	}{
		{
			name: "recommended first, then usable in rank order, IMAP before POP3, nothing unusable",
			configs: []discover.Config{
				cfg(probe.SMTP, "smtp.example.com", 587, probe.StartTLS, discover.Usable, src),
				cfg(probe.SMTP, "smtp.example.com", 465, probe.TLS, discover.Usable, src),
				cfg(probe.SMTP, "smtp.example.com", 25, probe.Plain, discover.Unusable, src),
				cfg(probe.IMAP, "imap.example.com", 993, probe.TLS, discover.Usable, src),
				cfg(probe.POP3, "pop.example.com", 995, probe.TLS, discover.Usable, src),
				cfg(probe.IMAP, "imap.example.com", 143, probe.Plain, discover.Insecure, src),
			},
			recIn:   &discover.Choice{Protocol: probe.IMAP, Host: "imap.example.com", Port: 993, Security: probe.TLS},
			recOut:  &discover.Choice{Protocol: probe.SMTP, Host: "smtp.example.com", Port: 465, Security: probe.TLS},
			wantIn:  []string{"imap imap.example.com:993 tls %EMAILADDRESS%", "pop3 pop.example.com:995 tls %EMAILADDRESS%"},
			wantOut: []string{"smtp smtp.example.com:465 tls %EMAILADDRESS%", "smtp smtp.example.com:587 starttls %EMAILADDRESS%"},
		},
		{
			name: "an insecure configuration only when recommended",
			configs: []discover.Config{
				cfg(probe.IMAP, "imap.example.com", 143, probe.Plain, discover.Insecure, src),
				cfg(probe.POP3, "pop.example.com", 110, probe.Plain, discover.Insecure, src),
			},
			recIn:  &discover.Choice{Protocol: probe.IMAP, Host: "imap.example.com", Port: 143, Security: probe.Plain},
			wantIn: []string{"imap imap.example.com:143 plain %EMAILADDRESS%"},
		},
		{
			name: "untrusted hosts outside the domain are left out, a provider's HTTPS autoconfig stays",
			configs: []discover.Config{
				cfg(probe.IMAP, "imap.attacker.test", 993, probe.TLS, discover.Usable, []string{discover.SourceAutoconfig}, discover.WarnUntrustedHost, discover.WarnHTTPSource),
				cfg(probe.IMAP, "imap.other.test", 993, probe.TLS, discover.Usable, []string{discover.SourceSRV}, discover.WarnUntrustedHost),
				cfg(probe.IMAP, "imap.provider.test", 993, probe.TLS, discover.Usable, []string{discover.SourceProvider}, discover.WarnUntrustedHost),
				cfg(probe.IMAP, "mail.example.com", 993, probe.TLS, discover.Usable, []string{discover.SourceAutoconfig}, discover.WarnHTTPSource),
			},
			recIn:  &discover.Choice{Protocol: probe.IMAP, Host: "imap.attacker.test", Port: 993, Security: probe.TLS},
			wantIn: []string{"imap imap.provider.test:993 tls %EMAILADDRESS%", "imap mail.example.com:993 tls %EMAILADDRESS%"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &discover.Report{Target: "alice@example.com", Domain: "example.com", Configs: tc.configs}
			r.Recommended.Incoming, r.Recommended.Outgoing = tc.recIn, tc.recOut
			a := FromReport(r)
			if got := names(a.Incoming); !slices.Equal(got, tc.wantIn) {
				t.Errorf("incoming:\n got %s\nwant %s", strings.Join(got, "; "), strings.Join(tc.wantIn, "; "))
			}
			if got := names(a.Outgoing); !slices.Equal(got, tc.wantOut) {
				t.Errorf("outgoing:\n got %s\nwant %s", strings.Join(got, "; "), strings.Join(tc.wantOut, "; "))
			}
			if a.Email != "alice@example.com" || a.Domain != "example.com" {
				t.Errorf("account %q %q", a.Email, a.Domain)
			}
		})
	}
}

// Usernames become templates where they are the address or its local part; anything else (an
// autoconfig's own template, filled in) is kept as it is.
func TestUsernameTemplate(t *testing.T) {
	tg, err := discover.ParseTarget("alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"alice@example.com": "%EMAILADDRESS%",
		"alice":             "%EMAILLOCALPART%",
		"alice.corp":        "alice.corp",
		"":                  "",
	} {
		if got := usernameTemplate(in, tg); got != want {
			t.Errorf("usernameTemplate(%q) = %q, want %q", in, got, want)
		}
	}
}
