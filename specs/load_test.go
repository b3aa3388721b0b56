package specs

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestLoadBundleErrors(t *testing.T) {
	dir := t.TempDir()

	missing := filepath.Join(dir, "nope")
	_, err := Load(missing)
	wantFieldErr(t, err, "bundle", missing)

	empty := t.TempDir()
	_, err = Load(empty)
	wantFieldErr(t, err, "bundle", "config.json not found in bundle "+empty)
	if !strings.Contains(err.Error(), "run `gorun spec` there to write a default one") {
		t.Errorf("error %q does not say how to get a config", err)
	}

	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	_, err = Load(file)
	wantFieldErr(t, err, "bundle", "not a directory")

	_, err = Load("")
	wantFieldErr(t, err, "bundle", "empty")

	isDir := t.TempDir()
	os.Mkdir(filepath.Join(isDir, ConfigName), 0o755)
	_, err = Load(isDir)
	wantFieldErr(t, err, ConfigName, "is a directory")
}

func TestLoadBad(t *testing.T) {
	tests := []struct {
		name, json, field, value string
	}{
		{"syntax", `{"a":}`, ConfigName, "line 1, column 6"},
		{"syntax later line", "{\n  \"ociVersion\": \"1.0.0\",\n  \"process\": {,}\n}", ConfigName, "line 3, column 15"},
		{"truncated", "{\"ociVersion\": \"1.0.0\",\n", ConfigName, "unexpected end of file at line 2"},
		{"empty file", "", ConfigName, "empty"},
		{"blank file", " \n\t", ConfigName, "empty"},
		{"trailing data", `{"ociVersion": "1.0.0"} {}`, ConfigName, "line 1, column 25"},
		{"trailing bracket", "{}\n]", ConfigName, "line 2, column 1"},
		{"top-level array", `[]`, ConfigName, "top-level value is an array"},
		{"top-level string", `"x"`, ConfigName, "expected an object"},
		{"args is a string", `{"process": {"args": "sh"}}`, "process.args", `"sh": expected an array of strings, got a string`},
		{"arg is a number", `{"process": {"args": ["sh", 1]}}`, "process.args[1]", `"1"`},
		{"process is a number", `{"process": 3}`, "process", "expected an object"},
		{"destination number", `{"mounts": [{"destination": "/a"}, {"destination": 5}]}`, "mounts[1].destination", `"5"`},
		{"options object", `{"mounts": [{"destination": "/a"}, {"options": {"a": 1}}]}`, "mounts[1].options", "got an object"},
		{"negative uid", `{"process": {"user": {"uid": -1}}}`, "process.user.uid", "from 0 to 4294967295, got the number -1"},
		{"huge gid", `{"process": {"user": {"gid": 5000000000}}}`, "process.user.gid", "5000000000"},
		{"fractional oom", `{"process": {"oomScoreAdj": 1.5}}`, "process.oomScoreAdj", "1.5"},
		{"terminal string", `{"process": {"terminal": "yes"}}`, "process.terminal", "expected true or false, got a string"},
		{"annotation number", `{"annotations": {"org.example.x": 1}}`, `annotations["org.example.x"]`, `"1"`},
		{"embedded field", `{"linux": {"resources": {"blockIO": {"weightDevice": [{"major": "8"}]}}}}`,
			"linux.resources.blockIO.weightDevice[0].major", `"8"`},
		{"namespace type number", `{"linux": {"namespaces": [{"type": "pid"}, {"type": 7}]}}`, "linux.namespaces[1].type", `"7"`},
		{"capabilities null ok, bounding wrong", `{"process": {"capabilities": {"bounding": [true]}}}`,
			"process.capabilities.bounding[0]", `"true"`},
		{"mappings wrong", `{"linux": {"uidMappings": [{"containerID": 0, "hostID": 0, "size": "1"}]}}`,
			"linux.uidMappings[0].size", `"1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBundle(t)
			writeConfig(t, b, []byte(tt.json))
			s, err := Load(b)
			if s != nil {
				t.Errorf("Load returned a spec with error %v", err)
			}
			wantFieldErr(t, err, tt.field, tt.value)
		})
	}
}

func TestLoadUnknownFields(t *testing.T) {
	b := newBundle(t)
	writeConfig(t, b, []byte(`{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/", "futureField": [1, 2]},
		"root": {"path": "rootfs"}, "x-vendor": {"a": 1}}`))
	s, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "1.0.2" || s.Process.Args[0] != "sh" {
		t.Errorf("spec = %+v", s)
	}
	if err := Validate(s, b, true); err != nil {
		t.Error(err)
	}
}

func TestLoadNull(t *testing.T) {
	b := newBundle(t)
	writeConfig(t, b, []byte("null"))
	s, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	wantFieldErr(t, Validate(s, b, true), "ociVersion", "missing")
}

func TestLineCol(t *testing.T) {
	data := []byte("ab\ncd\n")
	for off, want := range map[int64][2]int{0: {1, 1}, 1: {1, 2}, 3: {2, 1}, 4: {2, 2}, 6: {3, 1}, 99: {3, 1}, -1: {1, 1}} {
		if l, c := lineCol(data, off); l != want[0] || c != want[1] {
			t.Errorf("lineCol(%d) = %d:%d, want %d:%d", off, l, c, want[0], want[1])
		}
	}
}

func TestLoadFifo(t *testing.T) {
	b := newBundle(t)
	if err := syscall.Mkfifo(filepath.Join(b, ConfigName), 0o644); err != nil {
		t.Skip(err)
	}
	_, err := Load(b)
	wantFieldErr(t, err, ConfigName, "not a regular file")
}
