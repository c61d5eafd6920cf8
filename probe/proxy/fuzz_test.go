package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mailscout/mailscout/probe/proxy"
)

// scriptConn is a proxy connection that answers with a fixed byte string, at most chunk bytes
// per read (0: as much as asked). Writes are discarded. When the bytes run out, the next read is
// what a real connection would do then: EOF for a proxy that hung up, or, for a silent one,
// block until the read deadline — simulated as an immediate timeout, and reported as a test
// failure when no deadline is set, because on a real connection that read would hang forever.
type scriptConn struct {
	t        *testing.T
	data     []byte
	off      int
	chunk    int
	silent   bool
	deadline time.Time
	starved  bool // a read found no bytes left
	closed   bool
	after    bool // the handshake is over: reads are the test's own
}

func (c *scriptConn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	if c.off >= len(c.data) {
		if c.after {
			return 0, io.EOF
		}
		c.starved = true
		if c.deadline.IsZero() {
			c.t.Errorf("read with no deadline set: against a silent proxy it would never return")
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

func (c *scriptConn) Write(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	return len(p), nil
}
func (c *scriptConn) Close() error { c.closed = true; return nil }
func (c *scriptConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *scriptConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1080}
}
func (c *scriptConn) SetDeadline(t time.Time) error     { c.deadline = t; return nil }
func (c *scriptConn) SetReadDeadline(t time.Time) error { c.deadline = t; return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error  { return nil }

// fuzzProxies are the dialers FuzzHandshake drives, with the target each asks for.
var fuzzProxies = []struct{ url, target string }{
	{"socks4://127.0.0.1:1080", "192.0.2.25:25"},
	{"socks4a://helpdesk@127.0.0.1:1080", "mx.example.test:25"},
	{"socks5://127.0.0.1:1080", "192.0.2.25:25"},
	{"socks5://u:s3cr3t-pw@127.0.0.1:1080", "[2001:db8::25]:25"},
	{"socks5h://127.0.0.1:1080", "mx.example.test:25"},
	{"socks5h://u:s3cr3t-pw@127.0.0.1:1080", "mx.example.test:587"},
	{"http://127.0.0.1:8080", "mx.example.test:25"},
	{"http://u:s3cr3t-pw@127.0.0.1:8080", "mx.example.test:993"},
}

// socks5Consumed models RFC 1928 (and RFC 1929's reply) as the client reads it: how many bytes
// of data a successful handshake consumes, or ok false with the reply code (0 when none) for a
// refusal, and short true when the data ends before the client has what it needs. The client
// offers one method — username/password when it has a user, none otherwise — and takes no other.
func socks5Consumed(data []byte, withUser bool) (n int, ok, short bool, code int) {
	need := func(k int) bool {
		if len(data)-n < k {
			short = true
			return false
		}
		n += k
		return true
	}
	if !need(2) {
		return
	}
	if data[0] != 5 {
		return
	}
	switch {
	case data[1] == 0 && !withUser:
	case data[1] == 2 && withUser:
		if !need(2) {
			return
		}
		if data[3] != 0 {
			return n, false, false, int(data[3])
		}
	default:
		return
	}
	h := n
	if !need(4) {
		return
	}
	if data[h] != 5 {
		return
	}
	if data[h+1] != 0 {
		return n, false, false, int(data[h+1])
	}
	var skip int
	switch data[h+3] {
	case 1:
		skip = 4
	case 4:
		skip = 16
	case 3:
		if !need(1) {
			return
		}
		skip = int(data[n-1])
	default:
		return
	}
	if !need(skip + 2) {
		return
	}
	return n, true, false, 0
}

// A proxy's answer is read from the network: whatever it sends, the handshake must end in a
// tunnel or a *proxy.Error of a known kind, never panic, never wait without a deadline, read
// no byte of the mail server's beyond the reply (the tunnel hands out exactly the rest), stay
// within the reply bound, and never put the password or raw control characters (a hostile
// proxy's terminal escapes) into the error.
func FuzzHandshake(f *testing.F) {
	greeting := "220 mx.example.test ESMTP\r\n"
	for _, s := range []struct {
		mode byte
		data string
	}{
		{0, "\x00\x5a\x00\x00\x00\x00\x00\x00" + greeting},
		{0, "\x00\x5b\x00\x00\x00\x00\x00\x00"},
		{0x08, "\x00\x5a\x00"},
		{0x11, "\x00\x5d\x00\x00\x00\x00\x00\x00"},
		{2, "\x05\x00\x05\x00\x00\x01\xc0\x00\x02\x19\x00\x19" + greeting},
		{2, "\x05\x00\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00"},
		{2, "\x05\xff"},
		{3, "\x05\x02\x01\x00\x05\x00\x00\x04" + strings.Repeat("\x00", 18) + greeting},
		{3, "\x05\x02\x01\x01"},
		{0x24, "\x05\x00\x05\x00\x00\x03\x0fmx.example.test\x00\x19" + greeting},
		{4, "\x05\x00\x05\x00\x00\x07"},
		{5, "\x05\x02\x01\x00\x05\x00\x00\x03\x00\x00\x00"},
		{6, "HTTP/1.1 200 Connection established\r\n\r\n" + greeting},
		{0x16, "HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\n" + greeting},
		{6, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"},
		{7, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n"},
		{7, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: \x1b]0;x\x07\r\n\r\n"},
		{7, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"\xff\xfe\"\r\n\r\n"},
		{6, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"},
		{0x0e, "HTTP/1.1 200 OK\r\nX: y"},
		{6, "SSH-2.0-OpenSSH_9.6\r\n"},
	} {
		f.Add(s.mode, []byte(s.data))
	}
	f.Fuzz(checkHandshake)
}

// A CONNECT reply longer than the bound is refused after reading no more than the bound (a case
// too large for the fuzzer to reach by itself).
func TestHandshakeLongReply(t *testing.T) {
	for _, mode := range []byte{6, 0x0e, 0x16} {
		checkHandshake(t, mode, []byte("HTTP/1.1 200 OK\r\nX: "+strings.Repeat("a", 70<<10)+"\r\n\r\n220 hi\r\n"))
		checkHandshake(t, mode, []byte("HTTP/1.1 200 OK\r\n"+strings.Repeat("X: y\r\n", 20<<10)+"\r\n220 hi\r\n"))
	}
}

// checkHandshake runs one handshake of the proxy kind mode%8 against data (see FuzzHandshake).
func checkHandshake(t *testing.T, mode byte, data []byte) {
	p := fuzzProxies[mode%8]
	conn := &scriptConn{t: t, data: data, silent: mode&8 != 0, chunk: int(mode >> 4)}
	d, err := proxy.Parse(p.url)
	if err != nil {
		t.Fatal(err)
	}
	d.Forward = func(context.Context, string, string) (net.Conn, error) { return conn, nil }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tunnel, err := d.DialContext(ctx, "tcp", p.target)

	if (tunnel == nil) == (err == nil) {
		t.Fatalf("tunnel %v and error %v", tunnel, err)
	}
	consumed := conn.off
	var rest []byte
	if err == nil {
		if !conn.deadline.IsZero() {
			t.Errorf("the handshake's deadline is left on the tunnel")
		}
		conn.after = true
		rest, err = io.ReadAll(tunnel)
		tunnel.Close()
		if err != nil {
			t.Fatalf("reading the tunnel: %v", err)
		}
		if !bytes.HasSuffix(data, rest) {
			t.Fatalf("the tunnel gave %q, not a suffix of what the proxy sent", rest)
		}
		consumed = len(data) - len(rest)
		err = nil
	} else {
		var pe *proxy.Error
		if !errors.As(err, &pe) {
			t.Fatalf("error %T %v is not a *proxy.Error", err, err)
		}
		switch pe.Kind {
		case proxy.KindProxy, proxy.KindRefused, proxy.KindConnectTimeout, proxy.KindTimeout:
		default:
			t.Fatalf("unknown kind %q: %v", pe.Kind, err)
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cr3t-pw") {
			t.Fatalf("the password is in the error: %s", msg)
		}
		// Held to the standard the probe package holds server bytes to (escapeBytes): valid
		// UTF-8, no C0 control but tab, no DEL.
		if !utf8.ValidString(msg) || strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			t.Fatalf("raw bytes from the proxy in the error: %q", msg)
		}
		if !conn.closed {
			t.Errorf("the connection to the proxy is left open after %v", err)
		}
	}

	switch k := d.Kind; {
	case k == proxy.SOCKS4 || k == proxy.SOCKS4A:
		if len(data) >= 8 && data[0] == 0 && data[1] == 0x5a {
			if err != nil || consumed != 8 {
				t.Fatalf("SOCKS 4 grant: consumed %d, %v", consumed, err)
			}
		} else if err == nil {
			t.Fatalf("SOCKS 4 answer % x accepted", data[:min(len(data), 8)])
		} else if len(data) < 8 {
			checkStarved(t, conn, err)
		}
	case k == proxy.SOCKS5 || k == proxy.SOCKS5H:
		n, ok, short, code := socks5Consumed(data, d.User != "")
		switch {
		case ok:
			if err != nil || consumed != n {
				t.Fatalf("SOCKS 5 success: consumed %d, want %d; %v", consumed, n, err)
			}
		case err == nil:
			t.Fatalf("SOCKS 5 answer % x accepted", data[:min(len(data), 32)])
		case short:
			checkStarved(t, conn, err)
		case code != 0:
			var pe *proxy.Error
			if errors.As(err, &pe); pe.Code != code {
				t.Fatalf("reply code %d reported as %d: %v", code, pe.Code, err)
			}
		}
	case k == proxy.HTTP:
		if consumed > 64<<10 {
			t.Fatalf("read %d bytes of a CONNECT reply", consumed)
		}
		if len(data) <= 64<<10 {
			r := bytes.NewReader(data)
			br := bufio.NewReader(r)
			resp, rerr := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
			switch {
			case rerr == nil && resp.StatusCode/100 == 2:
				hdr := len(data) - r.Len() - br.Buffered() // the status line and headers
				if err != nil || consumed != hdr {
					t.Fatalf("CONNECT %d: consumed %d, want %d; %v", resp.StatusCode, consumed, hdr, err)
				}
			case rerr == nil:
				var pe *proxy.Error
				if !errors.As(err, &pe) || pe.Code != resp.StatusCode {
					t.Fatalf("CONNECT %d: %v", resp.StatusCode, err)
				}
			case err == nil:
				t.Fatalf("CONNECT answer %q accepted; it does not parse: %v", data, rerr)
			}
		}
	}
}

// checkStarved: the answer ended before the client had what it needs, so the failure must be
// the proxy's silence (timeout) or its hanging up.
func checkStarved(t *testing.T, c *scriptConn, err error) {
	t.Helper()
	var pe *proxy.Error
	errors.As(err, &pe)
	switch {
	case !c.starved:
		t.Fatalf("a short answer failed without the client waiting for more: %v", err)
	case c.silent && pe.Kind != proxy.KindTimeout:
		t.Fatalf("a silent proxy reported as %q: %v", pe.Kind, err)
	case !c.silent && (pe.Kind != proxy.KindProxy || !strings.Contains(pe.Reason, "closed")):
		t.Fatalf("a proxy that hung up reported as %q: %v", pe.Kind, err)
	}
}

// A SOCKS 5 proxy that selects a method the client did not offer is refused (RFC 1928 §3): with
// a user set, "no authentication" would skip the credentials the user gave; without one,
// "username/password" has nothing to send.
func TestSOCKS5UnofferedMethod(t *testing.T) {
	success := []byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 25} // a CONNECT reply that would succeed
	for _, tc := range []struct {
		url    string
		method byte
	}{
		{"socks5://u:s3cr3t-pw@127.0.0.1:1080", 0},
		{"socks5://127.0.0.1:1080", 2},
	} {
		d, err := proxy.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		data := append([]byte{5, tc.method, 1, 0}, success...)
		conn := &scriptConn{t: t, data: data}
		d.Forward = func(context.Context, string, string) (net.Conn, error) { return conn, nil }
		tunnel, err := d.DialContext(context.Background(), "tcp", "192.0.2.25:25")
		if err == nil {
			tunnel.Close()
			t.Errorf("%s: method %d accepted", tc.url, tc.method)
		} else if !strings.Contains(err.Error(), "not offered") {
			t.Errorf("%s: %v", tc.url, err)
		}
	}
}
