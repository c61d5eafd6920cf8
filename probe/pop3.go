package probe

import (
	"fmt"
	"regexp"
	"strings"
)

// apopTimestamp matches the msg-id style timestamp of an APOP-capable greeting (RFC 1939 §7).
var apopTimestamp = regexp.MustCompile(`<[^<>\s]+@[^<>\s]+>`)

// parsePOP3Status splits a single-line POP3 response into ok (+OK / -ERR) and its text.
func parsePOP3Status(line string) (ok bool, text string, err error) {
	switch {
	case line == "+OK" || strings.HasPrefix(line, "+OK "):
		return true, strings.TrimPrefix(strings.TrimPrefix(line, "+OK"), " "), nil
	case line == "-ERR" || strings.HasPrefix(line, "-ERR "):
		return false, strings.TrimPrefix(strings.TrimPrefix(line, "-ERR"), " "), nil
	}
	return false, "", fmt.Errorf("response %q is neither +OK nor -ERR", clip(line))
}

// readPOP3Status reads one status line.
func readPOP3Status(w *wire) (bool, string, error) {
	w.beginReply()
	line, err := w.readLine()
	if err != nil {
		return false, "", err
	}
	ok, text, perr := parsePOP3Status(line)
	if perr != nil {
		return false, "", newError(KindProtocol, "", "not a POP3 server", perr)
	}
	return ok, text, nil
}

// readPOP3Multi reads the body of a multi-line response up to the terminating "." line, undoing
// the byte-stuffing of lines that start with a dot (RFC 1939 §3). The deadline set by the status
// line's beginReply covers the whole response.
func readPOP3Multi(w *wire) ([]string, error) {
	var lines []string
	size := 0
	for {
		line, err := w.readLine()
		if err != nil {
			return nil, err
		}
		if line == "." {
			return lines, nil
		}
		size += len(line) + 2
		if len(lines) >= w.limits.MaxReplyLines || size > w.limits.MaxReplyBytes {
			return nil, ErrReplyTooLarge
		}
		lines = append(lines, strings.TrimPrefix(line, "."))
	}
}

// pop3SASL returns the mechanisms of the SASL capability (RFC 2449 §6.3), upper-case.
func pop3SASL(caps []string) []string {
	out := []string{}
	for _, c := range caps {
		f := strings.Fields(strings.ToUpper(c))
		if len(f) > 0 && f[0] == "SASL" {
			out = appendUnique(out, f[1:]...)
		}
	}
	return out
}

type pop3Dialogue struct {
	w       *wire
	t       Target
	opts    *Options
	r       *Result
	open    bool
	noCAPA  bool
	capaSet bool
}

func (d *pop3Dialogue) greeting() error {
	ok, text, err := readPOP3Status(d.w)
	if err != nil {
		return stageErr(d.w, "greeting", err)
	}
	d.r.Greeting = "+OK " + text
	if !ok {
		d.r.Greeting = "-ERR " + text
		return newError(KindRejected, "greeting", "server refused the session: "+text, nil)
	}
	d.open = true
	if apopTimestamp.MatchString(text) {
		d.r.APOP = true
		d.r.warn(WarnAPOP, "greeting carries an APOP timestamp: the server offers MD5-based APOP login (legacy)")
	}
	return nil
}

// capa asks for capabilities. A server without CAPA (RFC 1939-only) answers -ERR; that is
// reported, not fatal.
func (d *pop3Dialogue) capa(stage string) ([]string, error) {
	if err := d.w.writeLine("CAPA", ""); err != nil {
		return nil, stageErr(d.w, stage, err)
	}
	ok, _, err := readPOP3Status(d.w)
	if err != nil {
		return nil, stageErr(d.w, stage, err)
	}
	if !ok {
		d.noCAPA = true
		d.r.warn(WarnCapaUnsupported, "server does not support CAPA (RFC 2449): its capabilities are unknown")
		return []string{}, nil
	}
	caps, err := readPOP3Multi(d.w)
	if err != nil {
		return nil, stageErr(d.w, stage, err)
	}
	return caps, nil
}

func (d *pop3Dialogue) session() error {
	caps, err := d.capa("CAPA")
	if err != nil {
		return err
	}
	d.r.Capabilities, d.r.AuthMethods = caps, pop3SASL(caps)
	if d.t.Security == TLS {
		return nil
	}
	d.r.AuthMethodsPlaintext = d.r.AuthMethods
	d.r.StartTLSOffered = hasKeyword(caps, "STLS")
	if d.t.Security == Plain {
		return nil
	}
	// Without CAPA there is no way to know; trying STLS is the only honest test.
	if !d.r.StartTLSOffered && !d.noCAPA {
		return newError(KindStartTLSUnavailable, "CAPA", "server does not offer STLS (plaintext only, or a middlebox stripped it)", nil)
	}
	if err := d.w.writeLine("STLS", ""); err != nil {
		return stageErr(d.w, "STLS", err)
	}
	ok, text, err := readPOP3Status(d.w)
	if err != nil {
		return stageErr(d.w, "STLS", err)
	}
	if !ok {
		if d.noCAPA {
			return newError(KindStartTLSUnavailable, "STLS", "server without CAPA answered STLS with -ERR "+text, nil)
		}
		return newError(KindStartTLSRefused, "STLS", "server answered -ERR "+text, nil)
	}
	d.open = false
	if err := upgradeAfterGoAhead(d.w, d.t, d.opts, d.r, "STLS"); err != nil {
		return err
	}
	d.open = true
	d.noCAPA = false
	d.r.Capabilities, d.r.AuthMethods = []string{}, []string{}
	caps, err = d.capa("CAPA after STLS")
	if err != nil {
		return err
	}
	d.r.Capabilities, d.r.AuthMethods = caps, pop3SASL(caps)
	return nil
}

func (d *pop3Dialogue) quit() bool {
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
	d.w.readLine()
	return false
}
