package xmltree

import "testing"

func TestParse(t *testing.T) {
	root, err := Parse([]byte(`<?xml version="1.0"?><a v="1"><b>x</b><c/><b>y<d/>z</b></a>`))
	if err != nil {
		t.Fatal(err)
	}
	a, ok := root.First("a")
	if !ok || a.Attrs["v"] != "1" || len(a.Children) != 3 {
		t.Fatalf("a: %+v", a)
	}
	if bs := a.All("b"); len(bs) != 2 || bs[0].Text != "x" || bs[1].Text != "yz" || a.Text1("b") != "x" || a.Text1("none") != "" {
		t.Errorf("b: %+v", bs)
	}
	if _, err := Parse([]byte(`<a><b></a>`)); err == nil {
		t.Error("mismatched tags parsed")
	}
}
