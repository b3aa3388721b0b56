package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// BusyboxPath is where the Debian package busybox-static installs its
// statically linked binary.
const BusyboxPath = "/bin/busybox"

var ensureMu sync.Mutex

// EnsureBusybox makes sure BusyboxPath exists, installing the Debian package
// busybox-static with apt-get if it does not. apt-get update is only run when
// a first install attempt fails.
func EnsureBusybox() error {
	ensureMu.Lock()
	defer ensureMu.Unlock()
	if _, err := os.Stat(BusyboxPath); err == nil {
		return nil
	}
	install := func() error { return aptGet("install", "-y", "busybox-static") }
	if err := install(); err != nil {
		if uerr := aptGet("update"); uerr != nil {
			return fmt.Errorf("busybox: %v; then %w", err, uerr)
		}
		if err := install(); err != nil {
			return fmt.Errorf("busybox: %w", err)
		}
	}
	if _, err := os.Stat(BusyboxPath); err != nil {
		return fmt.Errorf("busybox: busybox-static installed but %w", err)
	}
	return nil
}

func aptGet(args ...string) error {
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("apt-get %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// busyboxCache is the per-process result of preparing busybox: a private copy
// of the binary that rootfs trees hard link to, and its applet list.
type busyboxCache struct {
	once    sync.Once
	path    string
	applets []string
	err     error
}

var cache busyboxCache

func cachedBusybox() (string, []string, error) {
	cache.once.Do(func() {
		cache.err = EnsureBusybox()
		if cache.err != nil {
			return
		}
		cache.applets, cache.err = listApplets(BusyboxPath)
		if cache.err != nil {
			return
		}
		cache.path, cache.err = cacheCopy(BusyboxPath)
	})
	return cache.path, cache.applets, cache.err
}

func listApplets(bin string) ([]string, error) {
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", bin, err)
	}
	var applets []string
	for _, name := range strings.Fields(string(out)) {
		if name != "busybox" && !strings.Contains(name, "/") {
			applets = append(applets, name)
		}
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("%s --list: no applets", bin)
	}
	return applets, nil
}

// cacheCopy returns a copy of src in a cache directory under os.TempDir, so
// that rootfs trees can hard link to it without sharing an inode with the
// host's own binary. The copy is keyed by size and mtime of src and recreated
// if it was modified (for example written to through a container's hard link).
func cacheCopy(src string) (string, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, fmt.Sprintf("busybox-%d-%d", fi.Size(), fi.ModTime().UnixNano()))
	if ci, err := os.Stat(dst); err == nil && ci.Size() == fi.Size() &&
		ci.ModTime().Equal(fi.ModTime()) && ci.Mode().Perm() == 0o755 {
		return dst, nil
	}
	tmp, err := os.CreateTemp(dir, ".busybox-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := copyInto(tmp, src); err != nil {
		return "", err
	}
	if err := os.Chtimes(tmp.Name(), fi.ModTime(), fi.ModTime()); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	return dst, nil
}

// cacheDir returns a shared cache directory if it is safely ours, else a
// fresh private one.
func cacheDir() (string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("gorun-tests-busybox-%d", os.Geteuid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err == nil && fi.IsDir() && fi.Mode().Perm()&0o022 == 0 {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == os.Geteuid() {
			return dir, nil
		}
	}
	return os.MkdirTemp("", "gorun-tests-busybox-")
}

// copyInto copies src into f, closes f and sets mode 0755.
func copyInto(f *os.File, src string) error {
	in, err := os.Open(src)
	if err != nil {
		f.Close()
		return err
	}
	defer in.Close()
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o755); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// installBusybox places the cached busybox at dst, as a hard link when
// possible and as a copy otherwise.
func installBusybox(cached, dst string) error {
	os.Remove(dst)
	if err := os.Link(cached, dst); err == nil {
		return nil
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	return copyInto(f, cached)
}
