package probe

// PlaintextPhase returns what a client that never upgrades would get on the port of a STARTTLS
// probe whose plaintext phase worked but whose upgrade did not (STARTTLS not offered, refused,
// or a failed handshake): the same connection already showed what a plaintext session offers,
// so no second connection is needed to report it. ok is false when the plaintext phase itself
// failed, when r is not such a result, or after a STARTTLS injection (bytes pushed into the
// plaintext session say it cannot be trusted).
func (r Result) PlaintextPhase() (plain Result, ok bool) {
	if r.Security != StartTLS || r.OK || r.Greeting == "" {
		return Result{}, false
	}
	switch r.ErrorKind {
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
	p.Warnings = []Warning{}
	for _, w := range r.Warnings {
		if w.Code != WarnLegacyTLS { // a fact about the failed upgrade, not about plaintext
			p.Warnings = append(p.Warnings, w)
		}
	}
	p.Transcript = nil
	p.Timings.TLS = 0
	addSecurityWarnings(&p)
	return p, true
}
