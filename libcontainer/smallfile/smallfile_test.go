package smallfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4095, 4096, 4097, 70000} {
		want := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := Read(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: read %d bytes, err %v", size, len(got), err)
		}
	}
}

func TestReadProc(t *testing.T) {
	// procfs reports size 0: what os.ReadFile's stat would size the
	// buffer by; the content must come through all the same.
	got, err := Read("/proc/self/stat")
	if err != nil || !bytes.Contains(got, []byte(") ")) {
		t.Fatalf("read /proc/self/stat: %q, %v", got, err)
	}
}

func TestReadErrors(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "missing"))
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Op != "open" {
		t.Fatalf("missing file: %v, want an open *fs.PathError matching fs.ErrNotExist", err)
	}
	if _, err := Read(t.TempDir()); err == nil {
		t.Fatal("reading a directory succeeded")
	}
}
