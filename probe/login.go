package probe

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// This file is the login step of each protocol: SMTP AUTH (RFC 4954), IMAP AUTHENTICATE and
// LOGIN (RFC 9051 §6.2.2–6.2.3, SASL-IR RFC 4959), POP3 AUTH (RFC 5034), USER/PASS and APOP
// (RFC 1939 §7). Every line that carries a secret is shown redacted in the transcript.

// b64 encodes an initial response: an empty one is "=" (RFC 4954 §4, RFC 4959 §3), so that it
// differs from none.
func b64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

// b64Response encodes an answer to a challenge: an empty one is an empty line (RFC 4954 §4).
// Dovecot rejects "=" there ("Invalid base64 data in continued response").
func b64Response(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "=" {
		return []byte{}, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// noMechanism records that no mechanism both sides allow exists.
func noMechanism(res *AuthResult, server []string, c *Credentials) {
	res.NotAttempted = NotAttemptedNoMechanism
	if len(server) == 0 {
		res.Error = "not attempted: the server offers no login mechanism on this connection"
		return
	}
	allowed := "any supported"
	if len(c.Mechanisms) > 0 {
		allowed = strings.Join(c.Mechanisms, " ")
	}
	res.Error = fmt.Sprintf("not attempted: none of the server's mechanisms (%s) is both supported and allowed (%s)",
		strings.Join(server, " "), allowed)
}

// unsafe records that the user name cannot be sent with the mechanism at hand.
func unsafe(res *AuthResult, why string) *AuthResult {
	res.Attempted, res.NotAttempted, res.Error = false, NotAttemptedUnsafeInput, "not attempted: "+why
	return res
}

// --- SMTP ---

func (d *smtpDialogue) login(c *Credentials) (*AuthResult, error) {
	res := &AuthResult{Username: c.Username}
	mech := chooseMechanism(d.r.AuthMethods, c)
	if mech == "" {
		noMechanism(res, d.r.AuthMethods, c)
		return res, nil
	}
	res.Mechanism, res.Attempted = mech, true
	return runSASL(d.w, mech, c, d.t, res, saslFraming{stage: "AUTH", prefix: "AUTH ", inlineIR: true,
		read: func() (saslStep, string, error) {
			rep, err := readSMTPReply(d.w)
			switch {
			case err != nil:
				return 0, "", err
			case rep.Code == 235:
				return saslSuccess, "", nil
			case rep.Code == 334:
				return saslContinue, rep.text(), nil
			}
			return saslFailure, fmt.Sprintf("%d %s", rep.Code, rep.text()), nil
		}})
}

// --- IMAP ---

func (d *imapDialogue) login(c *Credentials) (*AuthResult, error) {
	res := &AuthResult{Username: c.Username}
	mech := chooseMechanism(d.r.AuthMethods, c)
	if mech == "" {
		if !c.allows("LOGIN") || c.OAuthToken != "" || d.r.LoginDisabled {
			noMechanism(res, d.r.AuthMethods, c)
			if d.r.LoginDisabled {
				res.Error += "; LOGIN is disabled"
			}
			return res, nil
		}
		return d.loginCommand(c, res)
	}
	res.Mechanism, res.Attempted = mech, true
	tag := d.nextTag()
	return runSASL(d.w, mech, c, d.t, res, saslFraming{stage: "AUTHENTICATE", prefix: tag + " AUTHENTICATE ",
		inlineIR: hasAtom(d.r.Capabilities, "SASL-IR"), // RFC 4959
		read: func() (saslStep, string, error) {
			resp, err := readTagged(d.w, tag)
			switch {
			case err != nil:
				return 0, "", err
			case resp.Status == "OK":
				return saslSuccess, "", nil
			case resp.Status == "+":
				return saslContinue, resp.Text, nil
			}
			return saslFailure, resp.Status + " " + resp.Text, nil
		}})
}

// loginCommand is IMAP's LOGIN command, for servers that offer no SASL mechanism we may use.
func (d *imapDialogue) loginCommand(c *Credentials, res *AuthResult) (*AuthResult, error) {
	res.Mechanism, res.Attempted = "LOGIN", true
	if strings.ContainsAny(c.Username+c.Password, "\r\n\x00") {
		return unsafe(res, "the user name or password contains a line break or NUL"), nil
	}
	tag := d.nextTag()
	if err := d.w.writeLine(tag+" LOGIN "+imapQuote(c.Username)+" "+imapQuote(c.Password), tag+" LOGIN "+imapQuote(c.Username)+" "+redacted); err != nil {
		return res, stageErr(d.w, "LOGIN", err)
	}
	resp, err := readTagged(d.w, tag)
	if err != nil {
		return res, stageErr(d.w, "LOGIN", err)
	}
	if resp.Status == "OK" {
		res.OK = true
		return res, nil
	}
	res.Error = resp.Status + " " + resp.Text
	return res, nil
}

func imapQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// --- POP3 ---

func (d *pop3Dialogue) login(c *Credentials) (*AuthResult, error) {
	res := &AuthResult{Username: c.Username}
	if mech := chooseMechanism(d.r.AuthMethods, c); mech != "" {
		return d.saslLogin(c, mech, res)
	}
	if c.OAuthToken == "" && c.allows("APOP") && d.r.APOP {
		return d.apop(c, res)
	}
	if c.OAuthToken == "" && c.allows("USER") && (hasKeyword(d.r.Capabilities, "USER") || d.noCAPA) {
		return d.userPass(c, res)
	}
	noMechanism(res, d.r.AuthMethods, c)
	return res, nil
}

// readPOP3Auth reads one answer during AUTH: "+ challenge", "+OK" or "-ERR".
func readPOP3Auth(w *wire) (cont bool, ok bool, text string, err error) {
	w.beginReply()
	line, err := w.readLine()
	if err != nil {
		return false, false, "", err
	}
	if line == "+" || (strings.HasPrefix(line, "+ ") && !strings.HasPrefix(line, "+OK")) {
		return true, false, strings.TrimPrefix(strings.TrimPrefix(line, "+"), " "), nil
	}
	ok, text, perr := parsePOP3Status(line)
	if perr != nil {
		return false, false, "", newError(KindProtocol, "AUTH", "", perr)
	}
	return false, ok, text, nil
}

func (d *pop3Dialogue) saslLogin(c *Credentials, mech string, res *AuthResult) (*AuthResult, error) {
	res.Mechanism, res.Attempted = mech, true
	return runSASL(d.w, mech, c, d.t, res, saslFraming{stage: "AUTH", prefix: "AUTH ", inlineIR: true,
		read: func() (saslStep, string, error) {
			cont, ok, text, err := readPOP3Auth(d.w)
			switch {
			case err != nil:
				return 0, "", err
			case cont:
				return saslContinue, text, nil
			case ok:
				return saslSuccess, "", nil
			}
			return saslFailure, "-ERR " + text, nil
		}})
}

func (d *pop3Dialogue) userPass(c *Credentials, res *AuthResult) (*AuthResult, error) {
	res.Mechanism, res.Attempted = "USER", true
	if strings.ContainsAny(c.Username+c.Password, "\r\n\x00") || strings.Contains(c.Username, " ") {
		// RFC 1939 §3: arguments are separated by single spaces, so a name with one is ambiguous.
		return unsafe(res, "POP3 USER cannot carry a user name with a space, line break or NUL"), nil
	}
	if err := d.w.writeLine("USER "+c.Username, ""); err != nil {
		return res, stageErr(d.w, "USER", err)
	}
	ok, text, err := readPOP3Status(d.w)
	if err != nil {
		return res, stageErr(d.w, "USER", err)
	}
	if !ok {
		res.Error = "-ERR " + text
		return res, nil
	}
	if err := d.w.writeLine("PASS "+c.Password, "PASS "+redacted); err != nil {
		return res, stageErr(d.w, "PASS", err)
	}
	if ok, text, err = readPOP3Status(d.w); err != nil {
		return res, stageErr(d.w, "PASS", err)
	}
	res.OK = ok
	if !ok {
		res.Error = "-ERR " + text
	}
	return res, nil
}

// apop is RFC 1939 §7: MD5 of the greeting's timestamp and the password.
func (d *pop3Dialogue) apop(c *Credentials, res *AuthResult) (*AuthResult, error) {
	res.Mechanism, res.Attempted = "APOP", true
	if strings.ContainsAny(c.Username, " \r\n\x00") {
		return unsafe(res, "APOP cannot carry a user name with a space, line break or NUL"), nil
	}
	ts := apopTimestamp.FindString(d.r.Greeting)
	digest := md5hex(ts + c.Password)
	if err := d.w.writeLine("APOP "+c.Username+" "+digest, "APOP "+c.Username+" "+redacted); err != nil {
		return res, stageErr(d.w, "APOP", err)
	}
	ok, text, err := readPOP3Status(d.w)
	if err != nil {
		return res, stageErr(d.w, "APOP", err)
	}
	res.OK = ok
	if !ok {
		res.Error = "-ERR " + text
	}
	return res, nil
}

// saslFraming is what differs between the protocols' SASL exchanges (RFC 4422 §4): how the
// command starts, whether an initial response may ride on it, and how answers are read.
type saslFraming struct {
	stage    string
	prefix   string // "AUTH " or "a5 AUTHENTICATE "
	inlineIR bool   // the initial response may follow the mechanism name
	read     func() (saslStep, string, error)
}

type saslStep int

const (
	saslContinue saslStep = iota // a challenge (base64 text) follows
	saslSuccess
	saslFailure // the text is the server's refusal
)

// runSASL drives one SASL exchange. Every client line carries a secret and is shown redacted.
func runSASL(w *wire, mech string, c *Credentials, t Target, res *AuthResult, f saslFraming) (*AuthResult, error) {
	cl, err := newSASLClient(mech, c, c.Username, t.Host, t.Port)
	if err != nil {
		return res, err
	}
	_, ir, err := cl.Start()
	if err != nil {
		return res, err
	}
	line, shown := f.prefix+mech, ""
	inline := ir != nil && f.inlineIR
	if inline {
		line, shown = line+" "+b64(ir), f.prefix+mech+" "+redacted
	}
	if err := w.writeLine(line, shown); err != nil {
		return res, stageErr(w, f.stage, err)
	}
	pending := ir != nil && !inline // sent in answer to the first (empty) challenge instead
	for range 10 {
		step, text, err := f.read()
		if err != nil {
			return res, stageErr(w, f.stage, err)
		}
		switch step {
		case saslSuccess:
			if m, ok := cl.(interface{ mutual() bool }); ok && !m.mutual() {
				// RFC 5802 §5: the server-final-message is what proves the server knows the
				// password. An impostor can say "OK" without it; the login proves nothing then.
				res.Error = "the server accepted the login without proving that it knows the password (no SCRAM server signature): it may not be the real server"
				return res, nil
			}
			res.OK = true
			return res, nil
		case saslFailure:
			res.Error = text
			return res, nil
		}
		var out []byte
		if pending {
			out, pending = ir, false
		} else {
			chal, derr := unb64(text)
			if derr == nil {
				out, derr = cl.Next(chal)
			}
			if derr != nil {
				w.writeLine("*", "") // cancel the exchange (RFC 4954 §4, RFC 9051 §6.2.2, RFC 5034 §4)
				f.read()
				res.Error = "login exchange failed: " + derr.Error()
				return res, nil
			}
		}
		if err := w.writeLine(b64Response(out), redacted); err != nil {
			return res, stageErr(w, f.stage, err)
		}
	}
	res.Error = "login exchange did not end"
	return res, nil
}
