package specs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// maxValueLen bounds a value quoted in an error.
const maxValueLen = 80

// hit is the innermost JSON value found so far around an offset.
type hit struct {
	depth int
	path  string
	text  string
	found bool
}

// locate walks data (valid JSON) and returns the path ("mounts[1].options")
// and a short text of the innermost value whose bytes start at, end at or
// contain off, the offset json.UnmarshalTypeError reports (the value's end
// with encoding/json's own decoder, its start when it is built on
// encoding/json/v2).
func locate(data []byte, off int64) (path, text string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var h hit
	if err := walk(dec, "", 0, off, &h); err != nil && !h.found {
		return "", "", false
	}
	return h.path, h.text, h.found
}

func walk(dec *json.Decoder, path string, depth int, off int64, h *hit) error {
	start := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	var text string
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			text = "{...}"
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				if err := walk(dec, path+keyPath(path, key), depth+1, off, h); err != nil {
					return err
				}
			}
		case '[':
			text = "[...]"
			for i := 0; dec.More(); i++ {
				if err := walk(dec, fmt.Sprintf("%s[%d]", path, i), depth+1, off, h); err != nil {
					return err
				}
			}
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return err
		}
	case string:
		text = t
	case json.Number:
		text = t.String()
	case bool:
		text = strconv.FormatBool(t)
	case nil:
		text = "null"
	}
	end := dec.InputOffset()
	if start <= off && off <= end && (!h.found || depth > h.depth) {
		*h = hit{depth: depth, path: path, text: shorten(text), found: true}
	}
	return nil
}

// keyPath renders an object key as a path element: ".key", or
// `["odd key"]` when the key is not a plain word.
func keyPath(parent, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return "[" + strconv.Quote(key) + "]"
	case parent == "":
		return key
	default:
		return "." + key
	}
}

func shorten(s string) string {
	if len(s) <= maxValueLen {
		return s
	}
	return s[:maxValueLen] + "..."
}

// describeType names a Go type the way a config.json author thinks of it.
func describeType(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		lim := int64(1)<<(t.Bits()-1) - 1
		return fmt.Sprintf("an integer from %d to %d", -lim-1, lim)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint, reflect.Uintptr:
		lim := uint64(1)<<(t.Bits()-1)*2 - 1
		return fmt.Sprintf("an integer from 0 to %d", lim)
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		elem := describeType(t.Elem())
		if _, rest, ok := strings.Cut(elem, " "); ok {
			elem = rest // "a string" -> "string"
		}
		return "an array of " + plural(elem)
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Interface:
		return "any JSON value"
	}
	return "a " + t.String()
}

func plural(s string) string {
	word, rest, _ := strings.Cut(s, " ")
	if rest != "" {
		rest = " " + rest
	}
	return word + "s" + rest
}
