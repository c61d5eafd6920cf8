package clientconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// MobileConfigOptions name the profile WriteMobileConfig writes.
type MobileConfigOptions struct {
	Identifier   string // reverse-DNS prefix, e.g. "org.mailscout"
	Organization string // shown as the profile's publisher; optional
}

// WriteMobileConfig writes an unsigned Apple configuration profile (an XML property list of
// PayloadType "Configuration") holding one com.apple.mail.managed payload, which iOS, iPadOS,
// macOS and visionOS Mail install as an account. Key names and values follow Apple's Mail
// payload reference (developer.apple.com/documentation/devicemanagement/mail, source
// github.com/apple/device-management mdm/profiles/com.apple.mail.managed.yaml).
//
// A profile describes exactly one account, so a.Email is required. The payload holds one
// incoming and one outgoing server, the first usable of each in input order; EmailAccountType
// follows that incoming server's protocol. Usernames are literal in this format: templates are
// expanded against a.Email. Authentication values are EmailAuthPassword (Logins PLAIN, LOGIN,
// IMAP-LOGIN, USER), else EmailAuthCRAMMD5 (CRAM-MD5), else EmailAuthNTLM (NTLM); a server with
// none of these is left out. EmailAuthNone is never written (a server that shows login methods
// wants a login) and EmailAuthHTTPMD5 is not mapped from DIGEST-MD5 because Apple does not say
// they are the same. OAuth2 and SCRAM have no value in this format.
//
// UseSSL: Apple documents only "If true, the system enables SSL for authentication". Apple Mail
// chooses implicit TLS or STARTTLS by port (Apple lists iCloud's SMTP as port 587, "SSL
// required: yes", and that port speaks STARTTLS), so UseSSL is true for both "tls" and
// "starttls" servers and false only for "plain". False would let Mail talk to a STARTTLS server
// without TLS; true on an unusual STARTTLS port at worst fails to connect.
//
// No password is included (it would belong only in an encrypted profile);
// OutgoingPasswordSameAsIncomingPassword makes Mail ask once during interactive installation.
// PayloadUUIDs are name-based (RFC 4122 §4.3, version 5, SHA-1) from o.Identifier and a.Email,
// so the same account always yields the same profile and reinstalling replaces it.
func WriteMobileConfig(w io.Writer, a Account, o MobileConfigOptions) error {
	if err := checkAccount(a); err != nil {
		return err
	}
	if a.Email == "" {
		return errors.New("clientconfig: a configuration profile describes one account and needs its e-mail address")
	}
	if !validEmail(a.Email) {
		return fmt.Errorf("clientconfig: %q is not an e-mail address", a.Email)
	}
	if !validIdentifier(o.Identifier) {
		return fmt.Errorf("clientconfig: profile identifier %q is not a reverse-DNS name such as org.mailscout", o.Identifier)
	}
	in, inAuth := firstMobile(a.Incoming)
	out, outAuth := firstMobile(a.Outgoing)
	if err := needBoth("mobileconfig", count(inAuth), count(outAuth)); err != nil {
		return err
	}
	inUser, _ := expandUsername(in.Username, a.Email) // a.Email is an address: always expands
	outUser, _ := expandUsername(out.Username, a.Email)

	accountType := "EmailTypeIMAP"
	if in.Protocol == protoPOP3 {
		accountType = "EmailTypePOP"
	}
	name := displayName(a)
	configUUID := uuidV5(namespaceURL, "mailscout-mobileconfig:"+o.Identifier+":"+a.Email+":configuration")
	mailUUID := uuidV5(namespaceURL, "mailscout-mobileconfig:"+o.Identifier+":"+a.Email+":mail")
	profileID := o.Identifier + ".email." + configUUID

	mail := plistDict{
		{"EmailAccountDescription", name},
		{"EmailAccountType", accountType},
		{"EmailAddress", a.Email},
		{"IncomingMailServerAuthentication", inAuth},
		{"IncomingMailServerHostName", in.Host},
		{"IncomingMailServerPortNumber", in.Port},
		{"IncomingMailServerUseSSL", in.Security != secPlain},
		{"IncomingMailServerUsername", inUser},
		{"OutgoingMailServerAuthentication", outAuth},
		{"OutgoingMailServerHostName", out.Host},
		{"OutgoingMailServerPortNumber", out.Port},
		{"OutgoingMailServerUseSSL", out.Security != secPlain},
		{"OutgoingMailServerUsername", outUser},
		{"OutgoingPasswordSameAsIncomingPassword", true},
		{"PayloadDescription", "Configures Mail for " + a.Email + "."},
		{"PayloadDisplayName", name + " (" + a.Email + ")"},
		{"PayloadIdentifier", profileID + ".account"},
		{"PayloadType", "com.apple.mail.managed"},
		{"PayloadUUID", mailUUID},
		{"PayloadVersion", 1},
	}
	if o.Organization != "" {
		mail = append(mail, plistEntry{"PayloadOrganization", o.Organization})
	}
	profile := plistDict{
		{"PayloadContent", []plistDict{mail}},
		{"PayloadDescription", "Sets up the mail account " + a.Email + " (" + name + ")."},
		{"PayloadDisplayName", "Mail: " + a.Email},
		{"PayloadIdentifier", profileID},
		{"PayloadType", "Configuration"},
		{"PayloadUUID", configUUID},
		{"PayloadVersion", 1},
	}
	if o.Organization != "" {
		profile = append(profile, plistEntry{"PayloadOrganization", o.Organization})
	}

	var buf bytes.Buffer
	if err := encodePlist(&buf, profile); err != nil {
		return fmt.Errorf("clientconfig: encoding mobileconfig: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("clientconfig: writing mobileconfig: %w", err)
	}
	return nil
}

// firstMobile returns the first server with an Apple authentication value, and that value
// ("" when there is none).
func firstMobile(servers []Server) (Server, string) {
	for _, s := range servers {
		if auth := mobileAuth(s.Logins); auth != "" {
			return s, auth
		}
	}
	return Server{}, ""
}

// mobileAuth picks one Apple authentication value, most dependable first (see autoconfigAuth).
func mobileAuth(logins []string) string {
	switch {
	case hasLogin(logins, isCleartext):
		return "EmailAuthPassword"
	case hasLogin(logins, isCRAMMD5):
		return "EmailAuthCRAMMD5"
	case hasLogin(logins, isNTLM):
		return "EmailAuthNTLM"
	}
	return ""
}

func count(auth string) int {
	if auth == "" {
		return 0
	}
	return 1
}

// validIdentifier accepts reverse-DNS style names: dot-separated, non-empty parts of letters,
// digits, "-" and "_".
func validIdentifier(id string) bool {
	if id == "" || len(id) > 200 {
		return false
	}
	return !slices.ContainsFunc(strings.Split(id, "."), func(part string) bool {
		return part == "" || strings.IndexFunc(part, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_')
		}) >= 0
	})
}
