//go:build linux

package main

import (
	"bytes"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// On a real terminal (a pseudo-terminal here, as under `script`): Ctrl-C at the password
// prompt of `mailscout demo --user …` exits 130 and leaves the terminal with echo on.
func TestPasswordPromptCtrlCOnTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	echo := func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tio.Lflag&unix.ECHO != 0
	}
	if !echo() {
		t.Fatal("a new pseudo-terminal should echo")
	}
	cmd := mailscoutProcess("demo", "--user", "alice@guess.example", "guess.example")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	})
	// Read what the terminal shows until the prompt.
	var mu sync.Mutex
	var screen bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil { // EIO once the child has gone and the tty is closed
				return
			}
		}
	}()
	shown := func() string {
		mu.Lock()
		defer mu.Unlock()
		return screen.String()
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(shown(), "Password:") {
		if time.Now().After(deadline) {
			t.Fatalf("no password prompt; the terminal shows %q", shown())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for echo() { // the prompt turns echo off (just after printing itself)
		if time.Now().After(deadline) {
			t.Fatal("echo stays on at the password prompt")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := ptmx.Write([]byte{3}); err != nil { // Ctrl-C, as typed
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("mailscout did not end after Ctrl-C; the terminal shows %q", shown())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit %d (%v), want %d", code, cmd.ProcessState, exitInterrupted)
	}
	if !echo() {
		t.Error("the terminal was left with echo off")
	}
}
