package probe

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// This file is the login step of each protocol: SMTP AUTH (RFC 4954), IMAP AUTHENTICATE and
// LOGIN (RFC 9051 §6.2.2–6.2.3, SASL-IR RFC 4959), POP3 AUTH (RFC 5034), USER/PASS and APOP
// (RFC 1939 §7). Every line that carries a secret is shown redacted in the transcript.

func b64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func unb64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "=" {
		return []byte{}, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

func noMechanism(server []string, c *Credentials) string {
	if len(server) == 0 {
		return "not attempted: the server offers no login mechanism on this connection"
	}
	return fmt.Sprintf("not attempted: none of the server's mechanisms (%s) is both supported and allowed (%s)",
		strings.Join(server, " "), strings.Join(c.Mechanisms, " "))
}

// --- SMTP ---

func (d *smtpDialogue) login(c *Credentials) (*AuthResult, error) {
	res := &AuthResult{Username: c.Username}
	mech := chooseMechanism(d.r.AuthMethods, c)
	if mech == "" {
		res.Error = noMechanism(d.r.AuthMethods, c)
		return res, nil
	}
	res.Mechanism, res.Attempted = mech, true
	cl, err := newSASLClient(mech, c, c.Username, d.t.Host, d.t.Port)
	if err != nil {
		return res, err
	}
	_, ir, err := cl.Start()
	if err != nil {
		return res, err
	}
	cmd, shown := "AUTH "+mech, ""
	if ir != nil {
		cmd, shown = cmd+" "+b64(ir), "AUTH "+mech+" "+redacted
	}
	if err := d.w.writeLine(cmd, shown); err != nil {
		return res, stageErr(d.w, "AUTH", err)
	}
	for range 10 {
		rep, err := readSMTPReply(d.w)
		if err != nil {
			return res, stageErr(d.w, "AUTH", err)
		}
		switch {
		case rep.Code == 235:
			res.OK = true
			return res, nil
		case rep.Code == 334:
			chal, err := unb64(rep.text())
			var resp []byte
			if err == nil {
				resp, err = cl.Next(chal)
			}
			if err != nil {
				d.w.writeLine("*", "") // cancel the exchange (RFC 4954 §4)
				readSMTPReply(d.w)
				res.Error = "login exchange failed: " + err.Error()
				return res, nil
			}
			if err := d.w.writeLine(b64(resp), redacted); err != nil {
				return res, stageErr(d.w, "AUTH", err)
			}
		default:
			res.Error = fmt.Sprintf("%d %s", rep.Code, rep.text())
			return res, nil
		}
	}
	res.Error = "login exchange did not end"
	return res, nil
}

// --- IMAP ---

func (d *imapDialogue) login(c *Credentials) (*AuthResult, error) {
	res := &AuthResult{Username: c.Username}
	mech := chooseMechanism(d.r.AuthMethods, c)
	if mech == "" {
		if !c.allows("LOGIN") || c.OAuthToken != "" || d.r.LoginDisabled {
			reason := noMechanism(d.r.AuthMethods, c)
			if d.r.LoginDisabled {
				reason += "; LOGIN is disabled"
			}
			res.Error = reason
			return res, nil
		}
		return d.loginCommand(c, res)
	}
	res.Mechanism, res.Attempted = mech, true
	cl, err := newSASLClient(mech, c, c.Username, d.t.Host, d.t.Port)
	if err != nil {
		return res, err
	}
	_, ir, err := cl.Start()
	if err != nil {
		return res, err
	}
	tag := d.nextTag()
	cmd, shown := tag+" AUTHENTICATE "+mech, ""
	sendIR := ir != nil && hasAtom(d.r.Capabilities, "SASL-IR")
	if sendIR {
		cmd, shown = cmd+" "+b64(ir), tag+" AUTHENTICATE "+mech+" "+redacted
	}
	if err := d.w.writeLine(cmd, shown); err != nil {
		return res, stageErr(d.w, "AUTHENTICATE", err)
	}
	pendingIR := ir != nil && !sendIR
	for range 10 {
		resp, err := readTagged(d.w, tag)
		if err != nil {
			return res, stageErr(d.w, "AUTHENTICATE", err)
		}
		switch resp.Status {
		case "OK":
			res.OK = true
			return res, nil
		case "+":
			var out []byte
			if pendingIR {
				out, pendingIR = ir, false
			} else {
				chal, derr := unb64(resp.Text)
				if derr == nil {
					out, derr = cl.Next(chal)
				}
				if derr != nil {
					d.w.writeLine("*", "")
					readTagged(d.w, tag)
					res.Error = "login exchange failed: " + derr.Error()
					return res, nil
				}
			}
			if err := d.w.writeLine(b64(out), redacted); err != nil {
				return res, stageErr(d.w, "AUTHENTICATE", err)
			}
		default:
			res.Error = resp.Status + " " + resp.Text
			return res, nil
		}
	}
	res.Error = "login exchange did not end"
	return res, nil
}

// loginCommand is IMAP's LOGIN command, for servers that offer no SASL mechanism we may use.
func (d *imapDialogue) loginCommand(c *Credentials, res *AuthResult) (*AuthResult, error) {
	res.Mechanism, res.Attempted = "LOGIN", true
	if strings.ContainsAny(c.Username+c.Password, "\r\n\x00") {
		res.Attempted, res.Error = false, "not attempted: the user name or password contains a line break or NUL"
		return res, nil
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
	res.Error = noMechanism(d.r.AuthMethods, c)
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
	cl, err := newSASLClient(mech, c, c.Username, d.t.Host, d.t.Port)
	if err != nil {
		return res, err
	}
	_, ir, err := cl.Start()
	if err != nil {
		return res, err
	}
	cmd, shown := "AUTH "+mech, ""
	if ir != nil {
		cmd, shown = cmd+" "+b64(ir), "AUTH "+mech+" "+redacted
	}
	if err := d.w.writeLine(cmd, shown); err != nil {
		return res, stageErr(d.w, "AUTH", err)
	}
	for range 10 {
		cont, ok, text, err := readPOP3Auth(d.w)
		if err != nil {
			return res, stageErr(d.w, "AUTH", err)
		}
		if !cont {
			res.OK = ok
			if !ok {
				res.Error = "-ERR " + text
			}
			return res, nil
		}
		chal, derr := unb64(text)
		var out []byte
		if derr == nil {
			out, derr = cl.Next(chal)
		}
		if derr != nil {
			d.w.writeLine("*", "")
			readPOP3Auth(d.w)
			res.Error = "login exchange failed: " + derr.Error()
			return res, nil
		}
		if err := d.w.writeLine(b64(out), redacted); err != nil {
			return res, stageErr(d.w, "AUTH", err)
		}
	}
	res.Error = "login exchange did not end"
	return res, nil
}

func (d *pop3Dialogue) userPass(c *Credentials, res *AuthResult) (*AuthResult, error) {
	res.Mechanism, res.Attempted = "USER", true
	if strings.ContainsAny(c.Username+c.Password, "\r\n") {
		res.Attempted, res.Error = false, "not attempted: the user name or password contains a line break"
		return res, nil
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
