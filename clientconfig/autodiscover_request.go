package clientconfig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespaces of POX Autodiscover ([MS-OXDSCLI], "Autodiscover Publishing and Lookup Protocol",
// learn.microsoft.com/openspecs/exchange_server_protocols/ms-oxdscli). Outlook and
// Thunderbird (ExchangeAutoDiscover.sys.mjs) send the Outlook request schema and ask for the
// 2006a response schema; Exchange ActiveSync clients use the mobilesync pair ([MS-ASCMD] §6.3,
// §6.4), which describes an ActiveSync server and cannot carry IMAP/POP3/SMTP settings.
const (
	NamespaceOutlookRequest     = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	NamespaceOutlookResponse    = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	namespaceMobileSyncRequest  = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
	namespaceMobileSyncResponse = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
)

// MaxAutodiscoverRequest is the most ParseAutodiscoverRequest reads. A real request is a few
// hundred bytes; the bound keeps a hostile client from making the server buffer megabytes.
const MaxAutodiscoverRequest = 64 << 10

// Errors of ParseAutodiscoverRequest; the returned error wraps one of them (test with errors.Is)
// and says what exactly was wrong, except when reading r itself fails (that error is wrapped
// instead). AutodiscoverErrorCode maps them to the code to answer with.
var (
	ErrRequestTooLarge  = errors.New("autodiscover request: larger than 64 KiB")
	ErrRequestNotXML    = errors.New("autodiscover request: not well-formed XML")
	ErrRequestDTD       = errors.New("autodiscover request: DOCTYPE or other markup declaration not allowed")
	ErrRequestSchema    = errors.New("autodiscover request: not the Outlook schema")
	ErrRequestNoAddress = errors.New("autodiscover request: no e-mail address")
)

// AutodiscoverRequest is what an Outlook-schema request asks for ([MS-OXDSCLI] request
// schema, learn.microsoft.com/openspecs/exchange_server_protocols/ms-oxdscli/2096fab2-9c3c-40b9-b123-edf6e8d55a9b).
type AutodiscoverRequest struct {
	EMailAddress             string // as sent, trimmed of surrounding white space
	AcceptableResponseSchema string // always NamespaceOutlookResponse when err == nil
}

// ParseAutodiscoverRequest reads the body of a POST to /autodiscover/autodiscover.xml:
//
//	<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
//	  <Request>
//	    <EMailAddress>alice@example.com</EMailAddress>
//	    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
//	  </Request>
//	</Autodiscover>
//
// It reads at most MaxAutodiscoverRequest bytes, uses encoding/xml's strict mode (unknown
// entities such as &xxe; are syntax errors; external entities are never fetched) and refuses any
// <!DOCTYPE> or other declaration outright. Unknown elements (LegacyDN, …) are ignored. A request
// for the mobilesync (ActiveSync) schema gets ErrRequestSchema, saying so.
func ParseAutodiscoverRequest(r io.Reader) (AutodiscoverRequest, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxAutodiscoverRequest+1))
	if err != nil {
		return AutodiscoverRequest{}, fmt.Errorf("autodiscover request: reading: %w", err)
	}
	if len(data) > MaxAutodiscoverRequest {
		return AutodiscoverRequest{}, ErrRequestTooLarge
	}
	req, err := parseRequest(data)
	if err != nil {
		return AutodiscoverRequest{}, err
	}
	switch {
	case req.AcceptableResponseSchema == namespaceMobileSyncResponse:
		return AutodiscoverRequest{}, fmt.Errorf("%w: AcceptableResponseSchema is the mobilesync (Exchange ActiveSync) schema; only %s is served", ErrRequestSchema, NamespaceOutlookResponse)
	case req.AcceptableResponseSchema != NamespaceOutlookResponse:
		return AutodiscoverRequest{}, fmt.Errorf("%w: AcceptableResponseSchema %q; only %s is served", ErrRequestSchema, clip(req.AcceptableResponseSchema), NamespaceOutlookResponse)
	case req.EMailAddress == "":
		return AutodiscoverRequest{}, fmt.Errorf("%w: EMailAddress missing or empty", ErrRequestNoAddress)
	case !validEmail(req.EMailAddress):
		return AutodiscoverRequest{}, fmt.Errorf("%w: EMailAddress %q is not an address", ErrRequestNoAddress, clip(req.EMailAddress))
	}
	return req, nil
}

// parseRequest walks the tokens itself instead of using Decoder.Decode, so that a directive
// anywhere, a second root element or trailing garbage is seen and refused.
func parseRequest(data []byte) (AutodiscoverRequest, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var (
		req             AutodiscoverRequest
		path            []xml.Name // open elements
		seenRoot        bool
		seenRequest     bool
		gotAddr, gotAcc bool
		text            strings.Builder
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return req, fmt.Errorf("%w: %v", ErrRequestNotXML, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return req, fmt.Errorf("%w: <!%s…>", ErrRequestDTD, clip(firstWord(string(t))))
		case xml.StartElement:
			if len(path) == 0 {
				if seenRoot {
					return req, fmt.Errorf("%w: more than one root element", ErrRequestNotXML)
				}
				seenRoot = true
				if err := checkRoot(t.Name); err != nil {
					return req, err
				}
			}
			path = append(path, t.Name)
			if len(path) == 3 {
				text.Reset()
			}
			if len(path) == 2 && inRequestNS(t.Name, "Request") {
				seenRequest = true
			}
		case xml.CharData:
			if len(path) >= 3 && text.Len() <= MaxAutodiscoverRequest {
				text.Write(t)
			}
		case xml.EndElement:
			if len(path) == 3 && path[1].Local == "Request" && path[1].Space == NamespaceOutlookRequest {
				v := strings.TrimSpace(text.String())
				switch {
				case inRequestNS(t.Name, "EMailAddress"):
					if gotAddr {
						return req, fmt.Errorf("%w: EMailAddress given twice", ErrRequestNoAddress)
					}
					gotAddr, req.EMailAddress = true, v
				case inRequestNS(t.Name, "AcceptableResponseSchema"):
					if gotAcc {
						return req, fmt.Errorf("%w: AcceptableResponseSchema given twice", ErrRequestSchema)
					}
					gotAcc, req.AcceptableResponseSchema = true, v
				}
			}
			path = path[:len(path)-1]
		}
		// xml.ProcInst (the <?xml …?> declaration) and xml.Comment are ignored.
	}
	switch {
	case !seenRoot:
		return req, fmt.Errorf("%w: no root element", ErrRequestNotXML)
	case !seenRequest:
		return req, fmt.Errorf("%w: no Request element in the %s namespace", ErrRequestSchema, NamespaceOutlookRequest)
	}
	return req, nil
}

// checkRoot accepts only <Autodiscover> in the Outlook request namespace.
func checkRoot(n xml.Name) error {
	switch {
	case n.Local != "Autodiscover":
		return fmt.Errorf("%w: root element is <%s>, not <Autodiscover>", ErrRequestSchema, clip(n.Local))
	case n.Space == namespaceMobileSyncRequest:
		return fmt.Errorf("%w: this is a mobilesync (Exchange ActiveSync) request; only the Outlook schema %s is served", ErrRequestSchema, NamespaceOutlookRequest)
	case n.Space != NamespaceOutlookRequest:
		return fmt.Errorf("%w: namespace %q; want %s", ErrRequestSchema, clip(n.Space), NamespaceOutlookRequest)
	}
	return nil
}

func inRequestNS(n xml.Name, local string) bool {
	return n.Local == local && n.Space == NamespaceOutlookRequest
}

// clip shortens attacker-supplied text before it goes into an error message (and a log).
func clip(s string) string {
	const limit = 80
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

// AutodiscoverErrorCode is the [MS-OXDSCLI] ErrorCode (child of Error, §2.2.4.1.1.3) to answer a
// ParseAutodiscoverRequest error with: 601 (configuration of the requested type unavailable) for
// a schema the server does not serve, 600 (Invalid Request) for anything else.
func AutodiscoverErrorCode(err error) int {
	if errors.Is(err, ErrRequestSchema) {
		return AutodiscoverUnsupportedSchema
	}
	return AutodiscoverInvalidRequest
}
