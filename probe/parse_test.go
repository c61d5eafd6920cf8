package probe

import (
	"bytes"
	"context"
	"net"
	"slices"
	"testing"
	"time"
)

// bytesConn is a net.Conn that reads from a fixed byte string and discards writes: enough to
// drive the reply readers in unit and fuzz tests without a network.
type bytesConn struct {
	r *bytes.Reader
	net.Conn
}

func (c *bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }

func wireFor(data []byte) *wire {
	opts := DefaultOptions()
	return newWire(context.Background(), &bytesConn{r: bytes.NewReader(data)}, &opts, time.Now())
}

func TestParseSMTPLine(t *testing.T) {
	tests := []struct {
		line string
		code int
		last bool
		text string
		bad  bool
	}{
		{"250 OK", 250, true, "OK", false},
		{"250-PIPELINING", 250, false, "PIPELINING", false},
		{"250", 250, true, "", false}, // RFC 5321 §4.2.1: a bare code ends the reply
		{"220 ", 220, true, "", false},
		{"2x0 OK", 0, false, "", true},
		{"25", 0, false, "", true},
		{"250_x", 0, false, "", true},
		{"100 continue", 0, false, "", true},
		{"HTTP/1.1 400", 0, false, "", true},
	}
	for _, tt := range tests {
		code, last, text, err := parseSMTPLine(tt.line)
		if (err != nil) != tt.bad || code != tt.code || last != tt.last || text != tt.text {
			t.Errorf("parseSMTPLine(%q) = %d %v %q %v", tt.line, code, last, text, err)
		}
	}
}

func TestReadSMTPReply(t *testing.T) {
	tests := []struct {
		in   string
		code int
		n    int
		kind Kind
	}{
		{"220 hi\r\n", 220, 1, ""},
		{"220-a\r\n220-b\r\n220 c\r\n", 220, 3, ""},
		{"250-a\n250 b\n", 250, 2, ""}, // bare LF tolerated
		{"220-a\r\n250 b\r\n", 0, 0, KindProtocol},
		{"220-a\r\n", 0, 0, KindClosed},
		{"", 0, 0, KindClosed},
	}
	for _, tt := range tests {
		w := wireFor([]byte(tt.in))
		rep, err := readSMTPReply(w)
		if err != nil {
			if k := classifyIO(context.Background(), "", err, &Options{}).Kind; k != tt.kind {
				t.Errorf("%q: kind %q (%v), want %q", tt.in, k, err, tt.kind)
			}
			continue
		}
		if tt.kind != "" || rep.Code != tt.code || len(rep.Lines) != tt.n {
			t.Errorf("%q: got %+v", tt.in, rep)
		}
	}
}

func TestSMTPAuthMechanisms(t *testing.T) {
	caps := []string{"PIPELINING", "AUTH PLAIN login", "AUTH=LOGIN CRAM-MD5", "STARTTLS"}
	if got := smtpAuthMechanisms(caps); !slices.Equal(got, []string{"PLAIN", "LOGIN", "CRAM-MD5"}) {
		t.Errorf("got %q", got)
	}
	if !hasKeyword(caps, "starttls") || hasKeyword(caps, "SMTPUTF8") {
		t.Error("hasKeyword")
	}
}

func TestParseIMAPGreeting(t *testing.T) {
	tests := []struct {
		line   string
		status string
		caps   []string
		bad    bool
	}{
		{"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready", "OK", []string{"IMAP4rev1", "STARTTLS", "AUTH=PLAIN"}, false},
		{"* OK ready", "OK", nil, false},
		{"* ok [ALERT] hello", "OK", nil, false},
		{"* PREAUTH hi", "PREAUTH", nil, false},
		{"* BYE go away", "BYE", nil, false},
		{"+OK pop3", "", nil, true},
		{"* NO x", "", nil, true},
	}
	for _, tt := range tests {
		st, caps, _, err := parseIMAPGreeting(tt.line)
		if (err != nil) != tt.bad || st != tt.status || !slices.Equal(caps, tt.caps) {
			t.Errorf("parseIMAPGreeting(%q) = %q %q %v", tt.line, st, caps, err)
		}
	}
}

func TestReadTagged(t *testing.T) {
	in := "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n* OK [ALERT] {5}\r\nhello more\r\na1 OK done\r\n"
	resp, err := readTagged(wireFor([]byte(in)), "a1")
	if err != nil || resp.Status != "OK" || len(resp.Untagged) != 2 || resp.Untagged[1] != "* OK [ALERT] {5}hello more" {
		t.Fatalf("got %+v, %v", resp, err)
	}
	if _, err := readTagged(wireFor([]byte("* BYE shutting down\r\n")), "a1"); KindOf(err) != KindClosed {
		t.Errorf("BYE: %v", err)
	}
	if _, err := readTagged(wireFor([]byte("a2 OK x\r\n")), "a1"); KindOf(err) != KindProtocol {
		t.Errorf("wrong tag: %v", err)
	}
	if _, err := readTagged(wireFor([]byte("* OK {999999}\r\n")), "a1"); err != ErrReplyTooLarge {
		t.Errorf("huge literal: %v", err)
	}
	if caps := imapAuthMechanisms([]string{"IMAP4rev1", "auth=plain", "AUTH=XOAUTH2", "SASL-IR"}); !slices.Equal(caps, []string{"PLAIN", "XOAUTH2"}) {
		t.Errorf("imapAuthMechanisms = %q", caps)
	}
}

func TestPOP3Parsing(t *testing.T) {
	if ok, text, err := parsePOP3Status("+OK ready <1.2@x>"); !ok || text != "ready <1.2@x>" || err != nil {
		t.Errorf("+OK: %v %q %v", ok, text, err)
	}
	if ok, _, err := parsePOP3Status("-ERR no"); ok || err != nil {
		t.Errorf("-ERR: %v %v", ok, err)
	}
	if _, _, err := parsePOP3Status("* OK imap"); err == nil {
		t.Error("IMAP greeting accepted as POP3")
	}
	lines, err := readPOP3Multi(wireFor([]byte("TOP\r\n..dot\r\nSASL PLAIN\r\n.\r\n")))
	if err != nil || !slices.Equal(lines, []string{"TOP", ".dot", "SASL PLAIN"}) {
		t.Errorf("multi: %q %v", lines, err)
	}
	if got := pop3SASL(lines); !slices.Equal(got, []string{"PLAIN"}) {
		t.Errorf("pop3SASL = %q", got)
	}
	if !apopTimestamp.MatchString("POP3 ready <1896.697170952@dbc.mtview.ca.us>") || apopTimestamp.MatchString("ready <no-at>") {
		t.Error("apopTimestamp")
	}
}

func TestLimits(t *testing.T) {
	long := bytes.Repeat([]byte("x"), DefaultLimits().MaxLine+10)
	if _, err := readSMTPReply(wireFor(append([]byte("220 "), long...))); KindOf(classifyIO(context.Background(), "", err, &Options{})) != KindTooLarge {
		t.Errorf("long line: %v", err)
	}
	many := bytes.Repeat([]byte("250-x\r\n"), DefaultLimits().MaxReplyLines+1)
	if _, err := readSMTPReply(wireFor(many)); err != ErrReplyTooLarge {
		t.Errorf("many lines: %v", err)
	}
	w := wireFor(bytes.Repeat([]byte("* OK x\r\n"), 200000))
	w.limits.MaxReplyLines = 1 << 30
	w.limits.MaxReplyBytes = 1 << 30
	if _, err := readTagged(w, "a1"); err != ErrSessionTooLong {
		t.Errorf("session: %v", err)
	}
}

func TestEscapeBytes(t *testing.T) {
	tests := map[string]string{
		"plain ascii":    "plain ascii",
		"tab\tok":        "tab\tok",
		"nul\x00":        `nul\x00`,
		"\xbb\xb6 gb":    `\xbb\xb6 gb`,
		"ünïcödé":        "ünïcödé",
		"esc\x1b[31m":    `esc\x1b[31m`,
		"del\x7f":        `del\x7f`,
		"trail \xe2\x82": `trail \xe2\x82`,
	}
	for in, want := range tests {
		if got := escapeBytes([]byte(in)); got != want {
			t.Errorf("escapeBytes(%q) = %q, want %q", in, got, want)
		}
	}
}

// The reply readers face arbitrary server bytes: they must never panic, always stay within the
// limits, and return either a reply or an error.
func FuzzSMTPReply(f *testing.F) {
	for _, s := range []string{"220 ok\r\n", "220-a\r\n220 b\r\n", "250\r\n", "220-x\n220-y\n", "\xff\xfe\r\n", "5"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w := wireFor(data)
		rep, err := readSMTPReply(w)
		if err == nil {
			if rep.Code < 200 || rep.Code > 599 || len(rep.Lines) == 0 || len(rep.Lines) > DefaultLimits().MaxReplyLines {
				t.Fatalf("bad reply %+v", rep)
			}
			smtpAuthMechanisms(rep.Texts)
		}
	})
}

func FuzzIMAPResponse(f *testing.F) {
	for _, s := range []string{"* OK [CAPABILITY IMAP4rev1] hi\r\n", "* CAPABILITY A B\r\na1 OK x\r\n", "* OK {3}\r\nabc\r\na1 NO\r\n", "+ go\r\n", "* BYE\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w := wireFor(data)
		if line, err := w.readLine(); err == nil {
			parseIMAPGreeting(line)
		}
		resp, err := readTagged(wireFor(data), "a1")
		if err == nil && resp.Status != "OK" && resp.Status != "NO" && resp.Status != "BAD" && resp.Status != "+" {
			t.Fatalf("status %q", resp.Status)
		}
		for _, u := range resp.Untagged {
			if c, ok := parseIMAPCapability(u); ok {
				imapAuthMechanisms(c)
			}
		}
	})
}

func FuzzPOP3Response(f *testing.F) {
	for _, s := range []string{"+OK hi <a@b>\r\nTOP\r\n.\r\n", "-ERR no\r\n", "+OK\r\n..x\r\n.\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w := wireFor(data)
		ok, _, err := readPOP3Status(w)
		if err == nil && ok {
			lines, err := readPOP3Multi(w)
			if err == nil {
				pop3SASL(lines)
			}
		}
	})
}
