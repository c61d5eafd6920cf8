// Package thunderbird re-implements, as a checker, the rules Thunderbird applies when it reads a
// clientConfig (autoconfig) document. Tests of every writer of such documents — package
// clientconfig, and the service's autoconfig endpoints — run their output through Check: a
// server Thunderbird would silently drop should never have been written.
//
// Source read: mozilla/releases-comm-central at commit 1457122d483d203765225e1a5f5253a8b049e2e2,
//   - mail/components/accountcreation/modules/readFromXML.sys.mjs (readFromXML, readAuthentication)
//   - mail/components/accountcreation/modules/Sanitizer.sys.mjs (058114d3…: hostname, integerRange,
//     enum, translate)
//   - mailnews/base/src/hostnameUtils.sys.mjs (02194537…: isLegalHostName, isLegalIPv4Address,
//     isLegalIPv6Address, cleanUpHostName)
//
// and FetchConfig.sys.mjs, which hands the parsed document (JXON) to readFromXML without looking
// at the version attribute. Each rule below quotes the line it mirrors.
//
// What the checker cannot mirror: readAuthentication skips OAuth2 for a host without an entry in
// OAuth2Providers.sys.mjs ("Lacking OAuth2 config for ${hostname}"), so an OAuth2-only server of
// an unknown provider is dropped by Thunderbird although the document is well formed.
package thunderbird

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mailscout/mailscout/internal/xmltree"
)

// tbHostname mirrors Sanitizer.hostname: cleanUpHostName (trim), then either the placeholder
// pattern /^[a-zA-Z0-9\-\.]*(%[A-Z0-9]+%[a-zA-Z0-9\-\.]*)+$/ or isLegalHostNameOrIP(str).
func Hostname(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return errors.New("empty hostname (nonemptystring)")
	case tbPlaceholderHost.MatchString(s):
		return nil
	case tbIPv4(s) || tbIPv6(s):
		return nil
	case len(s) <= 255 && tbHostPattern.MatchString(s):
		return nil
	}
	return fmt.Errorf("hostname %q fails isLegalHostNameOrIP", s)
}

var (
	tbPlaceholderHost = regexp.MustCompile(`^[a-zA-Z0-9\-.]*(%[A-Z0-9]+%[a-zA-Z0-9\-.]*)+$`)
	// isLegalHostName: /^(([a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])\.?$/i
	tbHostPattern = regexp.MustCompile(`(?i)^(([a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])\.?$`)
	tbIPv4Part    = regexp.MustCompile(`^(0|([1-9][0-9]{0,9}))$`)
)

// tbIPv4 mirrors isLegalIPv4Address(s, false): exactly four decimal components up to 255, the
// first not 0.
func tbIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for i, p := range parts {
		if !tbIPv4Part.MatchString(p) {
			return false
		}
		v, err := strconv.Atoi(p)
		if err != nil || v > 255 || (i == 0 && v == 0) {
			return false
		}
	}
	return true
}

// tbIPv6 approximates isLegalIPv6Address: a zone-less IPv6 address other than "::".
func tbIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && a.Zone() == "" && !a.IsUnspecified() && strings.Contains(s, ":")
}

// tbPort mirrors Sanitizer.integerRange(iX.port, 1, 65535) ("iO.port = lazy.Sanitizer.integerRange(iX.port, 1, 65535);").
// Thunderbird uses parseInt, which would accept "993abc"; we insist on plain digits.
func tbPort(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("port %q is not a number", s)
	}
	if v < 1 || v > 65535 {
		return fmt.Errorf("port %d outside 1-65535", v)
	}
	return nil
}

// Values readFromXML translates: socketType ("plain: …, SSL: …, STARTTLS: …") and the
// readAuthentication mappings for incoming and outgoing servers.
var (
	tbSocketTypes  = []string{"plain", "SSL", "STARTTLS"}
	tbIncomingAuth = []string{"password-cleartext", "plain", "password-encrypted", "secure", "GSSAPI", "NTLM", "OAuth2"}
	tbOutgoingAuth = append([]string{"none", "client-IP-address", "smtp-after-pop"}, tbIncomingAuth...)
)

// tbServer applies the per-server rules of readFromXML and returns why Thunderbird would drop it.
func tbServer(s *xmltree.Node, incoming bool) error {
	typ := s.Attrs["type"]
	if incoming {
		// iO.type = lazy.Sanitizer.enum(iX["@type"], ["pop3", "imap", "nntp", "exchange"]);
		if !slices.Contains([]string{"pop3", "imap", "nntp", "exchange"}, typ) {
			return fmt.Errorf("incomingServer type %q not allowed", typ)
		}
	} else if typ != "smtp" { // if (oX["@type"] != "smtp") … throw outgoing_not_smtp.error
		return fmt.Errorf("outgoingServer type %q is not smtp", typ)
	}
	host, ok := s.First("hostname")
	if !ok {
		return errors.New("no hostname")
	}
	if err := Hostname(host.Text); err != nil { // iO.hostname = lazy.Sanitizer.hostname(iX.hostname);
		return err
	}
	port, ok := s.First("port")
	if !ok {
		return errors.New("no port")
	}
	if err := tbPort(port.Text); err != nil {
		return err
	}
	// for (const iXsocketType of array_or_undef(iX.$socketType)) { … translate … break; // take first that we support }
	// if (iO.socketType == -1) throw "need proper <socketType> in XML"
	socketOK := false
	for _, st := range s.All("socketType") {
		if slices.Contains(tbSocketTypes, st.Text) {
			socketOK = true
			break
		}
	}
	if !socketOK {
		return errors.New("no supported socketType")
	}
	// readAuthentication: returns the first value found in the mapping, else throws
	// "need proper <authentication> in XML".
	mapping := tbIncomingAuth
	if !incoming {
		mapping = tbOutgoingAuth
	}
	auth := ""
	for _, a := range s.All("authentication") {
		if slices.Contains(mapping, a.Text) {
			auth = a.Text
			break
		}
	}
	if auth == "" {
		return errors.New("no supported authentication value")
	}
	// Incoming: iO.username = lazy.Sanitizer.string(iX.username); // may be a %VARIABLE%
	// (a missing element would become the string "undefined"). Outgoing: required when
	// "oO.auth == passwordCleartext || oO.auth == passwordEncrypted". We require it always.
	if u, ok := s.First("username"); !ok || strings.TrimSpace(u.Text) == "" {
		return errors.New("no username")
	}
	return nil
}

// Check returns every rule the document breaks. Thunderbird itself only needs one
// valid server of each kind; we demand that every server be valid, since a server Thunderbird
// silently drops should not have been written.
func Check(doc []byte) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	root, err := xmltree.Parse(doc)
	if err != nil {
		return []error{fmt.Errorf("not XML: %v", err)}
	}
	// if (!("clientConfig" in clientConfigXML) || !("emailProvider" in clientConfigXML.clientConfig)) throw no_emailProvider.error
	cc, ok := root.First("clientConfig")
	if !ok || len(root.Children) != 1 {
		return []error{errors.New("root element is not a single <clientConfig>")}
	}
	// Thunderbird does not check the version; the format (ConfigFileFormat wiki) says 1.1.
	if v := cc.Attrs["version"]; v != "1.1" {
		bad("clientConfig version %q, want 1.1", v)
	}
	prov, ok := cc.First("emailProvider")
	if !ok {
		return append(errs, errors.New("no <emailProvider>"))
	}
	// d.id = lazy.Sanitizer.hostname(xml["@id"]);
	if err := Hostname(prov.Attrs["id"]); err != nil {
		bad("emailProvider id: %v", err)
	}
	// for (var domain of xml.$domain) d.domains.push(lazy.Sanitizer.hostname(domain)); … throw "need proper <domain> in XML"
	domains := prov.All("domain")
	if len(domains) == 0 {
		bad("no <domain>")
	}
	for _, d := range domains {
		if err := Hostname(d.Text); err != nil {
			bad("domain: %v", err)
		}
	}
	// d.displayName = lazy.Sanitizer.label(xml.displayName); (falls back to the id)
	if _, ok := prov.First("displayName"); !ok {
		bad("no <displayName>")
	}
	for _, kind := range []struct {
		name     string
		incoming bool
	}{{"incomingServer", true}, {"outgoingServer", false}} {
		servers := prov.All(kind.name)
		// if (!d.incoming.hostname) throw "Need proper <incomingServer> in XML file" (same for outgoing)
		if len(servers) == 0 {
			bad("no <%s>", kind.name)
		}
		for i, s := range servers {
			if err := tbServer(s, kind.incoming); err != nil {
				bad("%s %d: %v", kind.name, i, err)
			}
		}
	}
	return errs
}
