package input

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"golang.org/x/text/encoding"

	"crawl/parser"
	"crawl/store"
)

// maxCSVRecord caps the bytes of one CSV record (one line, or the lines a
// quoted cell spans). A quote opened and never closed is found out at the
// end of the file or at this cap, whichever comes first, so memory never
// grows with the size of the file.
const maxCSVRecord = 1 << 20

// csvProbeRows is how many rows after the first OpenCSV reads, at most,
// to find one holding a URL; a file whose first rows hold none is not a
// CSV of URLs.
const csvProbeRows = 10

// csvRecord is one record read ahead and the line it starts on; bad says
// why it is malformed, "" when it is not.
type csvRecord struct {
	cells []string
	line  int
	bad   string
}

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
// the first line, and the encoding forced or detected by
// parser.DetectTextEncoding (UTF-8 with or without BOM, UTF-16 with BOM,
// else GB18030 unless the bytes plainly are in another encoding) from the
// first bytes, or from the first line that is not ASCII when those are.
//
// A malformed row (a quote never closed, text after a closing quote) is
// reported with its line number and skipped; reading goes on at the line
// after the one the row started on. So are rows whose URL cell is not an
// http(s) URL, except the first row, which is taken for a header. A file
// none of whose first rows (after a header) holds a URL has no column of
// URLs: OpenCSV refuses it. At the end of a file without a row holding a
// URL (a header row only), that is reported too.
type CSVReader struct {
	name    string // for messages: the path, or "standard input"
	closer  io.Closer
	recs    *csvRecords
	warn    io.Writer
	urlCol  int // 0-based; -1 until the first row holding a URL shows it
	nameCol int // 0-based; -1 without --name-col
	header  []string
	failed  bool // the file is a failed.csv: the source column is carried on

	held      []csvRecord // records read ahead by OpenCSV, handed out by Next first
	firstLine int         // the line of the first record: the header candidate
	gotFirst  bool        // the file has a first record

	rows                int  // rows handed out by Next
	reports, unreported int  // skipped rows reported one by one, and not
	ended               bool // Next met the end of the file
}

// OpenCSV opens a CSV file of URLs ("-": stdin, which is os.Stdin when nil)
// and reads its first rows, so that a column named after a header that is
// not there, an unknown encoding, an unreadable file or one without a
// column of URLs (none of its first csvProbeRows rows after the header
// holds one) are found, as a *UsageError, before anything is written.
func OpenCSV(opt CSVOptions, stdin io.Reader) (*CSVReader, error) {
	forced, forcedName, err := csvEncoding(opt.Encoding)
	if err != nil {
		return nil, err
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
	r, err := c.open(opt.Path, stdin)
	if err != nil {
		return nil, err
	}
	if err := c.start(r, forced, forcedName); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.probe(urlName, nameName); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// csvEncoding looks up a --csv-encoding label: nil and "" when none is
// given (the encoding is then detected), else the encoding and its name.
func csvEncoding(label string) (encoding.Encoding, string, error) {
	if label == "" {
		return nil, "", nil
	}
	enc, name, err := parser.LookupEncoding(label)
	if err != nil {
		return nil, "", Usagef("--csv-encoding: %v", err)
	}
	return enc, name, nil
}

// open opens the CSV file at path, or stdin (os.Stdin when nil) for "-",
// and names it for messages. A file that cannot be opened, or is a
// folder, is a *UsageError; an opened file is closed by c.Close.
func (c *CSVReader) open(path string, stdin io.Reader) (io.Reader, error) {
	if path == "-" {
		c.name = "standard input"
		if stdin == nil {
			stdin = os.Stdin
		}
		return stdin, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, Usagef("--csv: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = errors.New("is a folder")
	}
	if err != nil {
		f.Close()
		return nil, Usagef("--csv %s: %w", path, err)
	}
	c.closer = f
	return f, nil
}

// start sets up the record reader on r: the encoding (forced, or detected
// from the first bytes) and the delimiter, sniffed from the first line,
// which is given back to be read again as a record.
func (c *CSVReader) start(r io.Reader, forced encoding.Encoding, forcedName string) error {
	lines, err := newCSVLines(r, forced, forcedName)
	if err != nil {
		return c.readError(err)
	}
	c.recs = &csvRecords{lines: lines, delim: ','}
	if l, err := lines.next(); err == nil {
		c.recs.delim = sniffDelimiter(l.text)
		lines.giveBack(l)
	} else if !errors.Is(err, io.EOF) {
		return c.readError(err)
	}
	return nil
}

// readError is a failure to read the file, as a *UsageError naming it.
func (c *CSVReader) readError(err error) error {
	return Usagef("--csv: read %s: %w", c.name, err)
}

// probe reads ahead until a row holds a URL where c looks for one, for at
// most csvProbeRows rows after the header candidate. The first record that
// is well formed and not blank is the header candidate; malformed rows
// before it are reported like any other. The columns named by header name
// are found as soon as the header candidate is read (or at the end, in a
// file without one). A file whose first rows hold no URL has no column of
// URLs (it is not a CSV of URLs at all), which is bad usage. The rows read
// are held, malformed ones too, and handed out or reported by Next in the
// file's order.
func (c *CSVReader) probe(urlName, nameName string) error {
	rows, found, atEOF := 0, false, false
	for !found && rows < csvProbeRows {
		cells, line, err := c.recs.next()
		var bad *csvRowError
		if errors.As(err, &bad) {
			c.held = append(c.held, csvRecord{line: bad.line, bad: bad.msg})
			rows++
			continue
		}
		if errors.Is(err, io.EOF) {
			atEOF = true
			break
		}
		if err != nil {
			return c.readError(err)
		}
		if blankRow(cells) {
			continue
		}
		c.held = append(c.held, csvRecord{cells: cells, line: line})
		if c.gotFirst {
			rows++
			found = c.holdsURL(cells)
			continue
		}
		found = c.takeFirst(cells, line, urlName)
		if err := c.resolveColumns(urlName, nameName); err != nil {
			return err
		}
	}
	if !c.gotFirst {
		if err := c.resolveColumns(urlName, nameName); err != nil {
			return err
		}
	}
	if !found && rows > 0 {
		return c.noURLs(rows, atEOF)
	}
	return nil
}

// takeFirst takes the header candidate, the first record that is well
// formed and not blank: a row when it holds a URL (found is then true),
// else the header. A header that is failed.csv's, with no --url-col,
// makes its URL column the first and carries its source column on.
func (c *CSVReader) takeFirst(cells []string, line int, urlName string) (found bool) {
	c.firstLine, c.gotFirst = line, true
	if c.holdsURL(cells) {
		return true
	}
	c.header = cells
	if c.urlCol < 0 && urlName == "" && sameCells(c.header, store.FailedHeader()) {
		c.urlCol, c.failed = 0, true
	}
	return false
}

// resolveColumns finds the --url-col and --name-col given as header names
// in the header; a name that is not there is a *UsageError.
func (c *CSVReader) resolveColumns(urlName, nameName string) error {
	var err error
	if urlName != "" {
		if c.urlCol, err = c.column("--url-col", urlName); err != nil {
			return err
		}
	}
	if nameName != "" {
		if c.nameCol, err = c.column("--name-col", nameName); err != nil {
			return err
		}
	}
	return nil
}

// noURLs is the *UsageError of a file none of whose rows probed (rows of
// them, up to the end of the file when atEOF) holds a URL.
func (c *CSVReader) noURLs(rows int, atEOF bool) error {
	where := ""
	if c.urlCol >= 0 {
		where = fmt.Sprintf(" in column %d", c.urlCol+1)
	}
	if atEOF {
		return Usagef("--csv %s: no row holds an http(s) URL%s; is it a CSV of URLs?", c.name, where)
	}
	return Usagef("--csv %s: none of its first %d rows holds an http(s) URL%s; is it a CSV of URLs?", c.name, rows, where)
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
			return -1, "", Usagef("%s %s: columns are numbered from 1", flag, v)
		}
		return n - 1, "", nil
	}
	return -1, v, nil
}

// column finds a header name: exactly, else ignoring case and spaces.
func (c *CSVReader) column(flag, name string) (int, error) {
	if c.header == nil {
		if c.gotFirst {
			return -1, Usagef("%s %q: %s has no header row (its first row holds a URL); give the column number", flag, name, c.name)
		}
		return -1, Usagef("%s %q: %s is empty", flag, name, c.name)
	}
	if i := HeaderIndex(c.header, name); i >= 0 {
		return i, nil
	}
	return -1, Usagef("%s %q: no such column in the header of %s (columns: %s)", flag, name, c.name, strings.Join(c.header, ", "))
}

// HeaderIndex is the 0-based column of header named name: exactly, else
// ignoring case and the spaces around either; -1 when there is none. The
// columns of --url-col, --name-col and the header fields of a --name
// template are found by it.
func HeaderIndex(header []string, name string) int {
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
		if len(c.held) > 0 {
			r := c.held[0]
			c.held[0] = csvRecord{}
			c.held = c.held[1:]
			if r.bad != "" {
				c.report(r.line, r.bad)
				continue
			}
			cells, line = r.cells, r.line
		} else {
			cells, line, err = c.recs.next()
		}
		var bad *csvRowError
		switch {
		case errors.As(err, &bad):
			c.report(bad.line, bad.msg)
			continue
		case errors.Is(err, io.EOF):
			c.end()
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
		c.rows++
		return row, nil
	}
}

// end reports, the first time Next meets the end of the file, the skipped
// rows not reported one by one, and a file without a row holding a URL.
func (c *CSVReader) end() {
	if c.ended || c.warn == nil {
		c.ended = true
		return
	}
	c.ended = true
	if c.unreported > 0 {
		fmt.Fprintf(c.warn, "crawl: %s: %d more rows skipped\n", c.name, c.unreported)
		c.unreported = 0
	}
	if c.rows == 0 {
		fmt.Fprintf(c.warn, "crawl: %s: no row holds an http(s) URL\n", c.name)
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
