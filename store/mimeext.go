package store

import (
	"bytes"
	"mime"
	"net/http"
	"sort"
	"strings"
)

// conventionalExt is the extension a file of each media type gets: the
// one people expect (.jpg, not the .jfif or .jpe that mime.ExtensionsByType
// may list first on some systems).
var conventionalExt = map[string]string{
	"image/jpeg":                    ".jpg",
	"image/jpg":                     ".jpg",
	"image/pjpeg":                   ".jpg",
	"image/png":                     ".png",
	"image/apng":                    ".png",
	"image/x-png":                   ".png",
	"image/gif":                     ".gif",
	"image/webp":                    ".webp",
	"image/avif":                    ".avif",
	"image/avif-sequence":           ".avifs",
	"image/heic":                    ".heic",
	"image/heic-sequence":           ".heics",
	"image/heif":                    ".heif",
	"image/heif-sequence":           ".heifs",
	"image/jxl":                     ".jxl",
	"image/bmp":                     ".bmp",
	"image/x-bmp":                   ".bmp",
	"image/x-ms-bmp":                ".bmp",
	"image/svg+xml":                 ".svg",
	"image/tiff":                    ".tiff",
	"image/x-icon":                  ".ico",
	"image/vnd.microsoft.icon":      ".ico",
	"video/mp4":                     ".mp4",
	"video/x-m4v":                   ".m4v",
	"video/webm":                    ".webm",
	"video/quicktime":               ".mov",
	"video/x-matroska":              ".mkv",
	"video/x-msvideo":               ".avi",
	"video/avi":                     ".avi",
	"video/x-flv":                   ".flv",
	"video/mpeg":                    ".mpg",
	"video/mp2t":                    ".ts",
	"video/3gpp":                    ".3gp",
	"video/3gpp2":                   ".3g2",
	"video/ogg":                     ".ogv",
	"video/x-ms-wmv":                ".wmv",
	"audio/mpeg":                    ".mp3",
	"audio/mp3":                     ".mp3",
	"audio/mp4":                     ".m4a",
	"audio/x-m4a":                   ".m4a",
	"audio/m4a":                     ".m4a",
	"audio/aac":                     ".aac",
	"audio/x-aac":                   ".aac",
	"audio/ogg":                     ".ogg",
	"audio/opus":                    ".opus",
	"audio/wav":                     ".wav",
	"audio/wave":                    ".wav",
	"audio/x-wav":                   ".wav",
	"audio/flac":                    ".flac",
	"audio/x-flac":                  ".flac",
	"audio/webm":                    ".weba",
	"audio/midi":                    ".mid",
	"audio/x-ms-wma":                ".wma",
	"application/pdf":               ".pdf",
	"application/postscript":        ".ps",
	"application/zip":               ".zip",
	"application/x-zip":             ".zip",
	"application/x-zip-compressed":  ".zip",
	"application/gzip":              ".gz",
	"application/x-gzip":            ".gz",
	"application/x-tar":             ".tar",
	"application/x-bzip2":           ".bz2",
	"application/x-xz":              ".xz",
	"application/zstd":              ".zst",
	"application/x-7z-compressed":   ".7z",
	"application/vnd.rar":           ".rar",
	"application/x-rar-compressed":  ".rar",
	"application/epub+zip":          ".epub",
	"application/json":              ".json",
	"application/xml":               ".xml",
	"text/xml":                      ".xml",
	"application/javascript":        ".js",
	"text/javascript":               ".js",
	"application/wasm":              ".wasm",
	"application/x-bittorrent":      ".torrent",
	"application/vnd.apple.mpegurl": ".m3u8",
	"application/x-mpegurl":         ".m3u8",
	"application/dash+xml":          ".mpd",
	"application/msword":            ".doc",
	"application/vnd.ms-excel":      ".xls",
	"application/vnd.ms-powerpoint": ".ppt",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         ".xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
	"application/vnd.android.package-archive":                                   ".apk",
	"application/x-shockwave-flash":                                             ".swf",
	"font/ttf":                                                                  ".ttf",
	"font/otf":                                                                  ".otf",
	"font/woff":                                                                 ".woff",
	"font/woff2":                                                                ".woff2",
	"font/collection":                                                           ".ttc",
	"text/html":                                                                 ".html",
	"application/xhtml+xml":                                                     ".xhtml",
	"text/css":                                                                  ".css",
	"text/csv":                                                                  ".csv",
	"text/plain":                                                                ".txt",
	"text/markdown":                                                             ".md",
	"text/vtt":                                                                  ".vtt",
	"application/x-subrip":                                                      ".srt",
}

// vagueTypes say nothing about what a body is: the first bytes decide.
var vagueTypes = map[string]bool{
	"":                                  true,
	"application/octet-stream":          true,
	"binary/octet-stream":               true,
	"application/binary":                true,
	"application/unknown":               true,
	"application/x-unknown":             true,
	"application/download":              true,
	"application/x-download":            true,
	"application/force-download":        true,
	"content/unknown":                   true,
	"unknown/unknown":                   true,
	"application/x-octet-stream":        true,
	"application/octetstream":           true,
	"application/save":                  true,
	"application/x-www-form-urlencoded": true,
}

// Extension returns the extension (with its dot, lower case) that a file
// whose URL has none should get, from the response's Content-Type, else,
// when that is missing or says nothing specific (application/octet-stream,
// text/plain, …), from the first bytes of the body (up to 512 of them are
// looked at). "" means no idea.
func Extension(contentType string, head []byte) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	if !vagueTypes[mt] && mt != "text/plain" {
		if ext := extOfType(mt); ext != "" {
			return ext
		}
	}
	if ext := extOfType(SniffType(head)); ext != "" && ext != ".txt" {
		return ext
	}
	if mt == "text/plain" {
		return ".txt"
	}
	return ""
}

// extOfType is the conventional extension of media type mt, else the best
// one the system's MIME tables know, else "".
func extOfType(mt string) string {
	if mt == "" || mt == "application/octet-stream" {
		return ""
	}
	if ext, ok := conventionalExt[mt]; ok {
		return ext
	}
	exts, err := mime.ExtensionsByType(mt)
	if err != nil || len(exts) == 0 {
		return ""
	}
	// The shortest that maps back to the type: .mpg rather than .mpeg,
	// and never a 10-letter oddity when a 3-letter one exists.
	sort.SliceStable(exts, func(i, j int) bool { return len(exts[i]) < len(exts[j]) })
	for _, e := range exts {
		if len(e) <= 8 && !strings.ContainsAny(e, " /\\") {
			return strings.ToLower(e)
		}
	}
	return ""
}

// SniffType names the media type of a body from its first bytes (up to
// 512 of them): http.DetectContentType plus the signatures it lacks (the
// ISO BMFF brands of AVIF, HEIC, QuickTime and M4A; Matroska as opposed to
// WebM; TIFF, FLAC, JPEG XL, MP3 without an ID3 tag, 7-Zip, XZ, bzip2,
// Zstandard). It returns "application/octet-stream" when it cannot tell.
func SniffType(head []byte) string {
	if len(head) > 512 {
		head = head[:512]
	}
	if t := sniffBMFF(head); t != "" {
		return t
	}
	if t := sniffEBML(head); t != "" {
		return t
	}
	for _, s := range extraSigs {
		if bytes.HasPrefix(head, s.prefix) {
			return s.mt
		}
	}
	t := http.DetectContentType(head)
	if mt, _, err := mime.ParseMediaType(t); err == nil {
		t = mt
	}
	if t == "application/octet-stream" && isMP3Frame(head) {
		return "audio/mpeg"
	}
	return t
}

var extraSigs = []struct {
	prefix []byte
	mt     string
}{
	{[]byte("II*\x00"), "image/tiff"},
	{[]byte("MM\x00*"), "image/tiff"},
	{[]byte("fLaC"), "audio/flac"},
	{[]byte("\xFF\x0A"), "image/jxl"},
	{[]byte("\x00\x00\x00\x0CJXL \x0D\x0A\x87\x0A"), "image/jxl"},
	{[]byte("7z\xBC\xAF\x27\x1C"), "application/x-7z-compressed"},
	{[]byte("\xFD7zXZ\x00"), "application/x-xz"},
	{[]byte("BZh"), "application/x-bzip2"},
	{[]byte("\x28\xB5\x2F\xFD"), "application/zstd"},
	{[]byte("FLV\x01"), "video/x-flv"},
	{[]byte("ID3"), "audio/mpeg"},
	{[]byte("#EXTM3U"), "application/vnd.apple.mpegurl"},
}

// sniffBMFF reads an ISO base media file's ftyp box: its major brand, then
// its compatible brands, name the format.
func sniffBMFF(b []byte) string {
	if len(b) < 12 || string(b[4:8]) != "ftyp" {
		return ""
	}
	size := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if size < 12 || size%4 != 0 {
		return ""
	}
	end := min(size, len(b))
	brands := []string{string(b[8:12])}
	for i := 16; i+4 <= end; i += 4 {
		brands = append(brands, string(b[i:i+4]))
	}
	for _, br := range brands {
		switch br {
		case "avif":
			return "image/avif"
		case "avis":
			return "image/avif-sequence"
		case "heic", "heix", "heim", "heis":
			return "image/heic"
		case "hevc", "hevx":
			return "image/heic-sequence"
		case "qt  ":
			return "video/quicktime"
		case "M4A ", "M4B ":
			return "audio/mp4"
		case "M4V ", "M4VH", "M4VP":
			return "video/x-m4v"
		case "3gp4", "3gp5", "3gp6", "3gp7", "3gs7", "3ge6", "3ge7", "3gg6":
			return "video/3gpp"
		case "3g2a", "3g2b", "3g2c":
			return "video/3gpp2"
		case "crx ":
			return "image/x-canon-cr3"
		}
	}
	for _, br := range brands {
		switch {
		case strings.HasPrefix(br, "mp4"), strings.HasPrefix(br, "iso"), br == "avc1", br == "dash", br == "f4v ", br == "MSNV", br == "NDAS", br == "mmp4":
			return "video/mp4"
		case br == "mif1" || br == "msf1":
			return "image/heif"
		}
	}
	return ""
}

// sniffEBML tells Matroska from WebM by the DocType of the EBML header.
func sniffEBML(b []byte) string {
	if !bytes.HasPrefix(b, []byte("\x1A\x45\xDF\xA3")) {
		return ""
	}
	// The DocType element (ID 0x4282) holds "webm" or "matroska".
	if i := bytes.Index(b, []byte{0x42, 0x82}); i >= 0 && i+2 < len(b) {
		rest := b[i+3:]
		switch {
		case bytes.HasPrefix(rest, []byte("webm")):
			return "video/webm"
		case bytes.HasPrefix(rest, []byte("matroska")):
			return "video/x-matroska"
		}
	}
	return "video/webm"
}

// isMP3Frame reports whether b starts with an MPEG audio frame header
// (layer III) followed by a second one where the first says it ends: raw
// MP3 without an ID3 tag.
func isMP3Frame(b []byte) bool {
	n := mp3FrameLen(b)
	return n > 0 && n+4 <= len(b) && mp3FrameLen(b[n:]) > 0
}

// mp3FrameLen is the length of the MPEG-1/2 layer III frame whose header
// starts b, 0 if b does not start with one.
func mp3FrameLen(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return 0
	}
	version := (b[1] >> 3) & 3 // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
	layer := (b[1] >> 1) & 3   // 1: layer III
	bitrate := int(b[2] >> 4)
	rate := int(b[2]>>2) & 3
	if version == 1 || layer != 1 || bitrate == 0 || bitrate == 15 || rate == 3 {
		return 0
	}
	pad := int(b[2]>>1) & 1
	kbps := [2][15]int{
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}, // MPEG-1
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},     // MPEG-2, 2.5
	}
	hz := [3][3]int{{44100, 48000, 32000}, {22050, 24000, 16000}, {11025, 12000, 8000}}
	if version == 3 {
		return 144000*kbps[0][bitrate]/hz[0][rate] + pad
	}
	row := 1
	if version == 0 {
		row = 2
	}
	return 72000*kbps[1][bitrate]/hz[row][rate] + pad
}
