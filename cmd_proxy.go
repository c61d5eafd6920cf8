package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

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
	fs.StringVar(&f.url, "proxy", "", "connect through a proxy `URL`: socks4://, socks4a://, socks5://, socks5h:// or http:// (CONNECT), with optional user[:password]@ (default: $ALL_PROXY)")
	fs.StringVar(&f.passwordEnv, "proxy-password-env", "", "read the proxy password from this environment `variable`")
	fs.BoolVar(&f.passwordStdin, "proxy-password-stdin", false, "read the proxy password from the first line of standard input")
	fs.BoolVar(&f.none, "no-proxy", false, "connect directly even if ALL_PROXY is set")
}

// stdin is read once, by whichever flag asks for it: on a terminal with a prompt, without echo.
var stdinLine = func() (string, error) {
	fd := int(os.Stdin.Fd())
	if promptTerminal.IsTerminal(fd) {
		return readPassword(promptTerminal, fd, os.Stderr)
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// passwordTerminal is what the password prompt needs of a terminal: golang.org/x/term on the
// real one, a fake in tests.
type passwordTerminal interface {
	IsTerminal(fd int) bool
	GetState(fd int) (*term.State, error)
	Restore(fd int, state *term.State) error
	ReadPassword(fd int) ([]byte, error)
}

type realTerminal struct{}

func (realTerminal) IsTerminal(fd int) bool               { return term.IsTerminal(fd) }
func (realTerminal) GetState(fd int) (*term.State, error) { return term.GetState(fd) }
func (realTerminal) Restore(fd int, s *term.State) error  { return term.Restore(fd, s) }
func (realTerminal) ReadPassword(fd int) ([]byte, error)  { return term.ReadPassword(fd) }

var (
	promptTerminal passwordTerminal = realTerminal{}
	// promptSignals delivers Ctrl-C and SIGTERM to c until the returned stop is called.
	promptSignals = func(c chan<- os.Signal) (stop func()) {
		signal.Notify(c, os.Interrupt, syscall.SIGTERM)
		return func() { signal.Stop(c) }
	}
	exitProcess = os.Exit
)

// readPassword prompts on stderr and reads a line from the terminal without echo. Ctrl-C or
// SIGTERM at the prompt gives the terminal back as it was (echo on) before exiting with 130:
// term.ReadPassword restores it only when it returns, and a signal's default action would end
// the process first, leaving the shell without echo.
func readPassword(t passwordTerminal, fd int, stderr io.Writer) (string, error) {
	state, err := t.GetState(fd)
	if err != nil {
		state = nil // nothing to restore; the prompt still works
	}
	fmt.Fprint(stderr, "Password: ")
	sigs := make(chan os.Signal, 1)
	stopSignals := promptSignals(sigs)
	done, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-sigs:
			if state != nil {
				t.Restore(fd, state)
			}
			fmt.Fprintln(stderr)
			fmt.Fprintln(stderr, "mailscout: interrupted at the password prompt")
			exitProcess(exitInterrupted)
		case <-done:
		}
	}()
	b, err := t.ReadPassword(fd)
	stopSignals()
	close(done)
	<-watched
	fmt.Fprintln(stderr)
	return string(b), err
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
