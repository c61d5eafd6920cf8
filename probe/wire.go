package probe

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits bound what a server can make a probe read. A hostile or broken server (an endless
// "220-x" banner, a megabyte without CRLF) must cost bounded memory and time.
type Limits struct {
	MaxLine       int   // bytes in one line, CRLF excluded
	MaxReplyLines int   // lines in one reply
	MaxReplyBytes int   // bytes in one reply
	MaxSession    int64 // application bytes read over the whole connection (after decryption)
}

// DefaultLimits are generous for real servers (RFC 5321 §4.5.3.1.5 allows 512-byte reply lines)
// and small enough to keep 1,000 probes in flight cheap.
func DefaultLimits() Limits {
	return Limits{MaxLine: 8 << 10, MaxReplyLines: 1000, MaxReplyBytes: 64 << 10, MaxSession: 1 << 20}
}

// wire is one connection's line layer: bounded reads, deadlines, and the transcript.
type wire struct {
	ctx       context.Context
	opts      *Options
	raw       net.Conn // the TCP (or tunnelled) connection
	conn      net.Conn // raw, or the TLS connection over it
	br        *bufio.Reader
	counter   *countingReader
	limits    Limits
	opTimeout time.Duration
	start     time.Time
	tlsOn     bool
	record    bool
	script    []TranscriptLine
}

func newWire(ctx context.Context, c net.Conn, opts *Options, start time.Time) *wire {
	w := &wire{ctx: ctx, opts: opts, raw: c, limits: opts.Limits, opTimeout: opts.OperationTimeout, start: start, record: opts.Transcript}
	w.setConn(c)
	return w
}

// setConn points the reader at c. Any bytes still buffered from the previous connection are
// dropped, which is what RFC 3207 §4.2 asks after STARTTLS; the caller checks for them first.
func (w *wire) setConn(c net.Conn) {
	w.conn = c
	if w.counter == nil {
		w.counter = &countingReader{limit: w.limits.MaxSession}
	}
	w.counter.r = c
	w.br = bufio.NewReaderSize(w.counter, 2048)
}

// upgrade runs a TLS client handshake over the raw connection and switches the line layer to it.
// firstByte, when positive, bounds the wait for the server's first handshake bytes (its
// ServerHello) separately from the whole handshake: a server that says nothing to a ClientHello
// is as silent as one that never greets.
func (w *wire) upgrade(cfg *tls.Config, firstByte time.Duration) (*tls.Conn, error) {
	var c net.Conn = w.raw
	if firstByte > 0 {
		c = &firstByteConn{Conn: w.raw, then: w.deadline(w.opTimeout)}
		w.raw.SetDeadline(w.deadline(min(firstByte, w.opTimeout)))
	} else {
		w.raw.SetDeadline(w.deadline(w.opTimeout))
	}
	tc := tls.Client(c, cfg)
	err := tc.HandshakeContext(w.ctx)
	w.raw.SetDeadline(time.Time{})
	if err != nil {
		if fb, ok := c.(*firstByteConn); ok && fb.silent() && isTimeout(err) && ctxDone(w.ctx) == nil {
			return nil, errSilentToClientHello
		}
		return nil, err
	}
	w.tlsOn = true
	w.setConn(tc)
	return tc, nil
}

// deadline is now+d, but never later than the context's deadline.
func (w *wire) deadline(d time.Duration) time.Time {
	t := time.Now().Add(d)
	if cd, ok := w.ctx.Deadline(); ok && cd.Before(t) {
		t = cd
	}
	return t
}

// waitFirstLine waits up to d for the first complete line of the server's greeting. It sends
// nothing: RFC 5321 §4.3.1 servers may drop clients that talk before the greeting. A whole line,
// not a first byte, is what must arrive in time: a postscreen "220-" line comes at once, while a
// tarpit that drips its banner a byte at a time would otherwise hold the probe for the whole
// operation timeout. A line longer than the buffer counts as arrived (the line reader bounds it).
func (w *wire) waitFirstLine(d time.Duration) error {
	w.conn.SetReadDeadline(w.deadline(d))
	for {
		if buf, _ := w.br.Peek(w.br.Buffered()); bytes.IndexByte(buf, '\n') >= 0 || len(buf) == w.br.Size() {
			return nil
		}
		if _, err := w.br.Peek(w.br.Buffered() + 1); err != nil {
			return err
		}
	}
}

// beginReply sets the read deadline for one complete reply: a stuttering server cannot stretch a
// reply beyond the operation timeout by sending a byte now and then.
func (w *wire) beginReply() {
	w.conn.SetReadDeadline(w.deadline(w.opTimeout))
}

// readLine reads one line without its line ending (CRLF, or a bare LF from sloppy servers),
// escaped for display. It enforces MaxLine.
func (w *wire) readLine() (string, error) {
	var long []byte
	for {
		chunk, err := w.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, chunk...)
			if len(long) > w.limits.MaxLine {
				return "", ErrLineTooLong
			}
			continue
		}
		if err != nil {
			if len(chunk)+len(long) > w.limits.MaxLine {
				return "", ErrLineTooLong
			}
			if err == io.EOF && len(chunk)+len(long) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > w.limits.MaxLine {
			return "", ErrLineTooLong
		}
		s := escapeBytes(line)
		w.note("S", s)
		return s, nil
	}
}

// readN reads exactly n raw bytes (an IMAP literal), for display escaped.
func (w *wire) readN(n int) (string, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(w.br, buf); err != nil {
		return "", err
	}
	s := escapeBytes(buf)
	w.note("S", s)
	return s, nil
}

// writeLine sends one command line. shown is what the transcript records (a redacted form when
// the line carries a secret); empty means the line itself.
func (w *wire) writeLine(line, shown string) error {
	w.conn.SetWriteDeadline(w.deadline(w.opTimeout))
	if shown == "" {
		shown = line
	}
	w.note("C", shown)
	_, err := io.WriteString(w.conn, line+"\r\n")
	return err
}

// buffered reports unread bytes already received: after a STARTTLS go-ahead there must be none.
func (w *wire) buffered() int { return w.br.Buffered() }

func (w *wire) note(dir, text string) {
	if !w.record {
		return
	}
	w.script = append(w.script, TranscriptLine{At: time.Since(w.start), Dir: dir, TLS: w.tlsOn, Text: text})
}

// firstByteConn moves the read deadline to then as soon as the first bytes arrive.
type firstByteConn struct {
	net.Conn
	then time.Time
	got  bool
}

func (c *firstByteConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.got {
		c.got = true
		c.Conn.SetReadDeadline(c.then)
	}
	return n, err
}

// silent reports that the server sent nothing at all.
func (c *firstByteConn) silent() bool { return !c.got }

// countingReader fails once more than limit bytes have been read through it.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.limit > 0 && c.n >= c.limit {
		return 0, ErrSessionTooLong
	}
	if c.limit > 0 && int64(len(p)) > c.limit-c.n {
		p = p[:c.limit-c.n]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// escapeBytes renders server bytes for humans and JSON: valid UTF-8 stays, invalid bytes and
// control characters become \xNN, so a GB2312 banner or a stray NUL never breaks output.
func escapeBytes(b []byte) string {
	clean := true
	for _, c := range b {
		if c < 0x20 && c != '\t' || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1, r < 0x20 && r != '\t', r == 0x7f:
			const hex = "0123456789abcdef"
			sb.WriteString(`\x`)
			sb.WriteByte(hex[b[0]>>4])
			sb.WriteByte(hex[b[0]&0xf])
			size = 1
		default:
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
