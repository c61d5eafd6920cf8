package main

import (
	"context"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// probe with credentials logs in one mode at a time: a wrong password is rejected once in all,
// however many modes answer, and a right one logs in on every mode a client could use.
func TestProbeLoginOneFailureInAll(t *testing.T) {
	ca, err := mailsim.NewCA("probe login CA")
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{"alice": "right"}
	start := func(cfg mailsim.Config) *mailsim.Server {
		cfg.Hostname, cfg.Users = "127.0.0.1", users
		s, err := mailsim.Start(cfg, ca)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	servers := []*mailsim.Server{
		start(mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}),
		start(mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.StartTLS, LoginDisabledBeforeTLS: true, AuthAfterTLS: []string{"PLAIN"}}),
		start(mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: []string{"PLAIN"}}),
		start(mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}),
	}
	targets := []probe.Target{
		{Protocol: probe.IMAP, Host: "127.0.0.1", Port: servers[0].Port(), Security: probe.TLS},
		{Protocol: probe.IMAP, Host: "127.0.0.1", Port: servers[1].Port(), Security: probe.StartTLS},
		{Protocol: probe.IMAP, Host: "127.0.0.1", Port: servers[1].Port(), Security: probe.Plain},
		{Protocol: probe.SMTP, Host: "127.0.0.1", Port: servers[2].Port(), Security: probe.StartTLS},
		{Protocol: probe.POP3, Host: "127.0.0.1", Port: servers[3].Port(), Security: probe.TLS},
	}
	attempts := func() (n int) {
		for _, s := range servers {
			n += len(s.LoginAttempts())
		}
		return n
	}
	opts := probe.DefaultOptions()
	opts.RootCAs = ca.Pool()

	for _, tc := range []struct {
		password     string
		wantAttempts int
		want         []string // per target: "ok", "refused", or a NotAttempted code
		wantExit     int
	}{
		{"wrong", 1, []string{"refused", probe.NotAttemptedAlreadyFailed, probe.NotAttemptedNoTLS, probe.NotAttemptedAlreadyFailed, probe.NotAttemptedAlreadyFailed}, exitLoginFailed},
		{"right", 4, []string{"ok", "ok", probe.NotAttemptedNoTLS, "ok", "ok"}, exitWorks},
	} {
		t.Run(tc.password, func(t *testing.T) {
			before := attempts()
			opts.Credentials = &probe.Credentials{Username: "alice", Password: tc.password}
			results := probeAll(context.Background(), targets, opts)
			if got := attempts() - before; got != tc.wantAttempts {
				t.Errorf("the servers saw %d login attempts, want %d", got, tc.wantAttempts)
			}
			for i, r := range results {
				got := "no auth"
				switch {
				case r.Auth == nil:
				case r.Auth.OK:
					got = "ok"
				case r.Auth.Attempted:
					got = "refused"
				default:
					got = r.Auth.NotAttempted
				}
				if got != tc.want[i] {
					t.Errorf("%s %s: login %s, want %s (auth %+v, error %s)", r.Protocol, r.Security, got, tc.want[i], r.Auth, r.Error)
				}
			}
			if tc.password == "wrong" {
				if r := results[1]; !strings.Contains(r.Auth.Error, "already rejected") {
					t.Errorf("not-attempted text: %q", r.Auth.Error)
				}
				if r := results[0]; r.ErrorKind != probe.KindAuth || !strings.Contains(r.Error, "refused") {
					t.Errorf("the refused login is not the probe's error: %s: %s", r.ErrorKind, r.Error)
				}
			}
			if code := probeExit(results, false); code != tc.wantExit {
				t.Errorf("exit %d, want %d", code, tc.wantExit)
			}
		})
	}
}
