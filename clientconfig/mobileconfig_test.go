package clientconfig

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestUUIDv5(t *testing.T) {
	namespaceDNS := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	for _, tc := range []struct {
		ns         [16]byte
		name, want string
	}{
		// Python's documented example: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org').
		{namespaceDNS, "python.org", "886313E1-3B8A-5372-9B90-0C9AEE199E5D"},
		// uuid.uuid5(uuid.NAMESPACE_URL, 'mobileconfig:org.mailscout'), computed with Python 3.
		{namespaceURL, "mobileconfig:org.mailscout", "EB018F36-B773-5098-9F7F-25EDFF6BC886"},
	} {
		if got := uuidV5(tc.ns, tc.name); got != tc.want {
			t.Errorf("uuidV5(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// decodePlist reads a property list back into string, int, bool, map[string]any and []any
// values; any other element is an error.
func decodePlist(data []byte) (map[string]any, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var readValue func(start xml.StartElement) (any, error)
	text := func() (string, error) {
		var s strings.Builder
		for {
			tok, err := d.Token()
			if err != nil {
				return "", err
			}
			switch t := tok.(type) {
			case xml.CharData:
				s.Write(t)
			case xml.EndElement:
				return s.String(), nil
			case xml.StartElement:
				return "", fmt.Errorf("unexpected <%s>", t.Name.Local)
			}
		}
	}
	next := func() (xml.Token, error) { // the next start or end element
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, err
			}
			switch tok.(type) {
			case xml.StartElement, xml.EndElement:
				return tok, nil
			}
		}
	}
	readValue = func(start xml.StartElement) (any, error) {
		switch start.Name.Local {
		case "string":
			return text()
		case "integer":
			s, err := text()
			if err != nil {
				return nil, err
			}
			return strconv.Atoi(s)
		case "true", "false":
			if _, err := text(); err != nil {
				return nil, err
			}
			return start.Name.Local == "true", nil
		case "array":
			var out []any
			for {
				tok, err := next()
				if err != nil {
					return nil, err
				}
				if _, ok := tok.(xml.EndElement); ok {
					return out, nil
				}
				v, err := readValue(tok.(xml.StartElement))
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
		case "dict":
			out := map[string]any{}
			for {
				tok, err := next()
				if err != nil {
					return nil, err
				}
				if _, ok := tok.(xml.EndElement); ok {
					return out, nil
				}
				if tok.(xml.StartElement).Name.Local != "key" {
					return nil, fmt.Errorf("dict entry starts with <%s>, not <key>", tok.(xml.StartElement).Name.Local)
				}
				k, err := text()
				if err != nil {
					return nil, err
				}
				if _, dup := out[k]; dup {
					return nil, fmt.Errorf("duplicate key %s", k)
				}
				vt, err := next()
				if err != nil {
					return nil, err
				}
				st, ok := vt.(xml.StartElement)
				if !ok {
					return nil, fmt.Errorf("key %s has no value", k)
				}
				if out[k], err = readValue(st); err != nil {
					return nil, err
				}
			}
		}
		return nil, fmt.Errorf("unknown plist element <%s>", start.Name.Local)
	}
	tok, err := next()
	if err != nil {
		return nil, err
	}
	if st, ok := tok.(xml.StartElement); !ok || st.Name.Local != "plist" {
		return nil, fmt.Errorf("root is not <plist>")
	}
	tok, err = next()
	if err != nil {
		return nil, err
	}
	v, err := readValue(tok.(xml.StartElement))
	if err != nil {
		return nil, err
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("top-level value is not a dict")
	}
	if _, err := next(); err != nil { // </plist>
		return nil, err
	}
	if _, err := next(); err != io.EOF {
		return nil, fmt.Errorf("content after </plist>")
	}
	return root, nil
}

// checkApple applies Apple's payload reference (apple/device-management
// mdm/profiles/com.apple.mail.managed.yaml and the TopLevel profile keys): required keys present,
// enumerations within their rangelist, types right, UUIDs well formed.
func checkApple(root map[string]any) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	str := func(d map[string]any, k string) string { s, _ := d[k].(string); return s }
	isUUID := func(s string) bool {
		return len(s) == 36 && strings.Count(s, "-") == 4 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-'
	}
	if str(root, "PayloadType") != "Configuration" || root["PayloadVersion"] != 1 || !isUUID(str(root, "PayloadUUID")) || str(root, "PayloadIdentifier") == "" {
		bad("top level: PayloadType %v, PayloadVersion %v, PayloadUUID %v, PayloadIdentifier %v",
			root["PayloadType"], root["PayloadVersion"], root["PayloadUUID"], root["PayloadIdentifier"])
	}
	content, _ := root["PayloadContent"].([]any)
	if len(content) != 1 {
		return append(errs, fmt.Errorf("PayloadContent has %d payloads, want 1", len(content)))
	}
	mail, _ := content[0].(map[string]any)
	if str(mail, "PayloadType") != "com.apple.mail.managed" || mail["PayloadVersion"] != 1 || !isUUID(str(mail, "PayloadUUID")) {
		bad("mail payload header: %v %v %v", mail["PayloadType"], mail["PayloadVersion"], mail["PayloadUUID"])
	}
	if str(mail, "PayloadUUID") == str(root, "PayloadUUID") || str(mail, "PayloadIdentifier") == str(root, "PayloadIdentifier") {
		bad("payload and profile share a UUID or identifier")
	}
	auth := []string{"EmailAuthNone", "EmailAuthPassword", "EmailAuthCRAMMD5", "EmailAuthNTLM", "EmailAuthHTTPMD5"}
	for k, allowed := range map[string][]string{
		"EmailAccountType":                 {"EmailTypeIMAP", "EmailTypePOP"},
		"IncomingMailServerAuthentication": auth,
		"OutgoingMailServerAuthentication": auth,
		"IncomingMailServerHostName":       nil,
		"OutgoingMailServerHostName":       nil,
	} {
		v, ok := mail[k].(string)
		if !ok || v == "" || (allowed != nil && !slices.Contains(allowed, v)) {
			bad("required key %s = %#v", k, mail[k])
		}
	}
	for k, want := range map[string]string{
		"IncomingMailServerPortNumber": "int", "OutgoingMailServerPortNumber": "int",
		"IncomingMailServerUseSSL": "bool", "OutgoingMailServerUseSSL": "bool", "OutgoingPasswordSameAsIncomingPassword": "bool",
		"IncomingMailServerUsername": "string", "OutgoingMailServerUsername": "string", "EmailAddress": "string",
	} {
		if got := fmt.Sprintf("%T", mail[k]); got != want {
			bad("key %s has type %s, want %s", k, got, want)
		}
	}
	for _, k := range []string{"IncomingPassword", "OutgoingPassword"} {
		if _, ok := mail[k]; ok {
			bad("%s present: passwords belong only in encrypted profiles", k)
		}
	}
	return errs
}

func TestMobileConfigFollowsApplesReference(t *testing.T) {
	n := 0
	for _, c := range cases {
		var buf bytes.Buffer
		if err := WriteMobileConfig(&buf, c.account, testOptions); err != nil {
			continue // covered by TestGolden
		}
		n++
		root, err := decodePlist(buf.Bytes())
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for _, err := range checkApple(root) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if n < 5 {
		t.Fatalf("only %d profiles checked", n)
	}
}

func TestMobileConfigChoices(t *testing.T) {
	base := Account{Email: "ivan@example.com", Domain: "example.com"}
	for _, tc := range []struct {
		name    string
		in, out []Server
		want    map[string]any
	}{
		{"pop3 first", []Server{pop3("pop.example.com", 995, "tls", "%EMAILLOCALPART%", "USER"), imap("imap.example.com", 993, "tls", "x", "PLAIN")},
			[]Server{smtp("smtp.example.com", 587, "starttls", "%EMAILADDRESS%", "PLAIN")},
			map[string]any{"EmailAccountType": "EmailTypePOP", "IncomingMailServerUsername": "ivan", "OutgoingMailServerUsername": "ivan@example.com",
				"IncomingMailServerUseSSL": true, "OutgoingMailServerUseSSL": true, "OutgoingMailServerPortNumber": 587}},
		{"plain and oauth skipped", []Server{imap("imap.example.com", 993, "tls", "ivan", "XOAUTH2"), imap("imap.example.com", 143, "plain", "ivan", "LOGIN", "CRAM-MD5")},
			[]Server{smtp("smtp.example.com", 25, "plain", "ivan", "CRAM-MD5")},
			map[string]any{"EmailAccountType": "EmailTypeIMAP", "IncomingMailServerPortNumber": 143, "IncomingMailServerUseSSL": false,
				"IncomingMailServerAuthentication": "EmailAuthPassword", "OutgoingMailServerAuthentication": "EmailAuthCRAMMD5", "OutgoingMailServerUseSSL": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			a.Incoming, a.Outgoing = tc.in, tc.out
			var buf bytes.Buffer
			if err := WriteMobileConfig(&buf, a, MobileConfigOptions{Identifier: "org.mailscout"}); err != nil {
				t.Fatal(err)
			}
			root, err := decodePlist(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			mail := root["PayloadContent"].([]any)[0].(map[string]any)
			for k, v := range tc.want {
				if mail[k] != v {
					t.Errorf("%s = %#v, want %#v", k, mail[k], v)
				}
			}
			if _, ok := root["PayloadOrganization"]; ok {
				t.Error("PayloadOrganization written although none was given")
			}
		})
	}
}

func TestMobileConfigStableAndDistinct(t *testing.T) {
	a := cases[0].account
	write := func(a Account, o MobileConfigOptions) string {
		var buf bytes.Buffer
		if err := WriteMobileConfig(&buf, a, o); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	first := write(a, testOptions)
	if write(a, testOptions) != first {
		t.Error("same input, different profile")
	}
	b := a
	b.Email = "bob@example.com"
	if uuids(write(b, testOptions)) == uuids(first) {
		t.Error("another address got the same UUIDs")
	}
	if uuids(write(a, MobileConfigOptions{Identifier: "com.example"})) == uuids(first) {
		t.Error("another identifier got the same UUIDs")
	}
}

func uuids(profile string) string {
	var out []string
	for _, line := range strings.Split(profile, "\n") {
		if len(strings.TrimSpace(line)) == len("<string>")+36+len("</string>") && strings.Count(line, "-") == 4 {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, ",")
}

func TestMobileConfigRejects(t *testing.T) {
	a := cases[0].account
	for _, tc := range []struct {
		name  string
		email string
		id    string
		want  string
	}{
		{"no email", "", "org.mailscout", "needs its e-mail address"},
		{"bad email", "alice", "org.mailscout", "not an e-mail address"},
		{"bad email markup", "<alice@example.com>", "org.mailscout", "not an e-mail address"},
		{"no identifier", "alice@example.com", "", "identifier"},
		{"identifier with space", "alice@example.com", "org. mailscout", "identifier"},
		{"identifier empty part", "alice@example.com", "org..mailscout", "identifier"},
	} {
		b := a
		b.Email = tc.email
		var buf bytes.Buffer
		err := WriteMobileConfig(&buf, b, MobileConfigOptions{Identifier: tc.id})
		if err == nil || !strings.Contains(err.Error(), tc.want) || buf.Len() != 0 {
			t.Errorf("%s: error %v, %d bytes written; want an error mentioning %q", tc.name, err, buf.Len(), tc.want)
		}
	}
}
