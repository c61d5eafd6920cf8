package discover

import (
	"cmp"
	"slices"

	"github.com/mailscout/mailscout/probe"
)

// Trust levels of sources, most trusted highest (ranking key 4).
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
//  1. with credentials: a configuration where the login succeeded before every other;
//  2. the verdict: usable, then insecure, then unusable (see Verdict) — a valid STARTTLS
//     server beats an implicit-TLS one with an expired certificate;
//  3. implicit TLS, then STARTTLS, then plain (RFC 8314 §3.3 and §5.1; plain is never above a
//     TLS option, since plain is never usable);
//  4. source trust (trust* above);
//  5. SRV priority, then higher weight (RFC 2782);
//  6. submission ports 465/587 before others, port 25 last (relay port, often blocked);
//  7. latency (only as a tie-break when sorting; never a reason to wait in fast mode).
type rankKey struct {
	// unverified is 1 unless a login succeeded here: a verified login ranks a configuration
	// above every unverified one (0 for all when no credentials were given).
	unverified                                             int
	verdict, security, trust, srvPriority, srvWeight, port int
}

func (a rankKey) compare(b rankKey) int {
	return cmp.Or(
		cmp.Compare(a.unverified, b.unverified),
		cmp.Compare(a.verdict, b.verdict),
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

func verdictRank(v Verdict) int {
	switch v {
	case Usable:
		return 0
	case Insecure:
		return 1
	}
	return 2
}

// keyOf is the rank key of a candidate's configuration with the verdict it got.
func keyOf(c *candidate, sec probe.Security, v Verdict) rankKey {
	k := c.potential()
	k.security = securityRank(sec)
	k.verdict = verdictRank(v)
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
		k.verdict = verdictRank(Insecure) // plain is never usable
	}
	return k
}

// prio orders probe jobs across an engine: discoveries in the order they started, then each
// discovery's candidates by their potential rank key, then in the order they were proposed.
type prio struct {
	seq uint64
	key rankKey
	n   int
}

func (a prio) less(b prio) bool {
	return cmp.Or(cmp.Compare(a.seq, b.seq), a.key.compare(b.key), cmp.Compare(a.n, b.n)) < 0
}

// sortConfigs orders configurations by protocol (smtp, imap, pop3), then rank key, then
// latency, then host and port for a stable answer, and numbers them per protocol.
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

// rankedConfig is a configuration with what ranking and verification need to know.
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
