package specs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
)

// ConfigName is the name of the config file in a bundle.
const ConfigName = "config.json"

// Load reads bundle/config.json. It does not validate the config beyond
// its JSON types; call Validate for that. Unknown fields are ignored, as
// the OCI spec allows.
func Load(bundle string) (*rspec.Spec, error) {
	if err := checkBundle(bundle); err != nil {
		return nil, err
	}
	file := filepath.Join(bundle, ConfigName)
	fi, err := os.Stat(file)
	if err == nil && !fi.Mode().IsRegular() {
		// Reading a fifo would block forever.
		what := "not a regular file"
		if fi.IsDir() {
			what = "is a directory"
		}
		return nil, errs.Field(ConfigName, file, "config.json must be a regular file", "%s", what)
	}
	var data []byte
	if err == nil {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, readError(bundle, file, err)
	}
	return decode(file, data)
}

func readError(bundle, file string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errs.Field("bundle", bundle,
			"run `gorun spec` there to write a default one",
			"config.json not found in bundle %s", bundle)
	case errors.Is(err, fs.ErrPermission):
		return errs.Field(ConfigName, file,
			"check the permissions of the file and of the bundle directory", "%w", err)
	default:
		return errs.Field(ConfigName, file, "config.json must be a readable regular file", "%w", err)
	}
}

func checkBundle(bundle string) error {
	if bundle == "" {
		return errs.Field("bundle", bundle, "pass the bundle directory with --bundle", "empty path")
	}
	fi, err := os.Stat(bundle)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errs.Field("bundle", bundle,
			"pass an existing bundle directory with --bundle, or run from inside one",
			"bundle directory does not exist")
	case err != nil:
		return errs.Field("bundle", bundle, "check the bundle path and its permissions", "%w", err)
	case !fi.IsDir():
		return errs.Field("bundle", bundle,
			"pass the directory holding config.json, not a file", "not a directory")
	}
	return nil
}

// decode parses config bytes read from file (named in errors).
func decode(file string, data []byte) (*rspec.Spec, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errs.Field(ConfigName, file,
			"run `gorun spec` to write a default config", "file is empty")
	}
	var s rspec.Spec
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return nil, decodeError(file, data, err)
	}
	// One JSON value only: anything after it is a mistake (a second
	// object pasted in, a stray bracket).
	off := skipSpace(data, dec.InputOffset())
	if off < int64(len(data)) {
		line, col := lineCol(data, off)
		return nil, errs.Field(ConfigName, file,
			"remove everything after the closing brace of the top-level object",
			"unexpected data after the JSON object at line %d, column %d (byte offset %d)", line, col, off)
	}
	return &s, nil
}

func decodeError(file string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off := max(syn.Offset-syntaxOffsetPast(), 0)
		line, col := lineCol(data, off)
		return errs.Field(ConfigName, file, "fix the JSON syntax there",
			"not valid JSON at line %d, column %d (byte offset %d): %v", line, col, off, syn)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		line, col := lineCol(data, int64(len(data)))
		return errs.Field(ConfigName, file, "the file is truncated: close every open brace, bracket and string",
			"not valid JSON: unexpected end of file at line %d, column %d", line, col)
	case errors.As(err, &typ):
		return typeError(file, data, typ)
	default:
		return errs.Field(ConfigName, file, "fix config.json", "%w", err)
	}
}

// typeError reports a JSON value of the wrong type at its full path
// (with array indexes, which json.UnmarshalTypeError.Field lacks).
func typeError(file string, data []byte, e *json.UnmarshalTypeError) error {
	want := describeType(e.Type)
	if e.Field == "" && e.Struct == "" {
		return errs.Field(ConfigName, file, "config.json must hold one JSON object",
			"top-level value is %s %s, expected %s", article(e.Value), e.Value, want)
	}
	field, value, ok := locate(data, e.Offset)
	if !ok || field == "" {
		field, value = e.Field, e.Value
	}
	got := e.Value
	if n, isNum := strings.CutPrefix(got, "number "); isNum {
		got = "the number " + n
	} else if got != "" {
		got = article(got) + " " + got
	}
	return errs.Field(field, value, fmt.Sprintf("make %s %s", field, want),
		"expected %s, got %s", want, got)
}

// syntaxOffsetPast is how far past the offending byte json.SyntaxError's
// Offset points: 1 with encoding/json's own decoder, 0 when it is built on
// encoding/json/v2 (GOEXPERIMENT=jsonv2, as the Makefile builds gorun).
// Found from a one-byte error, only when an error is reported.
func syntaxOffsetPast() int64 {
	var v any
	var syn *json.SyntaxError
	if errors.As(json.Unmarshal([]byte("x"), &v), &syn) {
		return syn.Offset
	}
	return 1
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n':
			off++
		default:
			return off
		}
	}
	return off
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
