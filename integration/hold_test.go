//go:build integration

package integration

import (
	"os"
	"testing"
	"time"
)

// TestHold keeps the real world up for manual exploration: MAILSCOUT_IT_HOLD=SECONDS.
func TestHold(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("MAILSCOUT_IT_HOLD"))
	if err != nil {
		t.Skip("set MAILSCOUT_IT_HOLD=90s to keep the real servers up for exploration")
	}
	t.Logf("CA file: %s", realWorld(t))
	time.Sleep(d)
}
