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

	"github.com/mailscout/mailscout/probe"
)

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

// sourceRun is one running source, its report entry and the best trust it could give a
// candidate (for --fast's "could anything pending still outrank the best?" test).
type sourceRun struct {
	report *SourceReport
	bound  int
	srv    bool // an SRV lookup: its candidates can carry any SRV priority
}

// startSource registers a source and runs fn in the group. The registration happens before
// fn starts, so a source that spawns another (MX → provider) never leaves a gap in which
// nothing seems pending.
func (d *discovery) startSource(kind, name string, bound int, fn func(ctx context.Context, s *sourceRun) error) {
	s := &sourceRun{report: &SourceReport{Kind: kind, URLOrName: name}, bound: bound, srv: kind == SourceSRV}
	d.mu.Lock()
	d.sources = append(d.sources, s.report)
	d.pendingSources[s] = true
	d.mu.Unlock()
	d.group.Go(func() error {
		err := fn(d.ctx, s)
		d.mu.Lock()
		s.report.OK = err == nil
		if err != nil {
			s.report.Error = err.Error()
		}
		delete(d.pendingSources, s)
		d.mu.Unlock()
		d.send(event{kind: evSource, detail: fmt.Sprintf("%s %s: %s", kind, name, okOr(err))})
		return nil
	})
}

func okOr(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// propose hands a proposal to the scheduler, counting it for the source's report.
func (d *discovery) propose(s *sourceRun, p proposal) {
	if !d.wants(p.target.Protocol) {
		return
	}
	d.mu.Lock()
	s.report.Candidates++
	d.mu.Unlock()
	d.send(event{kind: evProposal, prop: p})
}

func (d *discovery) wants(p probe.Protocol) bool { return slices.Contains(d.opts.Protocols, p) }

// startSources launches every source for the user's domain.
func (d *discovery) startSources() {
	dom := d.target.Domain
	d.startSource(SourceMX, "MX "+dom, trustThirdHand, d.mxSource)
	for _, svc := range srvServices {
		if !d.wants(svc.protocol) {
			continue
		}
		name := svc.label + "." + dom
		d.startSource(SourceSRV, "SRV "+name, trustDomain, func(ctx context.Context, s *sourceRun) error {
			return d.srvSource(ctx, s, name, svc.protocol, svc.security)
		})
	}
	q := ""
	if d.target.Address != "" {
		q = "?emailaddress=" + url.QueryEscape(d.target.Address)
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
		d.startSource(SourceAutoconfig, u, bound, func(ctx context.Context, s *sourceRun) error {
			return d.autoconfigSource(ctx, s, u, SourceAutoconfig, trustDomain, false)
		})
	}
	if !d.opts.NoISPDB {
		u := d.opts.ISPDB + dom
		d.startSource(SourceISPDB, u, trustThirdHand, func(ctx context.Context, s *sourceRun) error {
			return d.autoconfigSource(ctx, s, u, SourceISPDB, trustThirdHand, false)
		})
	}
	d.startSource(SourceGuess, "host names under "+dom, trustGuess, func(ctx context.Context, s *sourceRun) error {
		d.guessSource(s, dom, SourceGuess, "", false)
		return nil
	})
}

func (d *discovery) srvSource(ctx context.Context, s *sourceRun, name string, p probe.Protocol, sec probe.Security) error {
	recs, authentic, err := d.resolver.LookupSRV(ctx, name)
	if err != nil {
		if errors.Is(err, ErrNXDomain) {
			return nil // no such record: the common case, not a failure
		}
		return err
	}
	slices.SortStableFunc(recs, func(a, b SRV) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(b.Weight, a.Weight))
	})
	d.mu.Lock()
	d.srvAuthentic = d.srvAuthentic && authentic
	for _, r := range recs {
		target := r.Target
		if target == "" {
			target = "."
		}
		d.dns.SRV = append(d.dns.SRV, SRVReport{Service: name, Target: target, Port: r.Port, Priority: r.Priority, Weight: r.Weight})
	}
	d.mu.Unlock()
	for _, r := range recs {
		if r.Target == "" {
			// RFC 2782 / RFC 6186 §3.4: target "." means the service is decidedly not offered.
			d.mu.Lock()
			d.notOffered[p]++
			d.mu.Unlock()
			d.warn(WarnNoServices, fmt.Sprintf("%s has target \".\": the domain says this service is not offered", name))
			continue
		}
		trust, untrusted := trustDomain, false
		if !authentic && !inDomain(r.Target, d.target.Domain) {
			// RFC 8314 §5.1: trust an SRV target only if the answer was DNSSEC-signed or the
			// target is within the domain.
			trust, untrusted = trustThirdHand, true
		}
		rec := r
		d.propose(s, proposal{
			target: probe.Target{Protocol: p, Host: r.Target, Port: int(r.Port), Security: sec},
			source: SourceSRV, detail: "SRV " + name, trust: trust, srv: &rec, untrusted: untrusted,
		})
	}
	return nil
}

func (d *discovery) mxSource(ctx context.Context, s *sourceRun) error {
	recs, authentic, err := d.resolver.LookupMX(ctx, d.target.Domain)
	if err != nil {
		if errors.Is(err, ErrNXDomain) {
			d.mu.Lock()
			d.nxdomain = true
			d.mu.Unlock()
			return fmt.Errorf("the domain %s does not exist (NXDOMAIN)", d.target.Domain)
		}
		return err
	}
	slices.SortStableFunc(recs, func(a, b MX) int {
		return cmp.Or(cmp.Compare(a.Preference, b.Preference), cmp.Compare(a.Host, b.Host))
	})
	var hosts []MX
	d.mu.Lock()
	d.mxAuthentic = authentic
	for _, r := range recs {
		if r.Host == "" {
			// RFC 7505: a single "MX 0 ." says the domain accepts no mail at all.
			d.dns.NullMX = true
			d.dns.MX = append(d.dns.MX, MX{Host: ".", Preference: r.Preference})
			continue
		}
		d.dns.MX = append(d.dns.MX, r)
		hosts = append(hosts, r)
	}
	nullMX := d.dns.NullMX
	d.mu.Unlock()
	if nullMX {
		d.warn(WarnNullMX, d.target.Domain+" publishes a null MX (RFC 7505): it does not accept mail")
	}
	// The best-preference exchangers (at most two) are also tried as the domain's own servers.
	for i, mx := range hosts {
		if i == 2 || mx.Preference != hosts[0].Preference {
			break
		}
		for _, p := range d.opts.Protocols {
			for _, gp := range guessPorts[p] {
				if p == probe.SMTP && gp.port == 25 {
					continue // the MX on 25 is the relay; users submit on 465/587
				}
				d.propose(s, proposal{
					target: probe.Target{Protocol: p, Host: mx.Host, Port: gp.port, Security: gp.security},
					source: SourceMX, detail: "MX " + mx.Host, trust: trustGuess,
					untrusted: !inDomain(mx.Host, d.target.Domain) && !authentic,
				})
			}
		}
	}
	if len(hosts) > 0 {
		d.startProviderSources(hosts[0].Host, authentic)
	}
	return nil
}

// startProviderSources looks behind the MX host for the hosting provider, as Thunderbird's
// forMX does: the MX host minus its first label and its registrable domain (public suffix
// list), when those differ from the user's domain.
func (d *discovery) startProviderSources(mxHost string, authentic bool) {
	var domains []string
	if _, parent, ok := strings.Cut(mxHost, "."); ok && strings.Contains(parent, ".") {
		domains = append(domains, parent)
	}
	if reg, err := publicsuffix.EffectiveTLDPlusOne(mxHost); err == nil && !slices.Contains(domains, reg) {
		domains = append(domains, reg)
	}
	userReg, _ := publicsuffix.EffectiveTLDPlusOne(d.target.Domain)
	for _, pd := range domains {
		if inDomain(pd, d.target.Domain) || pd == userReg {
			continue // the MX is the domain's own: nothing more to learn behind it
		}
		u := "https://autoconfig." + pd + "/mail/config-v1.1.xml"
		d.startSource(SourceProvider, u, trustThirdHand, func(ctx context.Context, s *sourceRun) error {
			return d.autoconfigSource(ctx, s, u, SourceProvider, trustThirdHand, !authentic)
		})
		if !d.opts.NoISPDB {
			iu := d.opts.ISPDB + pd
			d.startSource(SourceISPDB, iu, trustThirdHand, func(ctx context.Context, s *sourceRun) error {
				return d.autoconfigSource(ctx, s, iu, SourceISPDB, trustThirdHand, !authentic)
			})
		}
		if reg, _ := publicsuffix.EffectiveTLDPlusOne(pd); reg == pd {
			detail := fmt.Sprintf("guessed under %s, the provider behind MX %s", pd, mxHost)
			if !authentic {
				detail = fmt.Sprintf("guessed under %s, the provider behind the unsigned MX %s", pd, mxHost)
			}
			d.startSource(SourceProvider, "host names under "+pd, trustGuess, func(ctx context.Context, s *sourceRun) error {
				d.guessSource(s, pd, SourceProvider, detail, !authentic)
				return nil
			})
		}
	}
}

func (d *discovery) autoconfigSource(ctx context.Context, s *sourceRun, u, kind string, trust int, untrustedPath bool) error {
	fctx, cancel := context.WithTimeout(ctx, d.opts.FetchTimeout)
	defer cancel()
	res, err := fetch(fctx, d.http, u)
	if err != nil {
		return err
	}
	doc, err := ParseAutoconfig(res.Body, d.target.Domain)
	if err != nil {
		return err
	}
	httpOnly := !res.AllHTTPS
	if httpOnly {
		trust = trustHTTP
	}
	for _, srv := range doc.Servers {
		outside := !inDomain(srv.Host, d.target.Domain)
		d.propose(s, proposal{
			target:    probe.Target{Protocol: srv.Protocol, Host: srv.Host, Port: srv.Port, Security: srv.Security},
			source:    kind,
			detail:    autoconfigDetail(res.FinalURL, untrustedPath),
			trust:     trust,
			username:  srv.Username,
			untrusted: outside && (httpOnly || untrustedPath),
			httpOnly:  httpOnly,
		})
	}
	return nil
}

func (d *discovery) guessSource(s *sourceRun, domain, kind, detail string, untrusted bool) {
	for _, p := range d.opts.Protocols {
		for _, gp := range guessPorts[p] {
			for _, h := range guessHosts(p, domain) {
				d.propose(s, proposal{
					target: probe.Target{Protocol: p, Host: h, Port: gp.port, Security: gp.security},
					source: kind, detail: detail, trust: trustGuess, untrusted: untrusted,
				})
			}
		}
	}
}

func (d *discovery) warn(code, text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.warnings {
		if w.Code == code && w.Text == text {
			return
		}
	}
	d.warnings = append(d.warnings, probe.Warning{Code: code, Text: text})
}

func autoconfigDetail(u string, untrustedPath bool) string {
	if untrustedPath {
		return u + " (via the unsigned MX)"
	}
	return u
}
