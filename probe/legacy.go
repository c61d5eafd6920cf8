package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"time"
)

// legacyWorthChecking says whether a failed handshake could be a server that speaks only TLS
// 1.0/1.1: a version alert, or a server that hung up on the ClientHello (what OpenSSL builds
// without legacy support do), when this probe did not offer those versions itself.
func legacyWorthChecking(e *Error, opts *Options) bool {
	if opts.NoLegacyCheck || opts.stopAfterTLS || opts.TLSMin <= tls.VersionTLS11 {
		return false
	}
	return e.Kind == KindTLSVersion || (e.Kind == KindTLSHandshake && e.Msg == "server closed the connection during the handshake")
}

// legacySession makes one connection that offers only TLS 1.0 and 1.1 and stops right after the
// handshake: no credentials, no command over TLS. It returns what that session showed (the
// version the server agreed to, its cipher and certificate), or nil when it speaks neither.
func legacySession(ctx context.Context, t Target, opts *Options) *TLSInfo {
	o := *opts
	o.TLSMin, o.TLSMax, o.AllowInsecureTLS = tls.VersionTLS10, tls.VersionTLS11, true
	o.Credentials, o.Transcript, o.Trace, o.stopAfterTLS = nil, false, nil, true
	r := newResult(t, &o)
	if err := run(ctx, t, &o, &r, time.Now()); errors.Is(err, errStopAfterTLS) && r.TLS != nil {
		return r.TLS
	}
	return nil
}
