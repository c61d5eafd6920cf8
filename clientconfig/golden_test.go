package clientconfig

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	goldenfile "github.com/mailscout/mailscout/internal/golden"
)

// golden compares got with testdata/name, or rewrites it with -update (package golden).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, name, got)
}

func imap(host string, port int, sec, user string, logins ...string) Server {
	return Server{Protocol: "imap", Host: host, Port: port, Security: sec, Username: user, Logins: logins}
}

func pop3(host string, port int, sec, user string, logins ...string) Server {
	return Server{Protocol: "pop3", Host: host, Port: port, Security: sec, Username: user, Logins: logins}
}

func smtp(host string, port int, sec, user string, logins ...string) Server {
	return Server{Protocol: "smtp", Host: host, Port: port, Security: sec, Username: user, Logins: logins}
}

var testOptions = MobileConfigOptions{Identifier: "org.mailscout", Organization: "mailscout"}

// outcome is what one writer should do with a case: produce the golden file (err == nil and
// errText == "") or fail with an error matching err (errors.Is) and containing errText.
type outcome struct {
	err     error
	errText string
}

var errAny = errors.New("any error")

// The cases every writer is run on. Each writer's document is pinned by testdata/<name>.<format>.golden.
var cases = []struct {
	name                                 string
	account                              Account
	autoconfig, autodiscover, mobileconf outcome
}{
	{
		name: "typical",
		account: Account{
			Email: "alice@example.com", Domain: "example.com", DisplayName: "example.com",
			Incoming: []Server{
				imap("imap.example.com", 993, "tls", "alice@example.com", "IMAP-LOGIN", "PLAIN", "LOGIN"),
				pop3("pop.example.com", 995, "tls", "alice", "USER", "PLAIN"),
			},
			Outgoing: []Server{
				smtp("smtp.example.com", 465, "tls", "alice@example.com", "PLAIN", "LOGIN"),
				smtp("smtp.example.com", 587, "starttls", "alice@example.com", "PLAIN", "LOGIN", "CRAM-MD5"),
			},
		},
	},
	{
		name: "domain-only",
		account: Account{
			Domain: "xn--mller-kva.example", DisplayName: "müller.example",
			Incoming: []Server{imap("mail.xn--mller-kva.example", 993, "tls", "%EMAILADDRESS%", "PLAIN", "LOGIN")},
			Outgoing: []Server{smtp("mail.xn--mller-kva.example", 587, "starttls", "%EMAILLOCALPART%", "PLAIN", "LOGIN")},
		},
		mobileconf: outcome{err: errAny, errText: "needs its e-mail address"},
	},
	{
		name: "oauth2-only",
		account: Account{
			Email: "bob@example.net", Domain: "example.net", DisplayName: "example.net",
			Incoming: []Server{imap("imap.example.net", 993, "tls", "%EMAILADDRESS%", "XOAUTH2", "OAUTHBEARER")},
			Outgoing: []Server{smtp("smtp.example.net", 465, "tls", "%EMAILADDRESS%", "XOAUTH2", "OAUTHBEARER")},
		},
		autodiscover: outcome{err: ErrNothingUsable},
		mobileconf:   outcome{err: ErrNothingUsable},
	},
	{
		name: "cram-md5",
		account: Account{
			Email: "carol@example.org", Domain: "example.org", DisplayName: "example.org",
			Incoming: []Server{imap("mail.example.org", 143, "starttls", "carol", "CRAM-MD5")},
			Outgoing: []Server{smtp("mail.example.org", 587, "starttls", "carol", "CRAM-MD5")},
		},
		autodiscover: outcome{err: ErrNothingUsable},
	},
	{
		name: "imap-login-only",
		account: Account{
			Email: "dave@example.com", Domain: "example.com", DisplayName: "example.com",
			Incoming: []Server{imap("imap.example.com", 993, "tls", "dave", "IMAP-LOGIN")},
			Outgoing: []Server{smtp("smtp.example.com", 465, "tls", "dave", "PLAIN")},
		},
	},
	{
		name: "ntlm-only",
		account: Account{
			Email: "erin@corp.example", Domain: "corp.example", DisplayName: "corp.example",
			Incoming: []Server{imap("mail.corp.example", 993, "tls", "CORP\\erin", "NTLM", "GSSAPI")},
			Outgoing: []Server{smtp("mail.corp.example", 587, "starttls", "CORP\\erin", "NTLM")},
		},
	},
	{
		// Unmapped servers are dropped, and the input order (POP3 preferred here) is kept.
		name: "skips-unusable",
		account: Account{
			Email: "frank@example.com", Domain: "example.com", DisplayName: "example.com",
			Incoming: []Server{
				imap("imap1.example.com", 993, "tls", "frank", "EXTERNAL"),
				pop3("pop.example.com", 995, "tls", "frank", "USER"),
				imap("imap2.example.com", 993, "tls", "frank", "PLAIN"),
			},
			Outgoing: []Server{
				smtp("smtp1.example.com", 465, "tls", "frank", "ANONYMOUS"),
				smtp("smtp2.example.com", 587, "starttls", "frank", "LOGIN"),
			},
		},
	},
	{
		name: "escaping",
		account: Account{
			Email: "grace@example.com", Domain: "example.com", DisplayName: `<script>alert("x")</script> & Co`,
			Incoming: []Server{imap("imap.example.com", 993, "tls", `o'brien&"co"<x>`, "PLAIN")},
			Outgoing: []Server{smtp("smtp.example.com", 465, "tls", `o'brien&"co"<x>`, "PLAIN")},
		},
	},
	{
		name:         "empty",
		account:      Account{},
		autoconfig:   outcome{err: ErrNothingUsable},
		autodiscover: outcome{err: ErrNothingUsable},
		mobileconf:   outcome{err: ErrNothingUsable},
	},
	{
		name: "no-outgoing",
		account: Account{
			Email: "heidi@example.com", Domain: "example.com",
			Incoming: []Server{imap("imap.example.com", 993, "tls", "heidi", "PLAIN")},
		},
		autoconfig:   outcome{err: ErrNothingUsable, errText: "outgoing"},
		autodiscover: outcome{err: ErrNothingUsable, errText: "outgoing"},
		mobileconf:   outcome{err: ErrNothingUsable, errText: "outgoing"},
	},
}

// writers are the three document writers under one signature.
var writers = []struct {
	format string
	write  func(*bytes.Buffer, Account) error
	want   func(c int) outcome
}{
	{"autoconfig", func(b *bytes.Buffer, a Account) error { return WriteAutoconfig(b, a) }, func(c int) outcome { return cases[c].autoconfig }},
	{"autodiscover", func(b *bytes.Buffer, a Account) error { return WriteAutodiscover(b, a) }, func(c int) outcome { return cases[c].autodiscover }},
	{"mobileconfig", func(b *bytes.Buffer, a Account) error { return WriteMobileConfig(b, a, testOptions) }, func(c int) outcome { return cases[c].mobileconf }},
}

func TestGolden(t *testing.T) {
	for i, c := range cases {
		for _, wr := range writers {
			t.Run(c.name+"/"+wr.format, func(t *testing.T) {
				var buf bytes.Buffer
				err := wr.write(&buf, c.account)
				want := wr.want(i)
				if want.err == nil && want.errText == "" {
					if err != nil {
						t.Fatal(err)
					}
					golden(t, c.name+"."+wr.format+".golden", buf.Bytes())
					return
				}
				if err == nil {
					t.Fatalf("no error; wrote:\n%s", buf.Bytes())
				}
				if want.err != errAny && !errors.Is(err, want.err) {
					t.Errorf("error %q does not wrap %q", err, want.err)
				}
				if !strings.Contains(err.Error(), want.errText) {
					t.Errorf("error %q does not mention %q", err, want.errText)
				}
				if buf.Len() != 0 {
					t.Errorf("wrote %d bytes despite the error", buf.Len())
				}
			})
		}
	}
}

// Input the formats cannot express is a caller error, reported with the server it is about.
func TestInvalidInput(t *testing.T) {
	good := cases[0].account
	for _, tc := range []struct {
		name   string
		modify func(*Account)
		want   string
	}{
		{"smtp among incoming", func(a *Account) { a.Incoming = []Server{smtp("x.example", 465, "tls", "u", "PLAIN")} }, "incoming server 0"},
		{"imap among outgoing", func(a *Account) { a.Outgoing = []Server{imap("x.example", 993, "tls", "u", "PLAIN")} }, "outgoing server 0"},
		{"port 0", func(a *Account) { a.Incoming = []Server{imap("x.example", 0, "tls", "u", "PLAIN")} }, "port 0"},
		{"port too big", func(a *Account) { a.Incoming = []Server{imap("x.example", 65536, "tls", "u", "PLAIN")} }, "port 65536"},
		{"unicode host", func(a *Account) { a.Incoming = []Server{imap("mail.müller.example", 993, "tls", "u", "PLAIN")} }, "not an ASCII host"},
		{"host with space", func(a *Account) { a.Incoming = []Server{imap("mail example", 993, "tls", "u", "PLAIN")} }, "not an ASCII host"},
		{"security", func(a *Account) { a.Incoming = []Server{imap("x.example", 993, "ssl", "u", "PLAIN")} }, `security "ssl"`},
		{"no username", func(a *Account) { a.Incoming = []Server{imap("x.example", 993, "tls", " ", "PLAIN")} }, "username is empty"},
		{"unicode domain", func(a *Account) { a.Domain = "müller.example" }, "domain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := good
			tc.modify(&a)
			for _, wr := range writers {
				var buf bytes.Buffer
				err := wr.write(&buf, a)
				if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrNothingUsable) {
					t.Errorf("%s: error %v, want one mentioning %q", wr.format, err, tc.want)
				}
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorsAreWrapped(t *testing.T) {
	a := cases[0].account
	for _, err := range []error{
		WriteAutoconfig(failingWriter{}, a),
		WriteAutodiscover(failingWriter{}, a),
		WriteAutodiscoverError(failingWriter{}, 600, "Invalid Request"),
		WriteMobileConfig(failingWriter{}, a, testOptions),
	} {
		if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.HasPrefix(err.Error(), "clientconfig: writing") {
			t.Errorf("got %v", err)
		}
	}
}
