package pipeline

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"crawl/parser"
	"crawl/store"
)

// maxCSVRecord caps the bytes of one CSV record (one line, or the lines a
// quoted cell spans). A quote opened and never closed is found out at the
// end of the file or at this cap, whichever comes first, so memory never
// grows with the size of the file.
const maxCSVRecord = 1 << 20

// maxCSVReports is how many skipped rows are reported one by one; the rest
// are counted in one line at the end of the file.
const maxCSVReports = 50

// CSVOptions says which CSV file to read URLs from, and how.
type CSVOptions struct {
	Path     string    // "-" reads standard input
	URLCol   string    // the URL column: 1-based number or header name; "" is the first column holding URLs
	NameCol  string    // the column to name files after: number or header name; "" is none
	Encoding string    // forced encoding label; "" detects it
	Warn     io.Writer // where skipped rows are reported (nil: nowhere)
}

// CSVRow is one row of a CSV file that holds a URL.
type CSVRow struct {
	Line   int      // the line the row starts on, 1-based
	URL    string   // the URL cell, trimmed
	Name   string   // the --name-col cell, trimmed; "" without --name-col
	Source string   // where the URL first came from, when the CSV is a failed.csv
	Cells  []string // every cell of the row
}

// CSVReader streams the rows of a CSV file of URLs: RFC 4180 quoting (a
// quoted cell may hold the delimiter, "" and line breaks), \n or \r\n line
// ends, a header row or none, the delimiter (',', ';' or tab) detected from
// the first line, and the encoding detected (UTF-8 with or without BOM,
// UTF-16 with BOM, else GB18030 when the bytes are not UTF-8) or forced.
//
// A malformed row (a quote never closed, text after a closing quote) is
// reported with its line number and skipped; reading goes on at the line
// after the one the row started on. So are rows whose URL cell is not an
// http(s) URL, except the first row, which is taken for a header.
type CSVReader struct {
	name    string // for messages: the path, or "standard input"
	closer  io.Closer
	recs    *csvRecords
	warn    io.Writer
	urlCol  int // 0-based; -1 until the first row holding a URL shows it
	nameCol int // 0-based; -1 without --name-col
	header  []string
	failed  bool // the file is a failed.csv: the source column is carried on

	first     []string // the first record, read by OpenCSV, handed out by Next
	firstLine int
	firstErr  error
	gotFirst  bool

	reports, unreported int
}

// OpenCSV opens a CSV file of URLs (stdin for "-") and reads its first row,
// so that a column named after a header that is not there, an unknown
// encoding or an unreadable file are usage errors before anything is written.
func OpenCSV(opt CSVOptions, stdin io.Reader) (*CSVReader, error) {
	var forced encoding.Encoding
	forcedName := ""
	if opt.Encoding != "" {
		enc, name, err := parser.LookupEncoding(opt.Encoding)
		if err != nil {
			return nil, usagef("--csv-encoding: %v", err)
		}
		forced, forcedName = enc, name
	}
	urlCol, urlName, err := parseColumn("--url-col", opt.URLCol)
	if err != nil {
		return nil, err
	}
	nameCol, nameName, err := parseColumn("--name-col", opt.NameCol)
	if err != nil {
		return nil, err
	}
	c := &CSVReader{name: opt.Path, warn: opt.Warn, urlCol: urlCol, nameCol: nameCol}
	var r io.Reader
	if opt.Path == "-" {
		c.name = "standard input"
		if stdin == nil {
			stdin = os.Stdin
		}
		r = stdin
	} else {
		f, err := os.Open(opt.Path)
		if err != nil {
			return nil, &UsageError{Err: fmt.Errorf("--csv: %w", err)}
		}
		st, err := f.Stat()
		if err == nil && st.IsDir() {
			err = errors.New("is a folder")
		}
		if err != nil {
			f.Close()
			return nil, &UsageError{Err: fmt.Errorf("--csv %s: %w", opt.Path, err)}
		}
		c.closer = f
		r = f
	}
	fail := func(err error) (*CSVReader, error) {
		c.Close()
		return nil, err
	}
	lines, err := newCSVLines(r, forced, forcedName)
	if err != nil {
		return fail(&UsageError{Err: fmt.Errorf("--csv: read %s: %w", c.name, err)})
	}
	c.recs = &csvRecords{lines: lines, delim: ','}
	if l, err := lines.next(); err == nil {
		c.recs.delim = sniffDelimiter(l.text)
		lines.giveBack(l)
	} else if !errors.Is(err, io.EOF) {
		return fail(&UsageError{Err: fmt.Errorf("--csv: read %s: %w", c.name, err)})
	}
	// The first record that is well formed and not blank is the header
	// candidate; malformed rows before it are reported like any other.
	for {
		cells, line, err := c.recs.next()
		var bad *csvRowError
		if errors.As(err, &bad) {
			c.report(bad.line, bad.msg)
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(&UsageError{Err: fmt.Errorf("--csv: read %s: %w", c.name, err)})
		}
		if blankRow(cells) {
			continue
		}
		c.first, c.firstLine, c.gotFirst = cells, line, true
		break
	}
	if c.gotFirst && !c.holdsURL(c.first) {
		c.header = c.first
		if c.urlCol < 0 && urlName == "" && sameCells(c.header, store.FailedHeader()) {
			c.urlCol, c.failed = 0, true
		}
	}
	if urlName != "" {
		if c.urlCol, err = c.column("--url-col", urlName); err != nil {
			return fail(err)
		}
	}
	if nameName != "" {
		if c.nameCol, err = c.column("--name-col", nameName); err != nil {
			return fail(err)
		}
	}
	return c, nil
}

// parseColumn reads a --url-col or --name-col value: a 1-based number (the
// 0-based index is returned) or a header name (returned as name).
func parseColumn(flag, v string) (idx int, name string, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1, "", nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 {
			return -1, "", usagef("%s %s: columns are numbered from 1", flag, v)
		}
		return n - 1, "", nil
	}
	return -1, v, nil
}

// column finds a header name: exactly, else ignoring case and spaces.
func (c *CSVReader) column(flag, name string) (int, error) {
	if c.header == nil {
		if c.gotFirst {
			return -1, usagef("%s %q: %s has no header row (its first row holds a URL); give the column number", flag, name, c.name)
		}
		return -1, usagef("%s %q: %s is empty", flag, name, c.name)
	}
	if i := headerIndex(c.header, name); i >= 0 {
		return i, nil
	}
	return -1, usagef("%s %q: no such column in the header of %s (columns: %s)", flag, name, c.name, strings.Join(c.header, ", "))
}

func headerIndex(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(name)) {
			return i
		}
	}
	return -1
}

// Header is the CSV's header row, nil when its first row holds a URL.
func (c *CSVReader) Header() []string { return c.header }

// Name is the file's name for messages: its path or "standard input".
func (c *CSVReader) Name() string { return c.name }

// Next returns the next row holding a URL, or io.EOF after the last one.
// Malformed rows and rows without a URL are reported and skipped; an error
// is only a failure to read the file.
func (c *CSVReader) Next() (CSVRow, error) {
	for {
		var cells []string
		var line int
		var err error
		if c.gotFirst {
			cells, line, c.gotFirst = c.first, c.firstLine, false
			c.first = nil
		} else {
			cells, line, err = c.recs.next()
		}
		var bad *csvRowError
		switch {
		case errors.As(err, &bad):
			c.report(bad.line, bad.msg)
			continue
		case errors.Is(err, io.EOF):
			if c.unreported > 0 && c.warn != nil {
				fmt.Fprintf(c.warn, "crawl: %s: %d more rows skipped\n", c.name, c.unreported)
				c.unreported = 0
			}
			return CSVRow{}, io.EOF
		case err != nil:
			return CSVRow{}, fmt.Errorf("read csv %s: %w", c.name, err)
		}
		if blankRow(cells) {
			continue
		}
		col := c.urlCol
		if col < 0 {
			col = firstURLCell(cells)
		}
		u := ""
		if col >= 0 && col < len(cells) {
			u = strings.TrimSpace(cells[col])
		}
		if col < 0 || !isHTTPURL(u) {
			if c.header == nil || line != c.firstLine {
				c.reportNoURL(line, col, u)
			}
			continue
		}
		c.urlCol = col
		row := CSVRow{Line: line, URL: u, Cells: cells}
		if c.nameCol >= 0 && c.nameCol < len(cells) {
			row.Name = strings.TrimSpace(cells[c.nameCol])
		}
		if c.failed && len(cells) > 2 {
			row.Source = cells[2]
		}
		return row, nil
	}
}

func (c *CSVReader) reportNoURL(line, col int, cell string) {
	switch {
	case col < 0:
		c.report(line, "no cell holds an http(s) URL")
	case cell == "":
		c.report(line, fmt.Sprintf("column %d is empty", col+1))
	default:
		if len(cell) > 80 {
			cell = cell[:80] + "…"
		}
		c.report(line, fmt.Sprintf("column %d is not an http(s) URL: %q", col+1, cell))
	}
}

// report tells of one skipped row.
func (c *CSVReader) report(line int, msg string) {
	if c.warn == nil {
		return
	}
	if c.reports >= maxCSVReports {
		c.unreported++
		return
	}
	c.reports++
	fmt.Fprintf(c.warn, "crawl: %s line %d: %s; row skipped\n", c.name, line, msg)
}

// Close closes the file (not standard input).
func (c *CSVReader) Close() error {
	if c.closer == nil {
		return nil
	}
	err := c.closer.Close()
	c.closer = nil
	return err
}

// holdsURL says whether row holds a URL where this reader looks for one.
func (c *CSVReader) holdsURL(row []string) bool {
	if c.urlCol >= 0 {
		return c.urlCol < len(row) && isHTTPURL(strings.TrimSpace(row[c.urlCol]))
	}
	return firstURLCell(row) >= 0
}

func firstURLCell(row []string) int {
	for i, cell := range row {
		if isHTTPURL(strings.TrimSpace(cell)) {
			return i
		}
	}
	return -1
}

// isHTTPURL says whether s is an absolute http(s) URL with a host.
func isHTTPURL(s string) bool {
	if len(s) < 8 || !(strings.EqualFold(s[:7], "http://") || strings.EqualFold(s[:8], "https://")) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Host != ""
}

func blankRow(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func sameCells(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(strings.TrimSpace(a[i]), b[i]) {
			return false
		}
	}
	return true
}

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

// csvLine is one line of a CSV input, decoded, without its line break.
type csvLine struct {
	n       int // 1-based line number
	text    string
	tooLong bool // longer than maxCSVRecord; text is empty
}

// csvLines reads a CSV input line by line, decoding each to UTF-8. Lines
// given back are read again first.
type csvLines struct {
	r    *bufio.Reader
	n    int
	back []csvLine // given back, next one last
	buf  []byte

	// In detecting mode, lines are UTF-8 until a line that is not ASCII
	// shows otherwise; then (or from a look at the file's start) gb is set
	// to decode every line from GB18030.
	decided bool
	gb      *encoding.Decoder
	bom     bool // strip a U+FEFF at the start of the first line
}

// newCSVLines sets up decoding: forced, or from a BOM, or from the first
// bytes (valid UTF-8 or not), or else from the first line that is not ASCII.
func newCSVLines(r io.Reader, forced encoding.Encoding, forcedName string) (*csvLines, error) {
	const peek = 64 << 10
	br := bufio.NewReaderSize(r, peek)
	l := &csvLines{r: br, bom: true}
	if forced != nil {
		if forcedName != "utf-8" {
			l.r = bufio.NewReaderSize(transform.NewReader(br, unicode.BOMOverride(forced.NewDecoder())), peek)
		}
		l.decided = true
		return l, nil
	}
	// Look at what the first read brings (up to 64 KiB of a file; what is
	// there already of a pipe, which may still be being written).
	if _, err := br.Peek(3); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	head, _ := br.Peek(br.Buffered())
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		utf16 := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM)
		l.r = bufio.NewReaderSize(transform.NewReader(br, utf16.NewDecoder()), peek)
		l.decided = true
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		l.decided = true
	case !isASCII(head):
		l.decide(head)
	}
	return l, nil
}

// decide settles the encoding from a sample that is not all ASCII.
func (l *csvLines) decide(sample []byte) {
	l.decided = true
	if !looksUTF8(sample) {
		l.gb = simplifiedchinese.GB18030.NewDecoder()
	}
}

// next returns the next line, or io.EOF.
func (l *csvLines) next() (csvLine, error) {
	if n := len(l.back); n > 0 {
		line := l.back[n-1]
		l.back = l.back[:n-1]
		return line, nil
	}
	raw, tooLong, err := l.readRaw()
	if err != nil {
		return csvLine{}, err
	}
	l.n++
	if tooLong {
		return csvLine{n: l.n, tooLong: true}, nil
	}
	if !l.decided && !isASCII(raw) {
		l.decide(raw)
	}
	var text string
	if l.gb != nil && !isASCII(raw) {
		b, err := l.gb.Bytes(raw)
		if err != nil {
			b = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
		}
		text = string(b)
	} else {
		text = strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	if l.bom {
		l.bom = false
		text = strings.TrimPrefix(text, "\uFEFF")
	}
	return csvLine{n: l.n, text: text}, nil
}

// readRaw reads one line without its '\n'. A line longer than
// maxCSVRecord is skipped through to its end and reported as tooLong.
func (l *csvLines) readRaw() ([]byte, bool, error) {
	l.buf = l.buf[:0]
	tooLong := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(chunk) > maxCSVRecord+1 {
				tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(l.buf, []byte("\n")), tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(l.buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
			return l.buf, tooLong, nil
		default:
			return nil, false, err
		}
	}
}

// giveBack returns lines (in file order) to be read again first.
func (l *csvLines) giveBack(lines ...csvLine) {
	for i := len(lines) - 1; i >= 0; i-- {
		l.back = append(l.back, lines[i])
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// looksUTF8 says whether b is UTF-8, allowing b to end inside a character
// (b may be the first bytes of a file).
func looksUTF8(b []byte) bool {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	return utf8.Valid(b)
}
