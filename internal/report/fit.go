package report

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// minFlex is the narrowest a wrapped column gets: narrower, every word is a line.
const minFlex = 12

// fitRows makes a table fit the layout's width by wrapping the cells of the flexible columns
// (their indexes in flex) over several lines, taking width from the widest flexible column
// first; the other columns (host names, ports, codes) keep their width. tablewriter's own
// fitting shrinks every column alike, which breaks host names and wastes the width it has.
func fitRows(header []string, rows [][]string, flex []int, l Layout) [][]string {
	if l.Wide {
		return rows
	}
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
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
	for total() > l.Width {
		widest := -1
		for _, i := range flex {
			floor := max(minFlex, utf8.RuneCountInString(header[i]))
			if widths[i] > floor && (widest < 0 || widths[i] > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break // the fixed columns alone are wider than the terminal
		}
		widths[widest] -= min(widths[widest]-max(minFlex, utf8.RuneCountInString(header[widest])), total()-l.Width)
	}
	out := make([][]string, len(rows))
	for r, row := range rows {
		out[r] = slices.Clone(row)
		for _, i := range flex {
			out[r][i] = wrapCell(row[i], widths[i])
		}
	}
	return out
}

// wrapCell breaks text into lines of at most width runes, at spaces where it can and inside a
// word only when the word alone is longer than the line.
func wrapCell(text string, width int) string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			for utf8.RuneCountInString(word) > width {
				if line != "" {
					lines = append(lines, line)
					line = ""
				}
				r := []rune(word)
				lines = append(lines, string(r[:width]))
				word = string(r[width:])
			}
			switch {
			case line == "":
				line = word
			case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width:
				lines = append(lines, line)
				line = word
			default:
				line += " " + word
			}
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
