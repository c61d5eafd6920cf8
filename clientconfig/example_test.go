package clientconfig_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/mailscout/mailscout/clientconfig"
)

func ExampleWriteAutoconfig() {
	a := clientconfig.Account{
		Domain:      "example.com",
		DisplayName: "example.com",
		Incoming: []clientconfig.Server{{Protocol: "imap", Host: "imap.example.com", Port: 993, Security: "tls",
			Username: "%EMAILADDRESS%", Logins: []string{"IMAP-LOGIN", "PLAIN", "XOAUTH2"}}},
		Outgoing: []clientconfig.Server{{Protocol: "smtp", Host: "smtp.example.com", Port: 587, Security: "starttls",
			Username: "%EMAILADDRESS%", Logins: []string{"PLAIN", "LOGIN"}}},
	}
	if err := clientconfig.WriteAutoconfig(os.Stdout, a); err != nil {
		fmt.Println(err)
	}
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <clientConfig version="1.1">
	//   <emailProvider id="example.com">
	//     <domain>example.com</domain>
	//     <displayName>example.com</displayName>
	//     <displayShortName>example</displayShortName>
	//     <incomingServer type="imap">
	//       <hostname>imap.example.com</hostname>
	//       <port>993</port>
	//       <socketType>SSL</socketType>
	//       <authentication>password-cleartext</authentication>
	//       <authentication>OAuth2</authentication>
	//       <username>%EMAILADDRESS%</username>
	//     </incomingServer>
	//     <outgoingServer type="smtp">
	//       <hostname>smtp.example.com</hostname>
	//       <port>587</port>
	//       <socketType>STARTTLS</socketType>
	//       <authentication>password-cleartext</authentication>
	//       <username>%EMAILADDRESS%</username>
	//     </outgoingServer>
	//   </emailProvider>
	// </clientConfig>
}

func ExampleParseAutodiscoverRequest() {
	body := `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
  <Request>
    <EMailAddress>alice@example.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
	_, err := clientconfig.ParseAutodiscoverRequest(strings.NewReader(body))
	code := clientconfig.AutodiscoverErrorCode(err)
	fmt.Println(code, err)
	// An HTTP handler would now answer:
	_ = clientconfig.WriteAutodiscoverError(os.Stdout, code, "Provider is not available for the requested schema")
	// Output:
	// 601 autodiscover request: not the Outlook schema: this is a mobilesync (Exchange ActiveSync) request; only the Outlook schema http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006 is served
	// <?xml version="1.0" encoding="UTF-8"?>
	// <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
	//   <Response>
	//     <Error>
	//       <ErrorCode>601</ErrorCode>
	//       <Message>Provider is not available for the requested schema</Message>
	//       <DebugData></DebugData>
	//     </Error>
	//   </Response>
	// </Autodiscover>
}
