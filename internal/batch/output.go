package batch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"unicode/utf8"
)

// Output is a JSON Lines file that results are appended to, one write per line: a crash or a
// Ctrl-C leaves at most one partial last line, which Resume cuts off.
type Output struct {
	f *os.File
}

// Create opens path for a new run, truncating it.
func Create(path string) (*Output, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &Output{f: f}, nil
}

// Resume opens path to continue a run: a partial last line (no newline) is cut off, and done
// says which targets already have a line.
func Resume(path string) (out *Output, done func(line int, input string) bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	seen, complete, err := scanDone(f)
	if err == nil {
		err = f.Truncate(complete)
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("resuming from %s: %w", path, err)
	}
	return &Output{f: f}, func(line int, input string) bool {
		_, ok := seen[key(line, input)]
		return ok
	}, nil
}

// scanDone reads the lines of an output file: the keys of the targets it has, and the length
// of its complete lines. Only two fields of each line are decoded.
func scanDone(r io.Reader) (map[uint64]struct{}, int64, error) {
	seen := map[uint64]struct{}{}
	br := bufio.NewReaderSize(r, 1<<20)
	var complete int64
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return seen, complete, nil // a partial last line is not complete
		}
		if err != nil {
			return nil, 0, err
		}
		complete += int64(len(line))
		var l struct {
			Line  int    `json:"input_line"`
			Input string `json:"input"`
		}
		if json.Unmarshal(bytes.TrimSpace(line), &l) == nil && l.Line > 0 {
			seen[key(l.Line, l.Input)] = struct{}{}
		}
	}
}

// key identifies a target by its line and text: the same list resumed gives the same keys. The
// text is keyed as its output line carries it: encoding/json writes each byte that is not valid
// UTF-8 as U+FFFD, so a list line with such bytes would otherwise never be recognised as done,
// and every resume would run it (and write it) again.
func key(line int, input string) uint64 {
	if !utf8.ValidString(input) {
		input = string([]rune(input)) // each invalid byte becomes U+FFFD, as json.Marshal does
	}
	h := fnv.New64a()
	h.Write([]byte(strconv.Itoa(line)))
	h.Write([]byte{0})
	h.Write([]byte(input))
	return h.Sum64()
}

// Write appends one line (a newline is added) in a single write.
func (o *Output) Write(line []byte) error {
	_, err := o.f.Write(append(line, '\n'))
	return err
}

// Close closes the file.
func (o *Output) Close() error { return o.f.Close() }
