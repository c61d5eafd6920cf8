//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mailscout/mailscout/mailsim"
)

// The real world: Debian's nsd, Postfix, Dovecot and nginx, configured by this file, listening
// on 127.0.x addresses inside the test's network namespace.
//
//	127.0.0.1:53   nsd, authoritative for the test zones (and every program's resolver)
//	127.0.2.10     Postfix: 25 behind postscreen (a "220-" pre-greeting, 2 s), 587 STARTTLS with
//	               smtpd_tls_auth_only, 465 implicit TLS; SASL from Dovecot
//	127.0.2.11     the same Postfix, with 465 dropped by nftables (connects hang)
//	127.0.2.12     one host serving both: the same Postfix on 587 and 465, the same Dovecot on
//	               143, 993, 110 and 995; nftables drops 465, 993 and 995 (only STARTTLS gets in)
//	127.0.2.13     the same Postfix on 587 only, one connection at a time per client
//	               (smtpd_client_connection_count_limit = 1: a second session gets a 421),
//	               answering EHLO after a second
//	127.0.2.20     Dovecot: IMAP 143/993, POP3 110/995, disable_plaintext_auth, auth for Postfix
//	127.0.2.21     the same Dovecot with an expired certificate
//	127.0.2.22     the same Dovecot with a certificate for another name
//	127.0.2.23     a second Dovecot, IMAP 143/993, that speaks only TLS 1.0 and 1.1
//	127.0.2.30     nginx: autoconfig XML over HTTPS for autoconfig.autoconf.test
//
// The hosting provider hosting.test has addresses of its own, one per name, so that what is
// counted at an address and port is one endpoint's traffic (TestBatchProbesSharedEndpointsOnce):
//
//	127.0.2.14     mx1.hosting.test, its MX host: the same Postfix (25, 587, 465); no IMAP or POP3
//	127.0.2.15     smtp.hosting.test: the same Postfix
//	127.0.2.24     imap.hosting.test: the same Dovecot
//	127.0.2.31     autoconfig.hosting.test: the same nginx, which logs the requests here
//
// Dovecot (with auth_verbose) and Postfix log to files in the world's directory, so that tests
// can count what the servers saw; a failed test prints them.
const (
	postfixIP   = "127.0.2.10"
	filteredIP  = "127.0.2.11"
	dropIP      = "127.0.2.12"
	busyIP      = "127.0.2.13"
	dovecotIP   = "127.0.2.20"
	expiredIP   = "127.0.2.21"
	wrongNameIP = "127.0.2.22"
	legacyIP    = "127.0.2.23"
	nginxIP     = "127.0.2.30"

	hostingMXIP   = "127.0.2.14"
	hostingSMTPIP = "127.0.2.15"
	hostingIMAPIP = "127.0.2.24"
	hostingWebIP  = "127.0.2.31"

	userName     = "alice@srvmail.test"
	userPassword = "correct horse battery staple"
)

// Names each server's certificate carries (they are all in DNS below).
var (
	postfixNames = []string{"mx.srvmail.test", "smtp.guessmail.test", "mx.guessmail.test", "smtp.hosting.test", "out.autoconf.test", "smtp.filtered.test",
		"mx.expiredcert.test", "mail.dropped.test", "busy.test", "smtp.busy.test", "mail.busy.test"}
	dovecotNames = []string{"imap.srvmail.test", "imap.guessmail.test", "pop.guessmail.test", "imap.hosting.test", "in.cluster7.autoconf.test",
		"mail.dropped.test"}
	legacyNames = []string{"imap.legacytls.test"}
)

var zones = map[string]string{
	"srvmail.test": `
@        MX 10 mx
_submissions._tcp SRV 0 1 465 mx
_submission._tcp  SRV 10 1 587 mx
_imaps._tcp       SRV 0 1 993 imap
_imap._tcp        SRV 10 1 143 imap
_pop3s._tcp       SRV 0 1 995 imap
_pop3._tcp        SRV 10 1 110 imap
mx       A ` + postfixIP + `
imap     A ` + dovecotIP + `
`,
	"guessmail.test": `
@        MX 10 mx
mx       A ` + postfixIP + `
smtp     A ` + postfixIP + `
imap     A ` + dovecotIP + `
pop      A ` + dovecotIP + `
`,
	"customer.test": `
@        MX 10 mx1.hosting.test.
`,
	"hosting.test": `
mx1        A ` + hostingMXIP + `
autoconfig A ` + hostingWebIP + `
imap       A ` + hostingIMAPIP + `
smtp       A ` + hostingSMTPIP + `
`,
	// The hosting provider's customers: every name under customers.test has its mail at
	// hosting.test and nothing else (nsd synthesizes the MX from the wildcard; other types get
	// an empty answer).
	"customers.test": `
*        MX 10 mx1.hosting.test.
`,
	"autoconf.test": `
@            MX 10 mx
mx           A ` + postfixIP + `
autoconfig   A ` + nginxIP + `
in.cluster7  A ` + dovecotIP + `
out          A ` + postfixIP + `
`,
	"filtered.test": `
smtp     A ` + filteredIP + `
`,
	"realmail.test": `
expired    A ` + expiredIP + `
wrongname  A ` + wrongNameIP + `
`,
	// The only IMAP server is the Dovecot whose certificate expired; the MX (a working Postfix)
	// makes the domain's own addresses loopback, as its servers' are.
	"expiredcert.test": `
@        MX 10 mx
mx       A ` + postfixIP + `
imap     A ` + expiredIP + `
`,
	// The only IMAP server speaks only TLS 1.0/1.1, and there is no SMTP server at all (the MX
	// host is the IMAP host): the exit code says what happened to IMAP alone.
	"legacytls.test": `
@        MX 10 imap
imap     A ` + legacyIP + `
`,
	// One host for everything, behind a firewall that lets only the STARTTLS ports through.
	"dropped.test": `
@        MX 10 mail
mail     A ` + dropIP + `
`,
	// Three names for one Postfix that takes one connection at a time: discovery guesses
	// smtp., mail. and the bare domain, and opens a session to 587 under each.
	"busy.test": `
@        MX 10 mail
@        A ` + busyIP + `
mail     A ` + busyIP + `
smtp     A ` + busyIP + `
`,
}

const hostingXML = `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1"><emailProvider id="hosting.test"><domain>hosting.test</domain>
<displayName>Hosting</displayName>
<incomingServer type="imap"><hostname>imap.hosting.test</hostname><port>993</port><socketType>SSL</socketType>
<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.hosting.test</hostname><port>465</port><socketType>SSL</socketType>
<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>
`

const autoconfXML = `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1"><emailProvider id="autoconf.test"><domain>autoconf.test</domain>
<displayName>Autoconf</displayName>
<incomingServer type="imap"><hostname>in.cluster7.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>
<authentication>password-cleartext</authentication><username>%EMAILLOCALPART%</username></incomingServer>
<outgoingServer type="smtp"><hostname>out.autoconf.test</hostname><port>587</port><socketType>STARTTLS</socketType>
<authentication>password-cleartext</authentication><username>%EMAILLOCALPART%</username></outgoingServer>
</emailProvider></clientConfig>
`

// world is one test's real world: the CA file clients should trust, and the servers' logs.
type world struct {
	ca         string // PEM file of the test's private CA
	dovecotLog string // Dovecot's log; auth_verbose writes one "Password mismatch" per rejected login
	postfixLog string // Postfix's maillog_file
	// nginx's access log of autoconfig.hosting.test: one line per request
	hostingAccessLog string
}

// realWorld starts every server and returns the CA file clients should trust.
func realWorld(t *testing.T) (caFile string) {
	t.Helper()
	return startRealWorld(t).ca
}

// startRealWorld starts every server (each stopped when the test ends) and says where their
// logs are.
func startRealWorld(t *testing.T) *world {
	t.Helper()
	// Not t.TempDir: its parent is private, and the daemons drop privileges.
	dir, err := os.MkdirTemp("", "mailscout-it-")
	must(t, err)
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	var ca *mailsim.CA
	ca, err = mailsim.NewCA("mailscout Integration CA")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{ca: filepath.Join(dir, "ca.pem"), dovecotLog: filepath.Join(dir, "dovecot.log"), postfixLog: filepath.Join(dir, "postfix.log"),
		hostingAccessLog: filepath.Join(dir, "nginx-hosting-access.log")}
	must(t, ca.WritePEM(w.ca))
	// Registered before the daemons' cleanups, so it runs after they stopped: a failed test
	// prints complete logs.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, f := range []string{w.dovecotLog, filepath.Join(dir, "dovecot-legacy.log"), w.postfixLog} {
			b, _ := os.ReadFile(f)
			t.Logf("%s:\n%s", filepath.Base(f), b)
		}
	})
	startNSD(t, dir)
	startDovecot(t, dir, ca)
	startLegacyDovecot(t, dir, ca)
	startPostfix(t, dir, ca)
	startNginx(t, dir, ca)
	run(t, "nft", "-f", writeIn(t, dir, "nft.conf", fmt.Sprintf(`table inet mailscout {
  chain input {
    type filter hook input priority 0;
    ip daddr %s tcp dport 465 drop
    ip daddr %s tcp dport { 465, 993, 995 } drop
  }
}
`, filteredIP, dropIP)))
	t.Cleanup(func() { exec.Command("nft", "delete", "table", "inet", "mailscout").Run() })
	return w
}

// countLines counts the lines of a log file that contain s.
func countLines(t *testing.T, file, s string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeIn(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func addr(ip string, port int) string { return fmt.Sprintf("%s:%d", ip, port) }

func startNSD(t *testing.T, dir string) {
	var conf strings.Builder
	// nsd limits the answers to one client to 200 a second (response rate limiting, against
	// reflection attacks) and drops the rest: here every program is that one client, and a batch
	// asks thousands of questions a second.
	fmt.Fprintf(&conf, "server:\n  ip-address: 127.0.0.1@53\n  username: \"\"\n  chroot: \"\"\n  zonesdir: %q\n  pidfile: %q\n  database: \"\"\n  zonelistfile: %q\n  xfrdfile: %q\n  xfrdir: %q\n  logfile: %q\n  verbosity: 1\n  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\nremote-control:\n  control-enable: no\n",
		dir, dir+"/nsd.pid", dir+"/zone.list", dir+"/xfrd.state", dir, dir+"/nsd.log")
	for name, body := range zones {
		zone := fmt.Sprintf("$ORIGIN %s.\n$TTL 300\n@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ NS ns.%s.\nns A 127.0.0.1\n%s", name, name, name, name, body)
		writeIn(t, dir, name+".zone", zone)
		fmt.Fprintf(&conf, "zone:\n  name: %s\n  zonefile: %s.zone\n", name, name)
	}
	daemon(t, "127.0.0.1:53", "nsd", "-d", "-c", writeIn(t, dir, "nsd.conf", conf.String()))
}

func startDovecot(t *testing.T, dir string, ca *mailsim.CA) {
	cert, key, err := ca.IssueFiles(mailsim.CertValid, dir, "dovecot", dovecotNames...)
	must(t, err)
	ecert, ekey, err := ca.IssueFiles(mailsim.CertExpired, dir, "dovecot-expired", "expired.realmail.test")
	must(t, err)
	wcert, wkey, err := ca.IssueFiles(mailsim.CertWrongName, dir, "dovecot-wrongname", "wrongname.realmail.test")
	must(t, err)
	// A {PLAIN} password lets CRAM-MD5 work; the file is read by the auth process only.
	users := writeIn(t, dir, "users", userName+":{PLAIN}"+userPassword+"::::::\n")
	os.Chmod(users, 0o644)
	mail := filepath.Join(dir, "mail")
	must(t, os.MkdirAll(mail, 0o777))
	os.Chmod(mail, 0o777)
	conf := fmt.Sprintf(`protocols = imap pop3
listen = %s, %s, %s, %s, %s
base_dir = %s/dovecot-run
state_dir = %s/dovecot-state
log_path = %s/dovecot.log
# One line per rejected login ("Password mismatch"), whoever asked: IMAP, POP3 or Postfix.
auth_verbose = yes
ssl = yes
ssl_min_protocol = TLSv1.2
ssl_cert = <%s
ssl_key = <%s
local %s {
  ssl_cert = <%s
  ssl_key = <%s
}
local %s {
  ssl_cert = <%s
  ssl_key = <%s
}
disable_plaintext_auth = yes
auth_mechanisms = plain login cram-md5 scram-sha-256
passdb {
  driver = passwd-file
  args = scheme=PLAIN %s
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=%s/%%n
}
mail_location = maildir:~/Maildir
# The mail belongs to the dovecot system user, whose UID is below Debian's default minimum.
first_valid_uid = 100
service auth {
  inet_listener {
    address = %s
    port = 12345
  }
}
`, dovecotIP, expiredIP, wrongNameIP, dropIP, hostingIMAPIP, dir, dir, dir, cert, key, expiredIP, ecert, ekey, wrongNameIP, wcert, wkey, users, mail, dovecotIP)
	daemon(t, addr(dovecotIP, 993), "dovecot", "-F", "-c", writeIn(t, dir, "dovecot.conf", conf))
}

// startLegacyDovecot starts a Dovecot of its own that speaks only TLS 1.0 and 1.1, as old
// servers still do. Debian's OpenSSL 3 refuses both versions at its default security level, so
// the cipher list lowers it to 0; Dovecot 2.3 sets a floor (ssl_min_protocol) but no ceiling, so
// OpenSSL's own configuration caps the session at TLS 1.1 (MaxProtocol), through OPENSSL_CONF,
// which Dovecot passes to its login processes only when import_environment names it. A Dovecot
// of its own because that configuration holds for the whole process.
func startLegacyDovecot(t *testing.T, dir string, ca *mailsim.CA) {
	cert, key, err := ca.IssueFiles(mailsim.CertValid, dir, "dovecot-legacy", legacyNames...)
	must(t, err)
	sslConf := writeIn(t, dir, "openssl-legacy.cnf", `openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_module
[ssl_module]
system_default = legacy_only
[legacy_only]
MinProtocol = TLSv1
MaxProtocol = TLSv1.1
CipherString = DEFAULT:@SECLEVEL=0
`)
	conf := fmt.Sprintf(`protocols = imap
listen = %[1]s
base_dir = %[2]s/dovecot-legacy-run
state_dir = %[2]s/dovecot-legacy-state
log_path = %[2]s/dovecot-legacy.log
import_environment = TZ OPENSSL_CONF=%[3]s
ssl = yes
ssl_min_protocol = TLSv1
ssl_cipher_list = DEFAULT:@SECLEVEL=0
ssl_cert = <%[4]s
ssl_key = <%[5]s
disable_plaintext_auth = yes
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[2]s/users
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=%[2]s/mail/%%n
}
mail_location = maildir:~/Maildir
first_valid_uid = 100
`, legacyIP, dir, sslConf, cert, key)
	daemon(t, addr(legacyIP, 993), "dovecot", "-F", "-c", writeIn(t, dir, "dovecot-legacy.conf", conf))
}

func startPostfix(t *testing.T, dir string, ca *mailsim.CA) {
	pdir := filepath.Join(dir, "postfix")
	cert, key, err := ca.IssueFiles(mailsim.CertValid, dir, "postfix", postfixNames...)
	must(t, err)
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
# Tests read the log: the 421 refusals of the busy address are counted there.
maillog_file = %[7]s/postfix.log
maillog_file_prefixes = %[7]s
inet_interfaces = %[2]s, %[3]s, %[8]s, %[9]s
inet_protocols = ipv4
myhostname = mx.srvmail.test
mydestination =
relay_domains =
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_tls_cert_file = %[4]s
smtpd_tls_key_file = %[5]s
smtpd_tls_security_level = may
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:%[6]s:12345
postscreen_greet_banner = $smtpd_banner (postscreen)
postscreen_greet_wait = 2s
# Every connection meets the pre-greeting, not only a client's first.
postscreen_greet_ttl = 1s
postscreen_greet_action = enforce
postscreen_dnsbl_sites =
# Loopback clients would be on mynetworks and skip postscreen's tests: make them strangers.
mynetworks = 192.0.2.0/24
postscreen_access_list =
`, pdir, postfixIP, filteredIP, cert, key, dovecotIP, dir, hostingMXIP, hostingSMTPIP)
	// Services bound to one address serve only there (inet_interfaces is for the others). The
	// busy address's limit is counted per client by anvil (which must run), and applies to
	// 127.0.0.1 because mynetworks leaves it out of smtpd_client_event_limit_exceptions. Its
	// EHLO answers after a second (sleep, evaluated at EHLO with smtpd_delay_reject=no): a
	// session of a few milliseconds may end before discovery opens the next one under another
	// name, a session of two seconds overlaps the others, whatever the scheduling.
	masterCF := `smtp       inet  n  -  n  -  1  postscreen
smtpd      pass  -  -  n  -  -  smtpd
dnsblog    unix  -  -  n  -  0  dnsblog
tlsproxy   unix  -  -  n  -  0  tlsproxy
submission inet  n  -  n  -  -  smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
submissions inet n  -  n  -  -  smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
` + dropIP + `:submission inet n  -  n  -  -  smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
` + dropIP + `:submissions inet n  -  n  -  -  smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
` + busyIP + `:submission inet n  -  n  -  -  smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_connection_count_limit=1
  -o smtpd_delay_reject=no
  -o { smtpd_helo_restrictions = sleep 1 }
pickup     unix  n  -  n  60 1  pickup
cleanup    unix  n  -  n  -  0  cleanup
qmgr       unix  n  -  n  300 1 qmgr
tlsmgr     unix  -  -  n  1000? 1 tlsmgr
rewrite    unix  -  -  n  -  -  trivial-rewrite
bounce     unix  -  -  n  -  0  bounce
defer      unix  -  -  n  -  0  bounce
trace      unix  -  -  n  -  0  bounce
verify     unix  -  -  n  -  1  verify
flush      unix  n  -  n  1000? 0 flush
proxymap   unix  -  -  n  -  -  proxymap
anvil      unix  -  -  n  -  1  anvil
scache     unix  -  -  n  -  1  scache
error      unix  -  -  n  -  -  error
retry      unix  -  -  n  -  -  error
discard    unix  -  -  n  -  -  discard
local      unix  -  n  n  -  -  local
virtual    unix  -  n  n  -  -  virtual
lmtp       unix  -  -  n  -  -  lmtp
smtp-out   unix  -  -  n  -  -  smtp
relay      unix  -  -  n  -  -  smtp
postlog    unix-dgram n  -  n  -  1  postlogd
`
	writeIn(t, pdir, "main.cf", mainCF)
	writeIn(t, pdir, "master.cf", masterCF)
	// The queue belongs to root, the data directory to the postfix user (postfix check
	// creates the rest).
	must(t, os.MkdirAll(filepath.Join(pdir, "queue"), 0o755))
	must(t, os.MkdirAll(filepath.Join(pdir, "data"), 0o700))
	pu, err := user.Lookup("postfix")
	must(t, err)
	uid, _ := strconv.Atoi(pu.Uid)
	gid, _ := strconv.Atoi(pu.Gid)
	must(t, os.Chown(filepath.Join(pdir, "data"), uid, gid))
	run(t, "postfix", "-c", pdir, "check")
	daemon(t, addr(postfixIP, 587), "postfix", "-c", pdir, "start-fg")
	// master runs in a session of its own: stop it by the PID it recorded.
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(pdir, "queue", "pid", "master.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	})
}

func startNginx(t *testing.T, dir string, ca *mailsim.CA) {
	cert, key, err := ca.IssueFiles(mailsim.CertValid, dir, "nginx", "autoconfig.hosting.test", "autoconfig.autoconf.test")
	must(t, err)
	writeIn(t, dir, "www/hosting/mail/config-v1.1.xml", hostingXML)
	writeIn(t, dir, "www/autoconf/mail/config-v1.1.xml", autoconfXML)
	conf := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log stderr;
events {}
http {
  access_log off;
  client_body_temp_path %[1]s/nginx-body;
  proxy_temp_path %[1]s/nginx-proxy;
  fastcgi_temp_path %[1]s/nginx-fastcgi;
  uwsgi_temp_path %[1]s/nginx-uwsgi;
  scgi_temp_path %[1]s/nginx-scgi;
  default_type text/xml;
  server {
    listen %[5]s:443 ssl;
    server_name autoconfig.hosting.test;
    access_log %[1]s/nginx-hosting-access.log;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    root %[1]s/www/hosting;
  }
  server {
    listen %[2]s:443 ssl;
    server_name autoconfig.autoconf.test;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    root %[1]s/www/autoconf;
  }
}
`, dir, nginxIP, cert, key, hostingWebIP)
	daemon(t, addr(nginxIP, 443), "nginx", "-c", writeIn(t, dir, "nginx.conf", conf))
}
