package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Run probes one endpoint and reports what works there. It never returns an error: every failure
// is a Result with OK false, an ErrorKind and an explanation. It returns when the dialogue ends,
// a timeout fires, or ctx is done — whichever is first — and leaves no goroutine behind. A
// caller that stops a probe on purpose cancels ctx with a [Cut] as the cause, and the result
// says why.
//
// When a TLS handshake fails within the allowed versions and TLS 1.0/1.1 are not allowed, Run
// makes one extra connection, offers only TLS 1.0–1.1 there, and stops right after the
// handshake (no credentials, no command): a server that speaks nothing newer is then reported
// as such (kind tls_version, warning legacy_tls) rather than as a bare handshake failure.
// Options.NoLegacyCheck turns this off.
func Run(ctx context.Context, t Target, opts Options) Result {
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits()
	}
	if opts.Dial == nil {
		opts.Dial = Direct
	}
	start := time.Now()
	r := newResult(t, &opts)
	err := run(ctx, t, &opts, &r, start)
	if err != nil {
		r.OK = false
		r.ErrorKind = KindOf(err)
		r.Error = err.Error()
	} else {
		r.OK = true
		addSecurityWarnings(&r)
	}
	r.Timings.Total = time.Since(start)
	return r
}

func newResult(t Target, opts *Options) Result {
	return Result{
		Protocol: t.Protocol, Host: t.Host, Port: t.Port, Security: t.Security, Proxy: ProxyURL(opts.Dial),
		Capabilities: []string{}, AuthMethods: []string{}, AuthMethodsPlaintext: []string{},
		Warnings: []Warning{},
		Timeouts: Timeouts{Connect: opts.ConnectTimeout, Greeting: opts.GreetingTimeout,
			Operation: opts.OperationTimeout, Deadline: opts.Deadline},
	}
}

func run(ctx context.Context, t Target, opts *Options, r *Result, start time.Time) error {
	if err := opts.Validate(); err != nil {
		return newError(KindProtocol, "options", "", err)
	}
	if opts.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Deadline)
		defer cancel()
	}
	conn, err := dial(ctx, t, opts)
	r.Timings.Connect = time.Since(start)
	if err != nil {
		return classifyDial(ctx, err, opts, r.Timings.Connect)
	}
	lingering := false
	defer func() {
		if !lingering {
			conn.Close()
		}
	}()
	r.Address = conn.RemoteAddr().String()
	if tr := opts.Trace; tr != nil && tr.Connected != nil {
		tr.Connected(addrPort(conn.RemoteAddr(), opts), r.Timings.Connect)
	}
	// Cancellation must interrupt a blocked read at once: a past deadline does that.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	w := newWire(ctx, conn, opts, start)
	defer func() { r.Transcript = w.script }()
	if t.Security == TLS {
		if err := handshake(w, t, opts, r); err != nil {
			return err
		}
	}
	greetStart := time.Now()
	if err := w.waitFirstLine(opts.GreetingTimeout); err != nil {
		return greetingError(ctx, t, opts, err, w.buffered(), time.Since(greetStart))
	}
	if tr := opts.Trace; tr != nil && tr.Greeted != nil {
		tr.Greeted()
	}
	var d dialogue
	switch t.Protocol {
	case SMTP:
		d = &smtpDialogue{w: w, t: t, opts: opts, r: r}
	case IMAP:
		d = &imapDialogue{w: w, t: t, opts: opts, r: r}
	case POP3:
		d = &pop3Dialogue{w: w, t: t, opts: opts, r: r}
	default:
		return newError(KindProtocol, "options", fmt.Sprintf("unknown protocol %q", t.Protocol), nil)
	}
	err = d.greeting()
	r.Timings.Greeting = time.Since(greetStart)
	if r.Timings.Greeting > time.Second {
		r.warn(WarnSlowGreeting, fmt.Sprintf("the greeting took %.1f s (postscreen, greet_pause or a tarpit)", r.Timings.Greeting.Seconds()))
	}
	if err != nil {
		return err
	}
	err = d.session()
	if err == nil && opts.Credentials != nil {
		err = tryLogin(d, opts.Credentials, r)
	}
	if err == nil || KindOf(err) == KindStartTLSUnavailable || KindOf(err) == KindStartTLSRefused || KindOf(err) == KindAuth {
		// The dialogue is still in a state where a polite exit is possible. The caller may want
		// to see the server close its side; stop() detaches the connection from ctx first, and
		// fails when ctx has ended (the connection is then closed here as usual).
		if d.quit() && opts.Linger != nil && stop() {
			lingering = true
			opts.Linger(conn)
		}
	}
	return err
}

// addrPort is the far end of a connection, when it is known: through a proxy that resolved the
// name, the address the tunnel reports is the proxy's business and means nothing here.
func addrPort(a net.Addr, opts *Options) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok && ProxyURL(opts.Dial) == "" {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

// dialogue is one protocol's conversation, split at the points where the shared logic (greeting
// timing, polite exit) needs to step in.
type dialogue interface {
	greeting() error // read and judge the greeting (its first line has already arrived)
	session() error  // capabilities, STARTTLS and capabilities again, as the mode requires
	login(*Credentials) (*AuthResult, error)
	// quit says goodbye (QUIT, LOGOUT); errors are irrelevant by then. It reports whether the
	// goodbye was sent and its answer not awaited (Options.SkipQuitReply): the connection may
	// then be handed to Options.Linger.
	quit() bool
}

// tryLogin logs in when the rules allow it. A refused login fails the probe with kind auth: the
// configuration does not work with these credentials (r.Auth says why in the server's words).
func tryLogin(d dialogue, c *Credentials, r *Result) error {
	if code, why := Refusal(r, c); code != "" {
		r.Auth = &AuthResult{Username: c.Username, NotAttempted: code, Error: why}
		return nil
	}
	res, err := d.login(c)
	r.Auth = res
	if err != nil {
		return err
	}
	if res.Attempted && !res.OK {
		return newError(KindAuth, "login", fmt.Sprintf("%s login as %s refused: %s", res.Mechanism, res.Username, res.Error), nil)
	}
	if res.Attempted && r.TLS == nil {
		r.warn(WarnCleartextLogin, "the password was sent without encryption, as the user allowed")
	}
	return nil
}

// errStopAfterTLS ends the legacy check's dialogue once its handshake has succeeded.
var errStopAfterTLS = errors.New("stopped after the TLS handshake")

// handshake runs the TLS handshake on w and records the session facts in r.
func handshake(w *wire, t Target, opts *Options, r *Result) error {
	hs := time.Now()
	w.note("*", "TLS handshake")
	// Implicit TLS: the ServerHello is the server's first word, bounded like a greeting.
	firstByte := time.Duration(0)
	if t.Security == TLS {
		firstByte = opts.GreetingTimeout
	}
	tc, err := w.upgrade(tlsConfig(t.Host, opts), firstByte)
	r.Timings.TLS = time.Since(hs)
	if err != nil {
		e := classifyHandshake(w.ctx, err, opts, r.Timings.TLS)
		if legacyWorthChecking(e, opts) {
			w.raw.Close() // one connection at a time, even for a server that limits them
			if legacy := legacySession(w.ctx, t, opts); legacy != nil {
				v := legacy.Version
				e = newError(KindTLSVersion, "TLS handshake", fmt.Sprintf("the server speaks only TLS %s, which mail clients refuse: RFC 8996 deprecated TLS 1.0 and 1.1", v), nil)
				r.warn(WarnLegacyTLS, "the server speaks only TLS "+v+" (obsolete since RFC 8996)")
				r.TLS = legacy // what the legacy session showed: its version, cipher and certificate
			}
		}
		w.note("*", "TLS handshake failed: "+e.Error())
		return e
	}
	r.TLS = describeTLS(tc.ConnectionState(), t.Host, opts)
	verdict := "certificate valid"
	if !r.TLS.CertValid {
		verdict = "certificate INVALID: " + r.TLS.CertError
	}
	w.note("*", fmt.Sprintf("TLS %s %s, %s", r.TLS.Version, r.TLS.Cipher, verdict))
	if tr := opts.Trace; tr != nil && tr.TLSReady != nil {
		tr.TLSReady(addrPort(w.raw.RemoteAddr(), opts))
	}
	if opts.stopAfterTLS {
		return errStopAfterTLS
	}
	return nil
}

// upgradeAfterGoAhead is the shared tail of STARTTLS (SMTP, IMAP) and STLS (POP3): refuse to go on
// when the server pushed bytes after its go-ahead, then handshake. Those bytes would otherwise be
// read as if they came over TLS (CVE-2011-0411's client-side twin; the 2021 NO STARTTLS study).
func upgradeAfterGoAhead(w *wire, t Target, opts *Options, r *Result, stage string) error {
	if n := w.buffered(); n > 0 {
		peek, _ := w.br.Peek(min(n, 64))
		return newError(KindStartTLSInjection, stage,
			fmt.Sprintf("server sent %d byte(s) after the go-ahead and before the TLS handshake (\"%s…\"); discarded — a man in the middle or a broken server could inject responses this way", n, escapeBytes(peek)), nil)
	}
	return handshake(w, t, opts, r)
}

func greetingError(ctx context.Context, t Target, opts *Options, err error, got int, waited time.Duration) error {
	if e := stopped(ctx, "greeting", opts, waited); e != nil {
		return e
	}
	if !isTimeout(err) {
		return classifyIO(ctx, "greeting", err, opts)
	}
	if got > 0 {
		return newError(KindGreetingTimeout, "greeting", fmt.Sprintf("the server sent only %d byte(s) within %s without finishing the first line of its greeting: a tarpit drips its greeting to hold clients", got, opts.GreetingTimeout), nil)
	}
	msg := fmt.Sprintf("connected, but the server sent nothing within %s", opts.GreetingTimeout)
	switch t.Security {
	case TLS:
		msg += " after the TLS handshake"
	default:
		msg += ": the port probably expects implicit TLS, or the server delays its greeting"
	}
	return newError(KindGreetingTimeout, "greeting", msg, nil)
}

// addSecurityWarnings flags facts about a working mode that a user must know.
func addSecurityWarnings(r *Result) {
	if r.TLS != nil {
		if !r.TLS.CertValid {
			r.warn(WarnCertInvalid, "certificate: "+r.TLS.CertError)
		}
		if r.TLS.Version == "1.0" || r.TLS.Version == "1.1" {
			r.warn(WarnLegacyTLS, "TLS "+r.TLS.Version+" is obsolete (RFC 8996); clients refuse it by default")
		}
	}
	if r.LoginDisabled {
		r.warn(WarnLoginDisabled, "LOGINDISABLED: the server refuses the LOGIN command on this connection")
	}
	if r.Security == Plain {
		r.warn(WarnPlaintextSession, "no encryption: everything, passwords included, crosses the network in the clear")
		if len(r.AuthMethodsPlaintext) > 0 {
			r.warn(WarnPlaintextAuth, "the server offers login without TLS")
		}
	}
	if r.Protocol == SMTP && r.Port == 25 {
		r.warn(WarnRelayPort, "port 25 is for relay between servers and often blocked for clients; prefer 465 or 587")
	}
}

// stageErr classifies err and names the stage it happened in, if it does not name one yet.
func stageErr(w *wire, stage string, err error) error {
	e := classifyIO(w.ctx, stage, err, w.opts)
	if e.Stage == "" {
		e.Stage = stage
	}
	return e
}

// addressLiteral renders a local address as an SMTP address literal: [192.0.2.1] or
// [IPv6:2001:db8::1] (RFC 5321 §4.1.3).
func addressLiteral(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta.IP == nil {
		return "[127.0.0.1]"
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		return "[" + ip4.String() + "]"
	}
	return "[IPv6:" + ta.IP.String() + "]"
}
