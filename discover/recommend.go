package discover

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/mailscout/mailscout/probe"
)

// directions: outgoing is SMTP; incoming is IMAP before POP3 (IMAP keeps mail on the server
// and works across devices).
var (
	outgoing = []probe.Protocol{probe.SMTP}
	incoming = []probe.Protocol{probe.IMAP, probe.POP3}
)

// recommend picks, per direction, the best configuration a client can safely log in to (or,
// when the caller allowed it, the best insecure one, flagged), and for a direction with none,
// the nearest: what came closest and what is in its way. configs are in rank order.
func (s *scheduler) recommend(configs, probes []Config) (Recommended, Nearest) {
	pick := func(dir []probe.Protocol) (*Choice, *Near) {
		if !slices.ContainsFunc(dir, s.wants) {
			return nil, nil
		}
		for _, allowInsecure := range []bool{false, true} {
			for _, p := range dir {
				for i := range configs {
					c := &configs[i]
					if c.Protocol != p {
						continue
					}
					if c.Verdict == Usable || (allowInsecure && s.recommendable(c.Verdict, c.Blockers)) {
						return s.choice(c), nil
					}
				}
			}
		}
		return nil, s.nearest(dir, configs, probes)
	}
	var rec Recommended
	var near Nearest
	rec.Outgoing, near.Outgoing = pick(outgoing)
	rec.Incoming, near.Incoming = pick(incoming)
	return rec, near
}

func (s *scheduler) choice(c *Config) *Choice {
	ch := &Choice{Protocol: c.Protocol, Host: c.Host, Port: c.Port, Security: c.Security, Username: c.Username,
		Verified: c.Verdict == Usable, Verdict: c.Verdict, Blockers: slices.Clone(c.Blockers),
		Untrusted: slices.ContainsFunc(c.Warnings, func(w probe.Warning) bool { return w.Code == WarnUntrustedHost })}
	if a := c.Auth; a != nil {
		switch {
		case a.OK:
			ch.LoginOK, ch.Username = true, a.Username
		case a.Attempted:
			ch.LoginError = a.Error
		default:
			ch.LoginNotAttempted = a.NotAttempted
		}
	}
	return ch
}

// nearest is what came closest to usable in a direction: an insecure configuration first (it
// works, only not safely), then a server that speaks only legacy TLS (it would be insecure
// if allowed), then a configuration that answered but takes no login, then the failed probe
// that got furthest (a certificate seen beats a greeting, a greeting a connection, a
// connection nothing). Within each, rank order, IMAP before POP3.
func (s *scheduler) nearest(dir []probe.Protocol, configs, probes []Config) *Near {
	var all []*Config
	for i := range configs {
		if slices.Contains(dir, configs[i].Protocol) {
			all = append(all, &configs[i])
		}
	}
	for i := range probes {
		if c := &probes[i]; !c.OK && slices.Contains(dir, c.Protocol) && c.ErrorKind != probe.KindCanceled {
			all = append(all, c)
		}
	}
	if len(all) == 0 {
		return nil
	}
	closeness := func(c *Config) int {
		switch {
		case c.OK && c.Verdict == Insecure:
			return 0
		case !c.OK && slices.Contains(c.Blockers, BlockerLegacyTLS):
			return 1
		case c.OK:
			return 2
		}
		return 3 + progress(c)
	}
	// Of those that came as close, the one the domain itself named (SRV, autoconfig) before a
	// guess: "the server your domain names refuses connections" is the helpdesk's lead.
	named := func(c *Config) int {
		if len(c.Sources) == 0 {
			return len(sourceOrder)
		}
		return slices.Index(sourceOrder, sortedSources(c.Sources)[0])
	}
	slices.SortStableFunc(all, func(a, b *Config) int {
		return cmp.Or(cmp.Compare(closeness(a), closeness(b)), cmp.Compare(named(a), named(b)), cmp.Compare(protocolOrder(a.Protocol), protocolOrder(b.Protocol)),
			cmp.Compare(securityRank(a.Security), securityRank(b.Security)), cmp.Compare(portRank(a.Protocol, a.Port), portRank(b.Protocol, b.Port)))
	})
	return near(all[0])
}

// progress: how far a failed probe got (smaller is further).
func progress(c *Config) int {
	switch {
	case c.TLS != nil:
		return 0
	case c.Greeting != "":
		return 1
	case c.Address != "":
		return 2
	}
	return 3
}

func near(c *Config) *Near {
	return &Near{Protocol: c.Protocol, Host: c.Host, Port: c.Port, Security: c.Security, Verdict: c.Verdict,
		Blockers: slices.Clone(c.Blockers), Text: fmt.Sprintf("%s: %s", endpointWords(c.Host, c.Port, c.Security), c.VerdictText)}
}

// endpointWords says "smtp.example.com port 587 with STARTTLS".
func endpointWords(host string, port int, sec probe.Security) string {
	return fmt.Sprintf("%s port %d %s", host, port, securityWords(sec))
}

func securityWords(sec probe.Security) string {
	switch sec {
	case probe.TLS:
		return "with TLS"
	case probe.StartTLS:
		return "with STARTTLS"
	}
	return "without encryption"
}

func protocolName(p probe.Protocol) string { return strings.ToUpper(string(p)) }
