package clientconfig

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A minimal writer for Apple's XML property list format (the PropertyList-1.0 DTD): dict, array,
// string, integer and boolean are all a configuration profile needs. It is written by hand rather
// than with xml.Encoder so that booleans come out as <true/> and the layout matches what Apple's
// tools write; every piece of text still goes through xml.EscapeText, which escapes markup
// characters and replaces characters XML cannot carry with U+FFFD.

type plistEntry struct {
	Key   string
	Value any // string, int, bool or []plistDict
}

type plistDict []plistEntry

const plistHeader = xml.Header +
	`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n" +
	`<plist version="1.0">` + "\n"

// encodePlist writes d as a complete plist document. Keys are sorted, as Apple's own tools
// write them, which also keeps the output byte-for-byte stable.
func encodePlist(buf *bytes.Buffer, d plistDict) error {
	buf.WriteString(plistHeader)
	if err := encodeDict(buf, d, 0); err != nil {
		return err
	}
	buf.WriteString("</plist>\n")
	return nil
}

func encodeDict(buf *bytes.Buffer, d plistDict, depth int) error {
	indent := strings.Repeat("\t", depth)
	buf.WriteString(indent + "<dict>\n")
	for _, e := range slices.SortedFunc(slices.Values(d), func(a, b plistEntry) int { return strings.Compare(a.Key, b.Key) }) {
		textElement(buf, depth+1, "key", e.Key)
		switch v := e.Value.(type) {
		case string:
			textElement(buf, depth+1, "string", v)
		case int:
			textElement(buf, depth+1, "integer", strconv.Itoa(v))
		case bool:
			buf.WriteString(indent + "\t<" + strconv.FormatBool(v) + "/>\n")
		case []plistDict:
			buf.WriteString(indent + "\t<array>\n")
			for _, sub := range v {
				if err := encodeDict(buf, sub, depth+2); err != nil {
					return err
				}
			}
			buf.WriteString(indent + "\t</array>\n")
		default:
			return fmt.Errorf("plist key %s: unsupported value type %T", e.Key, v)
		}
	}
	buf.WriteString(indent + "</dict>\n")
	return nil
}

func textElement(buf *bytes.Buffer, depth int, name, text string) {
	buf.WriteString(strings.Repeat("\t", depth) + "<" + name + ">")
	_ = xml.EscapeText(buf, []byte(text)) // a bytes.Buffer never fails to write
	buf.WriteString("</" + name + ">\n")
}
