package mailsim

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProxyConfig describes an in-process proxy for tests: SOCKS 4/4a, SOCKS 5 or HTTP CONNECT,
// with optional authentication and refusals.
type ProxyConfig struct {
	Kind     string // "socks4" (also serves 4a), "socks5" or "http"
	User     string // required user (SOCKS 4 user ID, SOCKS 5 and HTTP Basic user)
	Password string
	// DenyPorts are target ports the proxy refuses (HTTP 403, SOCKS 5 "not allowed by ruleset",
	// SOCKS 4 "rejected"), like Squid's default "deny CONNECT !SSL_ports".
	DenyPorts []int
	// Dial reaches targets; nil means a net.Dialer (loopback only in tests).
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Coalesce makes the HTTP proxy send its "200" and the mail server's first bytes in one
	// write, the case that trips clients reading the reply through a buffer.
	Coalesce bool
}

// Proxy is a running test proxy.
type Proxy struct {
	cfg  ProxyConfig
	ln   net.Listener
	done chan struct{}
	mu   sync.Mutex
	open map[net.Conn]struct{}
	wg   sync.WaitGroup
	// Tunnels counts established tunnels.
	tunnels int
}

// StartProxy listens on 127.0.0.1 on a free port.
func StartProxy(cfg ProxyConfig) (*Proxy, error) {
	switch cfg.Kind {
	case "socks4", "socks5", "http":
	default:
		return nil, fmt.Errorf("mailsim: proxy kind %q", cfg.Kind)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, ln: ln, done: make(chan struct{}), open: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's loopback address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Tunnels returns how many tunnels the proxy has set up.
func (p *Proxy) Tunnels() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tunnels
}

// Close stops the proxy and every tunnel, and waits for their goroutines.
func (p *Proxy) Close() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	close(p.done)
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		c.Close()
		return false
	default:
	}
	p.open[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			c.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(c)
			var target net.Conn
			switch p.cfg.Kind {
			case "socks4":
				target = p.socks4(c, br)
			case "socks5":
				target = p.socks5(c, br)
			case "http":
				target = p.http(c, br)
			}
			if target == nil {
				return
			}
			defer p.untrack(target)
			c.SetDeadline(time.Time{})
			p.relay(c, br, target)
		}()
	}
}

// relay copies both ways until either side ends, then closes both.
func (p *Proxy) relay(client net.Conn, br *bufio.Reader, target net.Conn) {
	var wg sync.WaitGroup
	wg.Go(func() {
		io.Copy(target, br)
		target.Close()
	})
	io.Copy(client, target)
	client.Close()
	wg.Wait()
}

func (p *Proxy) dialTarget(addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dial := p.cfg.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if !p.track(c) {
		return nil, errors.New("closing")
	}
	return c, nil
}

func (p *Proxy) denied(port int) bool { return slices.Contains(p.cfg.DenyPorts, port) }

func (p *Proxy) socks4(c net.Conn, br *bufio.Reader) net.Conn {
	var head [8]byte
	if _, err := io.ReadFull(br, head[:]); err != nil || head[0] != 4 || head[1] != 1 {
		return nil
	}
	user, err := br.ReadString(0)
	if err != nil {
		return nil
	}
	user = strings.TrimSuffix(user, "\x00")
	port := int(binary.BigEndian.Uint16(head[2:4]))
	host := netip.AddrFrom4([4]byte(head[4:8])).String()
	if head[4] == 0 && head[5] == 0 && head[6] == 0 && head[7] != 0 { // SOCKS 4a
		name, err := br.ReadString(0)
		if err != nil {
			return nil
		}
		host = strings.TrimSuffix(name, "\x00")
	}
	reply := func(code byte) { c.Write([]byte{0, code, 0, 0, 0, 0, 0, 0}) }
	if p.cfg.User != "" && user != p.cfg.User {
		reply(0x5d)
		return nil
	}
	if p.denied(port) {
		reply(0x5b)
		return nil
	}
	t, err := p.dialTarget(net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		reply(0x5b)
		return nil
	}
	p.established()
	reply(0x5a)
	return t
}

// established counts a tunnel, before the client can learn of it: a test that reads the
// greeting through the tunnel must find it counted.
func (p *Proxy) established() {
	p.mu.Lock()
	p.tunnels++
	p.mu.Unlock()
}

func (p *Proxy) socks5(c net.Conn, br *bufio.Reader) net.Conn {
	var head [2]byte
	if _, err := io.ReadFull(br, head[:]); err != nil || head[0] != 5 {
		return nil
	}
	methods := make([]byte, head[1])
	if _, err := io.ReadFull(br, methods); err != nil {
		return nil
	}
	want := byte(0)
	if p.cfg.User != "" {
		want = 2
	}
	if !slices.Contains(methods, want) {
		c.Write([]byte{5, 0xff})
		return nil
	}
	c.Write([]byte{5, want})
	if want == 2 {
		var ver [2]byte
		if _, err := io.ReadFull(br, ver[:]); err != nil {
			return nil
		}
		user := make([]byte, ver[1])
		io.ReadFull(br, user)
		plen, _ := br.ReadByte()
		pass := make([]byte, plen)
		io.ReadFull(br, pass)
		if string(user) != p.cfg.User || string(pass) != p.cfg.Password {
			c.Write([]byte{1, 1})
			return nil
		}
		c.Write([]byte{1, 0})
	}
	var req [4]byte
	if _, err := io.ReadFull(br, req[:]); err != nil {
		return nil
	}
	var host string
	switch req[3] {
	case 1:
		var a [4]byte
		io.ReadFull(br, a[:])
		host = netip.AddrFrom4(a).String()
	case 4:
		var a [16]byte
		io.ReadFull(br, a[:])
		host = netip.AddrFrom16(a).String()
	case 3:
		l, _ := br.ReadByte()
		name := make([]byte, l)
		io.ReadFull(br, name)
		host = string(name)
	}
	var portb [2]byte
	if _, err := io.ReadFull(br, portb[:]); err != nil {
		return nil
	}
	port := int(binary.BigEndian.Uint16(portb[:]))
	reply := func(code byte) { c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0}) }
	if req[1] != 1 {
		reply(7)
		return nil
	}
	if p.denied(port) {
		reply(2)
		return nil
	}
	t, err := p.dialTarget(net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			reply(5)
		case errors.As(err, &ne) && ne.Timeout():
			reply(6)
		default:
			reply(4)
		}
		return nil
	}
	p.established()
	reply(0)
	return t
}

func (p *Proxy) http(c net.Conn, br *bufio.Reader) net.Conn {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil
	}
	respond := func(status int, extra string) {
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", status, http.StatusText(status), extra)
	}
	if req.Method != http.MethodConnect {
		respond(http.StatusMethodNotAllowed, "")
		return nil
	}
	if p.cfg.User != "" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.cfg.User+":"+p.cfg.Password))
		if req.Header.Get("Proxy-Authorization") != want {
			respond(http.StatusProxyAuthRequired, "Proxy-Authenticate: Basic realm=\"mailscout test\"\r\n")
			return nil
		}
	}
	_, portStr, _ := net.SplitHostPort(req.Host)
	port, _ := strconv.Atoi(portStr)
	if p.denied(port) {
		respond(http.StatusForbidden, "")
		return nil
	}
	t, err := p.dialTarget(req.Host)
	if err != nil {
		respond(http.StatusBadGateway, "")
		return nil
	}
	ok := "HTTP/1.1 200 Connection established\r\n\r\n"
	p.established()
	if p.cfg.Coalesce {
		// Wait for the mail server's greeting and send it in the same write as the "200".
		buf := make([]byte, 4096)
		t.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _ := t.Read(buf)
		t.SetReadDeadline(time.Time{})
		c.Write(append([]byte(ok), buf[:n]...))
		return t
	}
	c.Write([]byte(ok))
	return t
}
