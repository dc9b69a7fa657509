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
	s := &recordScan{r: r, first: first, taken: []csvLine{first}, size: len(first.text), text: first.text}
	cells, err := s.scan()
	if err != nil {
		return nil, first.n, err
	}
	return cells, first.n, nil
}

// recordScan is the reading of one record, which starts on the line first
// and may take more lines (a quoted cell spanning line breaks).
type recordScan struct {
	r     *csvRecords
	first csvLine
	taken []csvLine // the lines of this record, first included
	size  int       // their bytes, line breaks included
	text  string    // the line being read
	pos   int       // where in text the reading is
	cells []string
}

// scan reads the record's cells, one at a time from pos, up to the end of
// the line its last cell ends on. A cell is quoted when its first byte
// after spaces is a quote; an unquoted cell is kept as it is, spaces
// included, without the \r of a \r\n line end.
func (s *recordScan) scan() ([]string, error) {
	for {
		start := s.skipSpaces(s.pos)
		if start < len(s.text) && s.text[start] == '"' {
			last, err := s.quotedCell(start)
			if err != nil || last {
				return s.cells, err
			}
			continue
		}
		i := strings.IndexByte(s.text[s.pos:], s.r.delim)
		if i < 0 {
			s.cells = append(s.cells, strings.TrimSuffix(s.text[s.pos:], "\r"))
			return s.cells, nil
		}
		s.cells = append(s.cells, s.text[s.pos:s.pos+i])
		s.pos += i + 1
	}
}

// skipSpaces is the first position from p that is not a space (spaces are
// skipped around quoted cells, unless the space is the delimiter).
func (s *recordScan) skipSpaces(p int) int {
	for p < len(s.text) && s.text[p] == ' ' && s.r.delim != ' ' {
		p++
	}
	return p
}

// quotedCell reads the quoted cell whose opening quote is at start, and
// what follows it: the delimiter (last is false, pos after it), or the end
// of the line (last is true). Anything else after the closing quote makes
// the record malformed.
func (s *recordScan) quotedCell(start int) (last bool, err error) {
	s.pos = start + 1
	cell, err := s.quotedText()
	if err != nil {
		return false, err
	}
	s.cells = append(s.cells, cell)
	s.pos = s.skipSpaces(s.pos)
	switch {
	case s.pos == len(s.text) || s.text[s.pos:] == "\r":
		return true, nil
	case s.text[s.pos] == s.r.delim:
		s.pos++
		return false, nil
	}
	return false, s.malformed(fmt.Sprintf("text after the closing quote of cell %d", len(s.cells)))
}

// quotedText reads a quoted cell's text from pos to its closing quote,
// which pos is left after: "" stands for one quote, and a line break in
// the cell for \n, the cell going on on the next line.
func (s *recordScan) quotedText() (string, error) {
	var cell strings.Builder
	for {
		i := strings.IndexByte(s.text[s.pos:], '"')
		if i < 0 {
			cell.WriteString(strings.TrimSuffix(s.text[s.pos:], "\r"))
			cell.WriteByte('\n')
			if err := s.nextLine(); err != nil {
				return "", err
			}
			continue
		}
		cell.WriteString(s.text[s.pos : s.pos+i])
		s.pos += i + 1
		if s.pos < len(s.text) && s.text[s.pos] == '"' {
			cell.WriteByte('"')
			s.pos++
			continue
		}
		return cell.String(), nil
	}
}

// nextLine takes the next line into the record, for a quoted cell that
// goes on there. The end of the file, or a record over maxCSVRecord bytes,
// makes the record malformed.
func (s *recordScan) nextLine() error {
	l, err := s.r.lines.next()
	if errors.Is(err, io.EOF) {
		return s.malformed("a quote opened on this line is never closed")
	}
	if err != nil {
		return err
	}
	s.taken = append(s.taken, l)
	s.size += len(l.text) + 1
	if l.tooLong || s.size > maxCSVRecord {
		return s.malformed(fmt.Sprintf("a quote opened on this line is not closed within %d bytes", maxCSVRecord))
	}
	s.text, s.pos = l.text, 0
	return nil
}

// malformed gives back the lines after the record's first, to be read
// again as records, and is the *csvRowError saying msg.
func (s *recordScan) malformed(msg string) error {
	s.r.lines.giveBack(s.taken[1:]...)
	return &csvRowError{line: s.first.n, msg: msg}
}
