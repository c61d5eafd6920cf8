package mailsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// CertKind selects the certificate a server presents.
type CertKind string

const (
	CertValid       CertKind = "valid"         // issued by the test CA for the server's names
	CertExpired     CertKind = "expired"       // issued by the test CA, expired a month ago
	CertNotYetValid CertKind = "not_yet_valid" // issued by the test CA, valid from next month
	CertWrongName   CertKind = "wrong_name"    // issued by the test CA for another host name
	CertSelfSigned  CertKind = "self_signed"   // signed by its own key
	CertUnknownCA   CertKind = "unknown_ca"    // issued by a CA nobody trusts
)

// CA is a private certificate authority made at start. Clients trust it through Pool (in
// tests), a PEM file (--ca-file) or SSL_CERT_FILE.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

// NewCA makes a fresh authority with an ECDSA P-256 key (fast to generate; every test can have one).
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("mailsim: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"mailscout test"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("mailsim: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, key: key, pool: pool}, nil
}

// Pool returns a pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool { return ca.pool }

// PEM returns the CA certificate in PEM form.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// WritePEM writes the CA certificate to path, for --ca-file or SSL_CERT_FILE.
func (ca *CA) WritePEM(path string) error { return os.WriteFile(path, ca.PEM(), 0o644) }

// Issue makes a leaf certificate of the given kind for names (DNS names or IP literals).
func (ca *CA) Issue(kind CertKind, names ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	month := 30 * 24 * time.Hour
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: first(names)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	switch kind {
	case CertExpired:
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-12*month), now.Add(-month)
	case CertNotYetValid:
		tmpl.NotBefore, tmpl.NotAfter = now.Add(month), now.Add(12*month)
	case CertWrongName:
		names = []string{"wrong-name.invalid"}
		tmpl.Subject.CommonName = names[0]
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	parent, signer := ca.Cert, ca.key
	switch kind {
	case CertSelfSigned:
		tmpl.Issuer = tmpl.Subject
		parent, signer = tmpl, key
	case CertUnknownCA:
		other, err := NewCA("Untrusted Test CA")
		if err != nil {
			return tls.Certificate{}, err
		}
		parent, signer = other.Cert, other.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("mailsim: leaf certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// IssueFiles issues a certificate of the given kind for names and writes it and its key as PEM
// files (base.crt, base.key) in dir, for real servers (Postfix, Dovecot, nginx) in integration
// tests. The key file is readable by its owner only.
func (ca *CA) IssueFiles(kind CertKind, dir, base string, names ...string) (certFile, keyFile string, err error) {
	c, err := ca.Issue(kind, names...)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = dir+"/"+base+".crt", dir+"/"+base+".key"
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}
