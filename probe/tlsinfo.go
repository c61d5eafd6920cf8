package probe

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// tlsConfig builds the client configuration. Verification is switched off in the handshake and
// done afterwards by verifyPeer, so that a bad certificate is reported with its exact reason and
// every other fact of the session (version, cipher, capabilities after TLS) is still learned.
// Credentials (a later feature) are never sent when the verdict is bad unless the user says so.
func tlsConfig(host string, opts *Options) *tls.Config {
	cfg := &tls.Config{
		InsecureSkipVerify: true, // verified by verifyPeer after the handshake
		MinVersion:         opts.TLSMin,
		MaxVersion:         opts.TLSMax,
	}
	// SNI carries host names only (RFC 6066 §3); an IP literal is sent without it.
	if net.ParseIP(host) == nil {
		cfg.ServerName = host
	}
	if opts.AllowInsecureTLS {
		// The legacy suites (RSA key exchange, 3DES, CBC-SHA1) that TLS 1.0/1.1 servers need are
		// no longer in Go's default list; naming them explicitly re-enables them for this probe.
		for _, s := range tls.CipherSuites() {
			cfg.CipherSuites = append(cfg.CipherSuites, s.ID)
		}
		for _, s := range tls.InsecureCipherSuites() {
			cfg.CipherSuites = append(cfg.CipherSuites, s.ID)
		}
	}
	return cfg
}

// describeTLS records the session facts and the certificate verdict.
func describeTLS(cs tls.ConnectionState, host string, opts *Options) *TLSInfo {
	info := &TLSInfo{
		Version:   TLSVersionName(cs.Version),
		Cipher:    tls.CipherSuiteName(cs.CipherSuite),
		CertNames: []string{},
	}
	if len(cs.PeerCertificates) == 0 {
		info.CertReason, info.CertError = "no_certificate", "server sent no certificate"
		return info
	}
	leaf := cs.PeerCertificates[0]
	info.CertSubject = leaf.Subject.String()
	info.CertIssuer = leaf.Issuer.String()
	info.CertNotAfter = leaf.NotAfter.UTC().Format(time.RFC3339)
	info.CertNames = append(info.CertNames, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		info.CertNames = append(info.CertNames, ip.String())
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	info.CertReason, info.CertError = verifyPeer(cs.PeerCertificates, host, opts.RootCAs, now)
	info.CertValid = info.CertReason == ""
	return info
}

// verifyPeer checks the chain against roots (nil: the system pool) and the reference identity
// host (RFC 9525 §6, RFC 7817 §3: the DNS-ID the user asked for, never a name learned from the
// server). It returns a reason code and a sentence, both empty when the certificate is good. The
// validity period is checked before the chain so an expired certificate is called expired rather
// than untrusted.
func verifyPeer(certs []*x509.Certificate, host string, roots *x509.CertPool, now time.Time) (reason, text string) {
	leaf := certs[0]
	switch {
	case now.After(leaf.NotAfter):
		return "expired", fmt.Sprintf("certificate expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return "not_yet_valid", fmt.Sprintf("certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now})
	if err != nil {
		var ua x509.UnknownAuthorityError
		var ci x509.CertificateInvalidError
		switch {
		case errors.As(err, &ua) && isSelfSigned(leaf):
			return "self_signed", "certificate is self-signed (issued by itself, not by a trusted authority)"
		case errors.As(err, &ua):
			return "unknown_authority", fmt.Sprintf("certificate issued by an unknown authority (%s)", leaf.Issuer.String())
		case errors.As(err, &ci) && ci.Reason == x509.Expired:
			return "expired", "a certificate in the chain is outside its validity period: " + ci.Error()
		}
		return "invalid", err.Error()
	}
	if err := leaf.VerifyHostname(host); err != nil {
		names := slices.Clone(leaf.DNSNames)
		for _, ip := range leaf.IPAddresses {
			names = append(names, ip.String())
		}
		if len(names) == 0 && leaf.Subject.CommonName != "" {
			return "name_mismatch", fmt.Sprintf("certificate has no subject alternative names (only CN %q, which RFC 9525 §6.4.4 no longer accepts); %s is not covered", leaf.Subject.CommonName, host)
		}
		return "name_mismatch", fmt.Sprintf("certificate is for %s, not %s", strings.Join(names, ", "), host)
	}
	return "", ""
}

// isSelfSigned reports a certificate whose issuer is its own subject and whose signature its own
// key verifies. (CheckSignatureFrom would also demand the CA bit, which self-signed leaves lack.)
func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
