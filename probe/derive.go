package probe

// PlainFromStartTLS derives the plain-mode result from a STARTTLS probe whose plaintext phase
// worked but whose upgrade did not (not offered, refused, or a failed handshake): the
// same connection already showed what a plaintext session offers, so no second connection is
// needed to report it. ok is false when the plaintext phase itself failed.
func PlainFromStartTLS(r Result) (Result, bool) {
	if r.Security != StartTLS || r.OK || r.Greeting == "" {
		return Result{}, false
	}
	switch r.ErrorKind {
	// Not after an injection: bytes pushed into the plaintext session say it cannot be trusted.
	case KindStartTLSUnavailable, KindStartTLSRefused, KindTLSHandshake, KindTLSVersion:
	default:
		return Result{}, false
	}
	p := r
	p.Security = Plain
	p.OK, p.ErrorKind, p.Error = true, KindNone, ""
	p.TLS = nil
	p.AuthMethods = append([]string{}, r.AuthMethodsPlaintext...)
	p.Capabilities = append([]string{}, r.Capabilities...)
	p.Warnings = append([]Warning{}, r.Warnings...)
	p.Transcript = nil
	p.Timings.TLS = 0
	addSecurityWarnings(&p)
	return p, true
}
