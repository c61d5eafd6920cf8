package clientconfig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The body Thunderbird posts (ExchangeAutoDiscover.sys.mjs fetchConfigFromExchange), byte for byte
// apart from the address.
const thunderbirdRequest = `<?xml version="1.0" encoding="utf-8"?>
    <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
      <Request>
        <EMailAddress>alice@example.com</EMailAddress>
        <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
      </Request>
    </Autodiscover>`

// An Outlook-style request with the optional LegacyDN, CRLF line ends and a comment.
const outlookRequest = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n" +
	"<!-- sent by Outlook -->\r\n" +
	"<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">\r\n" +
	"  <Request>\r\n" +
	"    <EMailAddress> chris@contoso.example </EMailAddress>\r\n" +
	"    <LegacyDN>/o=Contoso/ou=First Administrative Group/cn=Recipients/cn=chris</LegacyDN>\r\n" +
	"    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>\r\n" +
	"  </Request>\r\n" +
	"</Autodiscover>\r\n"

// An Exchange ActiveSync client's request ([MS-ASCMD] §6.3 schema).
const mobileSyncRequest = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
  <Request>
    <EMailAddress>alice@example.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema>
  </Request>
</Autodiscover>`

func TestParseAutodiscoverRequest(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"thunderbird", thunderbirdRequest, "alice@example.com"},
		{"outlook", outlookRequest, "chris@contoso.example"},
		{"prefixed namespace", `<a:Autodiscover xmlns:a="` + NamespaceOutlookRequest + `"><a:Request><a:AcceptableResponseSchema>` +
			NamespaceOutlookResponse + `</a:AcceptableResponseSchema><a:EMailAddress>p@example.com</a:EMailAddress></a:Request></a:Autodiscover>`, "p@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParseAutodiscoverRequest(strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			want := AutodiscoverRequest{EMailAddress: tc.want, AcceptableResponseSchema: NamespaceOutlookResponse}
			if req != want {
				t.Errorf("got %+v, want %+v", req, want)
			}
		})
	}
}

func TestParseAutodiscoverRequestRejects(t *testing.T) {
	swap := func(old, new string) string { return strings.Replace(thunderbirdRequest, old, new, 1) }
	padded := func(n int) string { // a valid request of exactly n bytes, padded with a comment
		pad := n - len(thunderbirdRequest) - len("<!---->")
		return thunderbirdRequest + "<!--" + strings.Repeat("x", pad) + "-->"
	}
	if _, err := ParseAutodiscoverRequest(strings.NewReader(padded(MaxAutodiscoverRequest))); err != nil {
		t.Fatalf("a request of exactly %d bytes: %v", MaxAutodiscoverRequest, err)
	}
	for _, tc := range []struct {
		name, body string
		want       error
		text       string // the message must say this
		code       int
	}{
		{"mobilesync", mobileSyncRequest, ErrRequestSchema, "mobilesync", 601},
		{"mobilesync response only", swap("outlook/responseschema/2006a", "mobilesync/responseschema/2006"), ErrRequestSchema, "mobilesync", 601},
		{"other response schema", swap("2006a<", "2006b<"), ErrRequestSchema, "2006b", 601},
		{"no response schema", swap("<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>", ""), ErrRequestSchema, `""`, 601},
		{"no namespace", swap(` xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"`, ""), ErrRequestSchema, "namespace", 601},
		{"other root", `<Discover xmlns="` + NamespaceOutlookRequest + `"/>`, ErrRequestSchema, "<Discover>", 601},
		{"no Request", `<Autodiscover xmlns="` + NamespaceOutlookRequest + `"/>`, ErrRequestSchema, "no Request", 601},
		{"doctype", `<?xml version="1.0"?><!DOCTYPE Autodiscover [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
			strings.Replace(thunderbirdRequest[strings.Index(thunderbirdRequest, "<Autodiscover"):], "alice@example.com", "&xxe;", 1), ErrRequestDTD, "DOCTYPE", 600},
		{"doctype inside", swap("<Request>", "<Request><!DOCTYPE x>"), ErrRequestDTD, "DOCTYPE", 600},
		{"unknown entity", swap("alice@example.com", "&xxe;"), ErrRequestNotXML, "entity", 600},
		{"too large", padded(MaxAutodiscoverRequest + 1), ErrRequestTooLarge, "64 KiB", 600},
		{"huge", strings.Repeat(" ", 10<<20), ErrRequestTooLarge, "64 KiB", 600},
		{"empty body", "", ErrRequestNotXML, "no root", 600},
		{"not xml", "emailaddress=alice%40example.com", ErrRequestNotXML, "no root", 600},
		{"broken xml", thunderbirdRequest[:200], ErrRequestNotXML, "syntax", 600},
		{"two roots", thunderbirdRequest + thunderbirdRequest[strings.Index(thunderbirdRequest, "<Autodiscover"):], ErrRequestNotXML, "more than one root", 600},
		{"no address", swap("<EMailAddress>alice@example.com</EMailAddress>", ""), ErrRequestNoAddress, "missing", 600},
		{"empty address", swap("alice@example.com", "  "), ErrRequestNoAddress, "missing", 600},
		{"not an address", swap("alice@example.com", "alice"), ErrRequestNoAddress, "not an address", 600},
		{"address with markup", swap("alice@example.com", "a&lt;b&gt;@example.com"), ErrRequestNoAddress, "not an address", 600},
		{"two addresses", swap("<EMailAddress>", "<EMailAddress>bob@example.com</EMailAddress><EMailAddress>"), ErrRequestNoAddress, "twice", 600},
		{"utf-16 declared", swap(`encoding="utf-8"`, `encoding="utf-16"`), ErrRequestNotXML, "utf-16", 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParseAutodiscoverRequest(strings.NewReader(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %+v, %v; want %v", req, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
			if got := AutodiscoverErrorCode(err); got != tc.code {
				t.Errorf("AutodiscoverErrorCode = %d, want %d", got, tc.code)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error message of %d bytes; attacker text must be clipped", len(err.Error()))
			}
		})
	}
}

// countingReader proves that no more than the bound is read from a request body.
type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	c.n += len(p)
	return len(p), nil
}

func TestParseAutodiscoverRequestReadsAtMost64KiB(t *testing.T) {
	var r countingReader
	if _, err := ParseAutodiscoverRequest(&r); !errors.Is(err, ErrRequestTooLarge) {
		t.Fatal(err)
	}
	if r.n > MaxAutodiscoverRequest+1 {
		t.Errorf("read %d bytes", r.n)
	}
}

// The structure a client decodes the response into, with namespaces.
type parsedResponse struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		XMLName     xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
		DisplayName string   `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a User>DisplayName"`
		Account     struct {
			AccountType string           `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a AccountType"`
			Action      string           `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Action"`
			Protocol    []parsedProtocol `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Protocol"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Account"`
	}
}

// Protocol's children inherit the 2006a default namespace; a tag without a namespace matches
// them by local name, as Thunderbird's JXON lookup does.
type parsedProtocol struct {
	Type, Server                                                  string
	Port                                                          int
	LoginName, DomainRequired, SPA, SSL, Encryption, AuthRequired string
}

func TestAutodiscoverResponseReparses(t *testing.T) {
	a := cases[0].account // typical
	var buf bytes.Buffer
	if err := WriteAutodiscover(&buf, a); err != nil {
		t.Fatal(err)
	}
	var got parsedResponse
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Response.DisplayName != "example.com" || got.Response.Account.AccountType != "email" || got.Response.Account.Action != "settings" {
		t.Errorf("got %+v", got.Response)
	}
	want := []parsedProtocol{
		{"IMAP", "imap.example.com", 993, "alice@example.com", "off", "off", "on", "SSL", "on"},
		{"POP3", "pop.example.com", 995, "alice", "off", "off", "on", "SSL", "on"},
		{"SMTP", "smtp.example.com", 465, "alice@example.com", "off", "off", "on", "SSL", "on"},
	}
	if !reflect.DeepEqual(got.Response.Account.Protocol, want) {
		t.Errorf("protocols\n got %+v\nwant %+v", got.Response.Account.Protocol, want)
	}
}

// Templates become the real login; with no address to expand them against, LoginName is left out.
func TestAutodiscoverLoginName(t *testing.T) {
	for _, tc := range []struct{ email, user, want string }{
		{"alice@example.com", "%EMAILADDRESS%", "<LoginName>alice@example.com</LoginName>"},
		{"alice@example.com", "%EMAILLOCALPART%", "<LoginName>alice</LoginName>"},
		{"alice@example.com", "%EMAILLOCALPART%+mail@%EMAILDOMAIN%", "<LoginName>alice+mail@example.com</LoginName>"},
		{"", "%EMAILADDRESS%", ""},
		{"", "literal-login", "<LoginName>literal-login</LoginName>"},
	} {
		a := Account{Email: tc.email, Domain: "example.com",
			Incoming: []Server{imap("imap.example.com", 993, "tls", tc.user, "PLAIN")},
			Outgoing: []Server{smtp("smtp.example.com", 465, "tls", tc.user, "PLAIN")}}
		var buf bytes.Buffer
		if err := WriteAutodiscover(&buf, a); err != nil {
			t.Fatal(err)
		}
		n := strings.Count(buf.String(), "<LoginName>")
		switch {
		case tc.want == "" && n != 0:
			t.Errorf("%q/%q: LoginName written:\n%s", tc.email, tc.user, buf.Bytes())
		case tc.want != "" && strings.Count(buf.String(), tc.want) != 2:
			t.Errorf("%q/%q: want %s twice in\n%s", tc.email, tc.user, tc.want, buf.Bytes())
		}
	}
}

func TestWriteAutodiscoverError(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAutodiscoverError(&buf, AutodiscoverInvalidRequest, "Invalid Request <&>"); err != nil {
		t.Fatal(err)
	}
	golden(t, "error.autodiscover.golden", buf.Bytes())
	var got struct {
		XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
		Error   struct {
			ErrorCode int    `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 ErrorCode"`
			Message   string `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Message"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Response>Error"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Error.ErrorCode != 600 || got.Error.Message != "Invalid Request <&>" {
		t.Errorf("got %+v", got)
	}
}

func FuzzParseAutodiscoverRequest(f *testing.F) {
	for _, seed := range []string{
		thunderbirdRequest, outlookRequest, mobileSyncRequest, "", "<", "<Autodiscover/>",
		`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`,
		strings.Replace(thunderbirdRequest, "alice@example.com", "<x>a@b</x>", 1),
	} {
		f.Add([]byte(seed))
	}
	sentinels := []error{ErrRequestTooLarge, ErrRequestNotXML, ErrRequestDTD, ErrRequestSchema, ErrRequestNoAddress}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseAutodiscoverRequest(bytes.NewReader(body))
		if err != nil {
			known := false
			for _, s := range sentinels {
				known = known || errors.Is(err, s)
			}
			if !known {
				t.Fatalf("error %v wraps none of the documented errors", err)
			}
			if req != (AutodiscoverRequest{}) {
				t.Fatalf("error %v with a non-zero request %+v", err, req)
			}
			return
		}
		if req.AcceptableResponseSchema != NamespaceOutlookResponse || !validEmail(req.EMailAddress) {
			t.Fatalf("accepted %+v", req)
		}
		if bytes.Contains(bytes.ToUpper(body), []byte("<!DOCTYPE")) {
			t.Fatalf("accepted a request with a DOCTYPE: %q", body)
		}
		// Whatever was accepted must be writable back into a response and parse again.
		a := Account{Email: req.EMailAddress, Domain: "example.com",
			Incoming: []Server{imap("imap.example.com", 993, "tls", "%EMAILADDRESS%", "PLAIN")},
			Outgoing: []Server{smtp("smtp.example.com", 465, "tls", "%EMAILADDRESS%", "PLAIN")}}
		var buf bytes.Buffer
		if err := WriteAutodiscover(&buf, a); err != nil {
			t.Fatal(err)
		}
		var back parsedResponse
		if err := xml.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatalf("response does not parse: %v\n%s", err, buf.Bytes())
		}
	})
}
