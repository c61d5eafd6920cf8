package thunderbird

import (
	"fmt"
	"strings"
	"testing"
)

// The checker must catch what Thunderbird rejects, or the test above proves nothing.
func TestCheckCatchesBadDocuments(t *testing.T) {
	const good = `<clientConfig version="1.1"><emailProvider id="example.com"><domain>example.com</domain><displayName>x</displayName>
<incomingServer type="imap"><hostname>imap.example.com</hostname><port>993</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.example.com</hostname><port>465</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>`
	if errs := Check([]byte(good)); len(errs) != 0 {
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
		errs := Check([]byte(doc))
		if !strings.Contains(fmt.Sprint(errs), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, errs, tc.want)
		}
	}
}

func TestHostnameRules(t *testing.T) {
	for host, want := range map[string]bool{
		"imap.example.com": true, "IMAP.Example.COM.": true, "192.0.2.1": true, "2001:db8::1": true,
		"%EMAILDOMAIN%": true, "mail.%EMAILDOMAIN%": true,
		"0.1.2.3": true, "1.2.3": true, // not IPv4 to Thunderbird, but legal host names
		"-a.example": false, "a_b.example": false, "::": false, "": false,
	} {
		if got := Hostname(host) == nil; got != want {
			t.Errorf("Hostname(%q) ok = %v, want %v", host, got, want)
		}
	}
}
