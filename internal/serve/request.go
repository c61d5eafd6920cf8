package serve

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// key identifies discoveries that may share one answer: the same normalised target, mode and
// protocols give the same report.
type key struct {
	target    string // the address (domain in ASCII, lower case) or the bare domain
	fast      bool
	protocols string // canonical, comma-separated: a subset of smtp,imap,pop3 in that order
}

// allProtocols is the canonical protocol list of a discovery that asked for everything.
const allProtocols = "smtp,imap,pop3"

// discoverRequest is one request for a discovery, parsed and checked.
type discoverRequest struct {
	key       key
	target    discover.Target
	protocols []probe.Protocol
	// refresh is the page's "check again": it skips the cache, and the discovery probes every
	// endpoint anew instead of taking the engine's cached probe results (discover.Options.Fresh).
	// An identical discovery already running is joined only when it is a fresh one too.
	refresh bool
	// creds makes the discovery log in. Such a discovery is never cached, shared or stored.
	creds *probe.Credentials
}

// credentialParams are the query parameter names (compared in lower case) that are refused on
// every endpoint: credentials in a URL end up in logs, proxies and browser history.
var credentialParams = []string{"password", "passwd", "pass", "pwd", "user", "username", "oauth_token", "access_token"}

var errCredentialsInURL = newError(codeLoginNotAllowed, "credentials are never accepted in a URL (it ends up in logs and browser history); send them in a POST body over HTTPS")

// credentialsInQuery says whether a raw query string has a parameter named like a credential,
// in any capitalisation. It reads the raw string itself rather than url.ParseQuery's result,
// which silently drops a pair it cannot parse (a ";" in it, a bad escape) while the URL, with
// the password in it, is still logged on the way.
func credentialsInQuery(raw string) bool {
	for _, pair := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' }) {
		name, _, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if slices.Contains(credentialParams, strings.ToLower(strings.TrimSpace(name))) {
			return true
		}
	}
	return false
}

// parseDiscover reads target, fast, protocols and refresh from the query.
func parseDiscover(q url.Values, allowPrivate bool) (discoverRequest, error) {
	if credentialsInQuery(q.Encode()) {
		return discoverRequest{}, errCredentialsInURL
	}
	fast, err := boolParam(q, "fast")
	if err != nil {
		return discoverRequest{}, err
	}
	refresh, err := boolParam(q, "refresh")
	if err != nil {
		return discoverRequest{}, err
	}
	req, err := newDiscoverRequest(q.Get("target"), fast, q.Get("protocols"), refresh, allowPrivate)
	if ae, ok := err.(*apiError); ok && ae.Code == codeBadTarget && strings.Contains(strings.TrimSpace(q.Get("target")), " ") {
		// target is read as a form sends it (the page's form does): "+" is a space, and a
		// space is no part of an address. Say so to whoever typed "alice+tag@" into a URL.
		return req, newError(codeBadTarget, `%s (in a URL's query a "+" stands for a space: write a "+" as %%2B)`, ae.Message)
	}
	return req, err
}

// newDiscoverRequest checks the target and the protocols and builds the key.
func newDiscoverRequest(target string, fast bool, protocols string, refresh, allowPrivate bool) (discoverRequest, error) {
	if strings.TrimSpace(target) == "" {
		return discoverRequest{}, newError(codeBadTarget, "target is missing: give an e-mail address or a domain")
	}
	if len(target) > 320 {
		return discoverRequest{}, newError(codeBadTarget, "target is longer than 320 characters")
	}
	t, err := discover.ParseTarget(target)
	if ipErr := (*discover.IPAddressError)(nil); errors.As(err, &ipErr) {
		return discoverRequest{}, checkTargetDomain(ipErr.Addr.String(), allowPrivate) // private_address or bad_target
	}
	if err != nil {
		return discoverRequest{}, newError(codeBadTarget, "%v", err)
	}
	if err := checkTargetDomain(t.Domain, allowPrivate); err != nil {
		return discoverRequest{}, err
	}
	protos, canon, err := parseProtocols(protocols)
	if err != nil {
		return discoverRequest{}, err
	}
	norm := t.Domain
	if t.Address != "" {
		norm = t.Address
	}
	return discoverRequest{key: key{target: norm, fast: fast, protocols: canon}, target: t, protocols: protos, refresh: refresh}, nil
}

// parseProtocols accepts a comma-separated list ("" for all) and returns it in canonical order
// without repeats, so that "imap,smtp" and "smtp,imap,imap" share one cache entry.
func parseProtocols(s string) ([]probe.Protocol, string, error) {
	all := []probe.Protocol{probe.SMTP, probe.IMAP, probe.POP3}
	if strings.TrimSpace(s) == "" {
		return all, allProtocols, nil
	}
	var want []probe.Protocol
	for _, p := range strings.Split(s, ",") {
		proto, err := probe.ParseProtocol(strings.TrimSpace(p))
		if err != nil {
			return nil, "", newError(codeBadRequest, "protocols: %v", err)
		}
		want = append(want, proto)
	}
	var out []probe.Protocol
	var names []string
	for _, p := range all {
		if slices.Contains(want, p) {
			out = append(out, p)
			names = append(names, string(p))
		}
	}
	return out, strings.Join(names, ","), nil
}

// boolParam reads an optional flag parameter: absent, "", "0", "false" are false; "1",
// "true" are true; anything else is a mistake worth saying.
func boolParam(q url.Values, name string) (bool, error) {
	switch strings.ToLower(q.Get(name)) {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, newError(codeBadRequest, "%s=%q: want 1 or 0", name, q.Get(name))
}

// describe is the target as logs and metrics name it: the domain only, never the local part
// (addresses are personal data; the domain is what an operator needs). The domain follows the
// last "@": a local part may hold one too ("a@b"@example.com arrives as a@b@example.com).
func (k key) describe() string {
	domain := k.target
	if at := strings.LastIndexByte(k.target, '@'); at >= 0 {
		domain = k.target[at+1:]
	}
	return fmt.Sprintf("%s fast=%t protocols=%s", domain, k.fast, k.protocols)
}
