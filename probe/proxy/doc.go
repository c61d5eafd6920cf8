// Package proxy connects through SOCKS 4, SOCKS 4a, SOCKS 5 (RFC 1928, with username/password
// authentication per RFC 1929) and HTTP CONNECT (RFC 9110 §9.3.6, Basic proxy authentication per
// RFC 7617) proxies, for every probe and every autoconfig fetch.
//
// It is its own package because the probe room got crowded, and because it is written by hand:
// golang.org/x/net/proxy has no SOCKS 4/4a and no HTTP CONNECT, and its SOCKS 5 client reports
// failures as strings ("unknown error connection refused"), while a helpdesk needs to know
// whether the proxy refused, the proxy's authentication failed, or the mail server behind it
// refused — so each SOCKS reply code and HTTP status is translated into words and an error kind
// here. Each protocol is a few dozen lines.
//
// The classic trap of CONNECT is handled: a buffered reader on the proxy's reply can swallow
// the mail server's greeting that follows in the same packet (teleport PR #1672), so the reply is
// read through a buffer whose leftover bytes are handed back before the connection's own.
package proxy
