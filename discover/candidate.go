package discover

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/mailscout/mailscout/probe"
)

// candidate is one (protocol, host, port, security) to probe, with everything the sources said
// about it. The same tuple named by several sources is one candidate listing them all. Only the
// scheduler's goroutine touches it.
type candidate struct {
	probe.Target
	sources  []string // source kinds, first naming first
	details  []string // where exactly each source named it
	trust    int      // best trust among the sources
	srv      *SRV     // best SRV record naming it, if any
	username string   // autoconfig username template, if any
	// untrusted: outside the user's domain and named only over untrusted paths.
	untrusted bool
	httpOnly  bool // named only by autoconfig over plain HTTP
	order     int  // when it was first proposed

	addrs  []netip.Addr
	state  candState
	job    *job
	result *probe.Result
}

type candState int

const (
	stateResolving candState = iota
	stateQueued              // handed to the dispatcher
	stateDone
)

type candKey struct {
	protocol probe.Protocol
	host     string
	port     int
	security probe.Security
}

func (c *candidate) key() candKey { return candKey{c.Protocol, c.Host, c.Port, c.Security} }

// proposal is what a source's findings turn into: a candidate seen by one source.
type proposal struct {
	target    probe.Target
	source    string
	detail    string
	trust     int
	srv       *SRV
	username  string
	untrusted bool
	httpOnly  bool
}

// merge adds what another source said about the same tuple.
func (c *candidate) merge(p proposal) {
	if !slices.Contains(c.sources, p.source) {
		c.sources = append(c.sources, p.source)
	}
	if p.detail != "" && !slices.Contains(c.details, p.detail) {
		c.details = append(c.details, p.detail)
	}
	c.trust = max(c.trust, p.trust)
	if p.srv != nil && (c.srv == nil || p.srv.Priority < c.srv.Priority) {
		c.srv = p.srv
	}
	if c.username == "" {
		c.username = p.username
	}
	// Untrusted only if every source is: one trusted path naming the host is enough.
	c.untrusted = c.untrusted && p.untrusted
	c.httpOnly = c.httpOnly && p.httpOnly
}

func newCandidate(p proposal, order int) *candidate {
	c := &candidate{
		Target:    p.target,
		sources:   []string{p.source},
		trust:     p.trust,
		srv:       p.srv,
		username:  p.username,
		untrusted: p.untrusted,
		httpOnly:  p.httpOnly,
		order:     order,
	}
	if p.detail != "" {
		c.details = []string{p.detail}
	}
	return c
}

// onlyGuessed: no source vouched for the host; it was made up from the domain or the MX.
func (c *candidate) onlyGuessed() bool {
	return !slices.ContainsFunc(c.sources, func(k string) bool {
		return k != SourceGuess && k != SourceMX && k != SourceProvider
	})
}

// inDomain reports whether host is domain or below it.
func inDomain(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// sourceOrder is the order sources are listed in: most authoritative first.
var sourceOrder = []string{SourceSRV, SourceAutoconfig, SourceISPDB, SourceProvider, SourceMX, SourceGuess}

func sortedSources(kinds []string) []string {
	out := slices.Clone(kinds)
	slices.SortStableFunc(out, func(a, b string) int { return slices.Index(sourceOrder, a) - slices.Index(sourceOrder, b) })
	return out
}
