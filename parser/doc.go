// Package parser turns the bytes of a fetched HTML page into a UTF-8 document
// tree and takes URLs and text out of it.
//
// Decoding follows the order a browser uses, tuned for the legacy Chinese,
// Japanese and Korean sites crawl is pointed at:
//
//  1. a label forced by the user (--encoding);
//  2. a byte order mark (UTF-8, UTF-16LE, UTF-16BE);
//  3. the charset parameter of the Content-Type header;
//  4. a <meta charset> or <meta http-equiv="Content-Type"> found by the HTML
//     Standard's prescan of the first 1024 bytes, then of the rest of <head>;
//  5. a guess: valid UTF-8 (including pure ASCII) is UTF-8, otherwise the
//     candidate among GB18030, Big5, Shift_JIS, EUC-JP, EUC-KR and
//     windows-1252 that decodes with the fewest errors into the most
//     plausible text.
//
// A label from the header or a <meta> that does not fit the bytes is
// overruled, as such pages are common: a legacy label on a body that is
// valid UTF-8 with some non-ASCII text gives UTF-8 (UTF-8 pages that still
// say gb2312 decode as clean mojibake otherwise), and a label whose decoding
// yields U+FFFD (GBK pages that say utf-8), or windows-1252 (GBK pages a
// server labels iso-8859-1), gives way to a candidate that decodes without
// errors into more plausible text.
//
// Plain text (a CSV file, a list of URLs) has no header or <meta>:
// DetectTextEncoding takes a byte order mark, then valid UTF-8, then
// GB18030 when it fits the bytes, and only then the guess.
//
// The labels gb2312, gbk and their aliases are decoded with GB18030, a
// superset that also knows the four-byte sequences and the characters GBK
// added to GB2312 (such as 镕 and 堃). The double-byte encodings (GB18030,
// Big5, Shift_JIS, EUC-KR, EUC-JP) are decoded through byte-pair tables
// filled from x/text's decoders, which give the same text as x/text at a
// fraction of the cost.
//
// The page is parsed once with golang.org/x/net/html (a page nested deeper
// than that parser accepts gets a simpler tree built from the same tokens).
// Selectors run against
// that one tree: XPath 1.0 through github.com/antchfx/htmlquery, or CSS (an
// expression starting with "css:") through github.com/PuerkitoBio/goquery.
// An answer that is JSON (a JSON Content-Type, or a body that starts with
// '{' or '[' and parses) is read into a github.com/antchfx/jsonquery tree
// instead, and XPath selectors run over it; "json:" selectors run over
// the JSON documents embedded in an HTML page's scripts (Embedded). Notes
// tells what could not be read.
// Extracted references are resolved against the page's <base href> or URL,
// following the URL Standard where Go's net/url differs from browsers
// (backslashes, stray '%', non-ASCII in the query encoded in the page's
// encoding), and normalised as browsers write them (host in lower case or
// punycode, no default port), so that equal URLs are deduplicated. A
// selected srcset or data-srcset attribute gives its largest candidate.
//
// Rewrite rules and StripQuery turn thumbnail URLs into the URLs of the
// originals.
//
// ParsePlaylist reads an HLS playlist (RFC 8216) against its URL: a master
// playlist's variants (ChooseVariant picks one), or a media playlist's
// segments with their byte ranges resolved, the initialization section
// and the key in force for each. TSStart finds the MPEG-TS data of a
// segment disguised behind an image header.
//
// A Document is read-only after Parse, and a Selector or Rewrite is
// read-only after it is compiled: all of them may be used from several
// goroutines at once.
package parser
