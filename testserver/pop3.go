package testserver

import (
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
	greeting := "+OK " + host + " POP3 mailscout-testserver ready"
	if cfg.APOP {
		greeting += " <1896.697170952@" + host + ">"
	}
	if c.send(greeting) != nil {
		return
	}
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
			if m := c.auth(c.tlsOn); len(m) > 0 {
				lines = append(lines, "USER", "SASL "+strings.Join(m, " "))
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
		case "NOOP":
			err = c.send("+OK")
		case "QUIT":
			c.send("+OK Bye")
			return
		default:
			err = c.send("-ERR unknown command")
		}
		if err != nil {
			return
		}
	}
}
