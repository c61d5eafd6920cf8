package discover_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
)

// Guesses and the MX hosts' ports never take the room of servers a document names: a domain
// whose MX points to a provider (the provider's usual names are guessed too) and whose own
// names are guessed still has every server of its autoconfig probed, although the autoconfig
// arrives last (DNS, TLS and HTTP before it says anything).
func TestCandidateCapKeepsRoomForNamedServers(t *testing.T) {
	var in, out strings.Builder
	var hosts []mailsim.Host
	for i := range 10 {
		fmt.Fprintf(&in, `<incomingServer type="imap"><hostname>imap%d.crowd.example</hostname><port>993</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%%EMAILADDRESS%%</username></incomingServer>`, i)
		fmt.Fprintf(&out, `<outgoingServer type="smtp"><hostname>smtp%d.crowd.example</hostname><port>465</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%%EMAILADDRESS%%</username></outgoingServer>`, i)
		hosts = append(hosts, mailsim.Host{Name: fmt.Sprintf("imap%d.crowd.example", i)}, mailsim.Host{Name: fmt.Sprintf("smtp%d.crowd.example", i)})
	}
	spec := mailsim.WorldSpec{
		Zones: []mailsim.Zone{
			{Domain: "crowd.example", MX: []mailsim.MX{{Host: "mx1.bighost.example", Preference: 10}, {Host: "mx2.bighost.example", Preference: 20}}},
			{Domain: "bighost.example"},
		},
		Web: []mailsim.WebFile{{URL: "https://autoconfig.crowd.example/mail/config-v1.1.xml",
			Body: `<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="crowd.example"><domain>crowd.example</domain>` + in.String() + out.String() + `</emailProvider></clientConfig>`}},
		Hosts: append(hosts, mailsim.Host{Name: "mx1.bighost.example"}, mailsim.Host{Name: "mx2.bighost.example"}),
	}
	_, o := startWorld(t, spec)
	r := run(t, "a@crowd.example", o)
	named := 0
	for _, p := range r.Probes {
		if slices.Contains(p.Sources, discover.SourceAutoconfig) {
			named++
		}
	}
	if named != 20 {
		t.Errorf("%d of the autoconfig's 20 servers probed; %d probes in all", named, len(r.Probes))
	}
	if len(r.Probes) > discover.MaxCandidates {
		t.Errorf("%d probes, over the cap of %d", len(r.Probes), discover.MaxCandidates)
	}
}
