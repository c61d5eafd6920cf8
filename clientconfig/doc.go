// Package clientconfig renders verified mail settings as the three documents mail clients
// fetch to set up an account by themselves, so that mailscout can answer those requests (or print
// the files) for a domain it has checked.
//
// # Why these three
//
// Mail clients do not share one format; each major family reads its own:
//
//   - Mozilla clientConfig v1.1 (WriteAutoconfig): Thunderbird, Thunderbird for Android/K-9 and
//     others fetch https://autoconfig.<domain>/mail/config-v1.1.xml and
//     https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml (Thunderbird
//     FetchConfig.sys.mjs). Read by readFromXML.sys.mjs: emailProvider id and domain;
//     displayName; per incomingServer (imap, pop3) and outgoingServer (smtp) hostname, port
//     (1–65535), socketType (plain, SSL, STARTTLS), the first usable authentication value and
//     username. The first valid server of each kind is used, later ones are alternatives, and a
//     document without a valid server of both kinds is rejected. Format:
//     wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat and
//     draft-ietf-mailmaint-autoconfig.
//   - Microsoft Autodiscover, POX flavour (ParseAutodiscoverRequest, WriteAutodiscover,
//     WriteAutodiscoverError): Outlook, and Thunderbird as a parallel lookup, POST an
//     Outlook-schema request to https://autodiscover.<domain>/autodiscover/autodiscover.xml and
//     read Response/Account/Protocol: Type (IMAP, POP3, SMTP), Server, Port, LoginName, SPA, SSL,
//     Encryption ([MS-OXDSCLI] §2.2.4.1.1.2.6; Thunderbird ExchangeAutoDiscover.sys.mjs).
//   - Apple configuration profile (WriteMobileConfig): Apple Mail on iOS, iPadOS and macOS does
//     no autoconfiguration of its own for arbitrary domains but installs a .mobileconfig profile
//     with a com.apple.mail.managed payload (developer.apple.com/documentation/devicemanagement/mail).
//
// # Only verified servers, nothing invented
//
// The caller passes only servers that were verified to work ("usable"), best first, each with the
// login methods the server offered when probed (Server.Logins). This package never adds a server,
// a port, a TLS mode or an authentication method of its own: a format value is written only when
// Logins show the server accepts it, and a server whose Logins map to nothing the format can say
// is left out. Each format also needs an incoming and an outgoing server; without both the writer
// returns ErrNothingUsable instead of a document clients would reject. Input order is kept as the
// preference order (Autodiscover and the Apple profile can hold only one server per kind and take
// the first usable one). Policy stays with the caller: for example leaving out plaintext servers
// when a TLS one works (RFC 8314 §5.1, as report.Autoconfig does). Malformed input (unknown protocol, port 0, non-ASCII host, empty
// username) is a caller error and returned as such.
//
// All text goes through encoding/xml, so display names and usernames cannot inject markup.
package clientconfig
