package probe

import (
	"fmt"
	"strconv"
	"strings"
)

// imapResponse is the outcome of one tagged IMAP command (RFC 9051 §7.1).
type imapResponse struct {
	Untagged []string // "* …" lines, literals inlined
	Status   string   // OK, NO or BAD; "+" for a continuation request
	Text     string   // text after the status
}

// parseIMAPGreeting splits "* OK [CAPABILITY …] text" into status (OK, PREAUTH, BYE), the
// capability atoms of a CAPABILITY response code (nil if none) and the human text.
func parseIMAPGreeting(line string) (status string, caps []string, text string, err error) {
	rest, ok := cutPrefixFold(line, "* ")
	if !ok {
		return "", nil, "", fmt.Errorf("greeting %q does not start with \"* \"", clip(line))
	}
	status, text, _ = strings.Cut(rest, " ")
	status = strings.ToUpper(status)
	switch status {
	case "OK", "PREAUTH", "BYE":
	default:
		return "", nil, "", fmt.Errorf("greeting status %q is not OK, PREAUTH or BYE", clip(status))
	}
	caps, text = parseRespCodeCaps(text)
	return status, caps, text, nil
}

// parseRespCodeCaps extracts a leading "[CAPABILITY …]" response code (RFC 9051 §7.1).
func parseRespCodeCaps(text string) (caps []string, rest string) {
	if !strings.HasPrefix(text, "[") {
		return nil, text
	}
	end := strings.IndexByte(text, ']')
	if end < 0 {
		return nil, text
	}
	code := text[1:end]
	f := strings.Fields(code)
	if len(f) == 0 || !strings.EqualFold(f[0], "CAPABILITY") {
		return nil, text
	}
	return append([]string{}, f[1:]...), strings.TrimSpace(text[end+1:])
}

// parseIMAPCapability returns the atoms of an untagged "* CAPABILITY …" line, ok false otherwise.
func parseIMAPCapability(line string) ([]string, bool) {
	rest, ok := cutPrefixFold(line, "* CAPABILITY")
	if !ok || (rest != "" && rest[0] != ' ') {
		return nil, false
	}
	return strings.Fields(rest), true
}

// imapAuthMechanisms returns the AUTH= atoms, upper-case (RFC 9051 §6.2.2).
func imapAuthMechanisms(caps []string) []string {
	out := []string{}
	for _, c := range caps {
		if m, ok := cutPrefixFold(c, "AUTH="); ok {
			out = appendUnique(out, strings.ToUpper(m))
		}
	}
	return out
}

func hasAtom(caps []string, atom string) bool {
	for _, c := range caps {
		if strings.EqualFold(c, atom) {
			return true
		}
	}
	return false
}

// literalSize returns n when line ends with an IMAP literal announcement "{n}" or "{n+}".
func literalSize(line string) (int, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	open := strings.LastIndexByte(line, '{')
	if open < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(line[open+1:len(line)-1], "+"))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// readIMAPLine reads one logical response line, inlining any literals it announces, within the
// reply's byte budget.
func readIMAPLine(w *wire, budget *int) (string, error) {
	line, err := w.readLine()
	if err != nil {
		return "", err
	}
	*budget -= len(line) + 2
	for *budget >= 0 {
		n, ok := literalSize(line)
		if !ok {
			return line, nil
		}
		if n > *budget {
			return "", ErrReplyTooLarge
		}
		*budget -= n
		lit, err := w.readN(n)
		if err != nil {
			return "", err
		}
		more, err := w.readLine()
		if err != nil {
			return "", err
		}
		*budget -= len(more) + 2
		line += lit + more
	}
	return "", ErrReplyTooLarge
}

// readTagged reads untagged responses until the tagged completion for tag, within one operation
// timeout and the reply bounds. An untagged BYE ends the session.
func readTagged(w *wire, tag string) (imapResponse, error) {
	w.beginReply()
	var resp imapResponse
	budget := w.limits.MaxReplyBytes
	for {
		line, err := readIMAPLine(w, &budget)
		if err != nil {
			return resp, err
		}
		switch {
		case strings.HasPrefix(line, "* "):
			if len(resp.Untagged) >= w.limits.MaxReplyLines {
				return resp, ErrReplyTooLarge
			}
			if st, _, _ := strings.Cut(line[2:], " "); strings.EqualFold(st, "BYE") {
				return resp, newError(KindClosed, "", "server ended the session: "+line, nil)
			}
			resp.Untagged = append(resp.Untagged, line)
		case line == "+" || strings.HasPrefix(line, "+ "):
			resp.Status, resp.Text = "+", strings.TrimPrefix(line, "+")
			return resp, nil
		default:
			rest, ok := strings.CutPrefix(line, tag+" ")
			if !ok {
				return resp, newError(KindProtocol, "", fmt.Sprintf("unexpected line %q (wrong tag; expected %s)", clip(line), tag), nil)
			}
			st, text, _ := strings.Cut(rest, " ")
			resp.Status, resp.Text = strings.ToUpper(st), text
			switch resp.Status {
			case "OK", "NO", "BAD":
				return resp, nil
			}
			return resp, newError(KindProtocol, "", fmt.Sprintf("tagged status %q is not OK, NO or BAD", clip(st)), nil)
		}
	}
}

type imapDialogue struct {
	w       *wire
	t       Target
	opts    *Options
	r       *Result
	seq     int
	caps    []string // from the greeting's response code, if any
	preauth bool
	open    bool
}

func (d *imapDialogue) nextTag() string {
	d.seq++
	return "a" + strconv.Itoa(d.seq)
}

func (d *imapDialogue) greeting() error {
	d.w.beginReply()
	line, err := d.w.readLine()
	if err != nil {
		return stageErr(d.w, "greeting", err)
	}
	d.r.Greeting = line
	status, caps, text, err := parseIMAPGreeting(line)
	if err != nil {
		return newError(KindProtocol, "greeting", "not an IMAP server", err)
	}
	switch status {
	case "BYE":
		return newError(KindRejected, "greeting", "server refused the session: "+text, nil)
	case "PREAUTH":
		d.preauth = true
		if d.t.Security == StartTLS {
			// RFC 9051 §6.2.1: STARTTLS is only valid in the not-authenticated state.
			d.open = true
			return newError(KindStartTLSUnavailable, "greeting", "PREAUTH greeting: the connection is already authenticated in plaintext, so STARTTLS is impossible", nil)
		}
		d.r.warn(WarnPreauth, "server pre-authenticated the connection (PREAUTH) without any login")
	}
	d.caps = caps
	d.open = true
	return nil
}

func (d *imapDialogue) capability(stage string) ([]string, error) {
	tag := d.nextTag()
	if err := d.w.writeLine(tag+" CAPABILITY", ""); err != nil {
		return nil, stageErr(d.w, stage, err)
	}
	resp, err := readTagged(d.w, tag)
	if err != nil {
		return nil, stageErr(d.w, stage, err)
	}
	if resp.Status != "OK" {
		return nil, newError(KindProtocol, stage, fmt.Sprintf("CAPABILITY answered %s %s", resp.Status, resp.Text), nil)
	}
	var caps []string
	found := false
	for _, u := range resp.Untagged {
		if c, ok := parseIMAPCapability(u); ok {
			caps, found = append(caps, c...), true
		}
	}
	if !found {
		return nil, newError(KindProtocol, stage, "CAPABILITY completed without a CAPABILITY response", nil)
	}
	return caps, nil
}

func (d *imapDialogue) session() error {
	caps := d.caps
	if caps == nil {
		var err error
		if caps, err = d.capability("CAPABILITY"); err != nil {
			return err
		}
	}
	d.record(caps)
	if d.t.Security == TLS {
		return nil
	}
	d.r.AuthMethodsPlaintext = d.r.AuthMethods
	d.r.StartTLSOffered = hasAtom(caps, "STARTTLS")
	if d.t.Security == Plain {
		return nil
	}
	if !d.r.StartTLSOffered {
		msg := "server does not offer STARTTLS (plaintext only, or a middlebox stripped it)"
		if d.r.LoginDisabled {
			msg += "; it also says LOGINDISABLED, so no login is possible on this port at all"
		}
		return newError(KindStartTLSUnavailable, "CAPABILITY", msg, nil)
	}
	tag := d.nextTag()
	if err := d.w.writeLine(tag+" STARTTLS", ""); err != nil {
		return stageErr(d.w, "STARTTLS", err)
	}
	resp, err := readTagged(d.w, tag)
	if err != nil {
		return stageErr(d.w, "STARTTLS", err)
	}
	if resp.Status != "OK" {
		return newError(KindStartTLSRefused, "STARTTLS", fmt.Sprintf("server answered %s %s", resp.Status, resp.Text), nil)
	}
	if c, _ := parseRespCodeCaps(resp.Text); c != nil {
		d.r.warn(WarnUnsolicitedCaps, "server sent capabilities with its STARTTLS go-ahead; discarded as RFC 9051 §6.2.1 requires")
	}
	d.open = false
	if err := upgradeAfterGoAhead(d.w, d.t, d.opts, d.r, "STARTTLS"); err != nil {
		return err
	}
	d.open = true
	d.r.Capabilities, d.r.AuthMethods, d.r.LoginDisabled = []string{}, []string{}, false
	caps, err = d.capability("CAPABILITY after STARTTLS")
	if err != nil {
		return err
	}
	d.record(caps)
	return nil
}

func (d *imapDialogue) record(caps []string) {
	d.r.Capabilities = append([]string{}, caps...)
	d.r.AuthMethods = imapAuthMechanisms(caps)
	d.r.LoginDisabled = hasAtom(caps, "LOGINDISABLED")
}

func (d *imapDialogue) quit() bool {
	if !d.open {
		return false
	}
	d.open = false
	tag := d.nextTag()
	if d.w.writeLine(tag+" LOGOUT", "") != nil {
		return false
	}
	if d.opts.SkipQuitReply {
		return true
	}
	d.w.conn.SetReadDeadline(d.w.deadline(min(d.opts.OperationTimeout, quitWait)))
	for range 4 { // "* BYE" then the tagged OK; stop early on anything odd
		line, err := d.w.readLine()
		if err != nil || strings.HasPrefix(line, tag+" ") {
			return false
		}
	}
	return false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
