package discover

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mailscout/mailscout/probe"
)

// diagnose words the report for a customer: the status, then one sentence per direction, then
// the login. It reads only the report and the final state; it decides nothing.
func (s *scheduler) diagnose(r *Report) Diagnosis {
	d := Diagnosis{Tried: []string{}}
	wantIn, wantOut := slices.ContainsFunc(incoming, s.wants), slices.ContainsFunc(outgoing, s.wants)
	usable := func(c *Choice) bool { return c != nil && c.Verdict == Usable }
	usableIn, usableOut := usable(r.Recommended.Incoming), usable(r.Recommended.Outgoing)
	var rejected *Config
	for i := range r.Configs {
		if a := r.Configs[i].Auth; a != nil && a.Attempted && !a.OK && rejected == nil {
			rejected = &r.Configs[i]
		}
	}
	answered := len(r.Configs) > 0
	insecure := slices.ContainsFunc(r.Configs, func(c Config) bool { return c.Verdict == Insecure })
	nothingExists := !answered && s.nothingExists(r)
	// A failed lookup makes the results unknown only when nothing answered: once servers are
	// known to work, what they are is the answer, and the failure is a note (dnsNote).
	switch {
	case s.localFailure != nil && !usableIn && !usableOut:
		d.Status = StatusLocalFailure
	case s.dnsFailure != nil && !usableIn && !usableOut && !answered:
		d.Status = StatusDNSFailed
	case rejected != nil:
		d.Status = StatusLoginFailed
	case !answered && (r.DNS.NullMX || s.nxdomain || nothingExists):
		d.Status = StatusNoMail
	case (usableIn || !wantIn) && (usableOut || !wantOut):
		d.Status = StatusOK
	case usableIn || usableOut:
		d.Status = StatusPartial
	case insecure:
		d.Status = StatusInsecureOnly
	default:
		d.Status = StatusUnusable
	}
	var parts []string
	dom := s.target.Domain
	switch d.Status {
	case StatusDNSFailed:
		parts = append(parts, fmt.Sprintf("DNS did not work (%s), so whether %s has mail servers is unknown: this is not a sign that it has none. Check the resolver, then try again.", dnsWords(s.dnsFailure), dom))
	case StatusLocalFailure:
		parts = append(parts, fmt.Sprintf("This computer ran out of file descriptors or socket buffers while checking, so the results for %s are unknown: this says nothing about its servers or the resolver. Raise the limit (ulimit -n) or check fewer domains at once, then try again.", dom))
	case StatusNoMail:
		switch {
		case s.nxdomain:
			parts = append(parts, fmt.Sprintf("The domain %s does not exist.", dom))
		case r.DNS.NullMX:
			parts = append(parts, fmt.Sprintf("%s accepts no e-mail: it publishes a null MX record (RFC 7505), and names no mail server.", dom))
		default:
			d.Tried = s.triedHosts()
			parts = append(parts, fmt.Sprintf("%s has no mail servers: it publishes no MX, SRV or autoconfig, and none of the usual host names exists (tried %s).", dom, listWords(d.Tried, 6)))
		}
	case StatusInsecureOnly:
		parts = append(parts, "The mail servers answer, but none of them can be used safely.")
	case StatusUnusable:
		parts = append(parts, "None of the mail servers found can be used by a mail client.")
	}
	if d.Status != StatusNoMail && !ResultsUnknown(d.Status) || answered {
		// Only the protocols asked for: "no IMAP or POP3 server" is wrong when only POP3 was.
		if wantIn {
			d.Incoming = "Incoming: " + s.direction(s.wanted(incoming), r.Recommended.Incoming, r.Nearest.Incoming, r)
			parts = append(parts, d.Incoming)
		}
		if wantOut {
			d.Outgoing = "Outgoing: " + s.direction(s.wanted(outgoing), r.Recommended.Outgoing, r.Nearest.Outgoing, r)
			parts = append(parts, d.Outgoing)
		}
	}
	if s.dnsFailure != nil && d.Status != StatusDNSFailed && d.Status != StatusOK {
		// Something answered, but a lookup failed: a better server may have been missed.
		parts = append(parts, fmt.Sprintf("Some DNS lookups failed (%s), so a better server may have been missed; check the resolver and try again.", dnsWords(s.dnsFailure)))
	}
	switch {
	case rejected != nil:
		// The one thing in the way comes first.
		parts = append([]string{fmt.Sprintf("The server rejected the user name or password for %s (%s:%d said: %s). Check them; no other login was tried, so that the account is not locked.",
			rejected.Auth.Username, rejected.Host, rejected.Port, clipText(rejected.Auth.Error))}, parts...)
	case s.opts.Credentials != nil && (loginOK(r.Recommended.Incoming) || loginOK(r.Recommended.Outgoing)):
		parts = append(parts, "The login worked.")
	}
	d.Summary = strings.Join(parts, " ")
	return d
}

func loginOK(c *Choice) bool { return c != nil && c.LoginOK }

// direction is the sentence about one direction.
func (s *scheduler) direction(dir []probe.Protocol, rec *Choice, near *Near, r *Report) string {
	name := protocolName(dir[0])
	if len(dir) > 1 {
		name = "IMAP or POP3"
	}
	// "safely" only when what is in the way is about safety: a server that offers no login at
	// all cannot be used, safely or not.
	can := "nothing can be used"
	if near != nil && near.Verdict == Insecure {
		can = "nothing can be used safely"
	}
	switch {
	case rec != nil && rec.Verdict == Usable:
		use := "use " + endpointWords(rec.Host, rec.Port, rec.Security) + "."
		if rec.Untrusted {
			use = strings.TrimSuffix(use, ".") + fmt.Sprintf(" (outside %s: confirm that it belongs to your provider).", s.target.Domain)
		}
		if note := s.betterFailed(dir, rec, r); note != "" {
			return note + "; " + use
		}
		return use
	case rec != nil:
		c := findConfig(r.Configs, rec.Protocol, rec.Host, rec.Port, rec.Security)
		return fmt.Sprintf("%s works, but not safely: %s. It is recommended only because insecure servers were allowed.", endpointWords(rec.Host, rec.Port, rec.Security), c.VerdictText)
	case s.declined(dir):
		// RFC 6186 §3.4: an SRV target of "." says the service is decidedly not offered.
		what := fmt.Sprintf("%s says it offers no %s (its SRV records for it name no server, RFC 6186)", s.target.Domain, name)
		if near != nil && countDir(r.Probes, dir) > 0 {
			return fmt.Sprintf("%s; the closest: %s.", what, subject(endpointWords(near.Host, near.Port, near.Security), nearText(near, r)))
		}
		return what + "."
	case near != nil:
		what := subject(endpointWords(near.Host, near.Port, near.Security), nearText(near, r))
		if n := countDir(r.Probes, dir); n == 1 {
			return fmt.Sprintf("%s: the only %s server, %s.", can, protocolName(near.Protocol), what)
		} else if len(r.Configs) == 0 && len(near.Blockers) > 0 && !isSessionBlocker(near.Blockers[0]) {
			return fmt.Sprintf("no %s server works; the closest: %s.", name, what)
		}
		return fmt.Sprintf("%s: %s.", can, what)
	}
	return fmt.Sprintf("no %s server was found.", name)
}

// wanted are the protocols of dir the discovery was asked for.
func (s *scheduler) wanted(dir []probe.Protocol) []probe.Protocol {
	return slices.DeleteFunc(slices.Clone(dir), func(p probe.Protocol) bool { return !s.wants(p) })
}

// declined reports that the domain's SRV records say every protocol of dir is not offered.
func (s *scheduler) declined(dir []probe.Protocol) bool {
	for _, p := range dir {
		if s.notOffered[p] == 0 {
			return false
		}
	}
	return len(dir) > 0
}

// isSessionBlocker: the server answered, but something about the session is in the way.
func isSessionBlocker(b string) bool {
	switch b {
	case BlockerNoTLS, BlockerLegacyTLS, BlockerCertExpired, BlockerCertNotYetValid, BlockerCertUntrusted, BlockerCertSelfSigned,
		BlockerCertNameMismatch, BlockerCertMissing, BlockerCertInvalid, BlockerLoginDisabled, BlockerNoAuth, BlockerMXRelay:
		return true
	}
	return false
}

// betterFailed says what is wrong with the best configuration that would have ranked above the
// recommendation (on the same host, or named by a trusted source), if any: "port 465 is
// blocked by a firewall (no answer)".
func (s *scheduler) betterFailed(dir []probe.Protocol, rec *Choice, r *Report) string {
	var best *Config
	for i := range r.Probes {
		c := &r.Probes[i]
		if !slices.Contains(dir, c.Protocol) || c.Verdict == Usable || c.ErrorKind == probe.KindCanceled {
			continue
		}
		if c.Host != rec.Host && !slices.ContainsFunc(c.Sources, func(k string) bool { return k == SourceSRV || k == SourceAutoconfig }) {
			continue
		}
		if securityRank(c.Security) >= securityRank(rec.Security) {
			continue // only what would have ranked above the recommendation
		}
		if best == nil || securityRank(c.Security) < securityRank(best.Security) {
			best = c
		}
	}
	if best == nil {
		return ""
	}
	where := fmt.Sprintf("port %d", best.Port)
	if best.Host != rec.Host {
		where = fmt.Sprintf("%s port %d", best.Host, best.Port)
	}
	return subject(where, best.VerdictText)
}

// subject puts where in place of the "it" a verdict text starts with ("port 465 is blocked by
// a firewall"), or before it ("port 465: the certificate expired").
func subject(where, text string) string {
	if rest, ok := strings.CutPrefix(text, "it "); ok {
		return where + " " + rest
	}
	return where + ": " + text
}

// nearText is the verdict text of the configuration near names.
func nearText(near *Near, r *Report) string {
	for _, list := range [][]Config{r.Configs, r.Probes} {
		for i := range list {
			if c := &list[i]; c.Protocol == near.Protocol && c.Host == near.Host && c.Port == near.Port && c.Security == near.Security {
				return c.VerdictText
			}
		}
	}
	return ""
}

func findConfig(cs []Config, p probe.Protocol, host string, port int, sec probe.Security) *Config {
	for i := range cs {
		if c := &cs[i]; c.Protocol == p && c.Host == host && c.Port == port && c.Security == sec {
			return c
		}
	}
	return &Config{}
}

// countDir is how many hosts of the direction answered a connection.
func countDir(probes []Config, dir []probe.Protocol) int {
	hosts := map[string]bool{}
	for _, c := range probes {
		if slices.Contains(dir, c.Protocol) && c.Address != "" {
			hosts[c.Host] = true
		}
	}
	return len(hosts)
}

// nothingExists: no source named a server, and none of the host names tried resolves.
func (s *scheduler) nothingExists(r *Report) bool {
	for _, src := range s.sources {
		if src.report.Kind != SourceGuess && src.report.Kind != SourceMX && src.report.Candidates > 0 {
			return false
		}
	}
	if len(r.DNS.MX) > 0 {
		return false
	}
	for _, h := range s.hosts {
		if h.err == nil || !errors.Is(h.err, ErrNXDomain) && len(h.addrs) > 0 {
			return false
		}
	}
	return true
}

// triedHosts are the host names looked up, in the order they were.
func (s *scheduler) triedHosts() []string { return slices.Clone(s.hostOrder) }

func listWords(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// dnsWords says what went wrong with DNS.
func dnsWords(err error) string {
	switch {
	case errors.Is(err, ErrNoAnswer):
		return "the resolver did not answer"
	case errors.Is(err, ErrServerFailure):
		return "the resolver answered with an error (SERVFAIL)"
	case errors.Is(err, ErrLocalResources):
		return "this machine ran out of file descriptors"
	}
	return err.Error()
}
