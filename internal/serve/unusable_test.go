package serve

import (
	"strings"
	"testing"

	"github.com/mailscout/mailscout/clientconfig"
	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// Why no document can be written, in the service's own words (never another package's error
// text): the direction that has nothing usable and what came closest, or, when both have
// servers, that their logins cannot be described.
func TestUnusableWords(t *testing.T) {
	srv := func(p string) clientconfig.Server {
		return clientconfig.Server{Protocol: p, Host: "mail.x.example", Port: 993, Security: "tls", Username: "%EMAILADDRESS%"}
	}
	near := &discover.Near{Protocol: probe.SMTP, Host: "smtp.x.example", Port: 465, Security: probe.TLS, Verdict: discover.Insecure, Text: "the certificate expired"}
	for _, tc := range []struct {
		name string
		acct clientAccount
		want []string
	}{
		{"both directions, logins the format cannot describe",
			clientAccount{Account: clientconfig.Account{Incoming: []clientconfig.Server{srv("imap")}, Outgoing: []clientconfig.Server{srv("smtp")}}},
			[]string{"logs in with a method this format can describe"}},
		{"no outgoing server",
			clientAccount{Account: clientconfig.Account{Incoming: []clientconfig.Server{srv("imap")}},
				report: &discover.Report{Nearest: discover.Nearest{Outgoing: near}}},
			[]string{"outgoing mail (SMTP) has no usable server", "expired", "needs both"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := unusable(tc.acct)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			if strings.Contains(got, "clientconfig") {
				t.Errorf("%q names a Go package", got)
			}
		})
	}
}
