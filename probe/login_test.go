package probe_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

const (
	testUser     = "alice@example.test"
	testPassword = "s3cret-Pa55"
	testToken    = "ya29.token"
)

var users = map[string]string{testUser: testPassword}

func TestLogin(t *testing.T) {
	all := []string{"PLAIN", "LOGIN", "CRAM-MD5"}
	tests := []struct {
		name      string
		cfg       mailsim.Config
		port      int
		sec       probe.Security
		cred      probe.Credentials
		kind      probe.Kind // of the probe
		attempted bool
		ok        bool
		mech      string
		attempts  []string // what the server saw
		reason    string   // in Auth.Error
	}{
		{"smtp/strongest-of-all", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: all}, 587, probe.StartTLS,
			probe.Credentials{Username: testUser, Password: testPassword}, "", true, true, "CRAM-MD5", []string{"CRAM-MD5 " + testUser + " ok"}, ""},
		{"smtp/scram-sha-256-strongest", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN", "SCRAM-SHA-256", "CRAM-MD5"}}, 465, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword}, "", true, true, "SCRAM-SHA-256", []string{"SCRAM-SHA-256 " + testUser + " ok"}, ""},
		{"smtp/scram-wrong-password", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: []string{"SCRAM-SHA-256"}}, 465, probe.TLS,
			probe.Credentials{Username: testUser, Password: "wrong"}, probe.KindAuth, true, false, "SCRAM-SHA-256", []string{"SCRAM-SHA-256 " + testUser + " fail"}, "535"},
		// An impostor that says yes without proving it knows the password proves nothing.
		{"smtp/scram-impostor", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: []string{"SCRAM-SHA-256"}, Behavior: mailsim.ScramImpostor}, 465, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword}, probe.KindAuth, true, false, "SCRAM-SHA-256", []string{"SCRAM-SHA-256 " + testUser + " ok"}, "without proving that it knows the password"},
		{"imap/scram-impostor", mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"SCRAM-SHA-256"}, Behavior: mailsim.ScramImpostor}, 993, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword}, probe.KindAuth, true, false, "SCRAM-SHA-256", []string{"SCRAM-SHA-256 " + testUser + " ok"}, "without proving"},
		{"imap/scram-sha-256", mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"SCRAM-SHA-256"}}, 993, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword}, "", true, true, "SCRAM-SHA-256", []string{"SCRAM-SHA-256 " + testUser + " ok"}, ""},
		{"pop3/scram-sha-256", mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.TLS, AuthAfterTLS: []string{"SCRAM-SHA-256", "PLAIN"}}, 995, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword}, "", true, true, "SCRAM-SHA-256", []string{"SCRAM-SHA-256 " + testUser + " ok"}, ""},
		{"smtp/only-plain-allowed", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: all}, 465, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword, Mechanisms: []string{"PLAIN"}}, "", true, true, "PLAIN", []string{"PLAIN " + testUser + " ok"}, ""},
		{"smtp/login", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: all}, 465, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword, Mechanisms: []string{"LOGIN"}}, "", true, true, "LOGIN", []string{"LOGIN " + testUser + " ok"}, ""},
		{"smtp/wrong-password-once", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: all}, 465, probe.TLS,
			probe.Credentials{Username: testUser, Password: "wrong"}, probe.KindAuth, true, false, "CRAM-MD5", []string{"CRAM-MD5 " + testUser + " fail"}, "535 5.7.8"},
		{"smtp/advertised-but-failing", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: all, Behavior: mailsim.BrokenCRAM}, 465, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword}, probe.KindAuth, true, false, "CRAM-MD5", []string{"CRAM-MD5 " + testUser + " fail"}, "535"},
		{"smtp/xoauth2", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN", "XOAUTH2"}, Token: testToken}, 465, probe.TLS,
			probe.Credentials{Username: testUser, OAuthToken: testToken}, "", true, true, "XOAUTH2", []string{"XOAUTH2 " + testUser + " ok"}, ""},
		{"smtp/plaintext-only-sends-nothing", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain, AuthBeforeTLS: all}, 587, probe.Plain,
			probe.Credentials{Username: testUser, Password: testPassword}, "", false, false, "", nil, "not encrypted"},
		{"smtp/plaintext-allowed", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain, AuthBeforeTLS: all}, 587, probe.Plain,
			probe.Credentials{Username: testUser, Password: testPassword, AllowPlaintext: true, Mechanisms: []string{"PLAIN"}}, "", true, true, "PLAIN", []string{"PLAIN " + testUser + " ok"}, ""},
		{"smtp/bad-certificate-sends-nothing", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: all, Cert: mailsim.CertExpired}, 465, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword}, "", false, false, "", nil, "certificate failed verification"},
		{"smtp/bad-certificate-allowed", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: all, Cert: mailsim.CertExpired}, 465, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword, AllowBadCert: true}, "", true, true, "CRAM-MD5", []string{"CRAM-MD5 " + testUser + " ok"}, ""},
		{"smtp/no-allowed-mechanism", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}, 465, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword, Mechanisms: []string{"CRAM-MD5"}}, "", false, false, "", nil, "none of the server's mechanisms"},

		{"imap/authenticate-plain", mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.StartTLS, AuthAfterTLS: []string{"PLAIN"}, LoginDisabledBeforeTLS: true}, 143, probe.StartTLS,
			probe.Credentials{Username: testUser, Password: testPassword}, "", true, true, "PLAIN", []string{"PLAIN " + testUser + " ok"}, ""},
		{"imap/login-command", mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS}, 993, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword}, "", true, true, "LOGIN", []string{"LOGIN " + testUser + " ok"}, ""},
		{"imap/logindisabled", mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.Plain, LoginDisabledBeforeTLS: true}, 143, probe.Plain,
			probe.Credentials{Username: testUser, Password: testPassword, AllowPlaintext: true}, "", false, false, "", nil, "LOGIN is disabled"},
		{"imap/oauthbearer", mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"OAUTHBEARER", "PLAIN"}, Token: testToken}, 993, probe.TLS,
			probe.Credentials{Username: testUser, OAuthToken: testToken}, "", true, true, "OAUTHBEARER", []string{"OAUTHBEARER " + testUser + " ok"}, ""},
		{"imap/wrong-password", mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}, 993, probe.TLS,
			probe.Credentials{Username: testUser, Password: "nope"}, probe.KindAuth, true, false, "PLAIN", []string{"PLAIN " + testUser + " fail"}, "AUTHENTICATIONFAILED"},

		{"pop3/sasl-login", mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.TLS, AuthAfterTLS: []string{"LOGIN"}}, 995, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword}, "", true, true, "LOGIN", []string{"LOGIN " + testUser + " ok"}, ""},
		{"pop3/user-pass", mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.StartTLS}, 110, probe.StartTLS,
			probe.Credentials{Username: testUser, Password: testPassword}, "", true, true, "USER", []string{"USER " + testUser + " ok"}, ""},
		{"pop3/apop", mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.TLS, APOP: true}, 995, probe.TLS,
			probe.Credentials{Username: testUser, Password: testPassword, Mechanisms: []string{"APOP"}}, "", true, true, "APOP", []string{"APOP " + testUser + " ok"}, ""},
		{"pop3/user-with-a-space", mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.TLS}, 995, probe.TLS,
			probe.Credentials{Username: "alice smith", Password: testPassword}, "", false, false, "USER", nil, "cannot carry a user name with a space"},
		{"pop3/wrong-password", mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.TLS}, 995, probe.TLS,
			probe.Credentials{Username: testUser, Password: "nope"}, probe.KindAuth, true, false, "USER", []string{"USER " + testUser + " fail"}, "-ERR [AUTH]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Users = users
			srv, err := mailsim.Start(tt.cfg, ca(t))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			n := mailsim.NewNetwork()
			n.Route("mail.example.test:"+itoa(tt.port), srv.Addr())
			opts := testOptions(t)
			opts.Dial = n
			cred := tt.cred
			opts.Credentials = &cred
			r := probe.Run(t.Context(), probe.Target{Protocol: probe.Protocol(tt.cfg.Protocol), Host: "mail.example.test", Port: tt.port, Security: tt.sec}, opts)
			if r.ErrorKind != tt.kind || r.OK != (tt.kind == "") {
				t.Fatalf("ok=%v kind=%q %s", r.OK, r.ErrorKind, r.Error)
			}
			a := r.Auth
			if a == nil || a.Attempted != tt.attempted || a.OK != tt.ok || a.Mechanism != tt.mech || a.Username != tt.cred.Username && tt.cred.OAuthToken == "" || !strings.Contains(a.Error, tt.reason) {
				t.Errorf("auth = %+v", a)
			}
			if got := srv.LoginAttempts(); !slices.Equal(got, tt.attempts) {
				t.Errorf("server saw %q, want %q", got, tt.attempts)
			}
			// The secret is nowhere: not in the result, not in the transcript.
			js, _ := json.Marshal(r)
			if strings.Contains(string(js), testPassword) || strings.Contains(string(js), testToken) {
				t.Errorf("secret in the result: %s", js)
			}
			if tt.attempted && !strings.Contains(string(js), "credentials redacted") {
				t.Errorf("transcript does not show the redacted login line")
			}
		})
	}
}
