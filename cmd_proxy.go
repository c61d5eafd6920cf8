package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/mailscout/mailscout/probe"
	"github.com/mailscout/mailscout/probe/proxy"
)

// proxyFlags: --proxy URL, its password from an environment variable or standard input (never
// only from the command line, where other users can read it), ALL_PROXY unless --no-proxy.
type proxyFlags struct {
	url           string
	passwordEnv   string
	passwordStdin bool
	none          bool
}

func (f *proxyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "proxy", "", "connect through a proxy: socks4://, socks4a://, socks5://, socks5h:// or http:// (CONNECT), with optional user[:password]@ (default: $ALL_PROXY)")
	fs.StringVar(&f.passwordEnv, "proxy-password-env", "", "read the proxy password from this environment variable")
	fs.BoolVar(&f.passwordStdin, "proxy-password-stdin", false, "read the proxy password from the first line of standard input")
	fs.BoolVar(&f.none, "no-proxy", false, "connect directly even if ALL_PROXY is set")
}

// stdin is read once, by whichever flag asks for it.
var stdinLine = func() (string, error) {
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(os.Stderr, "Password: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// dialer returns the proxy as the probes' Dialer, or nil for direct connections.
func (f *proxyFlags) dialer() (probe.Dialer, error) {
	raw := f.url
	if raw == "" && !f.none {
		raw = os.Getenv("ALL_PROXY")
		if raw == "" {
			raw = os.Getenv("all_proxy")
		}
	}
	if f.none && f.url != "" {
		return nil, errors.New("--proxy and --no-proxy contradict each other")
	}
	if raw == "" {
		if f.passwordEnv != "" || f.passwordStdin {
			return nil, errors.New("a proxy password flag was given but no proxy")
		}
		return nil, nil
	}
	d, err := proxy.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case f.passwordEnv != "" && f.passwordStdin:
		return nil, errors.New("--proxy-password-env and --proxy-password-stdin: choose one")
	case f.passwordEnv != "":
		if d.Password, err = secretFromEnv("--proxy-password-env", f.passwordEnv); err != nil {
			return nil, err
		}
	case f.passwordStdin:
		pw, err := stdinLine()
		if err != nil {
			return nil, fmt.Errorf("--proxy-password-stdin: %w", err)
		}
		d.Password = pw
	}
	if d.Password != "" && d.User == "" {
		return nil, errors.New("a proxy password needs a user: --proxy scheme://USER@host:port")
	}
	return d, nil
}

// secretFromEnv reads a password or token from the environment variable a flag names.
func secretFromEnv(flagName, variable string) (string, error) {
	v, ok := os.LookupEnv(variable)
	if !ok || v == "" {
		return "", fmt.Errorf("%s: $%s is not set", flagName, variable)
	}
	return v, nil
}
