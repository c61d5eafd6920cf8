package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
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

// emailParam reads ?emailaddress= from the raw query, decoding %XX escapes but keeping a raw
// "+" a "+", where form decoding (url.Values) reads a space. An address has no space outside
// quotes, and clients that build the URL by hand leave the "+" of a subaddress unescaped
// (mustang-im/mustang#474: "?emailaddress=ben+b@…"); a space sent as %20 stays a space, and
// parseAddress refuses it. Nothing turns a space into a "+": "a%20b@…" is refused, never read
// as someone else's "a+b@…". The one ambiguous case is refused too: a raw "+" in a quoted local
// part, where a form-encoding client means a space and a hand-built URL a "+". A value that is
// not validly escaped is refused, rather than dropped as url.ParseQuery drops it.
func emailParam(r *http.Request) (string, error) {
	var value string
	for _, pair := range strings.Split(r.URL.RawQuery, "&") {
		name, v, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err != nil || n != "emailaddress" {
			continue
		}
		value = v
		break
	}
	addr, err := url.PathUnescape(value) // PathUnescape leaves "+" alone
	if err != nil {
		return "", newError(codeBadTarget, "emailaddress is not validly escaped: %v", err)
	}
	addr = strings.TrimSpace(addr)
	if strings.HasPrefix(addr, `"`) && strings.Contains(value, "+") { // no domain has a "+": it is in the local part
		return "", newError(codeBadTarget, `emailaddress has an unescaped "+" in a quoted local part, which may mean a space or a "+": escape it as %%2B (a "+") or %%20 (a space)`)
	}
	return addr, nil
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
	if ipErr := (*discover.IPAddressError)(nil); errors.As(err, &ipErr) {
		return t, false, checkTargetDomain(ipErr.Addr.String(), s.cfg.AllowPrivate) // private_address or bad_target
	}
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
func (s *Server) clientAccount(ctx context.Context, r *http.Request, domain string) (clientAccount, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ClientWait)
	defer cancel()
	res, err := s.disc.forClients(ctx, domain, s.client(r))
	if err != nil {
		return clientAccount{}, err
	}
	rep := settled(res)
	return clientAccount{Account: clientconfig.FromReport(rep), report: rep}, nil
}

// clientAccount is the account a document is written from, and the report it was taken from,
// which says what is in the way when a direction has nothing usable (see unusable).
type clientAccount struct {
	clientconfig.Account
	report *discover.Report
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

// unusable says why no document can be written for the domain (clientconfig.ErrNothingUsable):
// which direction has nothing usable, and what came closest there. Every document needs an
// incoming and an outgoing server, because a mail client cannot set up an account without
// both: a domain whose IMAP works but whose SMTP does not gets no document, and is told which.
func unusable(a clientAccount) string {
	in, out := len(a.Incoming) > 0, len(a.Outgoing) > 0
	if in && out { // both, but none whose logins the format can describe (clientconfig's needBoth)
		return "no server of one direction logs in with a method this format can describe"
	}
	var rec discover.Recommended
	var near discover.Nearest
	if a.report != nil {
		rec, near = a.report.Recommended, a.report.Nearest
	}
	direction := func(what string, rec *discover.Choice, near *discover.Near) string {
		switch {
		case rec != nil: // usable, but left out of documents (see clientconfig.FromReport)
			return fmt.Sprintf("%s has no server a mail client may take without asking its user (%s is outside the domain and was named over an untrusted path)", what, rec.Host)
		case near != nil:
			return fmt.Sprintf("%s has no usable server (the closest: %s)", what, near.Text)
		}
		return what + " has no server"
	}
	const incoming, outgoing = "incoming mail (IMAP, POP3)", "outgoing mail (SMTP)"
	switch {
	case !in && !out:
		return direction(incoming, rec.Incoming, near.Incoming) + ", and " + direction(outgoing, rec.Outgoing, near.Outgoing)
	case !out:
		return direction(outgoing, rec.Outgoing, near.Outgoing) + "; incoming mail works, but a mail client needs both to set up an account"
	}
	return direction(incoming, rec.Incoming, near.Incoming) + "; outgoing mail works, but a mail client needs both to set up an account"
}

// clientQuery admits a mail client's request (rate limits) and reads the address it asks for
// (emailaddress): the target, and whether an address was given at all.
func (s *Server) clientQuery(r *http.Request) (t discover.Target, hasAddr bool, err error) {
	if err := s.admit(r); err != nil {
		return t, false, err
	}
	addr, err := emailParam(r)
	if err != nil {
		return t, false, err
	}
	return s.parseAddress(addr)
}

// autoconfig is GET /mail/config-v1.1.xml and /.well-known/autoconfig/mail/config-v1.1.xml:
// Mozilla clientConfig v1.1, 404 when nothing usable was found.
func (s *Server) autoconfig(w http.ResponseWriter, r *http.Request) {
	t, hasAddr, err := s.clientQuery(r)
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
	if err := clientconfig.WriteAutoconfig(&buf, acct.Account); err != nil {
		writeError(w, s.documentError(domain, t.Address, acct, err))
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

// documentError maps a clientconfig error: nothing usable is 404, saying which direction has
// nothing usable; anything else a bug. The log line names the domain; the address, which the
// error's text may quote, is taken out of it.
func (s *Server) documentError(domain, address string, a clientAccount, err error) error {
	if errors.Is(err, clientconfig.ErrNothingUsable) {
		return newError(codeNotFound, "no verified configuration for %s: %s", domain, unusable(a))
	}
	s.log.Error("client document", "domain", domain, "err", scrubAddress(err.Error(), address))
	return newError(codeInternal, "the document could not be written")
}

// mobileconfig is GET /v1/profile.mobileconfig: an unsigned Apple configuration profile with
// the account's mail payload. It needs the address: a profile is one account.
func (s *Server) mobileconfig(w http.ResponseWriter, r *http.Request) {
	t, hasAddr, err := s.clientQuery(r)
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
	err = clientconfig.WriteMobileConfig(&buf, acct.Account, clientconfig.MobileConfigOptions{Identifier: s.cfg.ProfileIdentifier, Organization: s.cfg.Organization})
	if err != nil {
		writeError(w, s.documentError(t.Domain, t.Address, acct, err))
		return
	}
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="`+t.Domain+`.mobileconfig"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
