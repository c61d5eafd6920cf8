package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/mailscout/mailscout/probe"
)

// authFlags: --user with the password from an environment variable, standard input or a
// prompt — never a plain command-line argument, where other users of the machine can read it.
type authFlags struct {
	user           string
	passwordEnv    string
	passwordStdin  bool
	auth           string
	oauthTokenEnv  string
	allowPlaintext bool
	allowBadCert   bool
}

// register adds the credential flags; probeCmd is set for the probe command, which has no
// address to take a user name from.
func (f *authFlags) register(fs *flag.FlagSet, probeCmd bool) {
	if probeCmd {
		fs.StringVar(&f.user, "user", "", "log in as this user `name` to verify the credentials (needed to log in)")
	} else {
		fs.StringVar(&f.user, "user", "", "log in as this user `name` to verify the credentials (default: the name autoconfig gives, else the address)")
	}
	fs.StringVar(&f.passwordEnv, "password-env", "", "read the password from this environment `variable`")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of standard input (default with --user on a terminal: a prompt)")
	fs.StringVar(&f.auth, "auth", "", "`mechanisms` allowed for the login, comma-separated: "+strings.Join(probe.SupportedMechanisms(), ", ")+" (default: all)")
	fs.StringVar(&f.oauthTokenEnv, "oauth-token-env", "", "log in with the OAuth 2 bearer token in this environment `variable` (OAUTHBEARER, XOAUTH2)")
	fs.BoolVar(&f.allowPlaintext, "allow-plaintext-auth", false, "DANGEROUS: allow sending the password over connections without TLS")
	fs.BoolVar(&f.allowBadCert, "allow-bad-cert", false, "allow sending the password to servers whose certificate failed verification")
}

// wanted says whether any credential flag was given.
func (f *authFlags) wanted() bool {
	return f.user != "" || f.passwordEnv != "" || f.passwordStdin || f.oauthTokenEnv != ""
}

// credentials builds the probe credentials, or nil without credential flags. needUser is set
// for probe, which has no address to take a user name from.
func (f *authFlags) credentials(needUser bool, stdinTaken bool) (*probe.Credentials, error) {
	if !f.wanted() {
		if f.auth != "" || f.allowPlaintext || f.allowBadCert {
			return nil, errors.New("--auth, --allow-plaintext-auth and --allow-bad-cert need credentials (--user and a password or token)")
		}
		return nil, nil
	}
	if needUser && f.user == "" {
		return nil, errors.New("--user is needed to log in")
	}
	c := &probe.Credentials{Username: f.user, AllowPlaintext: f.allowPlaintext, AllowBadCert: f.allowBadCert}
	if f.auth != "" {
		for _, m := range strings.Split(f.auth, ",") {
			m = strings.ToUpper(strings.TrimSpace(m))
			if !slices.Contains(probe.SupportedMechanisms(), m) {
				return nil, fmt.Errorf("--auth: unknown mechanism %q (supported: %s)", m, strings.Join(probe.SupportedMechanisms(), ", "))
			}
			c.Mechanisms = append(c.Mechanisms, m)
		}
	}
	sources := 0
	for _, b := range []bool{f.passwordEnv != "", f.passwordStdin, f.oauthTokenEnv != ""} {
		if b {
			sources++
		}
	}
	switch {
	case sources > 1:
		return nil, errors.New("--password-env, --password-stdin and --oauth-token-env: choose one")
	case f.oauthTokenEnv != "":
		var err error
		if c.OAuthToken, err = secretFromEnv("--oauth-token-env", f.oauthTokenEnv); err != nil {
			return nil, err
		}
	case f.passwordEnv != "":
		var err error
		if c.Password, err = secretFromEnv("--password-env", f.passwordEnv); err != nil {
			return nil, err
		}
	case f.passwordStdin || promptTerminal.IsTerminal(int(os.Stdin.Fd())):
		if stdinTaken {
			return nil, errors.New("standard input cannot carry both the proxy password and the login password: use --password-env")
		}
		pw, err := stdinLine()
		if err != nil {
			return nil, fmt.Errorf("password: %w", err)
		}
		c.Password = pw
	default:
		return nil, errors.New("no password: use --password-env VAR, --password-stdin, or run on a terminal to be asked")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.AllowPlaintext {
		fmt.Fprintln(os.Stderr, "mailscout: WARNING: --allow-plaintext-auth: the password may cross the network unencrypted, readable by anyone on the path.")
	}
	return c, nil
}
