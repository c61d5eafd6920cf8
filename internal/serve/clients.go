package serve

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mailscout/mailscout/clientconfig"
	"github.com/mailscout/mailscout/discover"
)

// The mail-client endpoints answer what a client asks when it sets up an account by itself,
// from a verified discovery (discoverer.forClients). Which domain is discovered:
//
//   - the domain of the address the client sends (Thunderbird adds ?emailaddress=, Outlook
//     puts it in the Autodiscover body), when the service answers for it;
//   - otherwise the domain the request was addressed to: autoconfig.<domain> or
//     autodiscover.<domain> in the Host header, or <domain> itself for the .well-known path
//     (a domain name, never an IP address, and with --domains a listed one).
//     Thunderbird for Android sends no address at all, and Thunderbird asks a provider's
//     autoconfig.<provider> for its customers' addresses (its MX-based lookup); the provider's
//     own settings are then the answer, and usernames stay templates the client fills in.
//
// With --domains only listed domains are discovered, whoever asks for what: the service is
// then nobody's open discovery proxy.
//
// The documents are built only from discoveries of the bare domain (discoverer.forClients), so
// their usernames are the domain's templates ("%EMAILADDRESS%", "%EMAILLOCALPART%.corp"), never
// one user's login name filled in from that user's address.

// clientDomain picks the domain to answer for; "" means none the service may answer for.
func (s *Server) clientDomain(t discover.Target, hasAddress bool, r *http.Request, prefix string) string {
	if hasAddress && s.servesDomain(t.Domain) {
		return t.Domain
	}
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	if d, ok := strings.CutPrefix(host, prefix); ok {
		if d, ok := s.answersFor(d); ok {
			return d
		}
	}
	if r.URL.Path == wellKnownAutoconfig {
		if d, ok := s.answersFor(host); ok {
			return d
		}
	}
	return ""
}

// answersFor says whether the service answers for the domain a Host header names, and returns
// it normalised: a domain name (not an IP address, which the SSRF rules refuse as a target),
// and a listed one with --domains.
func (s *Server) answersFor(host string) (string, bool) {
	t, err := discover.ParseTarget(host)
	if err != nil || t.Address != "" || checkTargetDomain(t.Domain, s.cfg.AllowPrivate) != nil {
		return "", false
	}
	return t.Domain, s.servesDomain(t.Domain)
}

const wellKnownAutoconfig = "/.well-known/autoconfig/mail/config-v1.1.xml"

func (s *Server) servesDomain(d string) bool {
	return len(s.cfg.Domains) == 0 || slices.Contains(s.cfg.Domains, d)
}

// emailParam reads ?emailaddress=. A "+" in an address that the client did not escape arrives
// as a space (stalwartlabs/stalwart#1042); no address has a space, so it is put back.
func emailParam(r *http.Request) string {
	return strings.ReplaceAll(strings.TrimSpace(r.URL.Query().Get("emailaddress")), " ", "+")
}

// parseAddress reads an optional address: ok false when there is none, an error when there is
// one that is not an address. The address goes into documents (an Apple profile's account, an
// Autodiscover LoginName), so what no document can hold is refused here, as the client's
// mistake: control characters, spaces, angle brackets, an "@" or invalid UTF-8 in the local
// part, a local part over 64 octets (RFC 5321 §4.5.3.1.1).
func (s *Server) parseAddress(addr string) (discover.Target, bool, error) {
	if addr == "" {
		return discover.Target{}, false, nil
	}
	t, err := discover.ParseTarget(addr)
	if err != nil || t.Address == "" || !validLocalPart(t.LocalPart) {
		return t, false, newError(codeBadTarget, "emailaddress %q is not an e-mail address", addr)
	}
	if err := checkTargetDomain(t.Domain, s.cfg.AllowPrivate); err != nil {
		return t, false, err
	}
	return t, true, nil
}

func validLocalPart(local string) bool {
	if local == "" || len(local) > 64 || !utf8.ValidString(local) {
		return false
	}
	for _, r := range local {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == '@' || unicode.IsControl(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// clientAccount returns the verified settings of the domain, as clientconfig's Account, from a
// discovery of the bare domain (see discoverer.forClients): its usernames are templates.
func (s *Server) clientAccount(ctx context.Context, r *http.Request, domain string) (clientconfig.Account, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ClientWait)
	defer cancel()
	res, err := s.disc.forClients(ctx, domain, s.client(r))
	if err != nil {
		return clientconfig.Account{}, err
	}
	return clientconfig.FromReport(settled(res)), nil
}

// settled keeps of a fast or incomplete discovery only the recommended configurations. Those
// are proven best; which alternatives had finished by then is a matter of timing (even whether
// a fast discovery ran to completion is), and a mail client asking twice should get the same
// document. A complete full discovery keeps every usable alternative.
func settled(res *result) *discover.Report {
	rep := res.Report
	if rep.Complete && !res.Key.fast {
		return rep
	}
	c := *rep
	c.Configs = slices.DeleteFunc(slices.Clone(rep.Configs), func(x discover.Config) bool {
		return !isChoice(rep.Recommended.Incoming, &x) && !isChoice(rep.Recommended.Outgoing, &x)
	})
	return &c
}

func isChoice(ch *discover.Choice, c *discover.Config) bool {
	return ch != nil && ch.Protocol == c.Protocol && ch.Host == c.Host && ch.Port == c.Port && ch.Security == c.Security
}

// nothingUsable is the answer when clientconfig finds no usable server of both kinds.
func nothingUsable(domain string, err error) error {
	return newError(codeNotFound, "no verified configuration for %s: %v", domain, err)
}

// autoconfig is GET /mail/config-v1.1.xml and /.well-known/autoconfig/mail/config-v1.1.xml:
// Mozilla clientConfig v1.1, 404 when nothing usable was found.
func (s *Server) autoconfig(w http.ResponseWriter, r *http.Request) {
	if err := s.admit(r); err != nil {
		writeError(w, err)
		return
	}
	t, hasAddr, err := s.parseAddress(emailParam(r))
	if err != nil {
		writeError(w, err)
		return
	}
	domain := s.clientDomain(t, hasAddr, r, "autoconfig.")
	if domain == "" {
		writeError(w, s.notServed(t, hasAddr))
		return
	}
	acct, err := s.clientAccount(r.Context(), r, domain)
	if err != nil {
		writeError(w, err)
		return
	}
	var buf bytes.Buffer
	if err := clientconfig.WriteAutoconfig(&buf, acct); err != nil {
		writeError(w, s.documentError(domain, t.Address, err))
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(buf.Bytes())
}

// notServed says why no domain could be picked.
func (s *Server) notServed(t discover.Target, hasAddr bool) error {
	if hasAddr {
		return newError(codeNotFound, "this service does not answer for %s", t.Domain)
	}
	return newError(codeBadTarget, "emailaddress is missing, and the request was addressed neither to autoconfig.<domain> nor, at the well-known path, to <domain> of a domain this service answers for")
}

// documentError maps a clientconfig error: nothing usable is 404, anything else a bug. The log
// line names the domain; the address, which the error's text may quote, is taken out of it.
func (s *Server) documentError(domain, address string, err error) error {
	if errors.Is(err, clientconfig.ErrNothingUsable) {
		return nothingUsable(domain, err)
	}
	s.log.Error("client document", "domain", domain, "err", scrubAddress(err.Error(), address))
	return newError(codeInternal, "the document could not be written")
}

// mobileconfig is GET /v1/profile.mobileconfig: an unsigned Apple configuration profile with
// the account's mail payload. It needs the address: a profile is one account.
func (s *Server) mobileconfig(w http.ResponseWriter, r *http.Request) {
	if err := s.admit(r); err != nil {
		writeError(w, err)
		return
	}
	t, hasAddr, err := s.parseAddress(emailParam(r))
	switch {
	case err != nil:
		writeError(w, err)
		return
	case !hasAddr:
		writeError(w, newError(codeBadTarget, "emailaddress is missing: a profile sets up one account"))
		return
	case !s.servesDomain(t.Domain):
		writeError(w, newError(codeNotFound, "this service does not answer for %s", t.Domain))
		return
	}
	acct, err := s.clientAccount(r.Context(), r, t.Domain)
	if err != nil {
		writeError(w, err)
		return
	}
	acct.Email = t.Address
	var buf bytes.Buffer
	err = clientconfig.WriteMobileConfig(&buf, acct, clientconfig.MobileConfigOptions{Identifier: s.cfg.ProfileIdentifier, Organization: s.cfg.Organization})
	if err != nil {
		writeError(w, s.documentError(t.Domain, t.Address, err))
		return
	}
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="`+t.Domain+`.mobileconfig"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
