package mailsim

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
)

func (c *conn) pop3() {
	cfg := c.s.cfg
	host := cfg.Hostname
	switch cfg.Behavior {
	case Reject:
		c.send("-ERR [SYS/TEMP] " + host + " too many connections")
		return
	case EndlessLine:
		c.write("+OK ")
		c.endless(strings.Repeat("x", 4096))
		return
	case NotMail:
		c.send("HTTP/1.1 400 Bad Request", "")
		return
	}
	greeting := "+OK " + c.greetingText(host+" POP3 mailscout-mailsim ready")
	if cfg.APOP {
		greeting += " <1896.697170952@" + host + ">"
	}
	if c.send(greeting) != nil {
		return
	}
	var user string
	for {
		line, err := c.readLine()
		if err != nil {
			return
		}
		cmd, _, _ := strings.Cut(line, " ")
		switch strings.ToUpper(cmd) {
		case "CAPA":
			if cfg.Behavior == NoCAPA {
				err = c.send("-ERR unknown command")
				break
			}
			if cfg.Behavior == EndlessReply {
				c.write("+OK\r\n")
				c.endless("TOP\r\nUIDL\r\nTOP\r\nUIDL\r\n")
				return
			}
			lines := []string{"+OK Capability list follows", "TOP", "UIDL", "RESP-CODES", "PIPELINING"}
			if c.offersStartTLS() {
				lines = append(lines, "STLS")
			}
			if len(cfg.Users) > 0 || len(c.auth(c.tlsOn)) > 0 {
				lines = append(lines, "USER")
			}
			if m := c.auth(c.tlsOn); len(m) > 0 {
				lines = append(lines, "SASL "+strings.Join(m, " "))
			}
			lines = append(lines, ".")
			err = c.send(lines...)
		case "STLS":
			if !c.offersStartTLS() {
				err = c.send("-ERR STLS not available")
				break
			}
			switch cfg.Behavior {
			case StartTLSRefused:
				err = c.send("-ERR TLS temporarily unavailable")
				continue
			case Injection:
				err = c.send("+OK Begin TLS negotiation", "+OK injected")
			default:
				err = c.send("+OK Begin TLS negotiation")
			}
			if err == nil {
				err = c.startTLS()
			}
		case "AUTH":
			err = c.pop3Auth(line)
		case "USER":
			user, _ = strings.CutPrefix(line[4:], " ")
			err = c.send("+OK")
		case "PASS":
			pass, _ := strings.CutPrefix(line[4:], " ")
			ok := c.checkPassword(user, pass)
			c.s.auth.add("USER " + user + " " + outcome(ok))
			if ok {
				err = c.send("+OK Logged in.")
			} else {
				err = c.send("-ERR [AUTH] Authentication failed.")
			}
		case "APOP":
			f := strings.Fields(line)
			ok := len(f) == 3 && cfg.APOP && f[2] == md5hex("<1896.697170952@"+host+">"+cfg.Users[f[1]])
			if len(f) > 1 {
				c.s.auth.add("APOP " + f[1] + " " + outcome(ok))
			}
			if ok {
				err = c.send("+OK Logged in.")
			} else {
				err = c.send("-ERR [AUTH] Authentication failed.")
			}
		case "NOOP":
			err = c.send("+OK")
		case "QUIT":
			if c.sleep(c.s.cfg.QuitDelay) {
				c.send("+OK Bye")
			}
			return
		default:
			err = c.send("-ERR unknown command")
		}
		if err != nil {
			return
		}
	}
}

func (c *conn) pop3Auth(line string) error {
	known, ok := c.serveSASL(strings.Fields(line)[1:], "+ ")
	switch {
	case !known:
		return c.send("-ERR Unsupported authentication mechanism")
	case ok:
		return c.send("+OK Logged in.")
	}
	return c.send("-ERR [AUTH] Authentication failed.")
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
