// Package golden compares rendered output with files under testdata/, for the tests of the
// packages that render (report, clientconfig, serve). `go test ./pkg -update` rewrites the
// files instead; the diff then shows what changed, for review before it is committed.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Updating reports whether the test run was asked to rewrite golden files (-update).
func Updating() bool { return *update }

// Check compares got with testdata/name, or writes it there with -update.
func Check(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update in the package's directory to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it after an intended change):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
