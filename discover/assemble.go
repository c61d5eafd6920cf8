package discover

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailscout/mailscout/internal/netaddr"
	"github.com/mailscout/mailscout/probe"
)

// working builds the configurations from the records: every result that answered as a mail
// server (usable or not), with its verdict and rank key.
func (s *scheduler) working() []rankedConfig {
	own := s.ownClasses()
	var out []rankedConfig
	for _, rec := range s.records {
		if !rec.r.OK {
			continue
		}
		cfg := s.config(rec, own)
		out = append(out, rankedConfig{Config: cfg, key: keyOf(rec.c, rec.r.Security, cfg.Verdict), cand: rec.c})
	}
	return out
}

// ownClasses are the address classes the domain's own servers live in (see guard).
func (s *scheduler) ownClasses() []netaddr.Class {
	if s.opts.Private != PrivateFlag {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.e.ctx, 2*time.Second)
	defer cancel()
	return s.guard.ownClasses(ctx)
}

// config is one record as the report shows it.
func (s *scheduler) config(rec record, own []netaddr.Class) Config {
	c := rec.c
	cfg := Config{Result: rec.r, Sources: sortedSources(c.sources), Username: UsernameHint(c.username, s.target)}
	cfg.Warnings = slices.Clone(rec.r.Warnings)
	if cfg.Warnings == nil {
		cfg.Warnings = []probe.Warning{}
	}
	if rec.derived {
		cfg.Warnings = append(cfg.Warnings, probe.Warning{Code: WarnDerivedPlain,
			Text: "plaintext session seen during the STARTTLS probe of the same port; no separate connection was made"})
	}
	if c.untrusted {
		cfg.Warnings = append(cfg.Warnings, probe.Warning{Code: WarnUntrustedHost,
			Text: fmt.Sprintf("%s is outside %s and was named over an untrusted path (%s): confirm it before sending a password", c.Host, s.target.Domain, strings.Join(c.details, "; "))})
	}
	if c.httpOnly {
		cfg.Warnings = append(cfg.Warnings, probe.Warning{Code: WarnHTTPSource,
			Text: "named only by an autoconfig file fetched over plain HTTP, which anyone on the path could have changed"})
	}
	if class := internalClass(c.addrs); class != "" && s.opts.Private == PrivateFlag && !slices.Contains(own, class) {
		cfg.Warnings = append(cfg.Warnings, probe.Warning{Code: WarnInternalAddress,
			Text: fmt.Sprintf("%s resolves to a %s address (%s), not a public one, unlike the domain's own servers: a domain should not point clients there", c.Host, class, c.addrs[0])})
	}
	cfg.Verdict, cfg.Blockers = judge(&cfg.Result, s.mxHosts[c.Host])
	cfg.VerdictText = explain(&cfg)
	return cfg
}

// report assembles the final Report from the final state.
func (s *scheduler) report(complete bool, working []rankedConfig) *Report {
	sortConfigs(working)
	r := &Report{
		Target:      s.target.Input,
		Proxy:       probe.ProxyURL(s.opts.Probe.Dial),
		Domain:      s.target.Domain,
		Protocols:   slices.Clone(s.opts.Protocols),
		Complete:    complete,
		DNS:         s.dns,
		Warnings:    slices.Clone(s.warnings),
		Connections: s.connections,
		Configs:     []Config{},
		Probes:      []Config{},
		Sources:     []SourceReport{},
	}
	if r.Warnings == nil {
		r.Warnings = []probe.Warning{}
	}
	r.DNS.DNSSEC = s.mxAuthentic && s.srvAuthentic
	if r.DNS.MX == nil {
		r.DNS.MX = []MX{}
	}
	if r.DNS.SRV == nil {
		r.DNS.SRV = []SRVReport{}
	}
	slices.SortStableFunc(r.DNS.SRV, func(a, b SRVReport) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Priority, b.Priority), cmp.Compare(b.Weight, a.Weight))
	})
	r.DNS.Hosts = s.hostReports()
	for _, src := range s.sources {
		r.Sources = append(r.Sources, *src.report)
	}
	if s.nxdomain {
		r.Warnings = append(r.Warnings, probe.Warning{Code: WarnNXDomain, Text: "the domain " + s.target.Domain + " does not exist in DNS"})
	}
	if s.dropped > 0 {
		r.Warnings = append(r.Warnings, probe.Warning{Code: WarnCapped, Text: fmt.Sprintf("%d more candidate servers were named than the %d a discovery probes; they were not probed", s.dropped, MaxCandidates)})
	}
	if !complete {
		why := map[probe.CutReason]string{
			probe.CutAnswered: "fast mode stopped once the best configuration of each protocol was proven",
			probe.CutDeadline: "the discovery deadline cut it short",
			probe.CutCanceled: "it was canceled",
		}[s.stopCause.Reason]
		r.Warnings = append(r.Warnings, probe.Warning{Code: WarnIncomplete, Text: "the report is incomplete: " + why})
	}
	// Warnings in a stable order, whatever order the lookups finished in.
	slices.SortStableFunc(r.Warnings, func(a, b probe.Warning) int { return cmp.Or(cmp.Compare(a.Code, b.Code), cmp.Compare(a.Text, b.Text)) })
	for _, c := range working {
		r.Configs = append(r.Configs, c.Config)
	}
	own := s.ownClasses()
	for _, rec := range s.records {
		if rec.derived {
			continue
		}
		cfg := s.config(rec, own)
		if i := slices.IndexFunc(working, func(w rankedConfig) bool { return w.cand == rec.c && w.Security == rec.r.Security }); i >= 0 {
			cfg.Auth = working[i].Auth
		}
		r.Probes = append(r.Probes, cfg)
	}
	// Probes in a stable order (protocol, host, port, security), whatever order they finished
	// in, so that two reports of one domain compare line by line.
	slices.SortStableFunc(r.Probes, func(a, b Config) int {
		return cmp.Or(cmp.Compare(protocolOrder(a.Protocol), protocolOrder(b.Protocol)), cmp.Compare(a.Host, b.Host),
			cmp.Compare(a.Port, b.Port), cmp.Compare(securityRank(a.Security), securityRank(b.Security)))
	})
	r.Recommended, r.Nearest = s.recommend(r.Configs, r.Probes)
	r.Diagnosis = s.diagnose(r)
	r.Elapsed = time.Since(s.start)
	return r
}

func (s *scheduler) hostReports() []HostReport {
	out := []HostReport{}
	for _, name := range s.hostOrder {
		h := s.hosts[name]
		if !h.done {
			continue
		}
		hr := HostReport{Host: name, Addresses: []string{}, Authentic: h.authentic, Internal: string(internalClass(h.addrs))}
		for _, a := range h.addrs {
			if s.opts.Private == PrivateRefuse && netaddr.Classify(a) != netaddr.Public {
				continue // withheld: see PrivateRefuse
			}
			hr.Addresses = append(hr.Addresses, a.String())
		}
		if h.err != nil {
			hr.Error = h.err.Error()
		}
		out = append(out, hr)
	}
	slices.SortFunc(out, func(a, b HostReport) int { return strings.Compare(a.Host, b.Host) })
	return out
}
