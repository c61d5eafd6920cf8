package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
)

// socks4 runs the SOCKS 4 CONNECT request, or SOCKS 4a's (IP 0.0.0.x plus the host name) when
// the proxy is to resolve the name.
func (d *Dialer) socks4(c net.Conn, host string, port int) (net.Conn, error) {
	req := []byte{4, 1, byte(port >> 8), byte(port)}
	ip, err := netip.ParseAddr(host)
	switch {
	case err == nil && ip.Unmap().Is4():
		a := ip.Unmap().As4()
		req = append(req, a[:]...)
		req = append(req, d.User...)
		req = append(req, 0)
	case err == nil:
		return nil, &Error{Proxy: d.String(), Kind: KindProxy, Reason: "SOCKS 4 cannot reach IPv6 addresses"}
	default: // SOCKS 4a
		if len(host) > 255 {
			return nil, &Error{Proxy: d.String(), Kind: KindProxy, Reason: "host name too long for SOCKS"}
		}
		req = append(req, 0, 0, 0, 1)
		req = append(req, d.User...)
		req = append(req, 0)
		req = append(req, host...)
		req = append(req, 0)
	}
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	var rep [8]byte
	if _, err := io.ReadFull(c, rep[:]); err != nil {
		return nil, d.readErr(err)
	}
	if rep[0] != 0 {
		return nil, &Error{Proxy: d.String(), Kind: KindProxy, Reason: fmt.Sprintf("not a SOCKS 4 proxy (reply version %d)", rep[0])}
	}
	if rep[1] != 0x5a {
		kind, words := socks4Reply(rep[1])
		return nil, &Error{Proxy: d.String(), Kind: kind, Reason: words, Code: int(rep[1])}
	}
	return c, nil
}

// socks5 runs RFC 1928: method negotiation (no authentication, or RFC 1929 username/password
// when a user is set), then CONNECT with an IP address or, for socks5h, the host name.
func (d *Dialer) socks5(c net.Conn, host string, port int) (net.Conn, error) {
	methods := []byte{0} // no authentication
	if d.User != "" {
		methods = []byte{2} // username/password only: never fall back to sending nothing
	}
	if _, err := c.Write(append([]byte{5, byte(len(methods))}, methods...)); err != nil {
		return nil, err
	}
	var sel [2]byte
	if _, err := io.ReadFull(c, sel[:]); err != nil {
		return nil, d.readErr(err)
	}
	if sel[0] != 5 {
		return nil, &Error{Proxy: d.String(), Kind: KindProxy, Reason: fmt.Sprintf("not a SOCKS 5 proxy (version %d in its answer)", sel[0])}
	}
	switch {
	case sel[1] == 0 && d.User == "":
	case sel[1] == 2 && d.User != "":
		if err := d.socks5Auth(c); err != nil {
			return nil, err
		}
	case sel[1] == 0xff:
		reason := "the proxy requires authentication: give user:password@ in the proxy URL"
		if d.User != "" {
			reason = "the proxy accepts none of the offered authentication methods (username/password)"
		}
		return nil, &Error{Proxy: d.String(), Kind: KindProxy, Reason: reason}
	default:
		// RFC 1928 §3: the server selects one of the methods the client offered. One that was
		// not offered is a broken or hostile proxy: with a user set, going on without
		// authentication would skip the credentials the user asked for; without one, there are
		// no credentials to send.
		return nil, &Error{Proxy: d.String(), Kind: KindProxy, Reason: fmt.Sprintf("the proxy chose authentication method %d, which was not offered", sel[1])}
	}
	req := []byte{5, 1, 0}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if ip.Is4() {
			req = append(req, 1)
		} else {
			req = append(req, 4)
		}
		req = append(req, ip.AsSlice()...)
	} else {
		if len(host) > 255 {
			return nil, &Error{Proxy: d.String(), Kind: KindProxy, Reason: "host name too long for SOCKS"}
		}
		req = append(req, 3, byte(len(host)))
		req = append(req, host...)
	}
	req = binary.BigEndian.AppendUint16(req, uint16(port))
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	var head [4]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		return nil, d.readErr(err)
	}
	if head[0] != 5 {
		return nil, &Error{Proxy: d.String(), Kind: KindProxy, Reason: fmt.Sprintf("not a SOCKS 5 reply (version %d)", head[0])}
	}
	if head[1] != 0 {
		kind, words := socks5Reply(head[1])
		return nil, &Error{Proxy: d.String(), Kind: kind, Reason: words, Code: int(head[1])}
	}
	// Skip the bound address: exactly its length, so no byte of the mail server is consumed.
	var skip int
	switch head[3] {
	case 1:
		skip = 4
	case 4:
		skip = 16
	case 3:
		var l [1]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return nil, d.readErr(err)
		}
		skip = int(l[0])
	default:
		return nil, &Error{Proxy: d.String(), Kind: KindProxy, Reason: fmt.Sprintf("unknown address type %d in the proxy's reply", head[3])}
	}
	if _, err := io.ReadFull(c, make([]byte, skip+2)); err != nil {
		return nil, d.readErr(err)
	}
	return c, nil
}

// socks5Auth is RFC 1929 username/password authentication.
func (d *Dialer) socks5Auth(c net.Conn) error {
	if len(d.User) > 255 || len(d.Password) > 255 {
		return &Error{Proxy: d.String(), Kind: KindProxy, Reason: "user name or password longer than 255 bytes"}
	}
	req := []byte{1, byte(len(d.User))}
	req = append(req, d.User...)
	req = append(req, byte(len(d.Password)))
	req = append(req, d.Password...)
	if _, err := c.Write(req); err != nil {
		return err
	}
	var rep [2]byte
	if _, err := io.ReadFull(c, rep[:]); err != nil {
		return d.readErr(err)
	}
	if rep[1] != 0 {
		return &Error{Proxy: d.String(), Kind: KindProxy, Reason: fmt.Sprintf("authentication failed for user %q (wrong user name or password)", d.User), Code: int(rep[1])}
	}
	return nil
}

func (d *Dialer) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Proxy: d.String(), Kind: KindProxy, Reason: "the proxy closed the connection during the handshake", Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Proxy: d.String(), Kind: KindTimeout, Reason: "no complete answer from the proxy in time", Err: err}
	}
	return &Error{Proxy: d.String(), Kind: KindProxy, Reason: "reading the proxy's answer: " + err.Error(), Err: err}
}
