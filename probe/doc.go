// Package probe checks one mail endpoint — a protocol (SMTP, IMAP, POP3), a host, a port and a
// security mode (implicit TLS, STARTTLS, plain) — and reports exactly what works there: the
// greeting, the capabilities and SASL mechanisms before and after TLS, the TLS version, cipher
// and certificate verdict, and, with credentials, whether a login works. Every failure is a
// [Result] with a machine-readable [Kind] and a sentence that says why, never a Go error.
//
// # The dialogue
//
// [Run] connects (through Options.Dial, a [Dialer]: direct, a proxy, or a simulated network),
// does the TLS handshake first for implicit TLS, waits for the greeting without sending a byte
// (RFC 5321 §4.3.1), asks for capabilities, upgrades with STARTTLS/STLS and asks again
// (discarding everything learned in plaintext, RFC 3207 §4.2), logs in if asked and allowed,
// and leaves politely. Certificates are verified by this package after the handshake, so a bad
// certificate is reported with its exact reason while every other fact is still learned.
//
// # Bounds
//
// Every read has a deadline and a size bound: the connect timeout, the greeting timeout (for the
// first complete line of the greeting, or the first answer to an implicit-TLS ClientHello: a
// silent or dripping server is cut there), the operation timeout for each complete reply and the
// handshake, an overall deadline, and [Limits] on lines, replies and the session. Cancellation
// interrupts a blocked read at once and leaves no goroutine behind. A caller that stops a probe
// on purpose gives a [Cut] as the context's cause, and the result says why the wait ended.
//
// # Credentials
//
// A password is never sent without TLS, or to a server whose certificate failed verification,
// unless the [Credentials] say so; it never appears in a result, an error or a transcript.
// SCRAM-SHA-256 requires the server to prove it knows the password too.
//
// The protocol dialogues, the line reader and the SCRAM, CRAM-MD5, LOGIN and XOAUTH2 clients
// are written here: client libraries (net/smtp, go-imap) hide exactly the facts a diagnosis
// needs — what was offered before TLS, bytes injected after a STARTTLS go-ahead, a greeting
// that never finishes — and PLAIN and OAUTHBEARER come from github.com/emersion/go-sasl.
package probe
