// Package report renders probe and discovery results for people and programs: aligned tables
// (github.com/olekukonko/tablewriter, ASCII symbols so output survives any terminal, e-mail and
// ticket system), JSON whose field names are a public contract, and — for discovery — Mozilla
// autoconfig XML. Every renderer is pinned by golden files in testdata/.
package report
