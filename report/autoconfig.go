package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// Autoconfig writes the working configurations as a Mozilla clientConfig v1.1 document that
// Thunderbird accepts: the first server of each kind is the preferred one, the rest are
// alternatives. Plaintext configurations are left out when any TLS one works (RFC 8314 §5.1:
// do not set up configurations without TLS unless there is no other).
func Autoconfig(w io.Writer, r *discover.Report) error {
	t, err := discover.ParseTarget(r.Target)
	if err != nil {
		return err
	}
	type server struct {
		Type           string   `xml:"type,attr"`
		Hostname       string   `xml:"hostname"`
		Port           int      `xml:"port"`
		SocketType     string   `xml:"socketType"`
		Authentication []string `xml:"authentication"`
		Username       string   `xml:"username"`
	}
	type provider struct {
		ID               string   `xml:"id,attr"`
		Domain           string   `xml:"domain"`
		DisplayName      string   `xml:"displayName"`
		DisplayShortName string   `xml:"displayShortName"`
		Incoming         []server `xml:"incomingServer"`
		Outgoing         []server `xml:"outgoingServer"`
	}
	doc := struct {
		XMLName  xml.Name `xml:"clientConfig"`
		Version  string   `xml:"version,attr"`
		Provider provider `xml:"emailProvider"`
	}{Version: "1.1", Provider: provider{ID: r.Domain, Domain: r.Domain, DisplayName: t.DomainUnicode, DisplayShortName: strings.Split(t.DomainUnicode, ".")[0]}}

	tlsWorks := map[bool]bool{} // incoming?, any TLS config
	for _, c := range r.Configs {
		if c.Security != probe.Plain {
			tlsWorks[c.Protocol != probe.SMTP] = true
		}
	}
	// IMAP before POP3 among incoming servers: r.Configs is ordered smtp, imap, pop3.
	for _, c := range r.Configs {
		incoming := c.Protocol != probe.SMTP
		if c.Security == probe.Plain && tlsWorks[incoming] {
			continue
		}
		s := server{Type: string(c.Protocol), Hostname: c.Host, Port: c.Port, SocketType: socketType(c.Security),
			Authentication: authValues(&c.Result), Username: usernameTemplate(c.Username, t)}
		if incoming {
			doc.Provider.Incoming = append(doc.Provider.Incoming, s)
		} else {
			doc.Provider.Outgoing = append(doc.Provider.Outgoing, s)
		}
	}
	if len(doc.Provider.Incoming)+len(doc.Provider.Outgoing) == 0 {
		return fmt.Errorf("no working configuration to write")
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

func socketType(s probe.Security) string {
	switch s {
	case probe.TLS:
		return "SSL"
	case probe.StartTLS:
		return "STARTTLS"
	}
	return "plain"
}

// authValues maps SASL mechanisms to clientConfig authentication values, most dependable first.
func authValues(r *probe.Result) []string {
	var out []string
	add := func(v string) {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, m := range r.AuthMethods {
		switch {
		case m == "PLAIN" || m == "LOGIN":
			add("password-cleartext")
		}
	}
	for _, m := range r.AuthMethods {
		switch {
		case m == "CRAM-MD5" || m == "DIGEST-MD5" || strings.HasPrefix(m, "SCRAM-"):
			add("password-encrypted")
		case m == "XOAUTH2" || m == "OAUTHBEARER":
			add("OAuth2")
		case m == "GSSAPI":
			add("GSSAPI")
		case m == "NTLM":
			add("NTLM")
		}
	}
	if len(out) == 0 {
		switch {
		case r.Protocol == probe.SMTP:
			add("none") // the server asked for no AUTH on this port
		case r.Protocol == probe.IMAP && r.LoginDisabled:
			add("password-encrypted")
		default:
			add("password-cleartext") // IMAP LOGIN / POP3 USER, over the connection's TLS
		}
	}
	return out
}

func usernameTemplate(u string, t discover.Target) string {
	switch {
	case u == t.Address && u != "":
		return "%EMAILADDRESS%"
	case u == t.LocalPart && u != "":
		return "%EMAILLOCALPART%"
	}
	return u
}
