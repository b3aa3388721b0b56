package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Paths inside the rootfs are resolved by the kernel: openat2 with
// RESOLVE_IN_ROOT treats the rootfs as "/" for every symlink and ".." on
// the way, and RESOLVE_NO_MAGICLINKS refuses /proc/PID/fd-style links. That
// is the lookup pathrs-lite makes too, but after it pathrs-lite reads the
// new handle's path back through its hardened procfs only to give the
// *os.File a name: about ten more system calls per lookup, and a container
// start makes some forty lookups (mount points, devices, masked and
// read-only paths). gorun calls openat2 itself and keeps pathrs-lite for
// what it is needed for: kernels without openat2 (its O_PATH walk) and
// creating missing directories safely (MkdirAllHandle).

// noOpenat2 is set once openat2 turned out to be missing (ENOSYS).
var noOpenat2 atomic.Bool

// scopedRetries bounds the retries of a lookup that the kernel aborted
// with EAGAIN or EXDEV because a rename or mount raced with its ".."
// handling (spurious, or an attack: then the error is the right answer).
const scopedRetries = 128

// openat2InRoot opens p inside root with extra open flags (O_PATH and
// O_CLOEXEC are always set). It reports ok=false, without an error, when
// the kernel lacks openat2.
func openat2InRoot(root *os.File, p string, flags int) (f *os.File, ok bool, err error) {
	if noOpenat2.Load() {
		return nil, false, nil
	}
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_PATH | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for tries := 0; ; tries++ {
		fd, err := unix.Openat2(int(root.Fd()), p, how)
		runtime.KeepAlive(root)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), p), true, nil
		case errors.Is(err, unix.ENOSYS):
			noOpenat2.Store(true)
			return nil, false, nil
		case (errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EXDEV)) && tries < scopedRetries:
			continue
		default:
			return nil, true, &os.PathError{Op: "openat2 in root", Path: p, Err: err}
		}
	}
}

// resolveInRoot returns an O_PATH handle on p inside root.
func resolveInRoot(root *os.File, p string) (*os.File, error) {
	if f, ok, err := openat2InRoot(root, p, 0); ok {
		return f, err
	}
	return pathrs.OpenatInRoot(root, p)
}

// mkdirAllInRoot returns a handle on directory p inside root, creating it
// and its missing parents (mode 0755). Mount points usually exist in the
// image, or only their last component is missing (/dev/pts, /dev/shm on
// the fresh /dev tmpfs): openat2 finds them, one mkdirat below a resolved
// parent makes the last one. Anything else goes to pathrs-lite.
func mkdirAllInRoot(root *os.File, p string) (*os.File, error) {
	f, ok, err := openat2InRoot(root, p, unix.O_DIRECTORY)
	if ok && err == nil {
		return f, nil
	}
	if ok && errors.Is(err, unix.ENOENT) {
		if f, err := mkdirLast(root, p); err == nil {
			return f, nil
		}
	}
	return pathrs.MkdirAllHandle(root, p, 0o755)
}

// mkdirLast creates the last component of p in its parent, which must
// exist, and opens it without following any symlink: if something replaced
// the new directory by a link in between, the open fails.
func mkdirLast(root *os.File, p string) (*os.File, error) {
	dir, base := filepath.Split(filepath.Clean("/" + p))
	if base == "" || base == "." || base == ".." {
		return nil, unix.EINVAL
	}
	parent, ok, err := openat2InRoot(root, dir, unix.O_DIRECTORY)
	if !ok || err != nil {
		return nil, unix.ENOENT
	}
	defer parent.Close()
	if err := unix.Mkdirat(int(parent.Fd()), base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	fd, err := unix.Openat2(int(parent.Fd()), base, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), p), nil
}
