package serve

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's description (OpenAPI 3.1), written by hand next to the handlers it
// describes; TestOpenAPI checks it names every route and every error code.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPI)
}
