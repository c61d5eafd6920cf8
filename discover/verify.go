package discover

import (
	"context"
	"sync"

	"github.com/mailscout/mailscout/probe"
)

// verify logs in on the working configurations, per protocol in rank order, and records each
// attempt's outcome in the configuration. The rules that keep a password safe:
//
//   - never over a connection without TLS, unless Credentials.AllowPlaintext (the probe enforces
//     it too);
//   - never to a server whose certificate failed verification, unless AllowBadCert;
//   - never to a host outside the user's domain that only an untrusted path named (HTTP
//     autoconfig, an unsigned SRV or MX pointing elsewhere), unless TrustHost;
//   - at most one failed login per server, then stop: accounts get locked;
//   - stop after the first success per protocol, unless VerifyAll.
//
// When no user name is given, the autoconfig's form is used when it names one, else the full
// address (RFC 6186 §3 and Thunderbird try it first). The local part alone is not tried
// automatically: that would be a second failed login on the same server.
func (d *discovery) verify(ctx context.Context, s *scheduler, working []rankedConfig) {
	cred := d.opts.Credentials
	for i := range working {
		working[i].key.unverified = 1
	}
	var mu sync.Mutex
	failedHosts := map[string]bool{}
	var wg sync.WaitGroup
	for _, p := range d.opts.Protocols {
		wg.Go(func() {
			done := false
			for i := range working {
				c := &working[i]
				if c.Protocol != p {
					continue
				}
				if done {
					c.Auth = &probe.AuthResult{Error: "not attempted: a login on a better configuration already succeeded (--verify-all tries every one)"}
					continue
				}
				user := cred.Username
				if user == "" {
					user = c.Username
				}
				res := &probe.AuthResult{Username: user}
				mu.Lock()
				failed := failedHosts[c.Host]
				mu.Unlock()
				switch {
				case user == "" || user == "%EMAILADDRESS%":
					res.Error = "not attempted: no user name (give --user, or discover an address rather than a domain)"
				case c.cand.untrusted && !d.opts.TrustHost:
					res.Error = "not attempted: " + c.Host + " is outside " + d.target.Domain + " and was named over an untrusted path (--trust-host overrides)"
				case failed:
					res.Error = "not attempted: a login already failed on this server; not trying again (accounts get locked)"
				case probe.RefuseReason(&c.Result, cred) != "":
					res.Error = probe.RefuseReason(&c.Result, cred)
				default:
					res = d.login(ctx, s, c, user)
				}
				c.Auth = res
				if res.Attempted && !res.OK {
					mu.Lock()
					failedHosts[c.Host] = true
					mu.Unlock()
				}
				if res.OK {
					c.key.unverified = 0
					done = !d.opts.VerifyAll
				}
			}
		})
	}
	wg.Wait()
}

// login makes one connection to the configuration and logs in there.
func (d *discovery) login(ctx context.Context, s *scheduler, c *rankedConfig, user string) *probe.AuthResult {
	opts := d.opts.Probe
	cred := *d.opts.Credentials
	cred.Username = user
	opts.Credentials = &cred
	t := c.cand.Target
	t.Security = c.Security
	t.Addrs = c.cand.addrs
	if opts.Proxy != nil && opts.Proxy.RemoteResolves() {
		t.Addrs = nil
	}
	r := probe.Run(ctx, t, opts)
	s.countConnection()
	if r.Auth == nil {
		return &probe.AuthResult{Username: user, Error: "not attempted: the connection failed: " + r.Error}
	}
	return r.Auth
}
