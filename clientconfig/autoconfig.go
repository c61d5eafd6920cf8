package clientconfig

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// clientConfig v1.1 as Thunderbird reads it (mozilla/releases-comm-central
// mail/components/accountcreation/modules/readFromXML.sys.mjs; format:
// wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat). Element order inside a server
// does not matter to Thunderbird, which reads the document as JXON by name.
type acServer struct {
	Type           string   `xml:"type,attr"`
	Hostname       string   `xml:"hostname"`
	Port           int      `xml:"port"`
	SocketType     string   `xml:"socketType"`
	Authentication []string `xml:"authentication"`
	Username       string   `xml:"username"`
}

type acProvider struct {
	ID               string     `xml:"id,attr"`
	Domain           string     `xml:"domain"`
	DisplayName      string     `xml:"displayName"`
	DisplayShortName string     `xml:"displayShortName"`
	Incoming         []acServer `xml:"incomingServer"`
	Outgoing         []acServer `xml:"outgoingServer"`
}

type acDoc struct {
	XMLName  xml.Name   `xml:"clientConfig"`
	Version  string     `xml:"version,attr"`
	Provider acProvider `xml:"emailProvider"`
}

// WriteAutoconfig writes a as a Mozilla clientConfig v1.1 document, the file Thunderbird (and
// Thunderbird for Android / K-9) fetch from https://autoconfig.<domain>/mail/config-v1.1.xml.
//
// Servers keep the input order, which is the preference order: Thunderbird takes the first valid
// incomingServer and outgoingServer as the configuration and the rest as alternatives
// (readFromXML.sys.mjs, "first valid"). A server whose Logins map to no <authentication> value is
// left out. Thunderbird throws "Need proper <incomingServer>" / "<outgoingServer>" when either is
// missing, so an account without a usable server of both kinds yields ErrNothingUsable rather
// than a document every reader rejects. Usernames are written as given; templates such as
// %EMAILADDRESS% stay templates for the client to fill in.
//
// Thunderbird for Android (thunderbird-android RealAutoconfigParser.kt) uses the first
// incomingServer of type imap and the first outgoingServer, but parses every one of them and
// rejects the whole document when any has a socketType other than SSL or STARTTLS, or is an imap
// or smtp server with none of password-cleartext, password-encrypted and OAuth2 (NTLM or GSSAPI
// only). Whether to pass such servers (plain ones, NTLM-only ones) is the caller's decision.
func WriteAutoconfig(w io.Writer, a Account) error {
	if err := checkAccount(a); err != nil {
		return err
	}
	name := displayName(a)
	doc := acDoc{Version: "1.1", Provider: acProvider{
		ID: a.Domain, Domain: a.Domain, DisplayName: name, DisplayShortName: shortName(name),
	}}
	for _, s := range a.Incoming {
		if srv, ok := autoconfigServer(s); ok {
			doc.Provider.Incoming = append(doc.Provider.Incoming, srv)
		}
	}
	for _, s := range a.Outgoing {
		if srv, ok := autoconfigServer(s); ok {
			doc.Provider.Outgoing = append(doc.Provider.Outgoing, srv)
		}
	}
	if err := needBoth("autoconfig", len(doc.Provider.Incoming), len(doc.Provider.Outgoing)); err != nil {
		return err
	}

	return writeXML(w, "autoconfig", doc)
}

func autoconfigServer(s Server) (acServer, bool) {
	auth := autoconfigAuth(s.Logins)
	if len(auth) == 0 {
		return acServer{}, false
	}
	return acServer{Type: s.Protocol, Hostname: s.Host, Port: s.Port, SocketType: socketType(s.Security),
		Authentication: auth, Username: s.Username}, true
}

// socketType maps Server.Security to the three values readFromXML translates
// (plain, SSL, STARTTLS → nsMsgSocketType.plain, SSL, alwaysSTARTTLS).
func socketType(sec string) string {
	switch sec {
	case secTLS:
		return "SSL"
	case secSTARTTLS:
		return "STARTTLS"
	}
	return "plain"
}

// autoconfigAuth maps Logins to clientConfig <authentication> values, most dependable first.
// Thunderbird uses the first value it can use (readAuthentication returns on the first match),
// so the order is a preference: a password sent inside TLS works almost everywhere, while
// servers do advertise CRAM-MD5, GSSAPI and NTLM that then fail (draft-ietf-mailmaint-autoconfig:
// capability lists "are not reliable"; GSSAPI can run into "a long 2 minute timeout"). OAuth2 works in
// Thunderbird only for providers it has OAuth2 settings for (OAuth2Providers.sys.mjs); for others
// it skips the value. Nothing is added that Logins do not show, and unknown mechanisms (EXTERNAL,
// ANONYMOUS, …) are ignored.
func autoconfigAuth(logins []string) []string {
	var out []string
	for _, m := range []struct {
		value string
		match func(string) bool
	}{
		{"password-cleartext", isCleartext},
		{"password-encrypted", isEncrypted},
		{"OAuth2", isOAuth2},
		{"NTLM", isNTLM},
		{"GSSAPI", isGSSAPI},
	} {
		if hasLogin(logins, m.match) {
			out = append(out, m.value)
		}
	}
	return out
}

// displayName is what clients show for the provider; the domain when the caller gave none.
func displayName(a Account) string {
	if strings.TrimSpace(a.DisplayName) != "" {
		return a.DisplayName
	}
	return a.Domain
}

// shortName is the first label of a domain-like display name ("bücher" for "bücher.example"),
// as the report package's autoconfig writer did.
func shortName(name string) string {
	if first, _, _ := strings.Cut(name, "."); first != "" {
		return first
	}
	return name
}

// needBoth turns "no usable incoming/outgoing server" into ErrNothingUsable with the reason.
func needBoth(format string, incoming, outgoing int) error {
	switch {
	case incoming == 0 && outgoing == 0:
		return fmt.Errorf("%w for %s: no server whose logins map to an authentication method of the format", ErrNothingUsable, format)
	case incoming == 0:
		return fmt.Errorf("%w for %s: no usable incoming (IMAP/POP3) server", ErrNothingUsable, format)
	case outgoing == 0:
		return fmt.Errorf("%w for %s: no usable outgoing (SMTP) server", ErrNothingUsable, format)
	}
	return nil
}
