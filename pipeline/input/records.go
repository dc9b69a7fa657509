package input

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// sniffDelimiter picks the delimiter of a CSV from its first line: a tab if
// one is there outside quotes (Excel's "Unicode text"), else ';' if it
// outnumbers ',', else ','.
func sniffDelimiter(line string) byte {
	var tabs, commas, semis int
	quoted := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case '\t':
			if !quoted {
				tabs++
			}
		case ',':
			if !quoted {
				commas++
			}
		case ';':
			if !quoted {
				semis++
			}
		}
	}
	switch {
	case tabs > 0:
		return '\t'
	case semis > commas:
		return ';'
	}
	return ','
}

// csvRowError is a malformed row: the line it starts on and what is wrong.
type csvRowError struct {
	line int
	msg  string
}

func (e *csvRowError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// csvRecords splits decoded lines into records.
type csvRecords struct {
	lines *csvLines
	delim byte
}

// next returns the cells of the next record and the line it starts on. A
// malformed record is a *csvRowError, and the lines after its first one are
// read again as the next records.
func (r *csvRecords) next() ([]string, int, error) {
	first, err := r.lines.next()
	if err != nil {
		return nil, 0, err
	}
	if first.tooLong {
		return nil, first.n, &csvRowError{line: first.n, msg: fmt.Sprintf("line longer than %d bytes", maxCSVRecord)}
	}
	var (
		cells []string
		cell  strings.Builder
		taken = []csvLine{first} // the lines of this record
		size  = len(first.text)
		text  = first.text
		pos   = 0
	)
	malformed := func(msg string) ([]string, int, error) {
		r.lines.giveBack(taken[1:]...)
		return nil, first.n, &csvRowError{line: first.n, msg: msg}
	}
	for {
		// One cell starts at pos.
		start := pos
		for start < len(text) && text[start] == ' ' && r.delim != ' ' {
			start++
		}
		if start < len(text) && text[start] == '"' {
			pos = start + 1
			cell.Reset()
			for {
				i := strings.IndexByte(text[pos:], '"')
				if i < 0 {
					// The quoted cell goes on on the next line.
					cell.WriteString(strings.TrimSuffix(text[pos:], "\r"))
					cell.WriteByte('\n')
					l, err := r.lines.next()
					if errors.Is(err, io.EOF) {
						return malformed("a quote opened on this line is never closed")
					}
					if err != nil {
						return nil, first.n, err
					}
					taken = append(taken, l)
					size += len(l.text) + 1
					if l.tooLong || size > maxCSVRecord {
						return malformed(fmt.Sprintf("a quote opened on this line is not closed within %d bytes", maxCSVRecord))
					}
					text, pos = l.text, 0
					continue
				}
				cell.WriteString(text[pos : pos+i])
				pos += i + 1
				if pos < len(text) && text[pos] == '"' {
					cell.WriteByte('"')
					pos++
					continue
				}
				break
			}
			cells = append(cells, cell.String())
			for pos < len(text) && text[pos] == ' ' && r.delim != ' ' {
				pos++
			}
			switch {
			case pos == len(text) || text[pos:] == "\r":
				return cells, first.n, nil
			case text[pos] == r.delim:
				pos++
			default:
				return malformed(fmt.Sprintf("text after the closing quote of cell %d", len(cells)))
			}
			continue
		}
		i := strings.IndexByte(text[pos:], r.delim)
		if i < 0 {
			cells = append(cells, strings.TrimSuffix(text[pos:], "\r"))
			return cells, first.n, nil
		}
		cells = append(cells, text[pos:pos+i])
		pos += i + 1
	}
}
