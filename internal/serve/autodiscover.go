package serve

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/mailscout/mailscout/clientconfig"
)

// autodiscover is POST /autodiscover/autodiscover.xml (any capitalisation): Microsoft's POX
// Autodiscover with the Outlook request schema, answered in the 2006a response schema with an
// IMAP, a POP3 and an SMTP Protocol element where each is usable. Everything this endpoint
// says is an Autodiscover document, errors included, because that is all an Autodiscover
// client reads: protocol errors ([MS-OXDSCLI] ErrorCode 500, 501, 600, 601) come with HTTP 200
// as Exchange sends them, the service's own refusals (rate limit, busy, …) with their HTTP
// status and Retry-After, and ErrorCode 603.
func (s *Server) autodiscover(w http.ResponseWriter, r *http.Request) {
	if err := s.admit(r); err != nil {
		s.autodiscoverFailure(w, err)
		return
	}
	req, err := clientconfig.ParseAutodiscoverRequest(http.MaxBytesReader(w, r.Body, clientconfig.MaxAutodiscoverRequest+1))
	if err != nil {
		status := http.StatusOK
		var tooLarge *http.MaxBytesError
		if errors.Is(err, clientconfig.ErrRequestTooLarge) || errors.As(err, &tooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		writeAutodiscoverError(w, status, clientconfig.AutodiscoverErrorCode(err), err.Error(), 0)
		return
	}
	t, hasAddr, err := s.parseAddress(req.EMailAddress)
	if err != nil || !hasAddr {
		writeAutodiscoverError(w, http.StatusOK, clientconfig.AutodiscoverInvalidRequest, "Invalid Request: EMailAddress is not an e-mail address", 0)
		return
	}
	domain := s.clientDomain(t, true, r, "autodiscover.")
	if domain == "" {
		writeAutodiscoverError(w, http.StatusOK, clientconfig.AutodiscoverAddressNotFound, "The email address cannot be found.", 0)
		return
	}
	acct, err := s.clientAccount(r.Context(), domain)
	if err != nil {
		s.autodiscoverFailure(w, err)
		return
	}
	acct.Email = t.Address
	var buf bytes.Buffer
	if err := clientconfig.WriteAutodiscover(&buf, acct); err != nil {
		if errors.Is(err, clientconfig.ErrNothingUsable) {
			writeAutodiscoverError(w, http.StatusOK, clientconfig.AutodiscoverNoConfiguration, "No verified configuration for "+domain+".", 0)
			return
		}
		s.log.Error("client document", "domain", domain, "err", err)
		writeAutodiscoverError(w, http.StatusInternalServerError, clientconfig.AutodiscoverInternalError, "The Autodiscover server threw an internal error.", 0)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// autodiscoverFailure answers one of the service's own errors as an Autodiscover document.
func (s *Server) autodiscoverFailure(w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	code := clientconfig.AutodiscoverInternalError
	if ae.Code == codePrivateAddress {
		code = clientconfig.AutodiscoverNoConfiguration
	}
	writeAutodiscoverError(w, ae.status(), code, ae.Code+": "+ae.Message, ae.RetryAfter)
}

func writeAutodiscoverError(w http.ResponseWriter, status, code int, message string, retry time.Duration) {
	var buf bytes.Buffer
	if err := clientconfig.WriteAutodiscoverError(&buf, code, message); err != nil {
		writeError(w, newError(codeInternal, "encoding the Autodiscover error failed"))
		return
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
