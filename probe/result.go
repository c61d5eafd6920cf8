package probe

import (
	"encoding/json"
	"math"
	"time"
)

// Result is what one probe learned. Its JSON form is a public contract (README.md, "Probe result");
// every key is always present so consumers need no existence checks, except "tls" (null when no
// TLS was negotiated) and "transcript" (only when recorded).
type Result struct {
	Protocol Protocol `json:"protocol"`
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Address  string   `json:"address"` // IP:port actually connected to; empty if the connect failed
	// Proxy is the proxy the connection went through (URL without password), "" for direct.
	// With a proxy, Address is the proxy's view of the tunnel's far end when known.
	Proxy     string   `json:"proxy"`
	Security  Security `json:"security"`
	OK        bool     `json:"ok"`
	ErrorKind Kind     `json:"error_kind"`
	Error     string   `json:"error"`

	// Greeting is the server's greeting, lines joined with "\n", escaped.
	Greeting string `json:"greeting"`
	// Capabilities are the raw capability lines from the last point of the dialogue that got
	// them: after TLS where TLS was used (RFC 3207 §4.2: knowledge from plaintext is discarded).
	Capabilities []string `json:"capabilities"`
	// AuthMethods are upper-case SASL mechanism names usable on this connection (after TLS).
	AuthMethods []string `json:"auth_methods"`
	// AuthMethodsPlaintext are the mechanisms advertised before any TLS (STARTTLS and plain modes).
	AuthMethodsPlaintext []string `json:"auth_methods_plaintext"`
	// StartTLSOffered says the plaintext capabilities advertised STARTTLS (SMTP, IMAP) or STLS (POP3).
	StartTLSOffered bool `json:"starttls_offered"`
	// LoginDisabled is IMAP's LOGINDISABLED on the connection's final capabilities (RFC 9051 §6.2.3).
	LoginDisabled bool `json:"login_disabled"`
	// APOP says the POP3 greeting carried an APOP timestamp (RFC 1939 §7): legacy MD5 login.
	APOP bool `json:"apop"`

	// TLS is the negotiated session, null when none was. A server that speaks only TLS 1.0/1.1
	// fails the probe (kind tls_version, warning legacy_tls), and TLS then describes the legacy
	// session the extra check saw.
	TLS *TLSInfo `json:"tls"`
	// Auth is the login attempt's outcome; null when no credentials were given.
	Auth     *AuthResult `json:"auth"`
	Warnings []Warning   `json:"warnings"`
	Timings  Timings     `json:"timings_ms"`
	Timeouts Timeouts    `json:"timeouts_ms"`

	Transcript []TranscriptLine `json:"transcript,omitempty"`
}

// TLSInfo describes the negotiated TLS session and the certificate verdict.
type TLSInfo struct {
	Version string `json:"version"` // "1.3"
	Cipher  string `json:"cipher"`  // IANA name, e.g. TLS_AES_128_GCM_SHA256
	// CertValid is the verdict of our own verification: chain to a trusted root, validity period,
	// and the host name (RFC 9525 / RFC 7817). The handshake itself never verifies, so a bad
	// certificate is reported rather than hiding every other fact.
	CertValid bool `json:"cert_valid"`
	// CertReason is the machine-readable reason: expired, not_yet_valid, unknown_authority,
	// self_signed, name_mismatch, no_certificate, invalid; empty when valid.
	CertReason   string   `json:"cert_reason"`
	CertError    string   `json:"cert_error"`
	CertSubject  string   `json:"cert_subject"`
	CertNames    []string `json:"cert_names"`
	CertIssuer   string   `json:"cert_issuer"`
	CertNotAfter string   `json:"cert_not_after"` // RFC 3339, UTC
}

// Warning is a short machine code with a sentence for humans.
type Warning struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// Timings are how long the probe's stages took. JSON carries them as milliseconds.
type Timings struct {
	Connect  time.Duration // TCP connect (through any proxy)
	Greeting time.Duration // from connected (or TLS up, for implicit TLS) to the complete greeting
	TLS      time.Duration // the TLS handshake
	Total    time.Duration // the whole probe, polite exit included
}

type timingsJSON struct {
	Connect  float64 `json:"connect"`
	Greeting float64 `json:"greeting"`
	TLS      float64 `json:"tls"`
	Total    float64 `json:"total"`
}

// MarshalJSON writes milliseconds with microsecond precision (the contract's "timings_ms").
func (t Timings) MarshalJSON() ([]byte, error) {
	return json.Marshal(timingsJSON{Millis(t.Connect), Millis(t.Greeting), Millis(t.TLS), Millis(t.Total)})
}

// UnmarshalJSON reads milliseconds.
func (t *Timings) UnmarshalJSON(b []byte) error {
	var j timingsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Timings{FromMillis(j.Connect), FromMillis(j.Greeting), FromMillis(j.TLS), FromMillis(j.Total)}
	return nil
}

// Timeouts echo the limits the probe ran under, so a result explains itself. JSON carries them
// as milliseconds.
type Timeouts struct {
	Connect   time.Duration
	Greeting  time.Duration
	Operation time.Duration
	Deadline  time.Duration
}

type timeoutsJSON struct {
	Connect   float64 `json:"connect"`
	Greeting  float64 `json:"greeting"`
	Operation float64 `json:"operation"`
	Deadline  float64 `json:"deadline"`
}

// MarshalJSON writes milliseconds.
func (t Timeouts) MarshalJSON() ([]byte, error) {
	return json.Marshal(timeoutsJSON{Millis(t.Connect), Millis(t.Greeting), Millis(t.Operation), Millis(t.Deadline)})
}

// UnmarshalJSON reads milliseconds.
func (t *Timeouts) UnmarshalJSON(b []byte) error {
	var j timeoutsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Timeouts{FromMillis(j.Connect), FromMillis(j.Greeting), FromMillis(j.Operation), FromMillis(j.Deadline)}
	return nil
}

// TranscriptLine is one line of the dialogue. Dir is "C" (client), "S" (server) or "*" (an event
// such as the TLS handshake). Secrets are never recorded in the clear.
type TranscriptLine struct {
	At   time.Duration // since the probe started; "t_ms" in JSON
	Dir  string
	TLS  bool
	Text string
}

type transcriptLineJSON struct {
	At   float64 `json:"t_ms"`
	Dir  string  `json:"dir"`
	TLS  bool    `json:"tls"`
	Text string  `json:"text"`
}

// MarshalJSON writes At in milliseconds.
func (l TranscriptLine) MarshalJSON() ([]byte, error) {
	return json.Marshal(transcriptLineJSON{Millis(l.At), l.Dir, l.TLS, l.Text})
}

// UnmarshalJSON reads At in milliseconds.
func (l *TranscriptLine) UnmarshalJSON(b []byte) error {
	var j transcriptLineJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*l = TranscriptLine{FromMillis(j.At), j.Dir, j.TLS, j.Text}
	return nil
}

// Millis is d in milliseconds with microsecond precision: how the JSON contracts carry times.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// FromMillis is the inverse of Millis. It rounds to the nearest nanosecond, because a
// float's millisecond value times 1e6 lands just below the integer it stands for (1.234 ms is
// 1233999.99… ns) and truncation would shift a stored report by a microsecond on every round
// trip.
func FromMillis(ms float64) time.Duration {
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}

// Warning codes. They are a public contract (README.md).
const (
	WarnLegacyTLS        = "legacy_tls"            // TLS 1.0/1.1 negotiated, or the server speaks nothing newer
	WarnCertInvalid      = "cert_invalid"          // certificate failed verification
	WarnPlaintextAuth    = "plaintext_auth"        // AUTH mechanisms offered without TLS
	WarnNoEHLO           = "ehlo_unsupported"      // SMTP server only answers HELO
	WarnPreauth          = "preauth"               // IMAP PREAUTH greeting
	WarnCapaUnsupported  = "capa_unsupported"      // POP3 CAPA answered -ERR
	WarnAPOP             = "apop"                  // POP3 APOP timestamp (MD5)
	WarnLoginDisabled    = "login_disabled"        // IMAP LOGINDISABLED
	WarnRelayPort        = "relay_port"            // SMTP on port 25
	WarnPlaintextSession = "no_tls"                // the mode works without any encryption
	WarnSlowGreeting     = "slow_greeting"         // greeting took more than a second
	WarnUnsolicitedCaps  = "starttls_caps_ignored" // capabilities sent with the STARTTLS go-ahead, discarded
	WarnPlaintextOn465   = "plaintext_on_tls_port"
	WarnCleartextLogin   = "cleartext_login" // credentials were sent without TLS, on request
)

func (r *Result) warn(code, text string) {
	for _, w := range r.Warnings {
		if w.Code == code {
			return
		}
	}
	r.Warnings = append(r.Warnings, Warning{Code: code, Text: text})
}

// HasWarning reports whether the result carries the warning code.
func (r *Result) HasWarning(code string) bool {
	for _, w := range r.Warnings {
		if w.Code == code {
			return true
		}
	}
	return false
}
