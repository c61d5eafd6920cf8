package mailsim

import (
	"strings"
)

func (c *conn) imapCaps() string {
	caps := []string{"IMAP4rev1", "IMAP4rev2", "ID", "IDLE", "LITERAL+"}
	if c.offersStartTLS() {
		caps = append(caps, "STARTTLS")
	}
	if !c.tlsOn && c.s.cfg.LoginDisabledBeforeTLS {
		caps = append(caps, "LOGINDISABLED")
	}
	for _, m := range c.auth(c.tlsOn) {
		caps = append(caps, "AUTH="+m)
	}
	return strings.Join(caps, " ")
}

func (c *conn) imap() {
	cfg := c.s.cfg
	host := cfg.Hostname
	switch cfg.Behavior {
	case Reject:
		c.send("* BYE " + host + " Too many connections, try again later")
		return
	case EndlessLine:
		c.write("* OK ")
		c.endless(strings.Repeat("x", 4096))
		return
	case EndlessReply:
		// An endless stream of untagged lines in answer to the first command.
	case NotMail:
		c.send("HTTP/1.1 400 Bad Request", "")
		return
	}
	greeting := "* OK "
	if cfg.Behavior == Preauth {
		greeting = "* PREAUTH "
	}
	if cfg.GreetingCaps {
		greeting += "[CAPABILITY " + c.imapCaps() + "] "
	}
	if c.send(greeting+c.greetingText(host+" IMAP4rev1 mailscout-mailsim ready")) != nil {
		return
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return
		}
		tag, rest, _ := strings.Cut(line, " ")
		cmd, _, _ := strings.Cut(rest, " ")
		if cfg.Behavior == WrongTag {
			tag = "x" + tag
		}
		if cfg.Behavior == EndlessReply {
			c.endless("* OK x\r\n* OK x\r\n* OK x\r\n")
			return
		}
		switch strings.ToUpper(cmd) {
		case "CAPABILITY":
			err = c.send("* CAPABILITY "+c.imapCaps(), tag+" OK CAPABILITY completed")
		case "STARTTLS":
			if !c.offersStartTLS() {
				err = c.send(tag + " BAD STARTTLS not available")
				break
			}
			switch cfg.Behavior {
			case StartTLSRefused:
				err = c.send(tag + " NO STARTTLS disabled")
				continue
			case Injection:
				err = c.send(tag+" OK Begin TLS negotiation now", "* CAPABILITY IMAP4rev1 AUTH=PLAIN")
			case UnsolicitedCaps:
				err = c.send(tag + " OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN] Begin TLS negotiation now")
			default:
				err = c.send(tag + " OK Begin TLS negotiation now")
			}
			if err == nil {
				err = c.startTLS()
			}
		case "AUTHENTICATE":
			err = c.imapAuthenticate(tag, rest)
		case "LOGIN":
			err = c.imapLogin(tag, rest)
		case "NOOP":
			err = c.send(tag + " OK NOOP completed")
		case "LOGOUT":
			if c.sleep(c.s.cfg.QuitDelay) {
				c.send("* BYE Logging out", tag+" OK LOGOUT completed")
			}
			return
		default:
			err = c.send(tag + " BAD Unknown command")
		}
		if err != nil {
			return
		}
	}
}

func (c *conn) imapAuthenticate(tag, rest string) error {
	known, ok := c.serveSASL(strings.Fields(rest)[1:], "+ ")
	switch {
	case !known:
		return c.send(tag + " NO Unsupported authentication mechanism")
	case ok:
		return c.send(tag + " OK Logged in")
	}
	return c.send(tag + " NO [AUTHENTICATIONFAILED] Authentication failed.")
}

func (c *conn) imapLogin(tag, rest string) error {
	_, args, _ := strings.Cut(rest, " ")
	parts := imapStrings(args)
	if len(parts) != 2 {
		return c.send(tag + " BAD Syntax error")
	}
	if !c.tlsOn && c.s.cfg.LoginDisabledBeforeTLS {
		c.s.auth.add("LOGIN " + parts[0] + " refused")
		return c.send(tag + " NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections.")
	}
	ok := c.checkPassword(parts[0], parts[1])
	c.s.auth.add("LOGIN " + parts[0] + " " + outcome(ok))
	if ok {
		return c.send(tag + " OK Logged in")
	}
	return c.send(tag + " NO [AUTHENTICATIONFAILED] Authentication failed.")
}

// imapStrings splits atoms and quoted strings (no literals: the tests never send them).
func imapStrings(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			out = append(out, b.String())
			s = s[min(i+1, len(s)):]
			continue
		}
		atom, rest, _ := strings.Cut(s, " ")
		out = append(out, atom)
		s = rest
	}
	return out
}
