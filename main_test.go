package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mailscout/mailscout/mailsim"
)

func TestMain(m *testing.M) {
	// Tests that need mailscout in a process of its own (shards, a kill) run this binary again.
	if os.Getenv("MAILSCOUT_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"mailscout": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI as a user would, against servers started for each script:
//
//	$SMTPS   127.0.0.1 port of an implicit-TLS submission server (certificate for 127.0.0.1)
//	$SUB     a STARTTLS submission server (AUTH only after TLS)
//	$IMAP    a STARTTLS IMAP server with LOGINDISABLED before TLS
//	$SILENT  a server that never greets
//	$CLOSED  a port nothing listens on
//	$CAFILE  the test CA in PEM
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			ca, err := mailsim.NewCA("mailscout Script CA")
			if err != nil {
				return err
			}
			caFile := filepath.Join(env.WorkDir, "ca.pem")
			if err := ca.WritePEM(caFile); err != nil {
				return err
			}
			env.Setenv("CAFILE", caFile)
			// Wide enough that the sentences the scripts look for are not wrapped; the width
			// script sets its own.
			env.Setenv("COLUMNS", "200")
			servers := map[string]mailsim.Config{
				"SMTPS":  {Protocol: mailsim.SMTP, Mode: mailsim.TLS, Hostname: "127.0.0.1", AuthAfterTLS: []string{"PLAIN", "LOGIN"}},
				"SUB":    {Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, Hostname: "127.0.0.1", AuthAfterTLS: []string{"PLAIN"}},
				"IMAP":   {Protocol: mailsim.IMAP, Mode: mailsim.StartTLS, Hostname: "127.0.0.1", LoginDisabledBeforeTLS: true, AuthAfterTLS: []string{"PLAIN"}},
				"SILENT": {Protocol: mailsim.SMTP, Mode: mailsim.Plain, Behavior: mailsim.Silent},
			}
			for name, cfg := range servers {
				s, err := mailsim.Start(cfg, ca)
				if err != nil {
					return err
				}
				env.Defer(func() { s.Close() })
				env.Setenv(name, strconv.Itoa(s.Port()))
			}
			// A port that was just free: nothing listens there.
			s, err := mailsim.Start(mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain}, nil)
			if err != nil {
				return err
			}
			env.Setenv("CLOSED", strconv.Itoa(s.Port()))
			s.Close()
			return nil
		},
	})
}

// Exit codes are a contract (README.md): 0 works, 1 does not work, 2 usage error (3 and 4,
// DNS failure and rejected credentials, are pinned by the scripts and the integration suite).
// None of these invocations sends anything: usage errors are caught before any lookup.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{nil, exitUsage},
		{[]string{"--help"}, exitWorks},
		{[]string{"nonsense"}, exitUsage},
		{[]string{"probe"}, exitUsage},
		{[]string{"probe", "--help"}, exitWorks},
		{[]string{"probe", "host.example:8080"}, exitUsage},
		{[]string{"probe", "--deadline", "-1s", "host.example:465"}, exitUsage},
		{[]string{"probe", "--connect-timeout", "0s", "host.example:465"}, exitUsage},
		{[]string{"probe", "--ehlo", "x\r\nMAIL FROM:<a@b>", "host.example:587"}, exitUsage},
		{[]string{"discover", "--deadline", "-1s", "example.com"}, exitUsage},
		{[]string{"discover", "--resolver", "127.0.0.1:99999", "example.com"}, exitUsage},
		{[]string{"discover", "--resolver", "not-an-ip:53", "example.com"}, exitUsage},
		{[]string{"probe", "host.example:99999"}, exitUsage},
		{[]string{"probe", "--security", "bogus", "host.example:587"}, exitUsage},
		{[]string{"probe", "--tls-min", "1.0", "host.example:465"}, exitUsage},
		{[]string{"probe", "--tls-min", "1.3", "--tls-max", "1.2", "host.example:465"}, exitUsage},
		{[]string{"probe", "--ca-file", "/nonexistent", "host.example:465"}, exitUsage},
		{[]string{"probe", "a:1", "b:2"}, exitUsage},
		{[]string{"demo", "extra"}, exitUsage},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if got := run(tt.args, &out, &errOut); got != tt.want {
			t.Errorf("mailscout %q exited %d, want %d; stderr:\n%s", tt.args, got, tt.want, errOut.String())
		}
	}
}

// The exit codes that depend on what discovery finds (README.md, "Exit codes"), on the demo
// world and on a resolver that does not answer. Everything stays on loopback.
func TestDiscoveryExitCodes(t *testing.T) {
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	t.Setenv("PW", "wrong")
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"demo", "guess.example"}, exitWorks},
		{[]string{"demo", "broken.example"}, exitWorks}, // incoming works; the diagnosis says outgoing does not
		{[]string{"demo", "plain.example"}, exitNotWorks},
		{[]string{"demo", "nomail.example"}, exitNotWorks},
		{[]string{"demo", "oldtls.example"}, exitNotWorks},
		{[]string{"demo", "--allow-insecure-tls", "oldtls.example"}, exitWorks},
		{[]string{"demo", "--user", "alice@guess.example", "--password-env", "PW", "guess.example"}, exitLoginFailed},
		{[]string{"discover", "--resolver", deadAddr, "--deadline", "3s", "--no-ispdb", "alice@example.com"}, exitDNSFailed},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if got := run(tt.args, &out, &errOut); got != tt.want {
			t.Errorf("mailscout %q exited %d, want %d; stderr:\n%s", tt.args, got, tt.want, errOut.String())
		}
	}
}
