package store

import "testing"

func TestExtension(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	for _, c := range []struct {
		ctype, head, want string
	}{
		{"image/jpeg", "", ".jpg"},
		{"IMAGE/JPEG; charset=binary", "", ".jpg"},
		{"image/pjpeg", "", ".jpg"},
		{"image/png", "", ".png"},
		{"image/gif", "", ".gif"},
		{"image/webp", "", ".webp"},
		{"image/avif", "", ".avif"},
		{"image/bmp", "", ".bmp"},
		{"image/svg+xml", "", ".svg"},
		{"video/mp4", "", ".mp4"},
		{"video/webm", "", ".webm"},
		{"video/quicktime", "", ".mov"},
		{"video/x-matroska", "", ".mkv"},
		{"audio/mpeg", "", ".mp3"},
		{"audio/mp4", "", ".m4a"},
		{"application/pdf", "", ".pdf"},
		{"application/zip", "", ".zip"},
		// The header wins over the bytes when it says something.
		{"image/jpeg", png, ".jpg"},
		// Vague headers: the bytes decide.
		{"application/octet-stream", png, ".png"},
		{"binary/octet-stream", "GIF89a", ".gif"},
		{"", "\xff\xd8\xff\xe0", ".jpg"},
		{"application/force-download", "RIFF\x00\x00\x00\x00WEBPVP8 ", ".webp"},
		{"text/plain", png, ".png"},
		{"text/plain; charset=utf-8", "just words", ".txt"},
		{"application/octet-stream", "\x00\x01\x02\x03\x04", ""},
		{"application/octet-stream", "", ""},
		{"not a type", "%PDF-1.4", ".pdf"},
	} {
		if got := Extension(c.ctype, []byte(c.head)); got != c.want {
			t.Errorf("Extension(%q, %q) = %q, want %q", c.ctype, c.head, got, c.want)
		}
	}
}

func TestSniffType(t *testing.T) {
	frame := "\xff\xfb\x90\x64" // MPEG-1 layer III, 128 kb/s, 44.1 kHz: 417 bytes
	mp3 := frame + string(make([]byte, 413)) + frame
	for _, c := range []struct{ head, want string }{
		{"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "image/avif"},
		{"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"},
		{"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "video/quicktime"},
		{"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00M4A mp42", "audio/mp4"},
		{"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "video/mp4"},
		{"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"},
		{"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"},
		{"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"},
		{"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"},
		{"II*\x00\x08\x00\x00\x00", "image/tiff"},
		{"fLaC\x00\x00\x00\x22", "audio/flac"},
		{"ID3\x04\x00\x00", "audio/mpeg"},
		{mp3, "audio/mpeg"},
		{"\xff\xfb\x90\x64\x00\x01\x02 no second frame", "application/octet-stream"},
		{"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"},
		{"BM\x00\x00", "image/bmp"},
		{"\x00\x00\x00\x08ftyp", "application/octet-stream"},
	} {
		if got := SniffType([]byte(c.head)); got != c.want {
			t.Errorf("SniffType(%q) = %q, want %q", c.head, got, c.want)
		}
	}
}
