package proxy

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// connect asks an HTTP proxy for a tunnel (RFC 9110 §9.3.6; request target in authority form,
// RFC 9112 §3.2.3) with Basic credentials when a user is set (RFC 9110 §11.7.2, RFC 7617).
func (d *Dialer) connect(c net.Conn, host string, port int) (net.Conn, error) {
	authority := net.JoinHostPort(host, strconv.Itoa(port))
	var req strings.Builder
	fmt.Fprintf(&req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mailscout\r\n", authority, authority)
	if d.User != "" {
		token := base64.StdEncoding.EncodeToString([]byte(d.User + ":" + d.Password))
		fmt.Fprintf(&req, "Proxy-Authorization: Basic %s\r\n", token)
	}
	req.WriteString("\r\n")
	if _, err := c.Write([]byte(req.String())); err != nil {
		return nil, err
	}
	// The reply is bounded: a hostile proxy must not make us read headers forever.
	br := bufio.NewReaderSize(io.LimitReader(c, maxReplySize), 4096)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, d.readErr(err)
	}
	if resp.StatusCode/100 != 2 {
		resp.Body.Close()
		return nil, &Error{Proxy: d.String(), Kind: KindProxy, Code: resp.StatusCode, Reason: connectRefusal(resp, port)}
	}
	// The mail server speaks first: its greeting may already sit in br, right behind the
	// proxy's "200". Hand those bytes out before reading the connection again.
	if n := br.Buffered(); n > 0 {
		rest, _ := br.Peek(n)
		return &prefixConn{Conn: c, prefix: append([]byte(nil), rest...)}, nil
	}
	return c, nil
}

func connectRefusal(resp *http.Response, port int) string {
	status := printable(resp.Status)
	switch resp.StatusCode {
	case http.StatusProxyAuthRequired:
		scheme := printable(resp.Header.Get("Proxy-Authenticate"))
		if scheme == "" {
			scheme = "unstated"
		}
		return fmt.Sprintf("%s: the proxy wants credentials (scheme %s): give user:password@ in the proxy URL, or check them", status, scheme)
	case http.StatusUnauthorized:
		// tinyproxy answers 401 where RFC 9110 §15.5.8 says 407.
		return fmt.Sprintf("%s: the proxy rejected the credentials: give user:password@ in the proxy URL, or check them", status)
	case http.StatusForbidden:
		return fmt.Sprintf("%s: the proxy does not allow CONNECT to port %d (Squid, for one, allows only port 443 by default)", status, port)
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return fmt.Sprintf("%s: the proxy could not connect to the mail server", status)
	case http.StatusGatewayTimeout:
		return fmt.Sprintf("%s: the proxy's connection to the mail server timed out", status)
	case http.StatusMethodNotAllowed, http.StatusNotImplemented, http.StatusBadRequest:
		return fmt.Sprintf("%s: the proxy does not support CONNECT", status)
	}
	return status
}

// printable renders the proxy's words for an error message as the probe package renders a
// server's (escapeBytes): valid UTF-8 stays, control characters and invalid bytes become \xNN.
// net/http checks neither in a reason phrase, and a hostile proxy's terminal escapes must not
// reach the user's terminal.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || r < 0x20 && r != '\t' || r == 0x7f {
			fmt.Fprintf(&b, `\x%02x`, s[i])
			i++
			continue
		}
		b.WriteString(s[i : i+size])
		i += size
	}
	return b.String()
}

// maxReplySize bounds the proxy's CONNECT reply (status line and headers).
const maxReplySize = 64 << 10

// prefixConn returns prefix before reading from the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
