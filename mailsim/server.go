package mailsim

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Protocol and Mode mirror the probe package's names without importing it, so mailsim stays
// a leaf that any package's tests can use.
type Protocol string

const (
	SMTP Protocol = "smtp"
	IMAP Protocol = "imap"
	POP3 Protocol = "pop3"
)

// Mode is how the server protects connections.
type Mode string

const (
	TLS      Mode = "tls"      // implicit TLS: waits for a ClientHello, greets over TLS
	StartTLS Mode = "starttls" // plaintext greeting, offers STARTTLS/STLS
	Plain    Mode = "plain"    // plaintext only, never offers STARTTLS
)

// Behavior makes a server misbehave in one named way. Each maps to a case in the test list of
// ../shared/reference/diagnostics.md.
type Behavior string

const (
	Normal             Behavior = ""
	Silent             Behavior = "silent"               // accepts, never says anything
	EndlessLine        Behavior = "endless_line"         // greeting bytes without any line end
	EndlessReply       Behavior = "endless_reply"        // "220-x" / "* OK x" lines without end
	OneByte            Behavior = "one_byte"             // every reply sent one byte per write
	Reject             Behavior = "reject"               // 421 / * BYE / -ERR greeting, then close
	Reject554          Behavior = "reject_554"           // SMTP 554 greeting, then waits for QUIT
	Preauth            Behavior = "preauth"              // IMAP * PREAUTH greeting
	StartTLSRefused    Behavior = "starttls_refused"     // offers STARTTLS, answers 454 / NO / -ERR
	Injection          Behavior = "injection"            // sends an extra line with the STARTTLS go-ahead
	ResetOnClientHello Behavior = "reset_on_clienthello" // closes with RST when the client sends anything
	NoEHLO             Behavior = "no_ehlo"              // SMTP: EHLO answered 502, HELO works
	NoCAPA             Behavior = "no_capa"              // POP3: CAPA answered -ERR (STLS still works)
	WrongTag           Behavior = "wrong_tag"            // IMAP: answers with another tag
	UnsolicitedCaps    Behavior = "unsolicited_caps"     // IMAP: [CAPABILITY …] in the STARTTLS OK
	NotMail            Behavior = "not_mail"             // greets like an HTTP server would
	NonUTF8            Behavior = "non_utf8"             // greeting text in GB2312 with a NUL
	StallAfterTLS      Behavior = "stall_after_tls"      // once TLS is up, reads the next command and never answers
	BrokenCRAM         Behavior = "broken_cram"          // advertises CRAM-MD5, which then always fails
	Drip               Behavior = "drip"                 // the greeting dribbles out a byte every 200 ms (a tarpit)
	ScramImpostor      Behavior = "scram_impostor"       // SCRAM: accepts any proof and never proves it knows the password
)

// Config describes one server. The zero value of each field is a sensible default.
type Config struct {
	Protocol Protocol
	Mode     Mode
	Hostname string   // greeting name and certificate name; default "mail.example.test"
	Cert     CertKind // default CertValid
	TLSMin   uint16   // default TLS 1.2
	TLSMax   uint16   // default TLS 1.3

	AuthBeforeTLS []string // SASL mechanisms advertised in plaintext
	AuthAfterTLS  []string // SASL mechanisms advertised over TLS
	// LoginDisabledBeforeTLS makes IMAP advertise LOGINDISABLED in plaintext (Dovecot's default).
	LoginDisabledBeforeTLS bool
	APOP                   bool // POP3 greeting carries an APOP timestamp
	GreetingCaps           bool // IMAP greeting carries [CAPABILITY …]

	// Greeting replaces the text of the greeting after its status ("220 ", "* OK ", "+OK ").
	Greeting string
	// MaxSessions, when positive, is how many connections the server serves at once; one more
	// is refused in the protocol's words (421, * BYE, -ERR), as Postfix's
	// smtpd_client_connection_count_limit does.
	MaxSessions int

	GreetingDelay time.Duration // silence before the greeting
	// QuitDelay is how long the server takes to answer QUIT/LOGOUT and close: a loaded server
	// goes on counting the session against its limits for that long after the client has left.
	QuitDelay time.Duration
	// PreGreetingDelay sends a postscreen-style "220-" line, waits this long, then the final
	// "220 " line (SMTP only).
	PreGreetingDelay time.Duration
	// WriteLatency delays every write (TLS handshake flights included) as a network round trip
	// would: a command answered at once reaches the client one WriteLatency after it was sent.
	WriteLatency time.Duration
	Behavior     Behavior
	// OnStall, if set, is called each time a StallAfterTLS connection starts stalling.
	OnStall func()
	// Gauge, if set, counts this server's open connections together with others' (a World
	// gives all servers of a host one gauge: what a client sees as one address).
	Gauge *Gauge
	// Listen is the address to listen on; default "127.0.0.1:0" (any free loopback port).
	Listen string
	// Users are the accounts (user name → password) logins are checked against; Token is the
	// OAuth bearer token XOAUTH2 and OAUTHBEARER accept.
	Users map[string]string
	Token string
}

// Server is one running mail server on a loopback port.
type Server struct {
	cfg  Config
	ln   net.Listener
	tls  *tls.Config
	done chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	// Accepted counts connections, so tests can assert how many a client opened.
	accepted int
	auth     authLog
}

// Start listens on 127.0.0.1 on a free port and serves until Close.
func Start(cfg Config, ca *CA) (*Server, error) {
	if cfg.Hostname == "" {
		cfg.Hostname = "mail.example.test"
	}
	if cfg.Cert == "" {
		cfg.Cert = CertValid
	}
	if cfg.TLSMin == 0 {
		cfg.TLSMin = tls.VersionTLS12
	}
	if cfg.TLSMax == 0 {
		cfg.TLSMax = tls.VersionTLS13
	}
	s := &Server{cfg: cfg, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	if ca != nil {
		cert, err := ca.Issue(cfg.Cert, cfg.Hostname)
		if err != nil {
			return nil, err
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: cfg.TLSMin, MaxVersion: cfg.TLSMax}
		if cfg.TLSMin < tls.VersionTLS12 {
			// Legacy clients need the legacy suites; name them so Go offers them.
			for _, c := range tls.CipherSuites() {
				s.tls.CipherSuites = append(s.tls.CipherSuites, c.ID)
			}
			for _, c := range tls.InsecureCipherSuites() {
				s.tls.CipherSuites = append(s.tls.CipherSuites, c.ID)
			}
		}
	} else if cfg.Mode != Plain {
		return nil, errors.New("mailsim: a TLS or STARTTLS server needs a CA")
	}
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("mailsim: listen: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Gauge counts open connections and remembers the most there were at once.
type Gauge struct {
	mu       sync.Mutex
	open, hi int
}

func (g *Gauge) inc() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.open++
	g.hi = max(g.hi, g.open)
	g.mu.Unlock()
}

func (g *Gauge) dec() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.open--
	g.mu.Unlock()
}

// Max is the most connections that were open at once.
func (g *Gauge) Max() int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hi
}

// Addr is the loopback address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port is the loopback port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Config returns the server's configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Accepted returns how many connections the server has accepted.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Close stops the server, closes every connection and waits for their goroutines.
func (s *Server) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	close(s.done)
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = struct{}{}
		s.accepted++
		s.wg.Add(1)
		s.mu.Unlock()
		s.cfg.Gauge.inc()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
				s.cfg.Gauge.dec()
			}()
			s.serve(c)
		}()
	}
}

// conn is the server side of one session.
type conn struct {
	s     *Server
	raw   net.Conn
	c     net.Conn
	br    *bufio.Reader
	tlsOn bool
	// greeted is set once the first reply is out (Drip drips only that one).
	greeted bool
}

// errStop ends a session quietly.
var errStop = errors.New("stop")

func (s *Server) serve(raw net.Conn) {
	// Bound every session: a client that vanishes must not pin a goroutine forever.
	raw.SetDeadline(time.Now().Add(2 * time.Minute))
	tcp, _ := raw.(*net.TCPConn)
	if s.cfg.WriteLatency > 0 {
		// Below TLS, so handshake flights are delayed too: one round trip per flight.
		lc := newLatencyConn(raw, s.cfg.WriteLatency)
		defer lc.Close() // delivers what is queued; serve's caller closes raw after
		raw = lc
	}
	c := &conn{s: s, raw: raw, c: raw, br: bufio.NewReader(raw)}
	if s.cfg.Behavior == ResetOnClientHello {
		buf := make([]byte, 1)
		c.raw.Read(buf)
		if tcp != nil {
			tcp.SetLinger(0) // close with RST
		}
		return
	}
	if s.cfg.Mode == TLS {
		if err := c.startTLS(); err != nil {
			return
		}
	}
	if s.cfg.Behavior == Silent {
		io.Copy(io.Discard, c.c)
		return
	}
	if s.cfg.MaxSessions > 0 && s.open() > s.cfg.MaxSessions {
		c.tooMany()
		return
	}
	if !c.sleep(s.cfg.GreetingDelay) {
		return
	}
	switch s.cfg.Protocol {
	case SMTP:
		c.smtp()
	case IMAP:
		c.imap()
	case POP3:
		c.pop3()
	}
}

func (c *conn) startTLS() error {
	tc := tls.Server(c.raw, c.s.tls)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.c, c.tlsOn = tc, true
	c.br = bufio.NewReader(tc)
	return nil
}

// sleep waits d unless the server is closing; it reports whether to go on.
func (c *conn) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.s.done:
		return false
	}
}

// send writes lines (each gets CRLF) in one write, honouring latency and one-byte mode.
func (c *conn) send(lines ...string) error {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return c.write(b.String())
}

// open is how many connections the server has now, this one included.
func (s *Server) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// tooMany refuses a session over MaxSessions the way each protocol's servers do.
func (c *conn) tooMany() {
	switch c.s.cfg.Protocol {
	case SMTP:
		c.send("421 4.7.0 " + c.s.cfg.Hostname + " Error: too many connections from your address")
	case IMAP:
		c.send("* BYE Too many connections from your address")
	case POP3:
		c.send("-ERR [IN-USE] Too many connections from your address")
	}
}

// greetingText is the greeting after its status: Config.Greeting, or what the server says
// by default.
func (c *conn) greetingText(def string) string {
	if c.s.cfg.Greeting != "" {
		return c.s.cfg.Greeting
	}
	return def
}

func (c *conn) write(data string) error {
	if c.s.cfg.Behavior == Drip && !c.greeted {
		c.greeted = true
		for i := 0; i < len(data); i++ {
			if _, err := io.WriteString(c.c, data[i:i+1]); err != nil {
				return err
			}
			if !c.sleep(200 * time.Millisecond) {
				return errStop
			}
		}
		return nil
	}
	if c.s.cfg.Behavior == OneByte {
		for i := 0; i < len(data); i++ {
			if _, err := io.WriteString(c.c, data[i:i+1]); err != nil {
				return err
			}
			if !c.sleep(200 * time.Microsecond) {
				return errStop
			}
		}
		return nil
	}
	_, err := io.WriteString(c.c, data)
	return err
}

// endless writes the same chunk until the client goes away or 8 MiB have been sent.
func (c *conn) endless(chunk string) {
	for sent := 0; sent < 8<<20; sent += len(chunk) {
		select {
		case <-c.s.done:
			return
		default:
		}
		if _, err := io.WriteString(c.c, chunk); err != nil {
			return
		}
	}
}

// readLine reads one command line (bounded at 4 KiB). With StallAfterTLS, the first command
// over TLS is read and then the session goes silent until the client or the server gives up.
func (c *conn) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	if c.tlsOn && c.s.cfg.Behavior == StallAfterTLS {
		if c.s.cfg.OnStall != nil {
			c.s.cfg.OnStall()
		}
		io.Copy(io.Discard, c.c)
		return "", errStop
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func (c *conn) auth(tlsOn bool) []string {
	if tlsOn {
		return c.s.cfg.AuthAfterTLS
	}
	return c.s.cfg.AuthBeforeTLS
}

func (c *conn) offersStartTLS() bool { return c.s.cfg.Mode == StartTLS && !c.tlsOn }

func itoa(i int) string { return strconv.Itoa(i) }
