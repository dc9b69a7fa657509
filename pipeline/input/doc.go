// Package input reads what crawl get downloads: URL lists (one URL a line)
// and CSV files of URLs, from a file or standard input.
//
// A list is read line by line; blank lines and lines starting with '#' are
// skipped. A CSV file is streamed row by row by a [CSVReader]: the
// delimiter, the header row and the URL column are found from the file
// itself, the encoding through [parser.DetectTextEncoding] (GBK files saved
// by a Chinese Excel read right), and a malformed row is reported with its
// line number and skipped. Memory does not grow with the size of either.
//
// Problems with what the user named (a file that cannot be opened, a
// column that is not in the header, an unknown encoding) are a
// [*UsageError], found before anything is downloaded.
package input
