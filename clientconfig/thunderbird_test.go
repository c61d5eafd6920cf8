package clientconfig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// This file re-implements, as a checker, the rules Thunderbird applies when it reads a
// clientConfig document, and runs every document WriteAutoconfig produces through it.
//
// Source read: mozilla/releases-comm-central at commit 1457122d483d203765225e1a5f5253a8b049e2e2,
//   - mail/components/accountcreation/modules/readFromXML.sys.mjs (readFromXML, readAuthentication)
//   - mail/components/accountcreation/modules/Sanitizer.sys.mjs (058114d3…: hostname, integerRange,
//     enum, translate)
//   - mailnews/base/src/hostnameUtils.sys.mjs (02194537…: isLegalHostName, isLegalIPv4Address,
//     isLegalIPv6Address, cleanUpHostName)
// and FetchConfig.sys.mjs, which hands the parsed document (JXON) to readFromXML without looking
// at the version attribute. Each rule below quotes the line it mirrors.
//
// What the checker cannot mirror: readAuthentication skips OAuth2 for a host without an entry in
// OAuth2Providers.sys.mjs ("Lacking OAuth2 config for ${hostname}"), so an OAuth2-only server of
// an unknown provider is dropped by Thunderbird although the document is well formed.

// node is a minimal element tree, enough to ask the questions JXON answers.
type node struct {
	name     string
	attrs    map[string]string
	children []*node
	text     string
}

func (n *node) all(name string) []*node {
	var out []*node
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

func (n *node) first(name string) (*node, bool) {
	if l := n.all(name); len(l) > 0 {
		return l[0], true
	}
	return nil, false
}

func parseTree(data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	root := &node{}
	stack := []*node{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, attrs: map[string]string{}}
			for _, a := range t.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			top := stack[len(stack)-1]
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			stack[len(stack)-1].text += string(t)
		}
	}
	return root, nil
}

// tbHostname mirrors Sanitizer.hostname: cleanUpHostName (trim), then either the placeholder
// pattern /^[a-zA-Z0-9\-\.]*(%[A-Z0-9]+%[a-zA-Z0-9\-\.]*)+$/ or isLegalHostNameOrIP(str).
func tbHostname(s string) error {
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

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// tbServer applies the per-server rules of readFromXML and returns why Thunderbird would drop it.
func tbServer(s *node, incoming bool) error {
	typ := s.attrs["type"]
	if incoming {
		// iO.type = lazy.Sanitizer.enum(iX["@type"], ["pop3", "imap", "nntp", "exchange"]);
		if !contains([]string{"pop3", "imap", "nntp", "exchange"}, typ) {
			return fmt.Errorf("incomingServer type %q not allowed", typ)
		}
	} else if typ != "smtp" { // if (oX["@type"] != "smtp") … throw outgoing_not_smtp.error
		return fmt.Errorf("outgoingServer type %q is not smtp", typ)
	}
	host, ok := s.first("hostname")
	if !ok {
		return errors.New("no hostname")
	}
	if err := tbHostname(host.text); err != nil { // iO.hostname = lazy.Sanitizer.hostname(iX.hostname);
		return err
	}
	port, ok := s.first("port")
	if !ok {
		return errors.New("no port")
	}
	if err := tbPort(port.text); err != nil {
		return err
	}
	// for (const iXsocketType of array_or_undef(iX.$socketType)) { … translate … break; // take first that we support }
	// if (iO.socketType == -1) throw "need proper <socketType> in XML"
	socketOK := false
	for _, st := range s.all("socketType") {
		if contains(tbSocketTypes, st.text) {
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
	for _, a := range s.all("authentication") {
		if contains(mapping, a.text) {
			auth = a.text
			break
		}
	}
	if auth == "" {
		return errors.New("no supported authentication value")
	}
	// Incoming: iO.username = lazy.Sanitizer.string(iX.username); // may be a %VARIABLE%
	// (a missing element would become the string "undefined"). Outgoing: required when
	// "oO.auth == passwordCleartext || oO.auth == passwordEncrypted". We require it always.
	if u, ok := s.first("username"); !ok || strings.TrimSpace(u.text) == "" {
		return errors.New("no username")
	}
	return nil
}

// checkThunderbird returns every rule the document breaks. Thunderbird itself only needs one
// valid server of each kind; we demand that every server be valid, since a server Thunderbird
// silently drops should not have been written.
func checkThunderbird(doc []byte) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	root, err := parseTree(doc)
	if err != nil {
		return []error{fmt.Errorf("not XML: %v", err)}
	}
	// if (!("clientConfig" in clientConfigXML) || !("emailProvider" in clientConfigXML.clientConfig)) throw no_emailProvider.error
	cc, ok := root.first("clientConfig")
	if !ok || len(root.children) != 1 {
		return []error{errors.New("root element is not a single <clientConfig>")}
	}
	// Thunderbird does not check the version; the format (ConfigFileFormat wiki) says 1.1.
	if v := cc.attrs["version"]; v != "1.1" {
		bad("clientConfig version %q, want 1.1", v)
	}
	prov, ok := cc.first("emailProvider")
	if !ok {
		return append(errs, errors.New("no <emailProvider>"))
	}
	// d.id = lazy.Sanitizer.hostname(xml["@id"]);
	if err := tbHostname(prov.attrs["id"]); err != nil {
		bad("emailProvider id: %v", err)
	}
	// for (var domain of xml.$domain) d.domains.push(lazy.Sanitizer.hostname(domain)); … throw "need proper <domain> in XML"
	domains := prov.all("domain")
	if len(domains) == 0 {
		bad("no <domain>")
	}
	for _, d := range domains {
		if err := tbHostname(d.text); err != nil {
			bad("domain: %v", err)
		}
	}
	// d.displayName = lazy.Sanitizer.label(xml.displayName); (falls back to the id)
	if _, ok := prov.first("displayName"); !ok {
		bad("no <displayName>")
	}
	for _, kind := range []struct {
		name     string
		incoming bool
	}{{"incomingServer", true}, {"outgoingServer", false}} {
		servers := prov.all(kind.name)
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

func TestThunderbirdAcceptsEveryAutoconfig(t *testing.T) {
	n := 0
	for _, c := range cases {
		var buf bytes.Buffer
		if err := WriteAutoconfig(&buf, c.account); err != nil {
			continue // the error cases are covered by TestGolden
		}
		n++
		for _, err := range checkThunderbird(buf.Bytes()) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if n < 5 {
		t.Fatalf("only %d documents checked", n)
	}
}

// The checker must catch what Thunderbird rejects, or the test above proves nothing.
func TestThunderbirdCheckerCatchesBadDocuments(t *testing.T) {
	const good = `<clientConfig version="1.1"><emailProvider id="example.com"><domain>example.com</domain><displayName>x</displayName>
<incomingServer type="imap"><hostname>imap.example.com</hostname><port>993</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.example.com</hostname><port>465</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>`
	if errs := checkThunderbird([]byte(good)); len(errs) != 0 {
		t.Fatalf("good document rejected: %v", errs)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"root", "clientConfig", "clientconfig", "single <clientConfig>"},
		{"version", `version="1.1"`, `version="1.0"`, "version"},
		{"id", `id="example.com"`, `id="exa mple.com"`, "emailProvider id"},
		{"domain", "<domain>example.com</domain>", "", "no <domain>"},
		{"incoming type", `incomingServer type="imap"`, `incomingServer type="jmap"`, "not allowed"},
		{"outgoing type", `outgoingServer type="smtp"`, `outgoingServer type="lmtp"`, "not smtp"},
		{"hostname", "<hostname>imap.example.com", "<hostname>imap_example.com", "isLegalHostNameOrIP"},
		{"unicode hostname", "<hostname>imap.example.com", "<hostname>imap.müller.example", "isLegalHostNameOrIP"},
		{"port", "<port>993</port>", "<port>0</port>", "outside"},
		{"port text", "<port>993</port>", "<port>imaps</port>", "not a number"},
		{"socketType", "<socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>", "<socketType>TLS</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>", "socketType"},
		{"auth", "<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>", "<authentication>SCRAM-SHA-256</authentication><username>%EMAILADDRESS%</username></incomingServer>", "authentication"},
		{"none incoming", "<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>", "<authentication>none</authentication><username>%EMAILADDRESS%</username></incomingServer>", "authentication"},
		{"username", "<username>%EMAILADDRESS%</username></incomingServer>", "</incomingServer>", "username"},
		{"no outgoing", "outgoingServer", "ignoredServer", "no <outgoingServer>"},
	} {
		doc := strings.ReplaceAll(good, tc.old, tc.new)
		if doc == good {
			t.Fatalf("%s: replacement did not apply", tc.name)
		}
		errs := checkThunderbird([]byte(doc))
		if !strings.Contains(fmt.Sprint(errs), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, errs, tc.want)
		}
	}
}

func TestThunderbirdHostnameRules(t *testing.T) {
	for host, want := range map[string]bool{
		"imap.example.com": true, "IMAP.Example.COM.": true, "192.0.2.1": true, "2001:db8::1": true,
		"%EMAILDOMAIN%": true, "mail.%EMAILDOMAIN%": true,
		"0.1.2.3": true, "1.2.3": true, // not IPv4 to Thunderbird, but legal host names
		"-a.example": false, "a_b.example": false, "::": false, "": false,
	} {
		if got := tbHostname(host) == nil; got != want {
			t.Errorf("tbHostname(%q) ok = %v, want %v", host, got, want)
		}
		// Our own validHost must never accept what Thunderbird refuses (placeholders aside,
		// which we never pass as hosts).
		if validHost(host) && !want {
			t.Errorf("validHost(%q) accepts a host Thunderbird rejects", host)
		}
	}
}
