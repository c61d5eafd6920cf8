//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

func config(r *discover.Report, p probe.Protocol, host string, port int, sec probe.Security) *discover.Config {
	for i := range r.Configs {
		if c := &r.Configs[i]; c.Protocol == p && c.Host == host && c.Port == port && c.Security == sec {
			return c
		}
	}
	return nil
}

// probeResult is one probed mode in probe's JSON contract: the probe's result and its verdict.
type probeResult struct {
	probe.Result
	Verdict     discover.Verdict `json:"verdict"`
	Blockers    []string         `json:"blockers"`
	VerdictText string           `json:"verdict_text"`
}

func probeJSON(t *testing.T, args ...string) ([]probeResult, int) {
	t.Helper()
	return probeJSONEnv(t, nil, args...)
}

// probeJSONEnv is probeJSON with extra environment variables ("NAME=value").
func probeJSONEnv(t *testing.T, env []string, args ...string) ([]probeResult, int) {
	t.Helper()
	out, errOut, code := mailscoutEnv(t, env, "", append([]string{"probe", "--json"}, args...)...)
	var doc struct {
		Results []probeResult `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("exit %d, not JSON: %v\n%s\n%s", code, err, out, errOut)
	}
	return doc.Results, code
}

// findProbe is the probe of one endpoint in a report, failed or not.
func findProbe(r *discover.Report, p probe.Protocol, host string, port int, sec probe.Security) *discover.Config {
	for i := range r.Probes {
		if c := &r.Probes[i]; c.Protocol == p && c.Host == host && c.Port == port && c.Security == sec {
			return c
		}
	}
	return nil
}

// Discovery and probes against real Postfix, Dovecot, nsd and nginx.
func TestRealServers(t *testing.T) {
	ca := realWorld(t)
	base := []string{"--ca-file", ca, "--no-ispdb", "--no-proxy"}

	t.Run("postscreen-pre-greeting", func(t *testing.T) {
		// Port 25 offers no AUTH: the session works, but no user can log in there, so probe's
		// verdict is unusable (no_auth) and it exits 1 (0 is for a usable mode).
		rs, code := probeJSON(t, "--ca-file", ca, "--no-proxy", "--security", "starttls", "mx.srvmail.test:25")
		if code != 1 || rs[0].Verdict != discover.Unusable || !slices.Equal(rs[0].Blockers, []string{"no_auth"}) {
			t.Errorf("exit %d, verdict %s %v", code, rs[0].Verdict, rs[0].Blockers)
		}
		// postscreen_greet_wait is 2 s (Timings are durations; JSON carries milliseconds).
		if !rs[0].OK || !strings.HasPrefix(rs[0].Greeting, "220-") || !strings.Contains(rs[0].Greeting, "\n220 ") || rs[0].Timings.Greeting < 1500*time.Millisecond {
			t.Errorf("exit %d: %+v", code, rs[0])
		}
		if !hasCode(rs[0].Warnings, "relay_port") || !hasCode(rs[0].Warnings, "slow_greeting") {
			t.Errorf("warnings %v", rs[0].Warnings)
		}
	})

	t.Run("srv-published", func(t *testing.T) {
		r := discoverJSON(t, append(base, "alice@srvmail.test")...)
		want := []string{
			"smtp mx.srvmail.test:465 tls #1 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
			"smtp mx.srvmail.test:587 starttls #2 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
			"imap imap.srvmail.test:993 tls #1 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
			"imap imap.srvmail.test:143 starttls #2 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
			"pop3 imap.srvmail.test:995 tls #1 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
			"pop3 imap.srvmail.test:110 starttls #2 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
		}
		if got := summary(r); !slices.Equal(got, want) {
			t.Fatalf("configs:\n%q\nwant:\n%q", got, want)
		}
		// Postfix smtpd_tls_auth_only: no AUTH before STARTTLS on 587.
		sub := config(r, probe.SMTP, "mx.srvmail.test", 587, probe.StartTLS)
		if len(sub.AuthMethodsPlaintext) != 0 || !sub.StartTLSOffered {
			t.Errorf("587 before TLS: auth %q, starttls %v", sub.AuthMethodsPlaintext, sub.StartTLSOffered)
		}
		// Dovecot disable_plaintext_auth: LOGINDISABLED and no cleartext mechanism before TLS.
		imap := config(r, probe.IMAP, "imap.srvmail.test", 143, probe.StartTLS)
		if slices.Contains(imap.AuthMethodsPlaintext, "PLAIN") || slices.Contains(imap.AuthMethodsPlaintext, "LOGIN") || imap.LoginDisabled {
			t.Errorf("143: before TLS %q, login_disabled after TLS %v", imap.AuthMethodsPlaintext, imap.LoginDisabled)
		}
		if !strings.Contains(r.Configs[0].Greeting, "ESMTP") || r.Configs[0].TLS.CertSubject != "CN=mx.srvmail.test" || r.Configs[0].Sources[0] != "srv" {
			t.Errorf("first config: %+v", r.Configs[0].Result)
		}
		if in := r.Recommended.Incoming; in == nil || in.Host != "imap.srvmail.test" || in.Port != 993 || !in.Verified || in.Verdict != discover.Usable {
			t.Errorf("recommended incoming %+v", in)
		}
		for _, c := range r.Configs {
			if c.Sources[0] == "srv" && (c.Verdict != discover.Usable || len(c.Blockers) != 0) {
				t.Errorf("%s %s:%d %s: %s %v", c.Protocol, c.Host, c.Port, c.Security, c.Verdict, c.Blockers)
			}
		}
		if r.Diagnosis.Status != discover.StatusOK {
			t.Errorf("diagnosis %+v", r.Diagnosis)
		}
		// The servers are on loopback, and so is the domain's own MX host: an intranet domain's
		// intranet is not flagged.
		for _, c := range r.Configs {
			if hasCode(c.Warnings, "internal_address") {
				t.Errorf("%s:%d flagged: %v", c.Host, c.Port, c.Warnings)
			}
		}
	})

	t.Run("guess-only", func(t *testing.T) {
		r := discoverJSON(t, append(base, "bob@guessmail.test")...)
		for _, c := range []struct {
			p    probe.Protocol
			host string
			port int
			sec  probe.Security
		}{
			{probe.SMTP, "smtp.guessmail.test", 465, probe.TLS},
			{probe.SMTP, "smtp.guessmail.test", 587, probe.StartTLS},
			{probe.IMAP, "imap.guessmail.test", 993, probe.TLS},
			{probe.POP3, "pop.guessmail.test", 995, probe.TLS},
		} {
			if cfg := config(r, c.p, c.host, c.port, c.sec); cfg == nil || !slices.Contains(cfg.Sources, "guess") {
				t.Errorf("%s %s:%d %s not found by guessing: %+v", c.p, c.host, c.port, c.sec, cfg)
			}
		}
	})

	t.Run("hosted-behind-provider-mx", func(t *testing.T) {
		r := discoverJSON(t, append(base, "carol@customer.test")...)
		in, out := r.Recommended.Incoming, r.Recommended.Outgoing
		if in == nil || out == nil || in.Host != "imap.hosting.test" || out.Host != "smtp.hosting.test" || out.Port != 465 {
			t.Fatalf("recommended %+v / %+v; configs %q", in, out, summary(r))
		}
		c := config(r, probe.IMAP, "imap.hosting.test", 993, probe.TLS)
		if !slices.Contains(c.Sources, "provider") || !hasCode(c.Warnings, "untrusted_host") {
			t.Errorf("sources %v warnings %v", c.Sources, c.Warnings)
		}
	})

	t.Run("autoconfig-served-by-nginx", func(t *testing.T) {
		r := discoverJSON(t, append(base, "dave@autoconf.test")...)
		c := config(r, probe.IMAP, "in.cluster7.autoconf.test", 993, probe.TLS)
		if c == nil || c.Sources[0] != "autoconfig" || c.Username != "dave" || r.Configs[0].Rank != 1 {
			t.Fatalf("autoconfig config %+v; all %q", c, summary(r))
		}
		if config(r, probe.SMTP, "out.autoconf.test", 587, probe.StartTLS) == nil {
			t.Errorf("out.autoconf.test:587 missing: %q", summary(r))
		}
	})

	t.Run("expired-and-wrong-name-certificates", func(t *testing.T) {
		// Trust comes from SSL_CERT_FILE here, as Go programs everywhere honour it. The servers
		// work but not safely: verdict insecure, and probe exits 1 unless --allow-insecure says
		// an insecure mode is good enough.
		for _, c := range []struct{ host, reason, blocker string }{
			{"expired.realmail.test", "expired", "cert_expired"},
			{"wrongname.realmail.test", "name_mismatch", "cert_name_mismatch"},
		} {
			for _, allow := range []bool{false, true} {
				args := []string{"--no-proxy", c.host + ":993"}
				want := 1
				if allow {
					args, want = append([]string{"--allow-insecure"}, args...), 0
				}
				rs, code := probeJSONEnv(t, []string{"SSL_CERT_FILE=" + ca}, args...)
				if code != want || len(rs) != 1 || !rs[0].OK || rs[0].TLS == nil || rs[0].TLS.CertValid || rs[0].TLS.CertReason != c.reason || !hasCode(rs[0].Warnings, "cert_invalid") {
					t.Errorf("%s (allow-insecure %v): exit %d %+v", c.host, allow, code, rs)
				}
				if len(rs) == 1 && (rs[0].Verdict != discover.Insecure || !slices.Equal(rs[0].Blockers, []string{c.blocker})) {
					t.Errorf("%s: verdict %s %v", c.host, rs[0].Verdict, rs[0].Blockers)
				}
			}
		}
		// The valid ones are valid through SSL_CERT_FILE too.
		out, _, code := mailscoutEnv(t, []string{"SSL_CERT_FILE=" + ca}, "", "probe", "--wide", "--no-proxy", "imap.srvmail.test:993")
		if code != 0 || !tableRow("imap", "imap.srvmail.test:993", "tls", "usable", "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256", "-", "1.3").MatchString(out) {
			t.Errorf("SSL_CERT_FILE: exit %d\n%s", code, out)
		}
	})

	t.Run("port-dropped-by-nftables", func(t *testing.T) {
		rs, code := probeJSON(t, "--no-proxy", "--connect-timeout", "1s", "smtp.filtered.test:465")
		if code != 1 || rs[0].ErrorKind != probe.KindConnectTimeout {
			t.Errorf("exit %d: %+v", code, rs[0])
		}
		r := discoverJSON(t, append(base, "erin@filtered.test")...)
		if config(r, probe.SMTP, "smtp.filtered.test", 587, probe.StartTLS) == nil {
			t.Fatalf("587 missing: %q", summary(r))
		}
		for _, p := range r.Probes {
			if p.Host == "smtp.filtered.test" && p.Port == 465 && (p.ErrorKind != probe.KindConnectTimeout || !strings.Contains(p.Error, "gave up after")) {
				t.Errorf("465: %s %s", p.ErrorKind, p.Error)
			}
		}
	})

	t.Run("login-with-dovecot-and-postfix", func(t *testing.T) {
		os.Setenv("MAILSCOUT_TEST_PW", userPassword)
		login := append(base, "--user", userName, "--password-env", "MAILSCOUT_TEST_PW")
		r := discoverJSON(t, append(login, "alice@srvmail.test")...)
		for _, c := range []struct {
			p    probe.Protocol
			host string
			port int
			sec  probe.Security
		}{
			{probe.SMTP, "mx.srvmail.test", 465, probe.TLS},
			{probe.IMAP, "imap.srvmail.test", 993, probe.TLS},
			{probe.POP3, "imap.srvmail.test", 995, probe.TLS},
		} {
			cfg := config(r, c.p, c.host, c.port, c.sec)
			if cfg == nil || cfg.Auth == nil || !cfg.Auth.OK || cfg.Auth.Mechanism != "SCRAM-SHA-256" || cfg.Rank != 1 {
				t.Errorf("%s %s:%d: %+v", c.p, c.host, c.port, cfg)
			}
		}
		if !r.Recommended.Incoming.LoginOK || !r.Recommended.Outgoing.LoginOK {
			t.Errorf("recommended: %+v %+v", r.Recommended.Incoming, r.Recommended.Outgoing)
		}
		// Each mechanism the user allows, on real servers.
		for _, mech := range []string{"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"} {
			for _, target := range []string{"mx.srvmail.test:587", "imap.srvmail.test:993", "imap.srvmail.test:995"} {
				rs, code := probeJSON(t, "--ca-file", ca, "--no-proxy", "--user", userName, "--password-env", "MAILSCOUT_TEST_PW", "--auth", mech, "--security", map[bool]string{true: "starttls", false: "tls"}[strings.HasSuffix(target, ":587")], target)
				if code != 0 || rs[0].Auth == nil || !rs[0].Auth.OK || rs[0].Auth.Mechanism != mech {
					t.Errorf("%s on %s: exit %d %+v %s", mech, target, code, rs[0].Auth, rs[0].Error)
				}
			}
		}
		rs, code := probeJSON(t, "--ca-file", ca, "--no-proxy", "--user", userName, "--password-env", "MAILSCOUT_TEST_PW", "--auth", "USER", "imap.srvmail.test:995")
		if code != 0 || !rs[0].Auth.OK || rs[0].Auth.Mechanism != "USER" {
			t.Errorf("POP3 USER/PASS: exit %d %+v", code, rs[0].Auth)
		}
		// Postfix on 587 plain (no STARTTLS): nothing is sent.
		rs, _ = probeJSON(t, "--ca-file", ca, "--no-proxy", "--user", userName, "--password-env", "MAILSCOUT_TEST_PW", "--security", "plain", "mx.srvmail.test:587")
		if rs[0].Auth == nil || rs[0].Auth.Attempted || !strings.Contains(rs[0].Auth.Error, "not encrypted") {
			t.Errorf("plaintext: %+v", rs[0].Auth)
		}

		// A wrong password: TestWrongPasswordFailsOnceInAll.
	})

	t.Run("table-for-a-human", func(t *testing.T) {
		// The diagnosis first, then one table per protocol; --wide puts them in one table with
		// the protocol and the sources.
		// A pipe has no width: the table fits $COLUMNS (pinned here), wrapping cells that do not.
		out, _, code := mailscoutEnv(t, []string{"COLUMNS=100"}, "", "discover", "--ca-file", ca, "--no-ispdb", "--no-proxy", "alice@srvmail.test")
		if code != 0 || !strings.Contains(out, "Diagnosis (OK): Incoming: use imap.srvmail.test port 993 with TLS.") ||
			!strings.Contains(out, "Outgoing mail (SMTP), best first:") ||
			!tableRow("1", "mx.srvmail.test:465", "tls", "usable", "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256", "1.3").MatchString(out) {
			t.Errorf("exit %d\n%s", code, out)
		}
		out, _, code = mailscout(t, "", "discover", "--wide", "--ca-file", ca, "--no-ispdb", "--no-proxy", "alice@srvmail.test")
		if code != 0 || !tableRow("1", "smtp", "mx.srvmail.test:465", "tls", "usable", "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256", "1.3", "srv,mx").MatchString(out) {
			t.Errorf("--wide: exit %d\n%s", code, out)
		}
	})
}

// tableRow matches a row of a table that begins with these cells. Column widths follow the
// content, so cells are matched, not padding.
func tableRow(cells ...string) *regexp.Regexp {
	for i, c := range cells {
		cells[i] = `\s*` + regexp.QuoteMeta(c) + `\s*`
	}
	return regexp.MustCompile(`(?m)^\|` + strings.Join(cells, `\|`) + `\|`)
}

func hasCode(ws []probe.Warning, code string) bool {
	return slices.ContainsFunc(ws, func(w probe.Warning) bool { return w.Code == code })
}
