package discover

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mailscout/mailscout/probe"
)

// clientConfigXML mirrors Mozilla's clientConfig v1.1 as Thunderbird reads it
// (mail/components/accountcreation/modules/readFromXML.sys.mjs; the IETF draft
// draft-ietf-mailmaint-autoconfig describes the same format).
type clientConfigXML struct {
	XMLName   xml.Name `xml:"clientConfig"`
	Version   string   `xml:"version,attr"`
	Providers []struct {
		ID          string      `xml:"id,attr"`
		Domains     []string    `xml:"domain"`
		DisplayName string      `xml:"displayName"`
		Incoming    []serverXML `xml:"incomingServer"`
		Outgoing    []serverXML `xml:"outgoingServer"`
	} `xml:"emailProvider"`
}

type serverXML struct {
	Type           string   `xml:"type,attr"`
	Hostname       string   `xml:"hostname"`
	Port           string   `xml:"port"`
	SocketType     string   `xml:"socketType"`
	Username       string   `xml:"username"`
	Authentication []string `xml:"authentication"`
}

// AutoconfigServer is one usable server entry of a clientConfig document.
type AutoconfigServer struct {
	Protocol probe.Protocol
	Host     string
	Port     int
	Security probe.Security
	Username string   // template, e.g. "%EMAILADDRESS%"
	Auth     []string // authentication values as written (password-cleartext, OAuth2, …)
	Order    int      // position among servers of its protocol: 0 is the provider's preference
}

// AutoconfigDoc is a parsed clientConfig document.
type AutoconfigDoc struct {
	DisplayName string
	Domains     []string
	Servers     []AutoconfigServer
	// Skipped explains entries that were ignored (unknown type, bad port, unknown socketType…).
	Skipped []string
}

// maxAutoconfigSize bounds the document: real ones are a few KiB.
const maxAutoconfigSize = 256 << 10

// ParseAutoconfig reads a clientConfig v1.1 document. domain replaces %EMAILDOMAIN% in host
// names. Entries that cannot be used are skipped with a reason rather than failing the whole
// document, as Thunderbird does; a document with no usable server is an error.
func ParseAutoconfig(data []byte, domain string) (*AutoconfigDoc, error) {
	if len(data) > maxAutoconfigSize {
		return nil, fmt.Errorf("autoconfig document is %d bytes, over the %d-byte limit", len(data), maxAutoconfigSize)
	}
	var x clientConfigXML
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
			return input, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", charset)
	}
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("not a clientConfig document: %w", err)
	}
	doc := &AutoconfigDoc{}
	order := map[probe.Protocol]int{}
	for _, p := range x.Providers {
		if doc.DisplayName == "" {
			doc.DisplayName = strings.TrimSpace(p.DisplayName)
		}
		doc.Domains = append(doc.Domains, p.Domains...)
		for _, s := range append(append([]serverXML{}, p.Incoming...), p.Outgoing...) {
			srv, err := convertServer(s, domain)
			if err != nil {
				doc.Skipped = append(doc.Skipped, err.Error())
				continue
			}
			srv.Order = order[srv.Protocol]
			order[srv.Protocol]++
			doc.Servers = append(doc.Servers, srv)
		}
	}
	if len(doc.Servers) == 0 {
		msg := "autoconfig document lists no usable server"
		if len(doc.Skipped) > 0 {
			msg += " (" + strings.Join(doc.Skipped, "; ") + ")"
		}
		return doc, fmt.Errorf("%s", msg)
	}
	return doc, nil
}

func convertServer(s serverXML, domain string) (AutoconfigServer, error) {
	var out AutoconfigServer
	switch strings.ToLower(strings.TrimSpace(s.Type)) {
	case "imap":
		out.Protocol = probe.IMAP
	case "pop3":
		out.Protocol = probe.POP3
	case "smtp":
		out.Protocol = probe.SMTP
	default:
		return out, fmt.Errorf("server type %q is not imap, pop3 or smtp", clipText(s.Type))
	}
	host := strings.ToLower(strings.TrimSpace(s.Hostname))
	host = strings.ReplaceAll(host, "%emaildomain%", domain)
	if !validHostname(host) {
		return out, fmt.Errorf("%s hostname %q is not a host name", out.Protocol, clipText(s.Hostname))
	}
	out.Host = strings.TrimSuffix(host, ".")
	port, err := strconv.Atoi(strings.TrimSpace(s.Port))
	if err != nil || port < 1 || port > 65535 {
		return out, fmt.Errorf("%s %s port %q is not 1–65535", out.Protocol, out.Host, clipText(s.Port))
	}
	out.Port = port
	switch strings.ToUpper(strings.TrimSpace(s.SocketType)) {
	case "SSL", "TLS":
		out.Security = probe.TLS
	case "STARTTLS":
		out.Security = probe.StartTLS
	case "PLAIN":
		out.Security = probe.Plain
	default:
		return out, fmt.Errorf("%s %s:%d socketType %q is not SSL, STARTTLS or plain", out.Protocol, out.Host, port, clipText(s.SocketType))
	}
	out.Username = strings.TrimSpace(s.Username)
	for _, a := range s.Authentication {
		if a = strings.TrimSpace(a); a != "" {
			out.Auth = append(out.Auth, a)
		}
	}
	return out, nil
}

// validHostname accepts LDH host names (and underscores, which some providers use).
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// UsernameHint fills an autoconfig username template for t. Without an address, the template
// stays as written so the user sees the form ("%EMAILADDRESS%" is the full address).
func UsernameHint(template string, t Target) string {
	if template == "" {
		template = "%EMAILADDRESS%"
	}
	if t.Address == "" {
		return strings.ReplaceAll(template, "%EMAILDOMAIN%", t.Domain)
	}
	r := strings.NewReplacer("%EMAILADDRESS%", t.Address, "%EMAILLOCALPART%", t.LocalPart, "%EMAILDOMAIN%", t.Domain)
	return r.Replace(template)
}

func clipText(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
