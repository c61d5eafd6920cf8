package probe

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// smtpReply is one SMTP reply: a code and its text lines (RFC 5321 §4.2).
type smtpReply struct {
	Code  int
	Lines []string // the raw lines, code included
	Texts []string // the text after "ddd-" / "ddd "
}

func (r smtpReply) text() string { return strings.Join(r.Texts, " / ") }

// parseSMTPLine splits one reply line. RFC 5321 §4.2.1: "ddd-text" continues the reply, "ddd text"
// or a bare "ddd" ends it.
func parseSMTPLine(line string) (code int, last bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("reply line %q is too short", line)
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, false, "", fmt.Errorf("reply line %q does not start with a three-digit code", clip(line))
		}
	}
	code, _ = strconv.Atoi(line[:3])
	if code < 200 || code > 599 {
		return 0, false, "", fmt.Errorf("reply code %d is outside 2xx–5xx", code)
	}
	switch {
	case len(line) == 3:
		return code, true, "", nil
	case line[3] == ' ':
		return code, true, line[4:], nil
	case line[3] == '-':
		return code, false, line[4:], nil
	}
	return 0, false, "", fmt.Errorf("reply line %q has %q after its code", clip(line), line[3])
}

// readSMTPReply reads one complete, possibly multi-line, reply within the operation timeout.
// Every line must carry the same code (RFC 5321 §4.2.1 says clients should not rely on it, but a
// change of code mid-reply is a broken or hostile server, so it is refused).
func readSMTPReply(w *wire) (smtpReply, error) {
	w.beginReply()
	var rep smtpReply
	size := 0
	for {
		line, err := w.readLine()
		if err != nil {
			return rep, err
		}
		size += len(line) + 2
		if len(rep.Lines) >= w.limits.MaxReplyLines || size > w.limits.MaxReplyBytes {
			return rep, ErrReplyTooLarge
		}
		code, last, text, err := parseSMTPLine(line)
		if err != nil {
			return rep, newError(KindProtocol, "", "not an SMTP server", err)
		}
		if rep.Code != 0 && code != rep.Code {
			return rep, newError(KindProtocol, "", fmt.Sprintf("reply code changed from %d to %d within one reply", rep.Code, code), nil)
		}
		rep.Code = code
		rep.Lines = append(rep.Lines, line)
		rep.Texts = append(rep.Texts, text)
		if last {
			return rep, nil
		}
	}
}

type smtpDialogue struct {
	w    *wire
	t    Target
	opts *Options
	r    *Result
	// open is true while the dialogue may end with QUIT.
	open bool
}

func (d *smtpDialogue) greeting() error {
	rep, err := readSMTPReply(d.w)
	if err != nil {
		return stageErr(d.w, "greeting", err)
	}
	d.r.Greeting = strings.Join(rep.Lines, "\n")
	d.open = true
	switch {
	case rep.Code == 220:
	case rep.Code == 421 || rep.Code >= 500:
		// RFC 5321 §3.1: after a 554 greeting the server waits for QUIT.
		if rep.Code != 421 {
			d.quit()
		}
		d.open = false
		return newError(KindRejected, "greeting", fmt.Sprintf("server refused the session: %d %s", rep.Code, rep.text()), nil)
	default:
		return newError(KindProtocol, "greeting", fmt.Sprintf("unexpected greeting code %d: %s", rep.Code, rep.text()), nil)
	}
	if d.t.Security != TLS && d.t.Port == 465 {
		d.r.warn(WarnPlaintextOn465, "port 465 answers in plaintext; RFC 8314 reserves it for implicit TLS")
	}
	return nil
}

func (d *smtpDialogue) session() error {
	caps, ok, err := d.ehlo("EHLO")
	if err != nil {
		return err
	}
	if !ok {
		// An EHLO-less server is reported, never used for STARTTLS or AUTH: a HELO fallback must
		// not become a downgrade path (emailjs-smtp-client PR #20).
		if err := d.helo(); err != nil {
			return err
		}
		d.r.warn(WarnNoEHLO, "server rejects EHLO and only answers HELO: no extensions, no STARTTLS, no AUTH")
		if d.t.Security == StartTLS {
			return newError(KindStartTLSUnavailable, "EHLO", "server does not support EHLO, so it cannot offer STARTTLS", nil)
		}
		return nil
	}
	auth := smtpAuthMechanisms(caps)
	d.r.Capabilities = caps
	if d.t.Security == TLS {
		d.r.AuthMethods = auth
		return nil
	}
	d.r.AuthMethodsPlaintext = auth
	d.r.StartTLSOffered = hasKeyword(caps, "STARTTLS")
	if d.t.Security == Plain {
		d.r.AuthMethods = auth
		return nil
	}
	if !d.r.StartTLSOffered {
		return newError(KindStartTLSUnavailable, "EHLO", "server does not offer STARTTLS (plaintext only, or a middlebox stripped it)", nil)
	}
	if err := d.w.writeLine("STARTTLS", ""); err != nil {
		return stageErr(d.w, "STARTTLS", err)
	}
	rep, err := readSMTPReply(d.w)
	if err != nil {
		return stageErr(d.w, "STARTTLS", err)
	}
	if rep.Code != 220 {
		return newError(KindStartTLSRefused, "STARTTLS", fmt.Sprintf("server answered %d %s", rep.Code, rep.text()), nil)
	}
	d.open = false // the plaintext session is over; only TLS may follow
	if err := upgradeAfterGoAhead(d.w, d.t, d.opts, d.r, "STARTTLS"); err != nil {
		return err
	}
	d.open = true
	// RFC 3207 §4.2: discard everything learned before TLS and ask again.
	d.r.Capabilities, d.r.AuthMethods = []string{}, []string{}
	caps, ok, err = d.ehlo("EHLO after STARTTLS")
	if err != nil {
		return err
	}
	if !ok {
		return newError(KindProtocol, "EHLO after STARTTLS", "server rejected EHLO after the TLS upgrade", nil)
	}
	d.r.Capabilities = caps
	d.r.AuthMethods = smtpAuthMechanisms(caps)
	return nil
}

// ehlo sends EHLO and returns its keyword lines. ok is false when the server rejects EHLO with a
// permanent error (an EHLO-less server).
func (d *smtpDialogue) ehlo(stage string) (caps []string, ok bool, err error) {
	if err := d.w.writeLine("EHLO "+d.ehloName(), ""); err != nil {
		return nil, false, stageErr(d.w, stage, err)
	}
	rep, err := readSMTPReply(d.w)
	if err != nil {
		return nil, false, stageErr(d.w, stage, err)
	}
	switch {
	case rep.Code == 250:
		caps = append([]string{}, rep.Texts[1:]...)
		return caps, true, nil
	case rep.Code >= 500 && rep.Code != 554:
		return nil, false, nil
	}
	d.open = false
	return nil, false, newError(KindRejected, stage, fmt.Sprintf("server answered %d %s", rep.Code, rep.text()), nil)
}

func (d *smtpDialogue) helo() error {
	if err := d.w.writeLine("HELO "+d.ehloName(), ""); err != nil {
		return stageErr(d.w, "HELO", err)
	}
	rep, err := readSMTPReply(d.w)
	if err != nil {
		return stageErr(d.w, "HELO", err)
	}
	if rep.Code != 250 {
		return newError(KindRejected, "HELO", fmt.Sprintf("server rejected both EHLO and HELO: %d %s", rep.Code, rep.text()), nil)
	}
	return nil
}

func (d *smtpDialogue) ehloName() string {
	if d.opts.EHLOName != "" {
		return d.opts.EHLOName
	}
	return addressLiteral(d.w.raw.LocalAddr())
}

func (d *smtpDialogue) quit() bool {
	if !d.open {
		return false
	}
	d.open = false
	if d.w.writeLine("QUIT", "") != nil {
		return false
	}
	if d.opts.SkipQuitReply {
		return true
	}
	d.w.conn.SetReadDeadline(d.w.deadline(min(d.opts.OperationTimeout, quitWait)))
	d.w.readLine() // the 221, if it comes; nothing depends on it
	return false
}

// quitWait bounds the wait for the answer to QUIT/LOGOUT: the probe's verdict is already known.
const quitWait = time.Second

// smtpAuthMechanisms returns the SASL mechanisms of the AUTH keyword (RFC 4954 §3), upper-case, in
// server order. The pre-standard "AUTH=" form some old servers still send is read too.
func smtpAuthMechanisms(caps []string) []string {
	out := []string{}
	for _, c := range caps {
		f := strings.Fields(strings.ToUpper(c))
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "AUTH":
			out = appendUnique(out, f[1:]...)
		case strings.HasPrefix(f[0], "AUTH="):
			out = appendUnique(out, strings.TrimPrefix(f[0], "AUTH="))
			out = appendUnique(out, f[1:]...)
		}
	}
	return out
}

// hasKeyword reports an EHLO keyword or POP3 capability (the first word of a line, any case).
func hasKeyword(caps []string, kw string) bool {
	for _, c := range caps {
		f := strings.Fields(c)
		if len(f) > 0 && strings.EqualFold(f[0], kw) {
			return true
		}
	}
	return false
}

func appendUnique(list []string, items ...string) []string {
next:
	for _, it := range items {
		if it == "" {
			continue
		}
		for _, have := range list {
			if have == it {
				continue next
			}
		}
		list = append(list, it)
	}
	return list
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
