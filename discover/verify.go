package discover

import (
	"slices"

	"github.com/mailscout/mailscout/probe"
)

// verify logs in on the configurations, incoming before outgoing, each protocol in rank order,
// one login at a time, and records each outcome in the configuration. The rules that keep a
// password safe and an account unlocked:
//
//   - never over a connection without TLS, unless Credentials.AllowPlaintext (the probe enforces
//     it too); never to a server whose certificate failed verification, unless AllowBadCert;
//   - never to a host outside the user's domain that only an untrusted path named (HTTP
//     autoconfig, an unsigned SRV or MX pointing elsewhere), unless TrustHost;
//   - once a server has rejected a login, no further login with that password anywhere in the
//     discovery, under any user name (autoconfig may name another form for another protocol):
//     one failure in all, not one per protocol, server or user name, because failures from one
//     address in a minute is what fail2ban counts, and failures for an account what locks it;
//   - stop after the first success per protocol, unless VerifyAll.
//
// When no user name is given, the autoconfig's form is used when it names one, else the full
// address (RFC 6186 §3 and Thunderbird try it first). The local part alone is not tried
// automatically: that would be a second failed login.
func (s *scheduler) verify(working []rankedConfig) {
	cred := s.opts.Credentials
	order := slices.Clone(working)
	sortConfigs(order) // rank order decides which configuration is tried first
	rejected := false
	for _, p := range []probe.Protocol{probe.IMAP, probe.SMTP, probe.POP3} {
		succeeded := false
		for _, o := range order {
			if o.Protocol != p {
				continue
			}
			c := &working[indexOf(working, o.cand, o.Security)]
			user := cred.Username
			if user == "" {
				user = c.Username
			}
			res := &probe.AuthResult{Username: user}
			switch {
			case c.Verdict == Unusable:
				continue // nothing to log in to
			case succeeded && !s.opts.VerifyAll:
				res.NotAttempted, res.Error = probe.NotAttemptedSucceeded, "not attempted: a login on a better configuration already succeeded"
			case rejected:
				res.NotAttempted, res.Error = probe.NotAttemptedAlreadyFailed, "not attempted: a server already rejected a login with this password once; not trying again (accounts get locked)"
			case user == "" || user == "%EMAILADDRESS%":
				res.NotAttempted, res.Error = probe.NotAttemptedNoUser, "not attempted: no user name (give one, or discover an address rather than a domain)"
			case c.cand.untrusted && !s.opts.TrustHost:
				res.NotAttempted, res.Error = probe.NotAttemptedUntrustedHost, "not attempted: "+c.Host+" is outside "+s.target.Domain+" and was named over an untrusted path"
			default:
				if code, why := probe.Refusal(&c.Result, cred); code != "" {
					res.NotAttempted, res.Error = code, why
				} else {
					res = s.login(c, user)
				}
			}
			c.Result.Auth = res
			switch {
			case res.OK:
				c.key.unverified = 0
				succeeded = true
			case res.Attempted:
				rejected = true
			}
		}
	}
	for i := range working {
		if working[i].Auth == nil || !working[i].Auth.OK {
			working[i].key.unverified = 1
		}
	}
}

func indexOf(cs []rankedConfig, c *candidate, sec probe.Security) int {
	for i := range cs {
		if cs[i].cand == c && cs[i].Security == sec {
			return i
		}
	}
	return -1
}

// login makes one connection to the configuration, through the dispatcher (the address's
// politeness budget counts it), and logs in there.
func (s *scheduler) login(c *rankedConfig, user string) *probe.AuthResult {
	cred := *s.opts.Credentials
	cred.Username = user
	t := c.cand.Target
	t.Security, t.Addrs = c.Security, c.cand.addrs
	j := &job{target: t, creds: &cred, prio: prio{seq: s.seq}}
	got := make(chan jobResult, 1)
	j.deliver = func(r jobResult) { got <- r }
	s.e.disp.submit(j)
	var jr jobResult
	select {
	case jr = <-got:
	case <-s.ctx.Done():
		s.e.disp.withdraw(j, &probe.Cut{Reason: probe.CutDeadline})
		jr = <-got
	}
	s.connections += jr.conns
	r := jr.r
	s.progress(Event{Kind: EventLogin, Protocol: r.Protocol, Host: r.Host, Port: r.Port, Security: r.Security,
		OK: r.Auth != nil && r.Auth.OK, ErrorKind: r.ErrorKind})
	if r.Auth == nil {
		return &probe.AuthResult{Username: user, NotAttempted: probe.NotAttemptedUnreachable, Error: "not attempted: the connection failed: " + r.Error}
	}
	return r.Auth
}
