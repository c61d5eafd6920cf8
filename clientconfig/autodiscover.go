package clientconfig

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
)

// Error codes of an Autodiscover error response ([MS-OXDSCLI] ErrorCode, a child of Error,
// §2.2.4.1.1.3; the same 600/601 in [MS-ASCMD] §2.2.3.64).
const (
	AutodiscoverAddressNotFound   = 500 // "The email address cannot be found."
	AutodiscoverNoConfiguration   = 501 // address known, but "has no configuration options"
	AutodiscoverInvalidRequest    = 600 // "Invalid Request. The XML request was improperly formatted."
	AutodiscoverUnsupportedSchema = 601 // "unable to provide configuration information of the requested type"
	AutodiscoverBadAddress        = 602 // address known, but configuration errors
	AutodiscoverInternalError     = 603 // "The Autodiscover server threw an internal error."
)

// The 2006a response. Element names and order follow the Protocol (POX) syntax of the Exchange
// documentation (learn.microsoft.com previous-versions bb204278: Type, …, Server, …, Port, …,
// LoginName, DomainRequired, …, SPA, …, SSL, AuthRequired, …); Encryption, which the POX page
// predates, follows SSL, which it overrides. POX Autodiscover has no published schema, and both
// Outlook and Thunderbird look elements up by name.
type adDoc struct {
	XMLName  xml.Name   `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response adResponse `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
}

type adResponse struct {
	User    adUser    `xml:"User"`
	Account adAccount `xml:"Account"`
}

type adUser struct {
	DisplayName string `xml:"DisplayName"`
}

type adAccount struct {
	AccountType string       `xml:"AccountType"`
	Action      string       `xml:"Action"`
	Protocol    []adProtocol `xml:"Protocol"`
}

type adProtocol struct {
	Type           string `xml:"Type"`
	Server         string `xml:"Server"`
	Port           int    `xml:"Port"`
	LoginName      string `xml:"LoginName,omitempty"`
	DomainRequired string `xml:"DomainRequired"`
	SPA            string `xml:"SPA"`
	SSL            string `xml:"SSL"`
	Encryption     string `xml:"Encryption"`
	AuthRequired   string `xml:"AuthRequired"`
}

// WriteAutodiscover writes a as a POX Autodiscover response in the Outlook 2006a schema, the
// answer to a request ParseAutodiscoverRequest accepted. Set a.Email to the requested address.
//
// One Protocol per Type: the first usable IMAP, the first usable POP3 (incoming in input order,
// so the preferred protocol comes first) and the first usable SMTP server. Microsoft does not
// document what Outlook does with several Protocol entries of one Type, nor with both IMAP and
// POP3; Outlook is reported to set up the first incoming entry it supports and one SMTP server,
// with no alternatives (unconfirmed). Writing one entry per Type keeps that choice ours.
// Thunderbird (ExchangeAutoDiscover.sys.mjs readAutoDiscoverXML) takes the first entry of each
// kind as the configuration and later ones as alternatives.
//
// SSL and Encryption: Encryption ([MS-OXDSCLI] §2.2.4.1.1.2.6.22) "specifies the required
// encryption for the connection to the server", is valid for IMAP, POP3 and SMTP, and "If the
// Encryption element is present, it overrides the SSL element" (§2.2.4.1.1.2.6.44, on/off,
// default on). Its values are None, SSL, TLS and Auto; as in Outlook's account dialog, SSL means
// implicit TLS and TLS means STARTTLS (TLS written for ports 993/465 broke Outlook:
// stalwartlabs/stalwart#3248; "With the Encryption tag Outlook can be told to use StartTLS
// instead of SSL": mailcow/mailcow#580). We write SSL=on for both TLS modes because Thunderbird
// ignores Encryption except for None: it reads SSL=off or Encryption=None as plain, and
// otherwise picks STARTTLS for ports 25, 110, 143 and 587 and implicit TLS for every other port.
// A STARTTLS server on another port is therefore misread by Thunderbird (it tries implicit TLS
// and fails; it never falls back to plain), and an Outlook too old to know Encryption fails the
// same way.
//
// SPA (Secure Password Authentication, i.e. NTLM; "If this element is not present, the default
// value is set to on") is off when Logins allow a password (PLAIN, LOGIN, IMAP-LOGIN, USER) and
// on when they allow only NTLM. A server with neither is left out: the format cannot express
// OAuth2 or CRAM-MD5, and Thunderbird maps SPA=off to password-cleartext.
//
// LoginName is the real login: templates are expanded against a.Email, and left out when that
// is impossible (a.Email empty); a literal username is written as given. Thunderbird then uses
// the address it asked for.
//
// User/DisplayName is documented as "the user's display name"; we have only a.DisplayName (the
// provider's name) and write that, as POX responders commonly do.
func WriteAutodiscover(w io.Writer, a Account) error {
	if err := checkAccount(a); err != nil {
		return err
	}
	var in, out []adProtocol
	seen := map[string]bool{}
	for _, s := range a.Incoming {
		if p, ok := autodiscoverProtocol(s, a.Email); ok && !seen[s.Protocol] {
			seen[s.Protocol] = true
			in = append(in, p)
		}
	}
	for _, s := range a.Outgoing {
		if p, ok := autodiscoverProtocol(s, a.Email); ok {
			out = append(out, p)
			break
		}
	}
	if err := needBoth("autodiscover", len(in), len(out)); err != nil {
		return err
	}
	doc := adDoc{Response: adResponse{
		User:    adUser{DisplayName: displayName(a)},
		Account: adAccount{AccountType: "email", Action: "settings", Protocol: append(in, out...)},
	}}
	return writeXML(w, "autodiscover", doc)
}

func autodiscoverProtocol(s Server, email string) (adProtocol, bool) {
	var spa string
	switch {
	case hasLogin(s.Logins, isCleartext):
		spa = "off"
	case hasLogin(s.Logins, isNTLM):
		spa = "on"
	default:
		return adProtocol{}, false
	}
	p := adProtocol{Server: s.Host, Port: s.Port, DomainRequired: "off", SPA: spa, AuthRequired: "on"}
	switch s.Protocol {
	case protoIMAP:
		p.Type = "IMAP"
	case protoPOP3:
		p.Type = "POP3"
	default:
		p.Type = "SMTP"
	}
	switch s.Security {
	case secTLS:
		p.SSL, p.Encryption = "on", "SSL"
	case secSTARTTLS:
		p.SSL, p.Encryption = "on", "TLS"
	default:
		p.SSL, p.Encryption = "off", "None"
	}
	if login, ok := expandUsername(s.Username, email); ok {
		p.LoginName = login
	}
	return p, true
}

// The 2006 error response, as Exchange sends it for a malformed request and [MS-ASCMD] §2.2.3.63
// and the AutodiscoverResponse.xsd of [MS-ASCMD] §6.4 define it: Response and Error in the
// responseschema/2006 namespace. The optional Time and Id attributes are left out (Id "uniquely
// identifies the server"; we have nothing meaningful to put there).
type adErrorDoc struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		Error adError `xml:"Error"`
	} `xml:"Response"`
}

type adError struct {
	ErrorCode int    `xml:"ErrorCode"`
	Message   string `xml:"Message"`
	DebugData string `xml:"DebugData"`
}

// WriteAutodiscoverError writes an Autodiscover error response, e.g. code
// AutodiscoverInvalidRequest with message "Invalid Request" for a request
// ParseAutodiscoverRequest refused (see AutodiscoverErrorCode), or AutodiscoverNoConfiguration
// when WriteAutodiscover returned ErrNothingUsable. Thunderbird treats any response without
// Response/Account/Protocol as "no configuration here" and moves on.
func WriteAutodiscoverError(w io.Writer, code int, message string) error {
	var doc adErrorDoc
	doc.Response.Error = adError{ErrorCode: code, Message: message}
	return writeXML(w, "autodiscover error", doc)
}

// writeXML encodes v, indented, after the XML declaration, writing nothing if encoding fails.
func writeXML(w io.Writer, what string, v any) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("clientconfig: encoding %s: %w", what, err)
	}
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("clientconfig: writing %s: %w", what, err)
	}
	return nil
}
