package parser

import (
	"bytes"
	"errors"
	"io"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxFlatDepth bounds the nesting of the fallback tree.
const maxFlatDepth = 256

// parseHTML parses text with the HTML Standard's tree builder. Pages it
// rejects (x/net/html refuses nesting deeper than 512 open elements, which
// broken pages full of unclosed tags reach) get a simpler tree built from
// the same tokens, so that their links and images are still found.
func parseHTML(text []byte) (*html.Node, error) {
	root, err := html.Parse(bytes.NewReader(text))
	if err == nil {
		return root, nil
	}
	return flatTree(text)
}

// flatTree builds a tree straight from the tokens: an end tag closes the
// nearest open element of its name, void elements and self-closing tags
// stay empty, and beyond maxFlatDepth elements are added without nesting.
func flatTree(text []byte) (*html.Node, error) {
	doc := &html.Node{Type: html.DocumentNode}
	stack := []*html.Node{doc}
	z := html.NewTokenizer(bytes.NewReader(text))
	for {
		tt := z.Next()
		top := stack[len(stack)-1]
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return nil, err
			}
			return doc, nil
		case html.TextToken:
			top.AppendChild(&html.Node{Type: html.TextNode, Data: string(z.Text())})
		case html.CommentToken:
			top.AppendChild(&html.Node{Type: html.CommentNode, Data: string(z.Text())})
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			n := &html.Node{Type: html.ElementNode, Data: tok.Data, DataAtom: tok.DataAtom, Attr: tok.Attr}
			top.AppendChild(n)
			if tt == html.StartTagToken && !isVoid(tok.DataAtom) && len(stack) < maxFlatDepth {
				stack = append(stack, n)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			for i := len(stack) - 1; i > 0; i-- {
				if stack[i].Data == string(name) {
					stack = stack[:i]
					break
				}
			}
		}
	}
}

func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img,
		atom.Input, atom.Link, atom.Meta, atom.Source, atom.Track, atom.Wbr,
		atom.Param, atom.Keygen:
		return true
	}
	return false
}
