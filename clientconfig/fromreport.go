package clientconfig

import (
	"slices"
	"strings"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// FromReport takes from a discovery report what a mail client should be given: the usable
// configurations, recommended ones first, then the rest in rank order. An insecure
// configuration is included only when the report recommends it (the caller allowed insecure
// servers); nothing unusable ever is, and nothing a client should not take without asking its
// user (see trustworthy). Usernames become templates where they are the address or its local
// part, so the document serves every user of the domain.
func FromReport(r *discover.Report) Account {
	t, _ := discover.ParseTarget(r.Target)
	a := Account{Email: t.Address, Domain: r.Domain, DisplayName: t.DomainUnicode}
	if a.DisplayName == "" {
		a.DisplayName = r.Domain
	}
	recommended := func(c *discover.Config) bool {
		for _, ch := range []*discover.Choice{r.Recommended.Incoming, r.Recommended.Outgoing} {
			if ch != nil && ch.Protocol == c.Protocol && ch.Host == c.Host && ch.Port == c.Port && ch.Security == c.Security {
				return true
			}
		}
		return false
	}
	var first, rest []*discover.Config
	for i := range r.Configs {
		c := &r.Configs[i]
		switch {
		case !trustworthy(c):
		case recommended(c):
			first = append(first, c)
		case c.Verdict == discover.Usable:
			rest = append(rest, c)
		}
	}
	// IMAP before POP3 among incoming servers: r.Configs is ordered smtp, imap, pop3.
	for _, c := range append(first, rest...) {
		s := Server{Protocol: string(c.Protocol), Host: c.Host, Port: c.Port, Security: string(c.Security),
			Username: usernameTemplate(c.Username, t), Logins: logins(&c.Result)}
		if c.Protocol == probe.SMTP {
			a.Outgoing = append(a.Outgoing, s)
		} else {
			a.Incoming = append(a.Incoming, s)
		}
	}
	slices.SortStableFunc(a.Incoming, func(x, y Server) int {
		return strings.Compare(x.Protocol, y.Protocol) // "imap" < "pop3"
	})
	return a
}

// trustworthy reports whether a document may name c. A document from a setup service is taken
// without question, so it must not launder a host outside the user's domain that discovery
// found only over an untrusted path — a plain-HTTP autoconfig file anyone on the path could have
// written, an unsigned SRV record (RFC 8314 §5.1) — where a client would have to ask its user.
// A provider's own autoconfig, fetched over HTTPS from the domain of the MX hosts, stays:
// Thunderbird takes that one itself without asking (its forMX lookup). Hosts inside the domain
// stay whatever named them: the verdict already proved TLS with a valid certificate for them.
func trustworthy(c *discover.Config) bool {
	if !c.HasWarning(discover.WarnUntrustedHost) {
		return true
	}
	return slices.Contains(c.Sources, discover.SourceProvider) && !c.HasWarning(discover.WarnHTTPSource)
}

// logins are the ways to log in that a probe saw: the SASL mechanisms, IMAP's LOGIN command
// where it is not disabled, POP3's USER/PASS where it is offered (or where nothing is known).
func logins(r *probe.Result) []string {
	out := slices.Clone(r.AuthMethods)
	switch r.Protocol {
	case probe.IMAP:
		if !r.LoginDisabled {
			out = append(out, "IMAP-LOGIN")
		}
	case probe.POP3:
		for _, c := range r.Capabilities {
			if f := strings.Fields(c); len(f) > 0 && strings.EqualFold(f[0], "USER") {
				out = append(out, "USER")
			}
		}
		if r.HasWarning(probe.WarnCapaUnsupported) && len(out) == 0 {
			out = append(out, "USER")
		}
	}
	return out
}

func usernameTemplate(u string, t discover.Target) string {
	switch {
	case u == t.Address && u != "":
		return "%EMAILADDRESS%"
	case u == t.LocalPart && u != "":
		return "%EMAILLOCALPART%"
	}
	return u
}
