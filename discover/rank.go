package discover

import (
	"cmp"
	"slices"

	"github.com/mailscout/mailscout/probe"
)

// Trust levels of sources, most trusted highest (ranking key 3).
const (
	trustHTTP      = 0 // autoconfig over plain HTTP: anyone on the path could have written it
	trustGuess     = 1 // a host name we made up, or the MX host itself
	trustThirdHand = 2 // ISPDB, the MX provider's autoconfig, an unsigned SRV pointing elsewhere
	trustDomain    = 3 // HTTPS autoconfig of the domain, SRV signed or inside the domain
)

// noSRVPriority sorts configurations that no SRV record named after every SRV-named one.
const noSRVPriority = 1 << 16

// rankKey is the one ordering of configurations, most important first. Smaller is better in
// every field. README.md ("Ranking") states the rule and TestRankingRule pins it.
//
//  0. with credentials: a configuration where the login succeeded before every other;
//  1. fully working (TLS ≥ 1.2 with a valid certificate) before flagged (bad certificate,
//     legacy TLS, no TLS at all) — a valid STARTTLS server beats an implicit-TLS one with an
//     expired certificate;
//  2. implicit TLS, then STARTTLS, then plain (RFC 8314 §3.3 and §5.1; plain is never above a
//     TLS option, since plain always counts as flagged);
//  3. source trust (trust* above);
//  4. SRV priority, then higher weight (RFC 2782);
//  5. submission ports 465/587 before others, port 25 last (relay port, often blocked);
//  6. latency (only as a tie-break when sorting; never a reason to wait in --fast).
type rankKey struct {
	// unverified is 1 unless a login succeeded here: a verified login ranks a configuration
	// above every unverified one (0 for all when no credentials were given).
	unverified                                             int
	flagged, security, trust, srvPriority, srvWeight, port int
}

func (a rankKey) compare(b rankKey) int {
	return cmp.Or(
		cmp.Compare(a.unverified, b.unverified),
		cmp.Compare(a.flagged, b.flagged),
		cmp.Compare(a.security, b.security),
		cmp.Compare(a.trust, b.trust),
		cmp.Compare(a.srvPriority, b.srvPriority),
		cmp.Compare(a.srvWeight, b.srvWeight),
		cmp.Compare(a.port, b.port),
	)
}

func securityRank(s probe.Security) int {
	switch s {
	case probe.TLS:
		return 0
	case probe.StartTLS:
		return 1
	}
	return 2
}

func portRank(p probe.Protocol, port int) int {
	if p != probe.SMTP {
		return 0
	}
	switch port {
	case 465, 587:
		return 0
	case 25:
		return 2
	}
	return 1
}

// fullyWorks is ranking key 1: TLS 1.2 or later with a valid certificate.
func fullyWorks(r *probe.Result) bool {
	return r.OK && r.TLS != nil && r.TLS.CertValid && (r.TLS.Version == "1.2" || r.TLS.Version == "1.3")
}

// keyOf is the rank key of a probed candidate's result.
func keyOf(c *candidate, r *probe.Result) rankKey {
	k := c.potential()
	k.security = securityRank(r.Security)
	if !fullyWorks(r) {
		k.flagged = 1
	}
	return k
}

// potential is the best key a candidate could reach if its probe fully works.
func (c *candidate) potential() rankKey {
	k := rankKey{
		security:    securityRank(c.Security),
		trust:       -c.trust,
		srvPriority: noSRVPriority,
		port:        portRank(c.Protocol, c.Port),
	}
	if c.srv != nil {
		k.srvPriority, k.srvWeight = int(c.srv.Priority), -int(c.srv.Weight)
	}
	if c.Security == probe.Plain {
		k.flagged = 1
	}
	return k
}

// sortConfigs orders working configurations by protocol (smtp, imap, pop3), then rank key,
// then latency, then host and port for a stable answer, and numbers them per protocol.
func sortConfigs(cs []rankedConfig) {
	slices.SortStableFunc(cs, func(a, b rankedConfig) int {
		return cmp.Or(
			cmp.Compare(protocolOrder(a.Protocol), protocolOrder(b.Protocol)),
			a.key.compare(b.key),
			cmp.Compare(a.Timings.Total, b.Timings.Total),
			cmp.Compare(a.Host, b.Host),
			cmp.Compare(a.Port, b.Port),
		)
	})
	rank := map[probe.Protocol]int{}
	for i := range cs {
		rank[cs[i].Protocol]++
		cs[i].Rank = rank[cs[i].Protocol]
	}
}

type rankedConfig struct {
	Config
	key  rankKey
	cand *candidate
}

func protocolOrder(p probe.Protocol) int {
	switch p {
	case probe.SMTP:
		return 0
	case probe.IMAP:
		return 1
	}
	return 2
}
