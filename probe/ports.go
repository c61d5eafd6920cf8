package probe

// ProtocolForPort infers the protocol from a well-known port (IANA service names; RFC 8314 §7 for
// 465, 993 and 995; 2525 is a common alternative submission port).
func ProtocolForPort(port int) (Protocol, bool) {
	switch port {
	case 25, 465, 587, 2525:
		return SMTP, true
	case 143, 993:
		return IMAP, true
	case 110, 995:
		return POP3, true
	}
	return "", false
}

// ModesForPort lists the security modes worth trying on a port, most secure first. Implicit-TLS
// ports get only tls; the plaintext ports get starttls and plain (plain is reported so a helpdesk
// sees whether the server accepts sessions, and offers login, without encryption); an unknown port
// gets all three.
func ModesForPort(port int) []Security {
	switch port {
	case 465, 993, 995:
		return []Security{TLS}
	case 25, 587, 2525, 143, 110:
		return []Security{StartTLS, Plain}
	}
	return []Security{TLS, StartTLS, Plain}
}
