package serve

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// checkThunderbird applies to a clientConfig document the rules Thunderbird applies when it
// reads one (mozilla/releases-comm-central mail/components/accountcreation/modules/
// readFromXML.sys.mjs, Sanitizer.sys.mjs, mailnews/base/src/hostnameUtils.sys.mjs), and returns
// every rule it breaks. Thunderbird needs one valid server of each kind; this demands that every
// server be valid, since one Thunderbird would silently drop should not have been served.
// clientconfig's own tests hold the full checker, with the source lines quoted; it lives in a
// _test file there, so the rules the service's answers must meet are restated here.
func checkThunderbird(doc []byte) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	root, err := parseXMLTree(doc)
	if err != nil {
		return []error{fmt.Errorf("not XML: %v", err)}
	}
	cc := root.all("clientConfig")
	if len(cc) != 1 || len(root.children) != 1 { // "no_emailProvider.error"
		return []error{errors.New("root element is not a single <clientConfig>")}
	}
	if v := cc[0].attrs["version"]; v != "1.1" {
		bad("clientConfig version %q, want 1.1", v)
	}
	provs := cc[0].all("emailProvider")
	if len(provs) != 1 {
		return append(errs, errors.New("not exactly one <emailProvider>"))
	}
	prov := provs[0]
	if err := tbHostname(prov.attrs["id"]); err != nil { // d.id = Sanitizer.hostname(xml["@id"])
		bad("emailProvider id: %v", err)
	}
	if len(prov.all("domain")) == 0 { // "need proper <domain> in XML"
		bad("no <domain>")
	}
	for _, d := range prov.all("domain") {
		if err := tbHostname(d.text); err != nil {
			bad("domain: %v", err)
		}
	}
	if len(prov.all("displayName")) == 0 {
		bad("no <displayName>")
	}
	for _, kind := range []struct {
		name     string
		types    []string
		auth     []string
		incoming bool
	}{
		{"incomingServer", []string{"pop3", "imap", "nntp", "exchange"}, tbAuth, true},
		{"outgoingServer", []string{"smtp"}, append([]string{"none", "client-IP-address", "smtp-after-pop"}, tbAuth...), false},
	} {
		servers := prov.all(kind.name)
		if len(servers) == 0 { // "Need proper <incomingServer> in XML file"
			bad("no <%s>", kind.name)
		}
		for i, s := range servers {
			if !slices.Contains(kind.types, s.attrs["type"]) {
				bad("%s %d: type %q", kind.name, i, s.attrs["type"])
			}
			if err := tbHostname(s.text1("hostname")); err != nil {
				bad("%s %d: %v", kind.name, i, err)
			}
			if p, err := strconv.Atoi(strings.TrimSpace(s.text1("port"))); err != nil || p < 1 || p > 65535 { // integerRange(iX.port, 1, 65535)
				bad("%s %d: port %q", kind.name, i, s.text1("port"))
			}
			if !s.anyText("socketType", []string{"plain", "SSL", "STARTTLS"}) { // "need proper <socketType> in XML"
				bad("%s %d: no supported socketType", kind.name, i)
			}
			if !s.anyText("authentication", kind.auth) { // "need proper <authentication> in XML"
				bad("%s %d: no supported authentication", kind.name, i)
			}
			if strings.TrimSpace(s.text1("username")) == "" {
				bad("%s %d: no username", kind.name, i)
			}
		}
	}
	return errs
}

var (
	tbAuth            = []string{"password-cleartext", "plain", "password-encrypted", "secure", "GSSAPI", "NTLM", "OAuth2"}
	tbPlaceholderHost = regexp.MustCompile(`^[a-zA-Z0-9\-.]*(%[A-Z0-9]+%[a-zA-Z0-9\-.]*)+$`)
	tbHostPattern     = regexp.MustCompile(`(?i)^(([a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])\.?$`)
)

// tbHostname mirrors Sanitizer.hostname: a placeholder pattern, a legal IP, or a legal host name.
func tbHostname(s string) error {
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" && !ip.IsUnspecified() {
		return nil
	}
	if s != "" && (tbPlaceholderHost.MatchString(s) || len(s) <= 255 && tbHostPattern.MatchString(s)) {
		return nil
	}
	return fmt.Errorf("hostname %q fails isLegalHostNameOrIP", s)
}

type xmlNode struct {
	name     string
	attrs    map[string]string
	children []*xmlNode
	text     string
}

func (n *xmlNode) all(name string) []*xmlNode {
	var out []*xmlNode
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

func (n *xmlNode) text1(name string) string {
	if l := n.all(name); len(l) > 0 {
		return l[0].text
	}
	return ""
}

// anyText: Thunderbird takes the first child of that name whose value it supports.
func (n *xmlNode) anyText(name string, allowed []string) bool {
	return slices.ContainsFunc(n.all(name), func(c *xmlNode) bool { return slices.Contains(allowed, c.text) })
}

func parseXMLTree(data []byte) (*xmlNode, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	root := &xmlNode{}
	stack := []*xmlNode{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: t.Name.Local, attrs: map[string]string{}}
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
}

// The checker must reject what Thunderbird rejects, or passing it proves nothing.
func TestThunderbirdChecker(t *testing.T) {
	const good = `<clientConfig version="1.1"><emailProvider id="example.com"><domain>example.com</domain><displayName>x</displayName>
<incomingServer type="imap"><hostname>imap.example.com</hostname><port>993</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.example.com</hostname><port>465</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>`
	if errs := checkThunderbird([]byte(good)); len(errs) != 0 {
		t.Fatalf("good document rejected: %v", errs)
	}
	cases := []struct{ name, old, new, want string }{
		{"root", "clientConfig", "clientconfig", "single <clientConfig>"},
		{"version", `version="1.1"`, `version="1.0"`, "version"},
		{"id", `id="example.com"`, `id="exa mple.com"`, "emailProvider id"},
		{"no domain", "<domain>example.com</domain>", "", "no <domain>"},
		{"incoming type", `type="imap"`, `type="jmap"`, "type"},
		{"outgoing type", `type="smtp"`, `type="lmtp"`, "type"},
		{"hostname", "<hostname>imap.example.com", "<hostname>imap_example.com", "isLegalHostNameOrIP"},
		{"port", "<port>993</port>", "<port>0</port>", "port"},
		{"socketType", "<socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>", "<socketType>TLS</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>", "socketType"},
		{"auth", "<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>", "<authentication>SCRAM-SHA-256</authentication><username>%EMAILADDRESS%</username></incomingServer>", "authentication"},
		{"username", "<username>%EMAILADDRESS%</username></incomingServer>", "</incomingServer>", "username"},
		{"no outgoing", "outgoingServer", "ignoredServer", "no <outgoingServer>"},
	}
	for _, tc := range cases {
		doc := strings.Replace(good, tc.old, tc.new, 1)
		if tc.name == "root" || tc.name == "no outgoing" { // rename both tags of the element
			doc = strings.ReplaceAll(good, tc.old, tc.new)
		}
		if doc == good {
			t.Fatalf("%s: replacement did not apply", tc.name)
		}
		if errs := checkThunderbird([]byte(doc)); !strings.Contains(fmt.Sprint(errs), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, errs, tc.want)
		}
	}
}
