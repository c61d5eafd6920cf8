package probe_test

import (
	"context"
	"crypto/tls"
	"flag"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(benchServerEnv); mode != "" {
		serveForBenchmark(mode) // this process is a benchmark's out-of-process server
		return
	}
	// No goroutine may outlive a test. Fuzzing runs without the check: the fuzzing engine's
	// own goroutines may still be winding down when it returns.
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

var (
	caOnce sync.Once
	testCA *mailsim.CA
)

func ca(t testing.TB) *mailsim.CA {
	caOnce.Do(func() {
		var err error
		if testCA, err = mailsim.NewCA("mailscout Test CA"); err != nil {
			panic(err)
		}
	})
	return testCA
}

// testOptions are the defaults with timeouts short enough for tests yet far above loopback
// latency on a loaded machine.
func testOptions(t testing.TB) probe.Options {
	o := probe.DefaultOptions()
	o.ConnectTimeout = 500 * time.Millisecond
	o.GreetingTimeout = 400 * time.Millisecond
	o.OperationTimeout = 3 * time.Second
	o.Deadline = 10 * time.Second
	o.RootCAs = ca(t).Pool()
	o.Transcript = true
	return o
}

// startProbe starts a server, routes mail.example.test:port to it and probes it.
func startProbe(t *testing.T, cfg mailsim.Config, port int, sec probe.Security, tweak func(*probe.Options)) probe.Result {
	t.Helper()
	srv, err := mailsim.Start(cfg, ca(t))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	net := mailsim.NewNetwork()
	switch port {
	case refusedPort: // no route: the network refuses, as a closed port does
	case filteredPort:
		net.Filter("mail.example.test:" + itoa(port))
	default:
		net.Route("mail.example.test:"+itoa(port), srv.Addr())
	}
	opts := testOptions(t)
	opts.Dial = net
	if tweak != nil {
		tweak(&opts)
	}
	proto := probe.Protocol(cfg.Protocol)
	return probe.Run(context.Background(), probe.Target{Protocol: proto, Host: "mail.example.test", Port: port, Security: sec}, opts)
}

// Ports that startProbe leaves unrouted (refused) or filters (connect hangs).
const (
	refusedPort  = 2525
	filteredPort = 9999
)

func itoa(i int) string { return strconv.Itoa(i) }

type want struct {
	ok         bool
	kind       probe.Kind
	auth       []string // nil: not checked
	authPlain  []string // nil: not checked
	certReason *string
	warnings   []string // each must be present
	tlsVersion string
}

func str(s string) *string { return &s }

var (
	submissionAuth = []string{"PLAIN", "LOGIN"}
)

type scenario struct {
	name   string
	cfg    mailsim.Config
	port   int
	sec    probe.Security
	tweak  func(*probe.Options)
	expect want
}

func scenarios() []scenario {
	smtpStartTLS := mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: submissionAuth}
	smtpTLS := mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: submissionAuth}
	imapStartTLS := mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.StartTLS, AuthAfterTLS: []string{"PLAIN"}, LoginDisabledBeforeTLS: true}
	pop3StartTLS := mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.StartTLS, AuthAfterTLS: []string{"PLAIN"}}
	with := func(c mailsim.Config, f func(*mailsim.Config)) mailsim.Config { f(&c); return c }
	legacy := func(o *probe.Options) { o.AllowInsecureTLS, o.TLSMin = true, tls.VersionTLS10 }

	return []scenario{
		// SMTP
		{"smtp/starttls/auth-only-after-tls", smtpStartTLS, 587, probe.StartTLS, nil,
			want{ok: true, auth: submissionAuth, authPlain: []string{}, certReason: str(""), tlsVersion: "1.3"}},
		{"smtp/starttls/auth-before-and-after", with(smtpStartTLS, func(c *mailsim.Config) { c.AuthBeforeTLS = []string{"CRAM-MD5"} }), 587, probe.StartTLS, nil,
			want{ok: true, auth: submissionAuth, authPlain: []string{"CRAM-MD5"}}},
		{"smtp/tls/implicit", smtpTLS, 465, probe.TLS, nil, want{ok: true, auth: submissionAuth, authPlain: []string{}}},
		{"smtp/plain/plaintext-server", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain, AuthBeforeTLS: []string{"PLAIN"}}, 587, probe.Plain, nil,
			want{ok: true, auth: []string{"PLAIN"}, authPlain: []string{"PLAIN"}, warnings: []string{"no_tls", "plaintext_auth"}}},
		{"smtp/plain/on-starttls-server", smtpStartTLS, 587, probe.Plain, nil, want{ok: true, auth: []string{}, warnings: []string{"no_tls"}}},
		{"smtp/plain/port25", smtpStartTLS, 25, probe.Plain, nil, want{ok: true, warnings: []string{"relay_port"}}},
		{"smtp/starttls/not-offered", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain}, 587, probe.StartTLS, nil, want{kind: probe.KindStartTLSUnavailable}},
		{"smtp/tls/on-plaintext-port", smtpStartTLS, 587, probe.TLS, nil, want{kind: probe.KindTLSHandshake}},
		{"smtp/starttls/on-implicit-port", smtpTLS, 465, probe.StartTLS, nil, want{kind: probe.KindGreetingTimeout}},
		{"smtp/silent", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.Silent }), 587, probe.StartTLS, nil, want{kind: probe.KindGreetingTimeout}},
		{"smtp/reject-421", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.Reject }), 587, probe.StartTLS, nil, want{kind: probe.KindRejected}},
		{"smtp/reject-554", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.Reject554 }), 25, probe.StartTLS, nil, want{kind: probe.KindRejected}},
		{"smtp/endless-line", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.EndlessLine }), 587, probe.StartTLS, nil, want{kind: probe.KindTooLarge}},
		{"smtp/endless-reply", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.EndlessReply }), 587, probe.StartTLS, nil, want{kind: probe.KindTooLarge}},
		{"smtp/one-byte-at-a-time", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.OneByte }), 587, probe.StartTLS, nil, want{ok: true, auth: submissionAuth}},
		{"smtp/postscreen-pregreeting", with(smtpStartTLS, func(c *mailsim.Config) { c.PreGreetingDelay = 700 * time.Millisecond }), 25, probe.StartTLS, nil, want{ok: true, auth: submissionAuth}},
		{"smtp/greeting-delay-within", with(smtpStartTLS, func(c *mailsim.Config) { c.GreetingDelay = 100 * time.Millisecond }), 587, probe.StartTLS, nil, want{ok: true}},
		{"smtp/greeting-delay-beyond", with(smtpStartTLS, func(c *mailsim.Config) { c.GreetingDelay = 2 * time.Second }), 587, probe.StartTLS, nil, want{kind: probe.KindGreetingTimeout}},
		{"smtp/write-latency", with(smtpStartTLS, func(c *mailsim.Config) { c.WriteLatency = 20 * time.Millisecond }), 587, probe.StartTLS, nil, want{ok: true, auth: submissionAuth}},
		{"smtp/starttls-refused", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.StartTLSRefused }), 587, probe.StartTLS, nil, want{kind: probe.KindStartTLSRefused}},
		{"smtp/starttls-injection", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.Injection }), 587, probe.StartTLS, nil, want{kind: probe.KindStartTLSInjection}},
		{"smtp/tls/silent-to-clienthello", mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain, Behavior: mailsim.Silent}, 465, probe.TLS, nil, want{kind: probe.KindGreetingTimeout}},
		{"smtp/reset-on-clienthello", with(smtpTLS, func(c *mailsim.Config) { c.Behavior = mailsim.ResetOnClientHello }), 465, probe.TLS, nil, want{kind: probe.KindTLSHandshake}},
		{"smtp/no-ehlo/starttls", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.NoEHLO }), 587, probe.StartTLS, nil, want{kind: probe.KindStartTLSUnavailable}},
		{"smtp/no-ehlo/plain", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.NoEHLO }), 587, probe.Plain, nil, want{ok: true, warnings: []string{"ehlo_unsupported"}}},
		{"smtp/not-mail", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.NotMail }), 587, probe.StartTLS, nil, want{kind: probe.KindProtocol}},
		{"smtp/non-utf8-greeting", with(smtpStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.NonUTF8 }), 587, probe.StartTLS, nil, want{ok: true}},
		{"smtp/refused", smtpStartTLS, refusedPort, probe.StartTLS, nil, want{kind: probe.KindRefused}},
		{"smtp/filtered", smtpStartTLS, filteredPort, probe.StartTLS, nil, want{kind: probe.KindConnectTimeout}},
		// Certificates: a bad certificate does not make the mode fail.
		{"cert/expired", with(smtpTLS, func(c *mailsim.Config) { c.Cert = mailsim.CertExpired }), 465, probe.TLS, nil, want{ok: true, certReason: str("expired"), warnings: []string{"cert_invalid"}}},
		{"cert/not-yet-valid", with(smtpTLS, func(c *mailsim.Config) { c.Cert = mailsim.CertNotYetValid }), 465, probe.TLS, nil, want{ok: true, certReason: str("not_yet_valid")}},
		{"cert/wrong-name", with(smtpStartTLS, func(c *mailsim.Config) { c.Cert = mailsim.CertWrongName }), 587, probe.StartTLS, nil, want{ok: true, certReason: str("name_mismatch")}},
		{"cert/self-signed", with(smtpTLS, func(c *mailsim.Config) { c.Cert = mailsim.CertSelfSigned }), 465, probe.TLS, nil, want{ok: true, certReason: str("self_signed")}},
		{"cert/unknown-ca", with(smtpTLS, func(c *mailsim.Config) { c.Cert = mailsim.CertUnknownCA }), 465, probe.TLS, nil, want{ok: true, certReason: str("unknown_authority")}},
		// TLS versions.
		{"tls/legacy-only/refused-by-default", with(smtpTLS, func(c *mailsim.Config) { c.TLSMin, c.TLSMax = tls.VersionTLS10, tls.VersionTLS10 }), 465, probe.TLS, nil, want{kind: probe.KindTLSVersion}},
		{"tls/legacy-only/allowed", with(smtpTLS, func(c *mailsim.Config) { c.TLSMin, c.TLSMax = tls.VersionTLS10, tls.VersionTLS10 }), 465, probe.TLS, legacy,
			want{ok: true, tlsVersion: "1.0", warnings: []string{"legacy_tls"}}},
		{"tls/legacy-starttls/allowed", with(smtpStartTLS, func(c *mailsim.Config) { c.TLSMin, c.TLSMax = tls.VersionTLS11, tls.VersionTLS11 }), 587, probe.StartTLS, legacy,
			want{ok: true, tlsVersion: "1.1", warnings: []string{"legacy_tls"}}},
		{"tls/1.3-only-vs-max-1.2", with(smtpTLS, func(c *mailsim.Config) { c.TLSMin = tls.VersionTLS13 }), 465, probe.TLS, func(o *probe.Options) { o.TLSMax = tls.VersionTLS12 }, want{kind: probe.KindTLSVersion}},
		{"tls/max-1.2", smtpTLS, 465, probe.TLS, func(o *probe.Options) { o.TLSMax = tls.VersionTLS12 }, want{ok: true, tlsVersion: "1.2"}},
		{"options/legacy-without-opt-in", smtpTLS, 465, probe.TLS, func(o *probe.Options) { o.TLSMin = tls.VersionTLS10 }, want{kind: probe.KindProtocol}},

		// IMAP
		{"imap/starttls/logindisabled-before-tls", imapStartTLS, 143, probe.StartTLS, nil, want{ok: true, auth: []string{"PLAIN"}, authPlain: []string{}}},
		{"imap/starttls/greeting-caps", with(imapStartTLS, func(c *mailsim.Config) { c.GreetingCaps = true }), 143, probe.StartTLS, nil, want{ok: true, auth: []string{"PLAIN"}, authPlain: []string{}}},
		{"imap/plain/logindisabled", imapStartTLS, 143, probe.Plain, nil, want{ok: true, warnings: []string{"login_disabled", "no_tls"}}},
		{"imap/tls", mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN", "XOAUTH2"}, GreetingCaps: true}, 993, probe.TLS, nil,
			want{ok: true, auth: []string{"PLAIN", "XOAUTH2"}}},
		{"imap/preauth/starttls", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.Preauth }), 143, probe.StartTLS, nil, want{kind: probe.KindStartTLSUnavailable}},
		{"imap/preauth/plain", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.Preauth }), 143, probe.Plain, nil, want{ok: true, warnings: []string{"preauth"}}},
		{"imap/bye", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.Reject }), 143, probe.StartTLS, nil, want{kind: probe.KindRejected}},
		{"imap/starttls-refused", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.StartTLSRefused }), 143, probe.StartTLS, nil, want{kind: probe.KindStartTLSRefused}},
		{"imap/starttls-injection", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.Injection }), 143, probe.StartTLS, nil, want{kind: probe.KindStartTLSInjection}},
		{"imap/unsolicited-caps", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.UnsolicitedCaps }), 143, probe.StartTLS, nil,
			want{ok: true, auth: []string{"PLAIN"}, warnings: []string{"starttls_caps_ignored"}}},
		{"imap/wrong-tag", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.WrongTag }), 143, probe.StartTLS, nil, want{kind: probe.KindProtocol}},
		{"imap/endless-reply", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.EndlessReply }), 143, probe.StartTLS, nil, want{kind: probe.KindTooLarge}},
		{"imap/endless-line", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.EndlessLine }), 143, probe.StartTLS, nil, want{kind: probe.KindTooLarge}},
		{"imap/one-byte", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.OneByte }), 143, probe.StartTLS, nil, want{ok: true, auth: []string{"PLAIN"}}},
		{"imap/starttls/not-offered", mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.Plain, LoginDisabledBeforeTLS: true}, 143, probe.StartTLS, nil, want{kind: probe.KindStartTLSUnavailable}},
		{"imap/not-mail", with(imapStartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.NotMail }), 143, probe.StartTLS, nil, want{kind: probe.KindProtocol}},
		{"imap/tls/silent-after-handshake", mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, Behavior: mailsim.Silent}, 993, probe.TLS, nil, want{kind: probe.KindGreetingTimeout}},

		// POP3
		{"pop3/starttls", pop3StartTLS, 110, probe.StartTLS, nil, want{ok: true, auth: []string{"PLAIN"}, authPlain: []string{}}},
		{"pop3/tls", mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN", "LOGIN"}}, 995, probe.TLS, nil, want{ok: true, auth: []string{"PLAIN", "LOGIN"}}},
		{"pop3/apop", with(pop3StartTLS, func(c *mailsim.Config) { c.APOP = true }), 110, probe.StartTLS, nil, want{ok: true, warnings: []string{"apop"}}},
		{"pop3/no-capa/stls-still-works", with(pop3StartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.NoCAPA }), 110, probe.StartTLS, nil, want{ok: true, warnings: []string{"capa_unsupported"}}},
		{"pop3/reject", with(pop3StartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.Reject }), 110, probe.StartTLS, nil, want{kind: probe.KindRejected}},
		{"pop3/stls-refused", with(pop3StartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.StartTLSRefused }), 110, probe.StartTLS, nil, want{kind: probe.KindStartTLSRefused}},
		{"pop3/stls-injection", with(pop3StartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.Injection }), 110, probe.StartTLS, nil, want{kind: probe.KindStartTLSInjection}},
		{"pop3/endless-reply", with(pop3StartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.EndlessReply }), 110, probe.StartTLS, nil, want{kind: probe.KindTooLarge}},
		{"pop3/stls-not-offered", mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.Plain, AuthBeforeTLS: []string{"PLAIN"}}, 110, probe.StartTLS, nil, want{kind: probe.KindStartTLSUnavailable}},
		{"pop3/plain", mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.Plain, AuthBeforeTLS: []string{"PLAIN"}}, 110, probe.Plain, nil,
			want{ok: true, auth: []string{"PLAIN"}, authPlain: []string{"PLAIN"}, warnings: []string{"no_tls", "plaintext_auth"}}},
		{"pop3/one-byte", with(pop3StartTLS, func(c *mailsim.Config) { c.Behavior = mailsim.OneByte }), 110, probe.StartTLS, nil, want{ok: true}},
	}
}

func TestProbeScenarios(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			r := startProbe(t, sc.cfg, sc.port, sc.sec, sc.tweak)
			checkResult(t, r, sc.expect)
		})
	}
}

func checkResult(t *testing.T, r probe.Result, w want) {
	t.Helper()
	defer func() {
		if t.Failed() {
			for _, l := range r.Transcript {
				t.Logf("%10v %s tls=%v %s", l.At, l.Dir, l.TLS, l.Text)
			}
		}
	}()
	if r.OK != w.ok || r.ErrorKind != w.kind {
		t.Fatalf("ok=%v kind=%q error=%q; want ok=%v kind=%q", r.OK, r.ErrorKind, r.Error, w.ok, w.kind)
	}
	if !r.OK && r.Error == "" {
		t.Errorf("failed result without an explanation")
	}
	if w.auth != nil && !slices.Equal(r.AuthMethods, w.auth) {
		t.Errorf("auth_methods = %q, want %q", r.AuthMethods, w.auth)
	}
	if w.authPlain != nil && !slices.Equal(r.AuthMethodsPlaintext, w.authPlain) {
		t.Errorf("auth_methods_plaintext = %q, want %q", r.AuthMethodsPlaintext, w.authPlain)
	}
	if w.certReason != nil {
		if r.TLS == nil {
			t.Fatalf("no TLS info")
		}
		if r.TLS.CertReason != *w.certReason || r.TLS.CertValid != (*w.certReason == "") {
			t.Errorf("cert_reason = %q (valid=%v, %s), want %q", r.TLS.CertReason, r.TLS.CertValid, r.TLS.CertError, *w.certReason)
		}
	}
	if w.tlsVersion != "" && (r.TLS == nil || r.TLS.Version != w.tlsVersion) {
		t.Errorf("tls = %+v, want version %s", r.TLS, w.tlsVersion)
	}
	for _, code := range w.warnings {
		if !slices.ContainsFunc(r.Warnings, func(x probe.Warning) bool { return x.Code == code }) {
			t.Errorf("warnings %v lack %q", r.Warnings, code)
		}
	}
}
