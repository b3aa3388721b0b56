// Package bundle builds OCI bundles for tests from the static busybox of the
// Debian package busybox-static.
package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Bundle is an OCI bundle: Dir holds config.json and the root filesystem
// Rootfs (Dir/rootfs). Mutate Spec, then call Write.
type Bundle struct {
	Dir    string
	Rootfs string
	Spec   *specs.Spec
}

// New creates a bundle in a fresh t.TempDir() with a busybox rootfs and
// DefaultSpec(args...), and writes its config.json. It calls t.Fatal on
// error.
func New(t testing.TB, args ...string) *Bundle {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &Bundle{
		Dir:    dir,
		Rootfs: filepath.Join(dir, "rootfs"),
		Spec:   DefaultSpec(args...),
	}
	if err := Rootfs(b.Rootfs); err != nil {
		t.Fatalf("bundle: %v", err)
	}
	if err := b.Write(); err != nil {
		t.Fatalf("bundle: %v", err)
	}
	return b
}

// ConfigPath is the path of the bundle's config.json.
func (b *Bundle) ConfigPath() string { return filepath.Join(b.Dir, "config.json") }

// Write writes b.Spec to Dir/config.json with mode 0644.
func (b *Bundle) Write() error {
	data, err := json.MarshalIndent(b.Spec, "", "\t")
	if err != nil {
		return fmt.Errorf("bundle: encode spec: %w", err)
	}
	return writeFileMode(b.ConfigPath(), string(data)+"\n", 0o644)
}

// WriteFile writes content to path inside the rootfs (path is taken
// relative to the rootfs even if absolute and cannot escape it), creating
// parent directories with mode 0755, and sets the file's mode to mode.
// An existing file or symlink at path is replaced, never written through,
// so that the shared busybox inode cannot be modified this way.
func (b *Bundle) WriteFile(path, content string, mode os.FileMode) error {
	p := b.Path(path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return writeFileMode(p, content, mode)
}

// Path returns the host path of path inside the rootfs.
func (b *Bundle) Path(path string) string {
	return filepath.Join(b.Rootfs, filepath.Clean("/"+path))
}
