package probe

import (
	"testing"
	"time"
)

// A report read back from JSON must carry the durations it was written with: stored results
// (the service's permalinks) are compared with fresh ones.
func TestMillisRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{
		0,
		time.Microsecond,
		1234 * time.Microsecond,
		4*time.Second + 1*time.Microsecond,
		20*time.Second - time.Microsecond,
		987654321 * time.Microsecond,
	} {
		for us := time.Duration(0); us < 1000; us += 7 {
			in := d + us*time.Microsecond
			if got := FromMillis(Millis(in)); got != in {
				t.Fatalf("FromMillis(Millis(%v)) = %v", in, got)
			}
		}
	}
	if got := Millis(1234567 * time.Nanosecond); got != 1.234 {
		t.Errorf("Millis keeps microseconds: got %v, want 1.234", got)
	}
}
