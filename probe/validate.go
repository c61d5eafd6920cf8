package probe

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrUnsafeInput is wrapped by every error about a value the user gave that cannot be put on
// the wire as it is: it would end the command line early and smuggle another command after it.
var ErrUnsafeInput = errors.New("unsafe protocol input")

// validEHLOName accepts what RFC 5321 §4.1.1.1 allows after EHLO: a domain (letters, digits
// and hyphens in dot-separated labels) or an address literal ([192.0.2.1], [IPv6:2001:db8::1]).
func validEHLOName(s string) error {
	if strings.ContainsAny(s, "\r\n\x00") {
		return fmt.Errorf("%w: the EHLO name %q contains a line break or NUL", ErrUnsafeInput, s)
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		lit := s[1 : len(s)-1]
		if v6, ok := strings.CutPrefix(lit, "IPv6:"); ok {
			if a, err := netip.ParseAddr(v6); err == nil && a.Is6() {
				return nil
			}
		} else if a, err := netip.ParseAddr(lit); err == nil && a.Is4() {
			return nil
		}
		return fmt.Errorf("%w: the EHLO name %q is not an address literal ([192.0.2.1] or [IPv6:2001:db8::1])", ErrUnsafeInput, s)
	}
	if len(s) > 255 {
		return fmt.Errorf("%w: the EHLO name is longer than 255 characters", ErrUnsafeInput)
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		ok := label != "" && len(label) <= 63 && label[0] != '-' && label[len(label)-1] != '-'
		for _, c := range label {
			ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')
		}
		if !ok {
			return fmt.Errorf("%w: the EHLO name %q is neither a domain (letters, digits, hyphens) nor an address literal", ErrUnsafeInput, s)
		}
	}
	return nil
}

// Validate checks credentials before anything is sent: no line break or NUL in the user name,
// password or token (each would end a command early), and only known mechanisms.
func (c *Credentials) Validate() error {
	for _, f := range []struct{ name, v string }{{"user name", c.Username}, {"password", c.Password}, {"token", c.OAuthToken}} {
		if strings.ContainsAny(f.v, "\r\n\x00") {
			return fmt.Errorf("%w: the %s contains a line break or NUL", ErrUnsafeInput, f.name)
		}
	}
	for _, m := range c.Mechanisms {
		if !containsFold(supportedMechanisms, m) {
			return fmt.Errorf("unknown login mechanism %q (supported: %s)", m, strings.Join(supportedMechanisms, ", "))
		}
	}
	return nil
}
