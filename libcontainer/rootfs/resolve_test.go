package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// testRoot makes a rootfs with links that would leave it if they were
// followed from the host: an absolute link, a ".." chain, a link to a
// directory inside.
func testRoot(t *testing.T) (string, *os.File) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"etc", "dev", "real/inner"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"abs":      "/etc",
		"up":       "../../../../..",
		"inside":   "real",
		"dangling": "/nowhere/at/all",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return dir, root
}

// inode names the object behind f by device and inode.
func inode(t *testing.T, f *os.File) [2]uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return [2]uint64{st.Dev, st.Ino}
}

// checkHandle checks that f, got for p, is the rootfs's want, and closes it.
func checkHandle(t *testing.T, p string, f *os.File, err error, dir, want string) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", p, err)
		return
	}
	defer f.Close()
	if got, w := inode(t, f), inodeOf(t, filepath.Join(dir, want)); got != w {
		t.Errorf("%s gave %v, want the rootfs's %s (%v)", p, got, want, w)
	}
}

func inodeOf(t *testing.T, path string) [2]uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return [2]uint64{st.Dev, st.Ino}
}

func TestResolveInRootStaysInside(t *testing.T) {
	dir, root := testRoot(t)
	for p, want := range map[string]string{
		"/abs":            "etc", // /etc of the rootfs, not the host's
		"/up":             ".",   // .. stops at the rootfs
		"/up/up/etc":      "etc", //
		"inside/inner":    "real/inner",
		"/../../real/../": ".",
	} {
		f, err := resolveInRoot(root, p)
		checkHandle(t, p, f, err, dir, want)
	}
	if _, err := resolveInRoot(root, "/dangling"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dangling link: %v, want not exist", err)
	}
	if _, err := resolveInRoot(root, "/missing/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing path: %v, want not exist", err)
	}
}

func TestMkdirAllInRoot(t *testing.T) {
	dir, root := testRoot(t)
	for p, want := range map[string]string{
		"/dev":            "dev",          // exists
		"/dev/pts":        "dev/pts",      // last component missing
		"/a/b/c":          "a/b/c",        // several missing (pathrs-lite)
		"/abs/new":        "etc/new",      // parent is a link, kept inside
		"/up/dev/shm":     "dev/shm",      //
		"/inside/inner/x": "real/inner/x", //
	} {
		f, err := mkdirAllInRoot(root, p)
		checkHandle(t, p, f, err, dir, want)
	}
	// Through a dangling link pathrs-lite refuses; either way nothing
	// may appear on the host.
	if f, err := mkdirAllInRoot(root, "/dangling/inside"); err == nil {
		f.Close()
	}
	if _, err := os.Stat("/nowhere"); err == nil {
		t.Fatal("a directory was made on the host through a link")
	}
	// A file where a directory is wanted is an error, not replaced.
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := mkdirAllInRoot(root, "/file"); err == nil {
		t.Error("mkdir over a file succeeded")
	}
}

func TestMkdirLastRefusesLink(t *testing.T) {
	dir, root := testRoot(t)
	// The last component exists as a link: mkdirLast must not follow it.
	if _, err := mkdirLast(root, "/inside"); err == nil {
		t.Fatal("mkdirLast followed a link at its last component")
	}
	for _, p := range []string{"/", "/..", "/."} {
		if f, err := mkdirLast(root, p); err == nil {
			f.Close()
			t.Errorf("mkdirLast(%q) succeeded", p)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "real")); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 7 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("rootfs changed: %s", strings.Join(names, " "))
	}
}
