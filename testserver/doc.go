// Package testserver runs mail servers that behave as told, on loopback, in-process: SMTP, IMAP
// and POP3 with a security mode, capability and SASL lists before and after TLS, TLS version
// bounds, a certificate from a private CA made at start (valid, expired, not yet valid, wrong
// name, self-signed, unknown CA), greeting delays, a postscreen-style "220-" pre-greeting,
// per-write latency, and hostile behaviours (silent, endless line, one byte at a time,
// 421/BYE/-ERR, PREAUTH, STARTTLS refused, response injection after the go-ahead, reset on
// ClientHello, and more; see [Behavior]).
//
// Every test of the project stands on it, and the built-in demo runs on it. A [Network] maps
// logical host:port names to the servers' real loopback addresses, so scenarios can use real
// host names (for SNI and certificate checks) and well-known ports without root.
//
// The servers are written by hand rather than with a server library (emersion/go-smtp,
// go-imap): their whole point is to break the protocol in controlled ways that a correct library
// would never allow.
package testserver
