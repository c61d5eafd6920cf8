package mailsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
)

// Login state shared by the three protocols: which users exist, what the clients tried.

// authLog records what clients sent, without secrets, so tests can assert that nothing was
// sent where nothing may be.
type authLog struct {
	mu       sync.Mutex
	attempts []string // "PLAIN alice ok", "LOGIN bob fail", "USER alice fail" …
}

func (l *authLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts = append(l.attempts, s)
}

// LoginAttempts lists the login attempts the server saw: mechanism, user and outcome.
func (s *Server) LoginAttempts() []string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return append([]string(nil), s.auth.attempts...)
}

func (c *conn) checkPassword(user, pass string) bool {
	want, ok := c.s.cfg.Users[user]
	return ok && want == pass
}

// saslExchange runs one SASL mechanism on the server side. step sends a challenge (already
// framed by the protocol) and returns the client's decoded answer. It returns the user and
// whether the login is good.
func (c *conn) saslExchange(mech string, ir []byte, hasIR bool, step func(challenge []byte) ([]byte, error)) (string, bool) {
	next := func(chal []byte) ([]byte, error) {
		if hasIR {
			hasIR = false
			return ir, nil
		}
		return step(chal)
	}
	switch mech {
	case "PLAIN":
		resp, err := next(nil)
		if err != nil {
			return "", false
		}
		parts := bytes.Split(resp, []byte{0})
		if len(parts) != 3 {
			return "", false
		}
		return string(parts[1]), c.checkPassword(string(parts[1]), string(parts[2]))
	case "LOGIN":
		user, err := next([]byte("Username:"))
		if err != nil {
			return "", false
		}
		pass, err := step([]byte("Password:"))
		if err != nil {
			return string(user), false
		}
		return string(user), c.checkPassword(string(user), string(pass))
	case "CRAM-MD5":
		chal := []byte(fmt.Sprintf("<1896.697170952@%s>", c.s.cfg.Hostname))
		resp, err := step(chal)
		if err != nil {
			return "", false
		}
		user, digest, _ := strings.Cut(string(resp), " ")
		if c.s.cfg.Behavior == BrokenCRAM {
			return user, false
		}
		m := hmac.New(md5.New, []byte(c.s.cfg.Users[user]))
		m.Write(chal)
		_, known := c.s.cfg.Users[user]
		return user, known && hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(digest))
	case "SCRAM-SHA-256":
		return c.scramServer(next, step)
	case "XOAUTH2":
		resp, err := next(nil)
		if err != nil {
			return "", false
		}
		var user, token string
		for _, f := range strings.Split(string(resp), "\x01") {
			if v, ok := strings.CutPrefix(f, "user="); ok {
				user = v
			}
			if v, ok := strings.CutPrefix(f, "auth=Bearer "); ok {
				token = v
			}
		}
		return user, c.s.cfg.Token != "" && token == c.s.cfg.Token
	case "OAUTHBEARER":
		resp, err := next(nil)
		if err != nil {
			return "", false
		}
		var user, token string
		head, rest, _ := strings.Cut(string(resp), "\x01")
		for _, f := range strings.Split(head, ",") {
			if v, ok := strings.CutPrefix(f, "a="); ok {
				user = v
			}
		}
		for _, f := range strings.Split(rest, "\x01") {
			if v, ok := strings.CutPrefix(f, "auth=Bearer "); ok {
				token = v
			}
		}
		return user, c.s.cfg.Token != "" && token == c.s.cfg.Token
	}
	return "", false
}

func (c *conn) advertises(mech string) bool {
	for _, m := range c.auth(c.tlsOn) {
		if strings.EqualFold(m, mech) {
			return true
		}
	}
	return false
}

func decodeB64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "=" || s == "" {
		return []byte{}, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func outcome(ok bool) string {
	if ok {
		return "ok"
	}
	return "fail"
}

// serveSASL runs "AUTH MECH [initial-response]" (SMTP, POP3) or "AUTHENTICATE MECH [ir]"
// (IMAP): args are the words after the command, prefix frames each challenge ("334 " for
// SMTP, "+ " for IMAP and POP3). It records the attempt and reports success; known is false
// when the mechanism is not advertised.
func (c *conn) serveSASL(args []string, prefix string) (known, ok bool) {
	if len(args) == 0 || !c.advertises(args[0]) {
		return false, false
	}
	mech := strings.ToUpper(args[0])
	var ir []byte
	if len(args) > 1 {
		ir, _ = decodeB64(args[1])
	}
	step := func(chal []byte) ([]byte, error) {
		if err := c.send(prefix + encodeB64(chal)); err != nil {
			return nil, err
		}
		l, err := c.readLine()
		if err != nil {
			return nil, err
		}
		if l == "*" {
			return nil, errStop
		}
		if l == "=" {
			// "=" marks an empty initial response only; an empty answer to a challenge is an
			// empty line. Dovecot rejects "=" here, and so does this server.
			return nil, errStop
		}
		return decodeB64(l)
	}
	user, ok := c.saslExchange(mech, ir, len(args) > 1, step)
	c.s.auth.add(mech + " " + user + " " + outcome(ok))
	return true, ok
}

// scramServer is the server side of SCRAM-SHA-256 (RFC 5802), salting the account's password.
func (c *conn) scramServer(next, step func([]byte) ([]byte, error)) (string, bool) {
	first, err := next(nil)
	if err != nil {
		return "", false
	}
	bare, ok := strings.CutPrefix(string(first), "n,,")
	if !ok {
		return "", false
	}
	var user, cnonce string
	for _, kv := range strings.Split(bare, ",") {
		if v, ok := strings.CutPrefix(kv, "n="); ok {
			user = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(v)
		}
		if v, ok := strings.CutPrefix(kv, "r="); ok {
			cnonce = v
		}
	}
	salt := []byte("mailscout-test-salt")
	nonce := cnonce + "srv7f3a"
	serverFirst := "r=" + nonce + ",s=" + encodeB64(salt) + ",i=4096"
	final, err := step([]byte(serverFirst))
	if err != nil {
		return user, false
	}
	if c.s.cfg.Behavior == ScramImpostor {
		return user, true // says yes without knowing the password, and so without a signature
	}
	withoutProof, proofB64, _ := strings.Cut(string(final), ",p=")
	proof, err := decodeB64(proofB64)
	password, known := c.s.cfg.Users[user]
	if err != nil || !known || withoutProof != "c=biws,r="+nonce {
		return user, false
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, 4096, sha256.Size)
	if err != nil {
		return user, false
	}
	clientKey := hmacSum(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	authMessage := bare + "," + serverFirst + "," + withoutProof
	sig := hmacSum(storedKey[:], authMessage)
	if len(proof) != len(sig) {
		return user, false
	}
	for i := range proof {
		proof[i] ^= sig[i]
	}
	if got := sha256.Sum256(proof); !hmac.Equal(got[:], storedKey[:]) {
		return user, false
	}
	serverSig := hmacSum(hmacSum(salted, "Server Key"), authMessage)
	if _, err := step([]byte("v=" + encodeB64(serverSig))); err != nil {
		return user, false
	}
	return user, true
}

func hmacSum(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
