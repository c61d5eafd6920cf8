package probe

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// scramReference computes, from a server-first-message the client accepted, the client-final
// message and the server signature RFC 5802 §3 defines, independently of scramClient.
func scramReference(t *testing.T, username, password, clientNonce, serverFirst string) (clientFinal string, serverSig []byte) {
	t.Helper()
	attrs := map[string]string{}
	for _, kv := range strings.Split(serverFirst, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && len(k) == 1 {
			attrs[k] = v
		}
	}
	salt, err := base64.StdEncoding.DecodeString(attrs["s"])
	if err != nil {
		t.Fatalf("accepted salt %q does not decode: %v", attrs["s"], err)
	}
	iter, err := strconv.Atoi(attrs["i"])
	if err != nil {
		t.Fatalf("accepted iteration count %q: %v", attrs["i"], err)
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	storedKey := sha256.Sum256(clientKey)
	withoutProof := "c=biws,r=" + attrs["r"]
	authMessage := "n=" + username + ",r=" + clientNonce + "," + serverFirst + "," + withoutProof
	sig := hmacSHA256(storedKey[:], []byte(authMessage))
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof),
		hmacSHA256(hmacSHA256(salted, []byte("Server Key")), []byte(authMessage))
}

// SCRAM's server messages come from the network. Whatever they say: no panic; a server-first
// message is accepted only with a nonce that extends ours, a salt and an iteration count in
// range, and then the client-final message is exactly RFC 5802's; the server-final message is
// accepted exactly when it carries the server signature that proves knowledge of the password,
// and only then does the exchange count as mutual.
func FuzzSCRAM(f *testing.F) {
	const nonce = "rOprNGfwEbeRWgbNEkqO"
	rfcFirst := "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	rfcFinal := "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
	for _, s := range [][2]string{
		{rfcFirst, rfcFinal},
		{rfcFirst, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4"},
		{rfcFirst, "e=invalid-proof"},
		{rfcFirst, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		{"r=rOprNGfwEbeRWgbNEkqO,s=QQ==,i=1", "v="},
		{"r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=0", ""},
		{"m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=QQ==,i=1,i=2", "v=x,extra"},
		{"r=other,s=QQ==,i=1", "v="},
		{"r=rOprNGfwEbeRWgbNEkqOx,s=,i=1", ""},
		{"", ""},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, first, final []byte) {
		// The iteration count is the server's to choose, up to 1,000,000 PBKDF2 rounds (a
		// quarter of a second): the bound is tested with the accepted ones, the fuzzer is
		// spared the cost.
		for _, kv := range strings.Split(string(first), ",") {
			if v, ok := strings.CutPrefix(kv, "i="); ok {
				if n, err := strconv.Atoi(v); err == nil && n > 20000 {
					t.Skip("costly iteration count")
				}
			}
		}
		c := &scramClient{username: "user", password: "pencil", nonce: nonce}
		if _, _, err := c.Start(); err != nil {
			t.Fatal(err)
		}
		out, err := c.Next(first)
		if c.mutual() {
			t.Fatal("mutual before the server-final message")
		}
		if err != nil {
			return // runSASL cancels the exchange here
		}
		attrs := map[string]string{}
		for _, kv := range strings.Split(string(first), ",") {
			if k, v, ok := strings.Cut(kv, "="); ok && len(k) == 1 {
				attrs[k] = v
			}
		}
		if r := attrs["r"]; !strings.HasPrefix(r, nonce) || len(r) <= len(nonce) {
			t.Fatalf("accepted server nonce %q, which does not extend %q", r, nonce)
		}
		if n, err := strconv.Atoi(attrs["i"]); err != nil || n < 1 || n > 1_000_000 {
			t.Fatalf("accepted iteration count %q", attrs["i"])
		}
		want, sig := scramReference(t, "user", "pencil", nonce, string(first))
		if string(out) != want {
			t.Fatalf("client-final %q, want %q", out, want)
		}
		_, err = c.Next(final)
		v, isV := bytes.CutPrefix(final, []byte("v="))
		got, derr := base64.StdEncoding.DecodeString(string(v))
		proven := isV && derr == nil && bytes.Equal(got, sig)
		if (err == nil) != proven {
			t.Fatalf("server-final %q: error %v, but the signature proves the password: %v", final, err, proven)
		}
		if err == nil && !c.mutual() {
			t.Fatal("a verified server signature does not count as mutual")
		}
		if err != nil && c.mutual() {
			t.Fatal("a refused server-final counts as mutual")
		}
		if _, err := c.Next([]byte("v=")); err == nil {
			t.Fatal("a third challenge was answered")
		}
	})
}

// sessionConn is a server that sends a fixed byte string, at most chunk bytes per read, and
// records what the client writes. When the bytes run out it behaves like a server that hung up
// (EOF) or, if silent, like one that says nothing more: the read waits for its deadline,
// simulated as an immediate timeout — and a read with no deadline set is a test failure, since
// on a real connection it would hang forever.
type sessionConn struct {
	t        *testing.T
	data     []byte
	off      int
	chunk    int
	silent   bool
	deadline time.Time
	writes   [][]byte
}

func (c *sessionConn) Read(p []byte) (int, error) {
	if c.off >= len(c.data) {
		if c.deadline.IsZero() {
			c.t.Errorf("read with no deadline set: against a silent server it would never return")
		}
		if c.silent {
			return 0, os.ErrDeadlineExceeded
		}
		return 0, io.EOF
	}
	if c.chunk > 0 && len(p) > c.chunk {
		p = p[:c.chunk]
	}
	n := copy(p, c.data[c.off:])
	c.off += n
	return n, nil
}

func (c *sessionConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}
func (c *sessionConn) Close() error                      { return nil }
func (c *sessionConn) LocalAddr() net.Addr               { return fuzzLocal }
func (c *sessionConn) RemoteAddr() net.Addr              { return fuzzRemote }
func (c *sessionConn) SetDeadline(t time.Time) error     { c.deadline = t; return nil }
func (c *sessionConn) SetReadDeadline(t time.Time) error { c.deadline = t; return nil }
func (c *sessionConn) SetWriteDeadline(time.Time) error  { return nil }

// printable holds text to escapeBytes's standard: valid UTF-8, no C0 control but tab, no DEL.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f })
}

const fuzzPassword = "Pw-7q2Lx9vKc"

var (
	fuzzLocal  = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	fuzzRemote = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 587}
)

// A whole probe against a server that sends arbitrary bytes: greeting, capabilities (EHLO,
// CAPABILITY, CAPA), STARTTLS, and a login with whatever mechanism the server's list leads to
// (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256 challenges, base64 continuation lines). Whatever the
// server and the user name: no panic, no read without a deadline, a consistent result, one
// command per line written (no CR, LF or NUL inside a line: nothing the server or the user
// sends can smuggle a second command), the password never in the result or its transcript,
// never sent at all without TLS unless allowed, and no login counted as proven by a SCRAM
// server that cannot know our nonce.
func FuzzSession(f *testing.F) {
	for _, s := range []struct {
		mode byte
		user string
		data string
	}{
		{0, "alice@example.com", "220 mx ESMTP\r\n250-mx\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n235 ok\r\n221 bye\r\n"},
		{0, "alice", "220 mx\r\n250-mx\r\n250 AUTH LOGIN\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n"},
		{0x10, "alice", "220 mx\r\n250-mx\r\n250 AUTH CRAM-MD5\r\n334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n235 ok\r\n"},
		{0, "alice", "220 mx\r\n250-mx\r\n250 AUTH SCRAM-SHA-256\r\n334 cj1hYmMscz1RUT09LGk9MQ==\r\n235 ok\r\n"},
		{0, "alice", "220 mx\r\n250-mx\r\n250 AUTH=LOGIN\r\n334 =\r\n334 *\r\n535 no\r\n"},
		{0x04, "alice", "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n\x16\x03\x03\x00\x02\x02\x28"},
		{0x04, "alice", "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n250 injected\r\n"},
		{0x08, "alice", "220-mx\r\n"},
		{0x01, "alice", "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\na1 OK done\r\n"},
		{0x01, "alice", "* OK [CAPABILITY IMAP4rev1 AUTH=CRAM-MD5] hi\r\n+ PDE0ODkuNTYyMTkxMkBleGFtcGxlPg==\r\na1 NO bad\r\n"},
		{0x01, "a\"li\\ce", "* OK hi\r\n* CAPABILITY IMAP4rev1\r\na1 OK\r\na2 OK logged in\r\n"},
		{0x01, "alice", "* OK hi\r\n* CAPABILITY IMAP4rev1 {5}\r\nAUTH=\r\na1 OK\r\n+ \r\n"},
		{0x05, "alice", "* PREAUTH hi\r\n"},
		{0x05, "alice", "* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\na1 OK [CAPABILITY AUTH=PLAIN] go\r\n"},
		{0x02, "alice", "+OK pop <1.2@x>\r\n+OK\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n+ \r\n+OK in\r\n"},
		{0x02, "alice", "+OK pop <1.2@x>\r\n-ERR no capa\r\n+OK\r\n"},
		{0x02, "al ice", "+OK pop\r\n+OK\r\nUSER\r\n.\r\n+OK\r\n-ERR no\r\n"},
		{0x06, "alice", "+OK pop\r\n-ERR\r\n+OK go\r\n"},
		{0x80, "alice", "+OK pop\r\n"},
		{0x02, "alice", "+OK pop\r\n+OK\r\nSASL SCRAM-SHA-256\r\n.\r\n+ cj14LHM9UVE9PSxpPTE=\r\n+OK\r\n"},
		{0x42, "", "+OK pop\r\n+OK\r\nSASL SCRAM-SHA-256\r\n.\r\n+ \r\n+ cj14LHM9UVE9PSxpPTE=\r\n+OK\r\n"},
	} {
		f.Add(s.mode, s.user, []byte(s.data))
	}
	f.Fuzz(func(t *testing.T, mode byte, user string, data []byte) {
		proto := []Protocol{SMTP, IMAP, POP3, SMTP}[mode&3]
		sec := Plain
		if mode&4 != 0 {
			sec = StartTLS
		}
		allowPlain := mode&0x40 == 0
		conn := &sessionConn{t: t, data: data, silent: mode&8 != 0, chunk: 7 * int(mode>>4&3)}
		opts := DefaultOptions()
		opts.Deadline = 0 // nothing but the probe's own deadlines may end a wait
		opts.NoLegacyCheck = true
		opts.Transcript = true
		opts.Dial = DialFunc(func(context.Context, string, string) (net.Conn, error) { return conn, nil })
		opts.Credentials = &Credentials{Username: user, Password: fuzzPassword, AllowPlaintext: allowPlain}
		port := map[Protocol]int{SMTP: 587, IMAP: 143, POP3: 110}[proto]
		r := Run(context.Background(), Target{Protocol: proto, Host: "mail.example.test", Port: port, Security: sec}, opts)

		if r.OK != (r.ErrorKind == "") || !r.OK && r.Error == "" {
			t.Fatalf("OK %v with kind %q, error %q", r.OK, r.ErrorKind, r.Error)
		}
		if r.ErrorKind != "" && !slices.Contains(Kinds(), r.ErrorKind) {
			t.Fatalf("unknown kind %q", r.ErrorKind)
		}
		if int64(conn.off) > opts.Limits.MaxSession {
			t.Fatalf("read %d bytes, over the session limit", conn.off)
		}
		if len(r.Capabilities) > opts.Limits.MaxReplyLines {
			t.Fatalf("%d capabilities", len(r.Capabilities))
		}
		for _, m := range append(slices.Clone(r.AuthMethods), r.AuthMethodsPlaintext...) {
			if m == "" || m != strings.ToUpper(m) || strings.ContainsAny(m, " \t") {
				t.Fatalf("mechanism %q", m)
			}
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{fuzzPassword, base64.StdEncoding.EncodeToString([]byte(fuzzPassword))} {
			if bytes.Contains(out, []byte(secret)) && !bytes.Contains(data, []byte(secret)) {
				t.Fatalf("the password is in the result: %s", out)
			}
		}
		// Server bytes reach terminals: like the greeting, every text is escaped (escapeBytes).
		// (The user's own name is theirs to print.)
		texts := slices.Clone(r.Capabilities)
		if printable(user) {
			texts = append(texts, r.Error)
			if r.Auth != nil {
				texts = append(texts, r.Auth.Error)
			}
		}
		for _, l := range r.Transcript {
			if l.Dir != "C" {
				texts = append(texts, l.Text)
			}
		}
		for _, s := range texts {
			if !printable(s) {
				t.Fatalf("unescaped server bytes in %q", s)
			}
		}
		sentLogin := false
		for _, w := range conn.writes {
			if len(w) > 0 && w[0] == 0x16 {
				break // the TLS ClientHello: what follows is not command lines
			}
			line, ok := bytes.CutSuffix(w, []byte("\r\n"))
			if !ok || bytes.ContainsAny(line, "\r\n\x00") {
				t.Fatalf("write %q is not one command line", w)
			}
			if bytes.HasPrefix(line, []byte("AUTH")) || bytes.Contains(line, []byte(" AUTHENTICATE ")) || bytes.Contains(line, []byte(" LOGIN ")) ||
				bytes.HasPrefix(line, []byte("USER ")) || bytes.HasPrefix(line, []byte("APOP ")) {
				sentLogin = true
			}
		}
		if a := r.Auth; a != nil {
			if a.Attempted && !allowPlain {
				t.Fatalf("a login without TLS, not allowed: %+v", a)
			}
			if a.OK && a.Mechanism == "SCRAM-SHA-256" {
				t.Fatalf("a SCRAM login counted as proven by a server that cannot know our nonce")
			}
		}
		if os.Getenv("FUZZ_DEBUG") != "" {
			t.Logf("%s %s: %s %s auth=%+v writes=%q", proto, sec, r.ErrorKind, r.Error, r.Auth, conn.writes)
		}
		if sentLogin && !allowPlain {
			t.Fatalf("credentials sent without TLS, not allowed: %q", conn.writes)
		}
	})
}
