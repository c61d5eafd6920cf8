package report

import (
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"golang.org/x/term"
)

// Layout says how wide output may be and how much of it to show.
type Layout struct {
	// Width is the column budget: no line of a table or paragraph is longer (tables wrap long
	// cells; host names and other unbreakable words may still overflow a very narrow one).
	Width int
	// Wide ignores Width: one line per row, nothing wrapped, for grep and wide terminals.
	Wide bool
	// Verbose lists every probe, not only the failures worth reading.
	Verbose bool
}

// DefaultWidth is used when neither $COLUMNS nor a terminal says otherwise.
const DefaultWidth = 100

// TerminalWidth is the width output to f should fit: $COLUMNS when set (what the user says
// wins), else the terminal's width when f is one, else DefaultWidth.
func TerminalWidth(f *os.File) int {
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 20 {
		return c
	}
	if f != nil && term.IsTerminal(int(f.Fd())) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			return w
		}
	}
	return DefaultWidth
}

// Table writes rows under header in the project's table style; the columns whose indexes are
// in flex wrap to fit the layout's width.
func Table(w io.Writer, l Layout, header []string, rows [][]string, flex ...int) error {
	return table(w, l, header, rows, flex...)
}

// table writes the project's one table style with the flexible columns wrapping between words
// (see tableFit).
func table(w io.Writer, l Layout, header []string, rows [][]string, flex ...int) error {
	cols := map[int]breaker{}
	for _, i := range flex {
		cols[i] = atSpaces
	}
	return tableFit(w, l, header, rows, cols)
}

// tableFit writes the project's one table style: ASCII borders (output survives any terminal,
// e-mail and ticket system), headers as written, left-aligned cells. The flexible columns wrap
// as their breaker says to fit the layout's width (see fitRows); nothing wraps in wide layout.
func tableFit(w io.Writer, l Layout, header []string, rows [][]string, flex map[int]breaker) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	header, rows = fitRows(header, rows, flex, l)
	h := make([]any, len(header))
	for i, c := range header {
		h[i] = c
	}
	t.Header(h...)
	for _, row := range rows {
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
}

// wrap breaks text into lines of at most the layout's width, the first starting with first and
// the others with rest (a hanging indent). In wide layout it does not break.
func wrap(text string, l Layout, first, rest string) string {
	if l.Wide || utf8.RuneCountInString(first+text) <= l.Width {
		return first + text + "\n" // fits: kept as written, alignment and all
	}
	var b strings.Builder
	line, prefix := "", first
	flush := func() {
		b.WriteString(prefix + line + "\n")
		line, prefix = "", rest
	}
	for _, word := range strings.Fields(text) {
		// A word longer than a whole line (a URL) is cut where the line ends.
		for avail := l.Width - utf8.RuneCountInString(rest); avail > 10 && utf8.RuneCountInString(word) > avail; {
			if line != "" {
				flush()
			}
			room := l.Width - utf8.RuneCountInString(prefix)
			r := []rune(word)
			line, word = string(r[:room]), string(r[room:])
			flush()
		}
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(prefix+line+" "+word) > l.Width:
			flush()
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" || prefix == first {
		flush()
	}
	return b.String()
}
