package discover_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
)

// Guesses and the MX host's ports do not take the room of the servers a document names: a
// domain whose MX is at a provider (the provider's usual names are guessed too) and whose own
// names are guessed still has every server of a full autoconfig (10 per protocol) probed,
// although the autoconfig arrives last (DNS, TLS and HTTP before it says anything).
func TestCandidateCapKeepsRoomForNamedServers(t *testing.T) {
	var servers strings.Builder
	var hosts []mailsim.Host
	for i := range 10 {
		for _, s := range []struct{ tag, typ, name, socket string }{
			{"incomingServer", "imap", "imap", "SSL"}, {"incomingServer", "pop3", "pop", "SSL"}, {"outgoingServer", "smtp", "smtp", "SSL"},
		} {
			host := fmt.Sprintf("%s%d.crowd.example", s.name, i)
			fmt.Fprintf(&servers, `<%s type="%s"><hostname>%s</hostname><port>%d</port><socketType>%s</socketType><authentication>password-cleartext</authentication><username>%%EMAILADDRESS%%</username></%s>`,
				s.tag, s.typ, host, map[string]int{"imap": 993, "pop3": 995, "smtp": 465}[s.typ], s.socket, s.tag)
			hosts = append(hosts, mailsim.Host{Name: host})
		}
	}
	spec := mailsim.WorldSpec{
		Zones: []mailsim.Zone{
			{Domain: "crowd.example", MX: []mailsim.MX{{Host: "mx.hostone.example", Preference: 10}, {Host: "mx.hosttwo.example", Preference: 20}}},
			{Domain: "hostone.example"},
			{Domain: "hosttwo.example"},
		},
		Web: []mailsim.WebFile{{URL: "https://autoconfig.crowd.example/mail/config-v1.1.xml",
			Body: `<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="crowd.example"><domain>crowd.example</domain>` + servers.String() + `</emailProvider></clientConfig>`}},
		Hosts: append(hosts, mailsim.Host{Name: "mx.hostone.example"}, mailsim.Host{Name: "mx.hosttwo.example"}),
	}
	_, o := startWorld(t, spec)
	r := run(t, "a@crowd.example", o)
	named := 0
	for _, p := range r.Probes {
		if slices.Contains(p.Sources, discover.SourceAutoconfig) {
			named++
		}
	}
	if named != 30 {
		t.Errorf("%d of the autoconfig's 30 servers probed; %d probes in all", named, len(r.Probes))
	}
	if len(r.Probes) > discover.MaxCandidates {
		t.Errorf("%d probes, over the cap of %d", len(r.Probes), discover.MaxCandidates)
	}
}
