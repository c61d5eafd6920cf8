package clientconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Account is what a mail client needs to set up one account: servers that were verified to work, best first.
type Account struct {
	Email       string   // "alice@example.com"; "" when only a domain is known
	Domain      string   // ASCII (punycode) domain
	DisplayName string   // shown by clients, e.g. the Unicode form of the domain
	Incoming    []Server // IMAP and POP3, best first (the first is the preferred one)
	Outgoing    []Server // SMTP, best first
}

// Server is one verified way to reach a mail service.
type Server struct {
	Protocol string // "imap", "pop3" or "smtp"
	Host     string
	Port     int
	Security string // "tls" (implicit TLS), "starttls" or "plain"
	Username string // the login name, as a literal ("alice", "alice@example.com") or a template (%EMAILADDRESS%, %EMAILLOCALPART%)
	// Logins are the ways the server lets a user log in there, as seen by probing: upper-case SASL
	// mechanism names (PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2,
	// OAUTHBEARER, GSSAPI, NTLM, …) plus two pseudo-mechanisms: "IMAP-LOGIN" (IMAP's LOGIN
	// command is allowed) and "USER" (POP3 USER/PASS). Never empty for a server handed to this package.
	Logins []string
}

// ErrNothingUsable is returned (possibly wrapped, with the reason) when an Account has no server
// a given format can describe: no server at all, or none whose Logins map to an authentication
// method of that format, or no incoming or no outgoing one (every client reading these formats
// needs both). Callers answer it with 404 (Autodiscover: an error response) or print an error.
var ErrNothingUsable = errors.New("clientconfig: no usable mail server")

// Values of Server.Protocol and Server.Security.
const (
	protoIMAP = "imap"
	protoPOP3 = "pop3"
	protoSMTP = "smtp"

	secTLS      = "tls"
	secSTARTTLS = "starttls"
	secPlain    = "plain"
)

// check rejects a Server that no format can express; such input is a caller bug, not an
// unusable server, so it is an error rather than being left out silently.
func (s Server) check(incoming bool) error {
	switch {
	case incoming && s.Protocol != protoIMAP && s.Protocol != protoPOP3:
		return fmt.Errorf("protocol %q is not an incoming protocol (imap, pop3)", s.Protocol)
	case !incoming && s.Protocol != protoSMTP:
		return fmt.Errorf("protocol %q is not an outgoing protocol (smtp)", s.Protocol)
	case !validHost(s.Host):
		return fmt.Errorf("host %q is not an ASCII host name or IP address", s.Host)
	case s.Port < 1 || s.Port > 65535:
		return fmt.Errorf("port %d is out of range 1-65535", s.Port)
	case s.Security != secTLS && s.Security != secSTARTTLS && s.Security != secPlain:
		return fmt.Errorf("security %q is not one of tls, starttls, plain", s.Security)
	case strings.TrimSpace(s.Username) == "":
		return errors.New("username is empty")
	}
	return nil
}

// checkAccount validates every server and the domain, naming the offending server. An account
// without any server is ErrNothingUsable, whatever else it lacks.
func checkAccount(a Account) error {
	if len(a.Incoming)+len(a.Outgoing) == 0 {
		return fmt.Errorf("%w: no usable incoming (IMAP/POP3) or outgoing (SMTP) server", ErrNothingUsable)
	}
	if !validHost(a.Domain) {
		return fmt.Errorf("clientconfig: domain %q is not an ASCII (punycode) domain name", a.Domain)
	}
	for i, s := range a.Incoming {
		if err := s.check(true); err != nil {
			return fmt.Errorf("clientconfig: incoming server %d (%s:%d): %w", i, s.Host, s.Port, err)
		}
	}
	for i, s := range a.Outgoing {
		if err := s.check(false); err != nil {
			return fmt.Errorf("clientconfig: outgoing server %d (%s:%d): %w", i, s.Host, s.Port, err)
		}
	}
	return nil
}

// validHost accepts what Thunderbird's Sanitizer.hostname accepts for a real host: an IP address
// or an RFC 952/1123 LDH name of at most 255 characters (mailnews/base/src/hostnameUtils.sys.mjs,
// isLegalHostName). U-labels are refused: Thunderbird does not convert them ("Currently does not
// support IDN"), so the caller must pass the punycode form.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		// Thunderbird rejects IPv6 zones and the all-zero address (isLegalIPv6Address).
		return ip.Zone() == "" && !ip.IsUnspecified()
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Username templates of Mozilla's clientConfig format (wiki.mozilla.org
// Thunderbird:Autoconfiguration:ConfigFileFormat; AccountConfig.sys.mjs replaceVariables).
const (
	tmplAddress   = "%EMAILADDRESS%"
	tmplLocalPart = "%EMAILLOCALPART%"
	tmplDomain    = "%EMAILDOMAIN%"
)

// expandUsername replaces the clientConfig templates in u with the parts of email, for formats
// that have no templates (Autodiscover, Apple profiles). ok is false when u has a template and
// email is empty or not an address: the login name is then unknown and must be left out.
func expandUsername(u, email string) (name string, ok bool) {
	if !strings.Contains(u, tmplAddress) && !strings.Contains(u, tmplLocalPart) && !strings.Contains(u, tmplDomain) {
		return u, true
	}
	local, domain, found := strings.Cut(email, "@")
	if !found || local == "" || domain == "" {
		return "", false
	}
	r := strings.NewReplacer(tmplAddress, email, tmplLocalPart, local, tmplDomain, domain)
	return r.Replace(u), true
}

// hasLogin reports whether any of the mechanisms in want is among logins. Comparison ignores
// case so that a lower-case capability token read off the wire still counts.
func hasLogin(logins []string, want func(string) bool) bool {
	for _, l := range logins {
		if want(strings.ToUpper(strings.TrimSpace(l))) {
			return true
		}
	}
	return false
}

// Groups of Logins shared by the three formats. A password typed by the user and sent as-is
// (inside the connection's TLS) is "cleartext"; challenge-response with a password is "encrypted".
func isCleartext(m string) bool {
	return m == "PLAIN" || m == "LOGIN" || m == "IMAP-LOGIN" || m == "USER"
}
func isCRAMMD5(m string) bool { return m == "CRAM-MD5" }
func isEncrypted(m string) bool {
	return m == "CRAM-MD5" || m == "DIGEST-MD5" || strings.HasPrefix(m, "SCRAM-")
}
func isOAuth2(m string) bool { return m == "XOAUTH2" || m == "OAUTHBEARER" }
func isGSSAPI(m string) bool { return m == "GSSAPI" }
func isNTLM(m string) bool   { return m == "NTLM" }

// validEmail is a deliberately loose syntax check: one "@", both sides non-empty, no spaces,
// control characters or angle brackets. The address came from the user and was used for
// discovery; this only stops obvious garbage from being written into a profile.
func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(e) > 320 {
		return false
	}
	for _, r := range e {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' {
			return false
		}
	}
	return true
}
