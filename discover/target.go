package discover

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

// Target is what the user asked about: an address or a bare domain.
type Target struct {
	Input     string // as given
	Address   string // local@domain with the domain in ASCII; empty for a bare domain
	LocalPart string
	Domain    string // ASCII (punycode) form, lower case, no trailing dot
	// DomainUnicode is the domain as people read it (differs from Domain for IDNs).
	DomainUnicode string
}

// ErrBadTarget is wrapped by every ParseTarget error.
var ErrBadTarget = errors.New("not an e-mail address or domain")

// IPAddressError is ParseTarget's error for a target whose domain is an IP address
// ("127.0.0.1", "alice@[192.0.2.1]"): discovery needs a domain's DNS records, and one server
// is a probe's business. It wraps ErrBadTarget.
type IPAddressError struct{ Addr netip.Addr }

func (e *IPAddressError) Error() string {
	return fmt.Sprintf("%v: %s is an IP address, not a mail domain", ErrBadTarget, e.Addr)
}

func (e *IPAddressError) Unwrap() error { return ErrBadTarget }

// ParseTarget accepts "alice@example.com", "example.com", and internationalised forms such as
// "jörg@bücher.example" (IDNA 2008 lookup rules, UTS #46 mapping).
func ParseTarget(s string) (Target, error) {
	t := Target{Input: s}
	s = strings.TrimSpace(s)
	domain := s
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		t.LocalPart, domain = s[:at], s[at+1:]
		if t.LocalPart == "" {
			return t, fmt.Errorf("%w: %q has nothing before the @", ErrBadTarget, s)
		}
		if strings.ContainsAny(t.LocalPart, " \t\r\n<>") {
			return t, fmt.Errorf("%w: %q has spaces or angle brackets in its local part", ErrBadTarget, s)
		}
	}
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" {
		return t, fmt.Errorf("%w: %q has no domain", ErrBadTarget, s)
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(domain, "[IPv6:"), "["), "]")); err == nil {
		return t, &IPAddressError{Addr: ip.WithZone("")}
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return t, fmt.Errorf("%w: domain %q: %v", ErrBadTarget, domain, err)
	}
	ascii = strings.ToLower(ascii)
	// x/net/idna maps some inputs to an ASCII form that it then refuses itself: invalid UTF-8
	// becomes U+FFFD ("\x80.example" gives xn--zn7c.example), and the Bidi rule is checked
	// before mapping (golang/go#81525). Only a domain whose ASCII form is valid by itself is
	// accepted: what is accepted names one domain, and parses to itself.
	if again, err := idna.Lookup.ToASCII(ascii); err != nil || again != ascii {
		return t, fmt.Errorf("%w: domain %q is not a valid international domain name", ErrBadTarget, domain)
	}
	if !strings.Contains(ascii, ".") {
		return t, fmt.Errorf("%w: %q is not a fully qualified domain (no dot)", ErrBadTarget, domain)
	}
	if len(ascii) > 253 {
		return t, fmt.Errorf("%w: domain %q is longer than 253 characters", ErrBadTarget, domain)
	}
	for _, label := range strings.Split(ascii, ".") {
		if label == "" || len(label) > 63 {
			return t, fmt.Errorf("%w: domain %q has an empty or over-long label", ErrBadTarget, domain)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return t, fmt.Errorf("%w: domain %q has the character %q", ErrBadTarget, domain, c)
			}
		}
	}
	t.Domain = ascii
	t.DomainUnicode, _ = idna.Display.ToUnicode(ascii)
	if t.LocalPart != "" {
		t.Address = t.LocalPart + "@" + ascii
	}
	return t, nil
}
