package discover

import (
	"io"
	"net"
	"time"
)

// A session's slot is free when the server has closed the session, not when the client has
// left it. Probes say goodbye (QUIT, LOGOUT) without waiting for the answer, so that the
// verdict is not held up by a round trip; the dispatcher takes the connection over (through
// probe.Options.Linger) and waits for the server's answer and close — what RFC 5321 §4.1.1.10
// asks of a client — before the address may have another session. A server that limits
// sessions per client (Postfix's smtpd_client_connection_count_limit, Dovecot's
// mail_max_userip_connections) counts the old one until then: measured against Postfix on a
// loaded machine, its 221 came 20–60 ms after the QUIT, longer than any fixed pause would
// cover.

// linger is the goodbye of one session: ended when the server has closed (or the wait was
// given up), release when the flight has finished meanwhile and left the slot to be freed here.
type linger struct {
	ended, release bool
}

// Bounds of the wait for the server's close: a few round trips, at least lingerFloor (a loaded
// server answers QUIT late), never more than lingerCap (a server that never closes must not
// hold a slot for long), and lingerBytes read at most (the answer to QUIT is one line; TLS adds
// a close_notify).
const (
	lingerFactor = 4
	lingerFloor  = 250 * time.Millisecond
	lingerCap    = time.Second
	lingerBytes  = 64 << 10
)

// linger takes over f's connection after its goodbye, until the server closes it.
func (d *dispatcher) linger(f *flight, c net.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		c.Close()
		return
	}
	a := f.addr
	wait := lingerCap
	if a.rtt > 0 && !d.proxied {
		wait = min(max(lingerFactor*a.rtt, lingerFloor), lingerCap)
	}
	l := &linger{}
	f.linger = l
	d.lingering[c] = struct{}{}
	c.SetReadDeadline(time.Now().Add(wait))
	d.wg.Go(func() {
		io.Copy(io.Discard, io.LimitReader(c, lingerBytes)) // until EOF, the deadline or the bound
		c.Close()
		d.mu.Lock()
		defer d.mu.Unlock()
		delete(d.lingering, c)
		l.ended = true
		if l.release {
			// The server has closed; it may take a moment to stop counting the session.
			d.releaseAfter(a, slotCooldown)
		}
	})
}

// releaseAfter frees one slot of a (and of the concurrency limit) after a pause. After close,
// at once: nothing may change once close has returned (close settles the pending ones).
func (d *dispatcher) releaseAfter(a *addrInfo, pause time.Duration) {
	if d.closed {
		d.freeSlot(a)
		return
	}
	var t *time.Timer
	t = time.AfterFunc(pause, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if _, ok := d.releases[t]; !ok {
			return // close settled it
		}
		delete(d.releases, t)
		d.freeSlot(a)
		d.ready.fix(a)
		d.pump()
	})
	d.releases[t] = a
}

// freeSlot frees one slot of a and of the concurrency limit.
func (d *dispatcher) freeSlot(a *addrInfo) {
	a.held--
	d.running--
}
