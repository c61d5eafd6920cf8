package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DialFunc opens a connection (to the proxy itself).
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// ResolveFunc finds a host's addresses, for the kinds that resolve names locally.
type ResolveFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// Kinds of proxy, as URL schemes. They are a public contract (README.md, "Proxies").
const (
	SOCKS4  = "socks4"  // IPv4 only; names resolved here
	SOCKS4A = "socks4a" // the proxy resolves names
	SOCKS5  = "socks5"  // names resolved here
	SOCKS5H = "socks5h" // the proxy resolves names
	HTTP    = "http"    // HTTP CONNECT; the proxy resolves names
)

// Dialer connects to targets through one proxy.
type Dialer struct {
	Kind     string
	Addr     string // the proxy's host:port
	User     string
	Password string
	// Forward reaches the proxy; nil means a net.Dialer.
	Forward DialFunc
	// Resolve resolves target names for SOCKS4 and SOCKS5; nil means net.DefaultResolver.
	Resolve ResolveFunc
}

// Parse reads a proxy URL: socks4://, socks4a://, socks5://, socks5h:// or http://, with an
// optional user:password@. The port defaults to 1080 for SOCKS and 8080 for HTTP.
func Parse(raw string) (*Dialer, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("proxy URL: %w", err)
	}
	d := &Dialer{Kind: strings.ToLower(u.Scheme)}
	port := "1080"
	switch d.Kind {
	case SOCKS4, SOCKS4A, SOCKS5, SOCKS5H:
	case HTTP:
		port = "8080"
	case "https":
		return nil, errors.New("proxy URL: https:// proxies (TLS to the proxy) are not supported; use http:// for CONNECT")
	default:
		return nil, fmt.Errorf("proxy URL %q: scheme must be socks4, socks4a, socks5, socks5h or http", u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("proxy URL %q has no host", u.Redacted())
	}
	if u.Port() != "" {
		port = u.Port()
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("proxy URL %q: bad port", u.Redacted())
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("proxy URL %q: a proxy URL has no path or query", u.Redacted())
	}
	d.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		d.User = u.User.Username()
		d.Password, _ = u.User.Password()
		if d.Kind == SOCKS4 || d.Kind == SOCKS4A {
			if _, has := u.User.Password(); has {
				return nil, errors.New("proxy URL: SOCKS 4 has a user ID but no password")
			}
		}
	}
	return d, nil
}

// ResolvesRemotely says whether the proxy, not this machine, resolves target host names.
// Together with DialContext it makes a Dialer the probe package's connection seam.
func (d *Dialer) ResolvesRemotely() bool {
	return d.Kind == SOCKS4A || d.Kind == SOCKS5H || d.Kind == HTTP
}

// ProxyURL is the proxy URL with the password left out: safe for reports and logs.
func (d *Dialer) ProxyURL() string { return d.String() }

// String is the proxy URL with the password left out: safe for reports and logs.
func (d *Dialer) String() string {
	u := url.URL{Scheme: d.Kind, Host: d.Addr}
	if d.User != "" {
		u.User = url.User(d.User)
	}
	return u.String()
}

// DialContext connects to address (host:port) through the proxy. ctx bounds everything: the
// connection to the proxy, authentication and the proxy's own connection to the target.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil, fmt.Errorf("proxy: network %q not supported", network)
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("proxy: bad port in %q", address)
	}
	if !d.ResolvesRemotely() {
		if host, err = d.resolve(ctx, host); err != nil {
			return nil, err
		}
	}
	forward := d.Forward
	if forward == nil {
		var nd net.Dialer
		forward = nd.DialContext
	}
	c, err := forward(ctx, "tcp", d.Addr)
	if err != nil {
		return nil, &Error{Proxy: d.String(), Kind: KindProxy, Reason: "cannot reach the proxy: " + describeDialError(err), Err: err}
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	// The handshake must also stop at once when ctx is canceled.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	var tunnel net.Conn
	switch d.Kind {
	case SOCKS4, SOCKS4A:
		tunnel, err = d.socks4(c, host, port)
	case SOCKS5, SOCKS5H:
		tunnel, err = d.socks5(c, host, port)
	case HTTP:
		tunnel, err = d.connect(c, host, port)
	}
	canceled := !stop()
	if err == nil && canceled {
		err = ctx.Err()
	}
	if err != nil {
		c.Close()
		var pe *Error
		if !errors.As(err, &pe) {
			if ctx.Err() != nil {
				err = &Error{Proxy: d.String(), Kind: KindTimeout, Reason: "no complete answer from the proxy in time", Err: ctx.Err()}
			} else {
				err = &Error{Proxy: d.String(), Kind: KindProxy, Reason: "proxy handshake failed: " + err.Error(), Err: err}
			}
		}
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return tunnel, nil
}

func (d *Dialer) resolve(ctx context.Context, host string) (string, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		if d.Kind == SOCKS4 && !ip.Unmap().Is4() {
			return "", &Error{Proxy: d.String(), Kind: KindProxy, Reason: "SOCKS 4 cannot reach the IPv6 address " + host}
		}
		return ip.Unmap().String(), nil
	}
	resolve := d.Resolve
	if resolve == nil {
		resolve = func(ctx context.Context, h string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
		}
	}
	addrs, err := resolve(ctx, host)
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if d.Kind != SOCKS4 || a.Unmap().Is4() {
			return a.Unmap().String(), nil
		}
	}
	return "", &Error{Proxy: d.String(), Kind: KindProxy, Reason: fmt.Sprintf("SOCKS 4 needs an IPv4 address and %s has none (socks4a lets the proxy resolve)", host)}
}

func describeDialError(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "connection timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	return err.Error()
}
