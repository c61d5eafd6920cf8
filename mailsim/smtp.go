package mailsim

import (
	"strings"
)

func (c *conn) smtp() {
	cfg := c.s.cfg
	host := cfg.Hostname
	switch cfg.Behavior {
	case Reject:
		c.send("421 4.7.0 " + host + " Too many connections from your host, try again later")
		return
	case Reject554:
		c.send("554 5.7.1 " + host + " Your address is listed on a blocklist")
		for {
			line, err := c.readLine()
			if err != nil {
				return
			}
			if strings.EqualFold(line, "QUIT") {
				c.send("221 2.0.0 Bye")
				return
			}
			c.send("503 5.5.1 Bad sequence of commands")
		}
	case EndlessLine:
		c.write("220 ")
		c.endless(strings.Repeat("x", 4096))
		return
	case EndlessReply:
		c.endless("220-x\r\n220-x\r\n220-x\r\n220-x\r\n")
		return
	case NotMail:
		c.send("HTTP/1.1 400 Bad Request", "")
		return
	case NonUTF8:
		c.write("220 " + host + " ESMTP \xbb\xb6\xd3\xad\x00 ready\r\n")
	default:
		if cfg.PreGreetingDelay > 0 {
			if c.send("220-"+host+" ESMTP postscreen") != nil || !c.sleep(cfg.PreGreetingDelay) {
				return
			}
		}
		if c.send("220 "+c.greetingText(host+" ESMTP mailscout-mailsim")) != nil {
			return
		}
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return
		}
		verb, _, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if cfg.Behavior == NoEHLO {
				err = c.send("502 5.5.2 Error: command not recognized")
				break
			}
			lines := []string{"250-" + host, "250-PIPELINING", "250-SIZE 10240000"}
			if c.offersStartTLS() {
				lines = append(lines, "250-STARTTLS")
			}
			if m := c.auth(c.tlsOn); len(m) > 0 {
				lines = append(lines, "250-AUTH "+strings.Join(m, " "))
			}
			lines = append(lines, "250-ENHANCEDSTATUSCODES", "250 8BITMIME")
			err = c.send(lines...)
		case "HELO":
			err = c.send("250 " + host)
		case "STARTTLS":
			if !c.offersStartTLS() {
				err = c.send("502 5.5.1 STARTTLS not available")
				break
			}
			switch cfg.Behavior {
			case StartTLSRefused:
				err = c.send("454 4.7.0 TLS not available due to local problem")
				continue
			case Injection:
				err = c.send("220 2.0.0 Ready to start TLS", "250-injected PIPELINING")
			default:
				err = c.send("220 2.0.0 Ready to start TLS")
			}
			if err == nil {
				err = c.startTLS()
			}
		case "AUTH":
			err = c.smtpAuth(line)
		case "NOOP", "RSET":
			err = c.send("250 2.0.0 Ok")
		case "QUIT":
			if c.sleep(c.s.cfg.QuitDelay) {
				c.send("221 2.0.0 Bye")
			}
			return
		default:
			err = c.send("502 5.5.2 Error: command not recognized")
		}
		if err != nil {
			return
		}
	}
}

func (c *conn) smtpAuth(line string) error {
	known, ok := c.serveSASL(strings.Fields(line)[1:], "334 ")
	switch {
	case !known:
		return c.send("504 5.5.4 Unrecognized authentication type")
	case ok:
		return c.send("235 2.7.0 Authentication successful")
	}
	return c.send("535 5.7.8 Error: authentication failed")
}
