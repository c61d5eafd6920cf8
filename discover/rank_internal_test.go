package discover

import (
	"testing"
	"time"

	"github.com/mailscout/mailscout/probe"
)

func result(sec probe.Security, tlsVersion string, certValid bool) probe.Result {
	r := probe.Result{OK: true, Security: sec, Protocol: probe.SMTP, AuthMethods: []string{"PLAIN"}}
	if sec != probe.Plain {
		r.TLS = &probe.TLSInfo{Version: tlsVersion, CertValid: certValid}
	}
	return r
}

// TestRankingRule pins the documented ranking (README.md, "Ranking"): each row must rank
// strictly above the next.
func TestRankingRule(t *testing.T) {
	cand := func(port int, sec probe.Security, trust int, srv *SRV) *candidate {
		return &candidate{Target: probe.Target{Protocol: probe.SMTP, Host: "h", Port: port, Security: sec}, trust: trust, srv: srv}
	}
	rows := []struct {
		name string
		c    *candidate
		r    probe.Result
	}{
		{"tls, valid, SRV prio 0", cand(465, probe.TLS, trustDomain, &SRV{Priority: 0, Weight: 5}), result(probe.TLS, "1.3", true)},
		{"tls, valid, SRV prio 0 lighter", cand(465, probe.TLS, trustDomain, &SRV{Priority: 0, Weight: 1}), result(probe.TLS, "1.3", true)},
		{"tls, valid, SRV prio 10", cand(465, probe.TLS, trustDomain, &SRV{Priority: 10}), result(probe.TLS, "1.3", true)},
		{"tls, valid, https autoconfig", cand(465, probe.TLS, trustDomain, nil), result(probe.TLS, "1.2", true)},
		{"tls, valid, ispdb", cand(465, probe.TLS, trustThirdHand, nil), result(probe.TLS, "1.3", true)},
		{"tls, valid, guess", cand(465, probe.TLS, trustGuess, nil), result(probe.TLS, "1.3", true)},
		{"tls, valid, guess, odd port", cand(2465, probe.TLS, trustGuess, nil), result(probe.TLS, "1.3", true)},
		{"tls, valid, http autoconfig", cand(465, probe.TLS, trustHTTP, nil), result(probe.TLS, "1.3", true)},
		{"starttls, valid, guess 587", cand(587, probe.StartTLS, trustGuess, nil), result(probe.StartTLS, "1.3", true)},
		{"starttls, valid, guess 25", cand(25, probe.StartTLS, trustGuess, nil), result(probe.StartTLS, "1.3", true)},
		{"tls, expired certificate, SRV", cand(465, probe.TLS, trustDomain, &SRV{}), result(probe.TLS, "1.3", false)},
		{"tls 1.0, valid, SRV", cand(465, probe.TLS, trustGuess, nil), result(probe.TLS, "1.0", true)},
		{"starttls, bad certificate", cand(587, probe.StartTLS, trustDomain, nil), result(probe.StartTLS, "1.3", false)},
		{"plain, SRV", cand(587, probe.Plain, trustDomain, &SRV{}), result(probe.Plain, "", false)},
		{"plain, guess", cand(587, probe.Plain, trustGuess, nil), result(probe.Plain, "", false)},
		{"tls, valid, SRV, but no AUTH", cand(465, probe.TLS, trustDomain, &SRV{}), func() probe.Result {
			r := result(probe.TLS, "1.3", true)
			r.AuthMethods = nil
			return r
		}()},
	}
	for i := 1; i < len(rows); i++ {
		a, b := rows[i-1], rows[i]
		va, _ := judge(&a.r, false)
		vb, _ := judge(&b.r, false)
		ka, kb := keyOf(a.c, a.r.Security, va), keyOf(b.c, b.r.Security, vb)
		if ka.compare(kb) >= 0 {
			t.Errorf("%q (%+v) does not rank above %q (%+v)", a.name, ka, b.name, kb)
		}
	}
}

func TestSortConfigsNumbersPerProtocol(t *testing.T) {
	mk := func(p probe.Protocol, port int, total int, k rankKey) rankedConfig {
		c := rankedConfig{key: k}
		c.Protocol, c.Port, c.Host = p, port, "h"
		c.Timings.Total = time.Duration(total) * time.Millisecond
		return c
	}
	cs := []rankedConfig{
		mk(probe.POP3, 995, 1, rankKey{}),
		mk(probe.IMAP, 143, 1, rankKey{security: 1}),
		mk(probe.IMAP, 993, 9, rankKey{}),
		mk(probe.SMTP, 465, 5, rankKey{}),
		mk(probe.SMTP, 587, 1, rankKey{}), // same key: latency decides
	}
	sortConfigs(cs)
	want := []struct {
		p    probe.Protocol
		port int
		rank int
	}{{probe.SMTP, 587, 1}, {probe.SMTP, 465, 2}, {probe.IMAP, 993, 1}, {probe.IMAP, 143, 2}, {probe.POP3, 995, 1}}
	for i, w := range want {
		if cs[i].Protocol != w.p || cs[i].Port != w.port || cs[i].Rank != w.rank {
			t.Errorf("position %d: %s %d rank %d, want %+v", i, cs[i].Protocol, cs[i].Port, cs[i].Rank, w)
		}
	}
}
