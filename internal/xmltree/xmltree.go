// Package xmltree is a minimal XML element tree for the tests that read the documents this
// project writes (autoconfig, Autodiscover, and Thunderbird's rules for them): children by
// name, attributes and text. encoding/xml's struct decoding would need one type per document
// shape, and would hide what a reader such as Thunderbird's JXON sees (every element, in order).
package xmltree

import (
	"bytes"
	"encoding/xml"
	"io"
)

// Node is one element: its local name, attributes by local name, child elements in document
// order, and its character data (concatenated).
type Node struct {
	Name     string
	Attrs    map[string]string
	Children []*Node
	Text     string
}

// Parse reads data into a tree under a nameless root node.
func Parse(data []byte) (*Node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	root := &Node{}
	stack := []*Node{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &Node{Name: t.Name.Local, Attrs: map[string]string{}}
			for _, a := range t.Attr {
				n.Attrs[a.Name.Local] = a.Value
			}
			top := stack[len(stack)-1]
			top.Children = append(top.Children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			stack[len(stack)-1].Text += string(t)
		}
	}
}

// All returns the children named name.
func (n *Node) All(name string) []*Node {
	var out []*Node
	for _, c := range n.Children {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// First returns the first child named name.
func (n *Node) First(name string) (*Node, bool) {
	if l := n.All(name); len(l) > 0 {
		return l[0], true
	}
	return nil, false
}

// Text1 returns the text of the first child named name, "" when there is none.
func (n *Node) Text1(name string) string {
	if c, ok := n.First(name); ok {
		return c.Text
	}
	return ""
}
