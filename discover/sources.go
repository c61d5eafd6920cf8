package discover

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/mailscout/mailscout/internal/netaddr"
	"github.com/mailscout/mailscout/probe"
)

// Sources only look things up: each runs on a goroutine of its own and ends by sending one
// finding to the scheduler, which alone decides what the finding means (candidates, follow-up
// sources, warnings). This file has both halves: the lookups, and the scheduler's handling of
// what they found.

// srvServices are the RFC 6186 and RFC 8314 §5.1 service labels, each with the security its
// definition implies: "_submission" and "_imap"/"_pop3" allow STARTTLS upgrades, the "s"
// forms are implicit TLS.
var srvServices = []struct {
	label    string
	protocol probe.Protocol
	security probe.Security
}{
	{"_submissions._tcp", probe.SMTP, probe.TLS},
	{"_submission._tcp", probe.SMTP, probe.StartTLS},
	{"_imaps._tcp", probe.IMAP, probe.TLS},
	{"_imap._tcp", probe.IMAP, probe.StartTLS},
	{"_pop3s._tcp", probe.POP3, probe.TLS},
	{"_pop3._tcp", probe.POP3, probe.StartTLS},
}

// guessPorts are Thunderbird's guessed ports and modes (GuessConfig.sys.mjs), implicit TLS first.
var guessPorts = map[probe.Protocol][]struct {
	port     int
	security probe.Security
}{
	probe.SMTP: {{465, probe.TLS}, {587, probe.StartTLS}, {25, probe.StartTLS}},
	probe.IMAP: {{993, probe.TLS}, {143, probe.StartTLS}},
	probe.POP3: {{995, probe.TLS}, {110, probe.StartTLS}},
}

// guessHosts are the host names tried per protocol: Thunderbird's list.
func guessHosts(p probe.Protocol, domain string) []string {
	switch p {
	case probe.SMTP:
		return []string{"smtp." + domain, "mail." + domain, domain}
	case probe.IMAP:
		return []string{"imap." + domain, "mail." + domain, domain}
	}
	return []string{"pop3." + domain, "pop." + domain, "mail." + domain, domain}
}

// sourceRun is one source: its report entry and, while it runs, the best candidate it could
// still name (for fast mode's "could anything pending still outrank the best?" test).
type sourceRun struct {
	report  *SourceReport
	bound   int  // best trust of what it could name
	srv     bool // an SRV lookup: its candidates can carry any SRV priority
	pending bool
}

// finding is what one source found: exactly one of its parts is set, besides err.
type finding struct {
	src *sourceRun
	err error

	mx *Answer[MX]

	srv      *Answer[SRV]
	srvName  string
	protocol probe.Protocol
	security probe.Security

	doc           *AutoconfigDoc
	fetched       fetchResult
	kind          string // autoconfig, ispdb or provider
	trust         int
	untrustedPath bool // reached through an MX answer that was not DNSSEC-signed
}

// startSource registers a source and runs look on a goroutine of the discovery; its finding
// comes back as an event.
func (s *scheduler) startSource(kind, name string, bound int, look func(ctx context.Context) finding) {
	src := &sourceRun{report: &SourceReport{Kind: kind, URLOrName: name}, bound: bound, srv: kind == SourceSRV, pending: true}
	s.sources = append(s.sources, src)
	s.pendingSources++
	s.group.Go(func() {
		f := look(s.loop)
		f.src = src
		s.inbox.push(event{finding: &f})
	})
}

// startSources launches every lookup that needs nothing but the domain. Guesses wait for the
// MX answer: a null MX (RFC 7505) or a domain that does not exist ends guessing.
func (s *scheduler) startSources() {
	dom := s.target.Domain
	s.startSource(SourceMX, "MX "+dom, trustThirdHand, func(ctx context.Context) finding {
		a, err := s.e.dns.LookupMX(ctx, dom)
		return finding{mx: &a, err: err}
	})
	for _, svc := range srvServices {
		if !s.wants(svc.protocol) {
			continue
		}
		name := svc.label + "." + dom
		s.startSource(SourceSRV, "SRV "+name, trustDomain, func(ctx context.Context) finding {
			a, err := s.e.dns.LookupSRV(ctx, name)
			return finding{srv: &a, srvName: name, protocol: svc.protocol, security: svc.security, err: err}
		})
	}
	q := ""
	if s.target.Address != "" {
		q = "?emailaddress=" + url.QueryEscape(s.target.Address)
	}
	for _, u := range []string{
		"https://autoconfig." + dom + "/mail/config-v1.1.xml" + q,
		"https://" + dom + "/.well-known/autoconfig/mail/config-v1.1.xml" + q,
		"http://autoconfig." + dom + "/mail/config-v1.1.xml" + q,
		"http://" + dom + "/.well-known/autoconfig/mail/config-v1.1.xml" + q,
	} {
		bound := trustDomain
		if strings.HasPrefix(u, "http:") {
			bound = trustHTTP
		}
		s.startAutoconfig(SourceAutoconfig, u, trustDomain, bound, false)
	}
	if !s.opts.NoISPDB {
		s.startAutoconfig(SourceISPDB, s.opts.ISPDB+dom, trustThirdHand, trustThirdHand, false)
	}
}

func (s *scheduler) startAutoconfig(kind, u string, trust, bound int, untrustedPath bool) {
	s.startSource(kind, u, bound, func(ctx context.Context) finding {
		f := finding{kind: kind, trust: trust, untrustedPath: untrustedPath}
		fctx, cancel := context.WithTimeout(ctx, s.opts.FetchTimeout)
		defer cancel()
		may := func(classes []netaddr.Class) bool { return s.guard.allowsClasses(fctx, classes) }
		f.fetched, f.err = s.e.fetches.get(fctx, u, s.opts.Fresh, may, func(ctx context.Context) (fetchResult, error) { return s.fetcher.fetch(ctx, u) })
		if f.err == nil {
			f.doc, f.err = ParseAutoconfig(f.fetched.Body, s.target.Domain)
		}
		return f
	})
}

func (s *scheduler) wants(p probe.Protocol) bool { return slices.Contains(s.opts.Protocols, p) }

// found handles a source's finding.
func (s *scheduler) found(f *finding) {
	src := f.src
	src.pending = false
	s.pendingSources--
	src.report.OK = f.err == nil
	switch {
	case f.mx != nil:
		s.foundMX(f)
	case f.srv != nil:
		s.foundSRV(f)
	default:
		s.foundAutoconfig(f)
	}
	if f.err != nil && src.report.Error == "" {
		src.report.Error = f.err.Error()
	}
	s.progress(Event{Kind: EventSource, Source: src.report.Kind, Name: src.report.URLOrName, OK: src.report.OK, Error: src.report.Error})
}

func (s *scheduler) foundMX(f *finding) {
	dom := s.target.Domain
	switch {
	case errors.Is(f.err, ErrNXDomain):
		s.nxdomain = true
		f.src.report.Error = fmt.Sprintf("the domain %s does not exist (NXDOMAIN)", dom)
		return // RFC 8020: nothing exists below a name that does not exist; no guessing
	case f.err != nil:
		s.noteDNSFailure(f.err)
		s.startGuesses(dom) // the resolver failed, not the name: guesses may still answer
		return
	}
	recs := slices.Clone(f.mx.Records)
	slices.SortStableFunc(recs, func(a, b MX) int {
		return cmp.Or(cmp.Compare(a.Preference, b.Preference), cmp.Compare(a.Host, b.Host))
	})
	if len(recs) > MaxMXHosts {
		s.warn(WarnCapped, fmt.Sprintf("%s publishes %d MX records; the %d most preferred were kept", dom, len(recs), MaxMXHosts))
		recs = recs[:MaxMXHosts]
	}
	s.mxAuthentic = f.mx.Authentic
	var hosts []MX
	for _, r := range recs {
		if r.Host == "" {
			// RFC 7505: "MX 0 ." says the domain accepts no mail at all.
			s.dns.NullMX = true
			s.dns.MX = append(s.dns.MX, MX{Host: ".", Preference: r.Preference})
			continue
		}
		if !validHostname(r.Host) {
			// A host name goes into probe targets and autoconfig URLs: ":8443/x?#" in an MX
			// answer must not choose a port or a path.
			s.warn(WarnBadRecord, fmt.Sprintf("an MX record of %s names %q, which is not a host name; it was ignored", dom, r.Host))
			continue
		}
		s.dns.MX = append(s.dns.MX, r)
		hosts = append(hosts, r)
		s.mxHosts[r.Host] = true
	}
	if s.dns.NullMX {
		s.warn(WarnNullMX, dom+" publishes a null MX (RFC 7505): it accepts no mail, so no host names are guessed")
		return // SRV and autoconfig are still honoured; nothing is made up
	}
	// The best-preference exchangers (at most two) are also tried as the domain's own servers.
	for i, mx := range hosts {
		if i == 2 || mx.Preference != hosts[0].Preference {
			break
		}
		for _, p := range s.opts.Protocols {
			for _, gp := range guessPorts[p] {
				if p == probe.SMTP && gp.port == 25 {
					continue // the MX on 25 is the relay; users submit on 465/587
				}
				s.propose(f.src, proposal{
					target: probe.Target{Protocol: p, Host: mx.Host, Port: gp.port, Security: gp.security},
					source: SourceMX, detail: "MX " + mx.Host, trust: trustGuess,
					untrusted: !inDomain(mx.Host, dom) && !f.mx.Authentic,
				})
			}
		}
	}
	if len(hosts) > 0 {
		s.startProviderSources(hosts[0].Host, f.mx.Authentic)
	}
	s.startGuesses(dom)
}

// startGuesses proposes the well-known host names of domain; it counts as a source of its own.
func (s *scheduler) startGuesses(domain string) {
	src := &sourceRun{report: &SourceReport{Kind: SourceGuess, URLOrName: "host names under " + domain, OK: true, Guessed: true}}
	s.sources = append(s.sources, src)
	s.guess(src, domain, SourceGuess, "", false)
}

func (s *scheduler) guess(src *sourceRun, domain, kind, detail string, untrusted bool) {
	for _, p := range s.opts.Protocols {
		for _, gp := range guessPorts[p] {
			for _, h := range guessHosts(p, domain) {
				s.propose(src, proposal{
					target: probe.Target{Protocol: p, Host: h, Port: gp.port, Security: gp.security},
					source: kind, detail: detail, trust: trustGuess, untrusted: untrusted,
				})
			}
		}
	}
}

// startProviderSources looks behind the MX host for the hosting provider, as Thunderbird's
// forMX does: the MX host minus its first label and its registrable domain (public suffix
// list), when those differ from the user's domain.
func (s *scheduler) startProviderSources(mxHost string, authentic bool) {
	var domains []string
	if _, parent, ok := strings.Cut(mxHost, "."); ok && strings.Contains(parent, ".") {
		domains = append(domains, parent)
	}
	if reg, err := publicsuffix.EffectiveTLDPlusOne(mxHost); err == nil && !slices.Contains(domains, reg) {
		domains = append(domains, reg)
	}
	userReg, _ := publicsuffix.EffectiveTLDPlusOne(s.target.Domain)
	for _, pd := range domains {
		if inDomain(pd, s.target.Domain) || pd == userReg {
			continue // the MX is the domain's own: nothing more to learn behind it
		}
		s.startAutoconfig(SourceProvider, "https://autoconfig."+pd+"/mail/config-v1.1.xml", trustThirdHand, trustThirdHand, !authentic)
		if !s.opts.NoISPDB {
			s.startAutoconfig(SourceISPDB, s.opts.ISPDB+pd, trustThirdHand, trustThirdHand, !authentic)
		}
		if reg, _ := publicsuffix.EffectiveTLDPlusOne(pd); reg == pd {
			detail := fmt.Sprintf("guessed under %s, the provider behind MX %s", pd, mxHost)
			if !authentic {
				detail = fmt.Sprintf("guessed under %s, the provider behind the unsigned MX %s", pd, mxHost)
			}
			src := &sourceRun{report: &SourceReport{Kind: SourceProvider, URLOrName: "host names under " + pd, OK: true, Guessed: true}}
			s.sources = append(s.sources, src)
			s.guess(src, pd, SourceProvider, detail, !authentic)
		}
	}
}

func (s *scheduler) foundSRV(f *finding) {
	if errors.Is(f.err, ErrNXDomain) {
		f.err = nil // no such record: the common case, not a failure
		f.src.report.OK = true
		return
	}
	if f.err != nil {
		s.noteDNSFailure(f.err)
		return
	}
	recs := slices.Clone(f.srv.Records)
	slices.SortStableFunc(recs, func(a, b SRV) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(b.Weight, a.Weight))
	})
	if len(recs) > MaxSRVTargets {
		s.warn(WarnCapped, fmt.Sprintf("%s has %d SRV records; the %d with the best priority were kept", f.srvName, len(recs), MaxSRVTargets))
		recs = recs[:MaxSRVTargets]
	}
	s.srvAuthentic = s.srvAuthentic && f.srv.Authentic
	recs = slices.DeleteFunc(recs, func(r SRV) bool {
		if r.Target == "" || validHostname(r.Target) {
			return false
		}
		s.warn(WarnBadRecord, fmt.Sprintf("%s names %q, which is not a host name; it was ignored", f.srvName, r.Target))
		return true
	})
	for _, r := range recs {
		target := r.Target
		if target == "" {
			target = "."
		}
		s.dns.SRV = append(s.dns.SRV, SRVReport{Service: f.srvName, Target: target, Port: r.Port, Priority: r.Priority, Weight: r.Weight})
	}
	for _, r := range recs {
		if r.Target == "" {
			// RFC 2782 / RFC 6186 §3.4: target "." means the service is decidedly not offered.
			s.notOffered[f.protocol]++
			s.warn(WarnNoServices, fmt.Sprintf("%s has target \".\": the domain says this service is not offered", f.srvName))
			continue
		}
		if r.Port == 0 {
			continue
		}
		trust, untrusted := trustDomain, false
		if !f.srv.Authentic && !inDomain(r.Target, s.target.Domain) {
			// RFC 8314 §5.1: trust an SRV target only if the answer was DNSSEC-signed or the
			// target is within the domain.
			trust, untrusted = trustThirdHand, true
		}
		rec := r
		s.propose(f.src, proposal{
			target: probe.Target{Protocol: f.protocol, Host: r.Target, Port: int(r.Port), Security: f.security},
			source: SourceSRV, detail: "SRV " + f.srvName, trust: trust, srv: &rec, untrusted: untrusted,
		})
	}
}

func (s *scheduler) foundAutoconfig(f *finding) {
	if f.err != nil || f.doc == nil {
		return
	}
	trust := f.trust
	httpOnly := !f.fetched.AllHTTPS
	if httpOnly {
		trust = trustHTTP
	}
	detail := f.fetched.FinalURL
	if f.untrustedPath {
		detail += " (via the unsigned MX)"
	}
	perProtocol := map[probe.Protocol]int{}
	for _, srv := range f.doc.Servers {
		if perProtocol[srv.Protocol]++; perProtocol[srv.Protocol] > maxAutoconfigHosts {
			s.warn(WarnCapped, fmt.Sprintf("%s lists more than %d %s servers; the first %d were kept", f.fetched.FinalURL, maxAutoconfigHosts, srv.Protocol, maxAutoconfigHosts))
			continue
		}
		outside := !inDomain(srv.Host, s.target.Domain)
		s.propose(f.src, proposal{
			target:    probe.Target{Protocol: srv.Protocol, Host: srv.Host, Port: srv.Port, Security: srv.Security},
			source:    f.kind,
			detail:    detail,
			trust:     trust,
			username:  srv.Username,
			untrusted: outside && (httpOnly || f.untrustedPath),
			httpOnly:  httpOnly,
		})
	}
}

// noteDNSFailure remembers that the resolver, not the domain, failed a lookup; or that this
// machine did (out of descriptors), which is neither the resolver's fault nor the domain's.
func (s *scheduler) noteDNSFailure(err error) {
	if isResourceExhaustion(err) {
		s.noteLocalFailure(err)
		return
	}
	if !resolverFailed(err) {
		return
	}
	if s.dnsFailure == nil {
		s.dnsFailure = err
	}
	s.warn(WarnDNSError, err.Error())
}

// noteLocalFailure remembers that this machine ran out of descriptors or socket buffers.
func (s *scheduler) noteLocalFailure(err error) {
	if s.localFailure == nil {
		s.localFailure = err
		s.warn(WarnLocalResources, err.Error())
	}
}
