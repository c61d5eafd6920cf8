// Package mailsim simulates a small piece of the Internet's mail system in-process, on loopback:
// a DNS server with zones, a web server with autoconfig files, SOCKS and HTTP proxies, and mail
// servers that behave as told. The built-in demo (`mailscout demo`, `mailscout serve --demo`)
// runs on it, and every test of the project stands on it.
//
// Its mail servers speak SMTP, IMAP and POP3 with a security mode, capability and SASL lists before and after TLS, TLS version
// bounds, a certificate from a private CA made at start (valid, expired, not yet valid, wrong
// name, self-signed, unknown CA), greeting delays, a postscreen-style "220-" pre-greeting,
// per-write latency, and hostile behaviours (silent, endless line, one byte at a time,
// 421/BYE/-ERR, PREAUTH, STARTTLS refused, response injection after the go-ahead, reset on
// ClientHello, and more; see [Behavior]).
//
// A [World] declares all of it as data; a [Network] maps
// logical host:port names to the servers' real loopback addresses, so scenarios can use real
// host names (for SNI and certificate checks) and well-known ports without root.
//
// The servers are written by hand rather than with a server library (emersion/go-smtp,
// go-imap): their whole point is to break the protocol in controlled ways that a correct library
// would never allow.
package mailsim
