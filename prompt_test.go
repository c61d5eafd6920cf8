package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/term"
)

// fakeTerminal records what the prompt does to the terminal; ReadPassword blocks until unblock
// is closed (or answers at once with answer).
type fakeTerminal struct {
	mu       sync.Mutex
	state    *term.State
	restored []*term.State
	answer   string
	unblock  chan struct{}
}

func (f *fakeTerminal) IsTerminal(int) bool               { return true }
func (f *fakeTerminal) GetState(int) (*term.State, error) { return f.state, nil }
func (f *fakeTerminal) Restore(_ int, s *term.State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restored = append(f.restored, s)
	return nil
}

func (f *fakeTerminal) ReadPassword(int) ([]byte, error) {
	if f.unblock != nil {
		<-f.unblock
		return nil, errors.New("interrupted")
	}
	return []byte(f.answer), nil
}

// fakeSignals replaces the prompt's signal source and the process exit for one test.
func fakeSignals(t *testing.T) (signals chan chan<- os.Signal, exited chan int, stopped *bool) {
	signals, exited = make(chan chan<- os.Signal, 1), make(chan int, 1)
	stopped = new(bool)
	oldSignals, oldExit := promptSignals, exitProcess
	promptSignals = func(c chan<- os.Signal) func() {
		signals <- c
		return func() { *stopped = true }
	}
	exitProcess = func(code int) { exited <- code }
	t.Cleanup(func() { promptSignals, exitProcess = oldSignals, oldExit })
	return signals, exited, stopped
}

// Ctrl-C at the password prompt restores the terminal state saved before the prompt (echo on),
// then exits 130. Without the handler the signal's default action would end the process with
// echo still off.
func TestPasswordPromptSignalRestoresTerminal(t *testing.T) {
	signals, exited, _ := fakeSignals(t)
	ft := &fakeTerminal{state: &term.State{}, unblock: make(chan struct{})}
	var stderr bytes.Buffer
	read := make(chan struct{})
	go func() {
		readPassword(ft, 0, &stderr)
		close(read)
	}()
	c := <-signals
	c <- os.Interrupt
	select {
	case code := <-exited:
		if code != exitInterrupted {
			t.Errorf("exit %d, want %d", code, exitInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after the signal")
	}
	ft.mu.Lock()
	restored := append([]*term.State(nil), ft.restored...)
	ft.mu.Unlock()
	if len(restored) != 1 || restored[0] != ft.state {
		t.Errorf("restored %v, want the state saved before the prompt (%p)", restored, ft.state)
	}
	close(ft.unblock) // (the real process has exited by now)
	<-read
	if !strings.Contains(stderr.String(), "Password: ") {
		t.Errorf("no prompt: %q", stderr.String())
	}
}

// A password typed normally is returned; the signal handler is removed and exits nothing.
func TestPasswordPromptReads(t *testing.T) {
	_, exited, stopped := fakeSignals(t)
	ft := &fakeTerminal{state: &term.State{}, answer: "demo-password"}
	var stderr bytes.Buffer
	pw, err := readPassword(ft, 0, &stderr)
	if err != nil || pw != "demo-password" {
		t.Errorf("got %q, %v", pw, err)
	}
	if !*stopped {
		t.Error("the prompt's signal handler was not removed")
	}
	select {
	case code := <-exited:
		t.Errorf("exited %d", code)
	default:
	}
	if len(ft.restored) != 0 {
		t.Error("restored the terminal although ReadPassword did")
	}
}
