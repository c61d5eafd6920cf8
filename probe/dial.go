package probe

import (
	"context"
	"net"
	"strconv"

	"github.com/mailscout/mailscout/internal/dialrace"
)

// dial connects to the target: to Target.Addrs (raced, RFC 8305 style) when given and the
// dialer resolves names here, otherwise to host:port. The connect timeout bounds either. A
// context that is already done dials nothing.
func dial(ctx context.Context, t Target, opts *Options) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	d := opts.Dial
	if len(t.Addrs) == 0 || d.ResolvesRemotely() {
		return d.DialContext(dctx, "tcp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	}
	return dialrace.Dial(dctx, d.DialContext, t.Addrs, t.Port)
}
