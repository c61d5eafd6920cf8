package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// signalContext is canceled on Ctrl-C or SIGTERM, so every probe in flight stops at once and
// whatever was learned is still printed.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
