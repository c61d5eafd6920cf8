package discover

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/mailscout/mailscout/probe"
)

// candidate is one (protocol, host, port, security) to probe, with everything the sources said
// about it. The same tuple named by several sources is one candidate listing them all.
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

	// Scheduling state, owned by the scheduler loop.
	addrs    []netip.Addr
	state    candState
	result   *probe.Result
	adaptErr atomic.Pointer[string]         // why a wait was cut short by what other probes learned
	dialed   atomic.Pointer[netip.AddrPort] // the address the probe connected to
}

type candState int

const (
	stateResolving candState = iota
	stateQueued
	stateRunning
	stateDone
)

func (c *candidate) key() string {
	return fmt.Sprintf("%s|%s|%d|%s", c.Protocol, c.Host, c.Port, c.Security)
}

// proposal is what a source emits: a candidate seen by one source.
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
	if p.trust > c.trust {
		c.trust = p.trust
	}
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

func newCandidate(p proposal) *candidate {
	return &candidate{
		Target:    p.target,
		sources:   []string{p.source},
		details:   nonEmpty(p.detail),
		trust:     p.trust,
		srv:       p.srv,
		username:  p.username,
		untrusted: p.untrusted,
		httpOnly:  p.httpOnly,
	}
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// inDomain reports whether host is domain or below it.
func inDomain(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}
