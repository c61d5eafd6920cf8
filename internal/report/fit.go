package report

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// minFlex is the narrowest a wrapped column of prose gets: narrower, every word is a line.
const minFlex = 12

// breaker says where a cell may break over lines: split cuts a line of it into pieces, which
// sep joins again on one line. tight columns (mechanism names, host names) may get as narrow as
// their longest piece; others stop at minFlex. A last column gives up width only when no other
// can: a host name broken over lines is harder to read (and to copy) than a list of words.
type breaker struct {
	split func(string) []string
	sep   string
	tight bool
	last  bool
}

var (
	// atSpaces breaks prose between words.
	atSpaces = breaker{split: strings.Fields, sep: " "}
	// wordList breaks a list of short words (mechanisms) between them, down to the longest.
	wordList = breaker{split: strings.Fields, sep: " ", tight: true}
	// atDots breaks an endpoint: before its ":port" first, then after the dots of the host
	// name, so that "smtp.example.com:587" becomes "smtp.example.com" / ":587", or narrower
	// "smtp." / "example.com:587".
	atDots = breaker{split: endpointPieces, tight: true, last: true}
)

// endpointPieces cuts host:port after each dot of the host and before the port's colon;
// joined without a separator they give it back.
func endpointPieces(ep string) []string {
	host, port := ep, ""
	if i := strings.LastIndexByte(ep, ':'); i > 0 && !strings.HasSuffix(ep, "]") {
		host, port = ep[:i], ep[i:]
	}
	var out []string
	if !strings.HasPrefix(host, "[") { // an IPv6 literal has no dots to break at
		for {
			i := strings.IndexByte(host, '.')
			if i < 0 || i == len(host)-1 {
				break
			}
			out = append(out, host[:i+1])
			host = host[i+1:]
		}
	}
	out = append(out, host)
	if port != "" {
		out = append(out, port)
	}
	return out
}

// fitRows makes a table fit the layout's width by wrapping the cells of the flexible columns
// (flex maps their indexes to how they break) over several lines, taking width from the widest
// flexible column first (columns marked last after all others); the other columns (protocols,
// codes) keep their width. tablewriter's own
// fitting shrinks every column alike, which breaks host names and wastes the width it has. The
// header of a column made narrower than it wraps between its words.
func fitRows(header []string, rows [][]string, flex map[int]breaker, l Layout) ([]string, [][]string) {
	if l.Wide {
		return header, rows
	}
	widths := make([]int, len(header))
	floors := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
		floors[i] = widths[i]
		if b, ok := flex[i]; ok {
			floors[i] = max(minFlex, widths[i])
			if b.tight {
				floors[i] = longestPiece(h, atSpaces)
				for _, r := range rows {
					floors[i] = max(floors[i], longestPiece(r[i], b))
				}
			}
		}
	}
	for _, r := range rows {
		for i, c := range r {
			for _, line := range strings.Split(c, "\n") {
				widths[i] = max(widths[i], utf8.RuneCountInString(line))
			}
		}
	}
	total := func() int {
		t := 1
		for _, w := range widths {
			t += w + 3
		}
		return t
	}
	cols := slices.Sorted(func(yield func(int) bool) {
		for i := range flex {
			if !yield(i) {
				return
			}
		}
	})
	// Take width from the widest flexible column (the last ones after all others), each time
	// down to the next width its cells really wrap to: a column one narrower than "PLAIN LOGIN"
	// is as narrow as "LOGIN".
	natural := slices.Clone(widths)
	for total() > l.Width {
		widest := -1
		for _, last := range []bool{false, true} {
			for _, i := range cols {
				if flex[i].last == last && widths[i] > floors[i] && (widest < 0 || widths[i] > widths[widest]) {
					widest = i
				}
			}
			if widest >= 0 {
				break
			}
		}
		if widest < 0 {
			break // the fixed columns alone are wider than the terminal
		}
		i := widest
		widths[i] = max(floors[i], wrappedWidth(header[i], rows, i, flex[i], widths[i]-min(widths[i]-floors[i], total()-l.Width)))
	}
	// Give what is left of the width back where it saves lines, the cheapest first: the column
	// that needs the fewest more columns to wrap less.
	for {
		slack, best, bestWidth := l.Width-total(), -1, 0
		for _, i := range cols {
			lines := wrappedLines(rows, i, flex[i], widths[i])
			for w := widths[i] + 1; w <= min(natural[i], widths[i]+slack); w++ {
				if wrappedLines(rows, i, flex[i], w) < lines {
					if best < 0 || w-widths[i] < bestWidth-widths[best] {
						best, bestWidth = i, w
					}
					break
				}
			}
		}
		if best < 0 {
			break
		}
		widths[best] = wrappedWidth(header[best], rows, best, flex[best], bestWidth)
	}
	header = slices.Clone(header)
	for _, i := range cols {
		header[i] = atSpaces.wrap(header[i], widths[i])
	}
	out := make([][]string, len(rows))
	for r, row := range rows {
		out[r] = slices.Clone(row)
		for _, i := range cols {
			out[r][i] = flex[i].wrap(row[i], widths[i])
		}
	}
	return header, out
}

// wrappedWidth is how wide column i is once its cells (and header) wrap to at most width.
func wrappedWidth(header string, rows [][]string, i int, b breaker, width int) int {
	n := 0
	for _, line := range strings.Split(atSpaces.wrap(header, width), "\n") {
		n = max(n, utf8.RuneCountInString(line))
	}
	for _, r := range rows {
		for _, line := range strings.Split(b.wrap(r[i], width), "\n") {
			n = max(n, utf8.RuneCountInString(line))
		}
	}
	return n
}

// wrappedLines is how many lines column i's cells take once they wrap to width.
func wrappedLines(rows [][]string, i int, b breaker, width int) int {
	n := 0
	for _, r := range rows {
		n += strings.Count(b.wrap(r[i], width), "\n") + 1
	}
	return n
}

// longestPiece is the width of the widest piece b cuts text into: the narrowest text gets
// without a piece being cut.
func longestPiece(text string, b breaker) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		for _, p := range b.split(line) {
			n = max(n, utf8.RuneCountInString(p))
		}
	}
	return n
}

// wrapCell breaks text into lines of at most width runes, at spaces where it can and inside a
// word only when the word alone is longer than the line.
func wrapCell(text string, width int) string { return atSpaces.wrap(text, width) }

// wrap breaks text into lines of at most width runes, between pieces where it can and inside a
// piece only when the piece alone is longer than the line. A line that fits is kept as it is.
func (b breaker) wrap(text string, width int) string {
	width = max(width, 1)
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		if utf8.RuneCountInString(para) <= width {
			lines = append(lines, para)
			continue
		}
		line := ""
		for _, piece := range b.split(para) {
			for utf8.RuneCountInString(piece) > width {
				if line != "" {
					lines = append(lines, line)
					line = ""
				}
				r := []rune(piece)
				lines = append(lines, string(r[:width]))
				piece = string(r[width:])
			}
			switch {
			case line == "":
				line = piece
			case utf8.RuneCountInString(line+b.sep+piece) > width:
				lines = append(lines, line)
				line = piece
			default:
				line += b.sep + piece
			}
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
