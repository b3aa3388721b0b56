package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// The functions here run after pivot_root: "/" is the container's root.

// openNewRoot returns a handle on "/", to resolve a list of paths in.
func openNewRoot() (*os.File, error) {
	return os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// MaskPaths hides linux.maskedPaths: a file gets /dev/null bound over it, a
// directory an empty read-only tmpfs.
func MaskPaths(paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	null, err := verifiedDevNull()
	if err != nil {
		return err
	}
	defer null.Close()
	root, err := openNewRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	for i, p := range paths {
		f, err := resolveInRoot(root, p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return &errs.Error{Field: fmt.Sprintf("linux.maskedPaths[%d]", i), Value: p, Err: err}
		}
		var st unix.Stat_t
		err = unix.Fstat(int(f.Fd()), &st)
		if err == nil {
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				err = unix.Mount("tmpfs", procFd(f), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0555")
			} else {
				err = bindAt(procFd(null), f, Options{Bind: true})
			}
		}
		f.Close()
		if err != nil {
			return &errs.Error{Field: fmt.Sprintf("linux.maskedPaths[%d]", i), Value: p, Err: err}
		}
	}
	return nil
}

// verifiedDevNull opens the container's /dev/null and checks that it is the
// null device, not a symlink or a file that an image or a racing container
// put there (CVE-2025-31133: binding a fake /dev/null over a masked path
// would unmask it).
func verifiedDevNull() (*os.File, error) {
	f, err := os.OpenFile("/dev/null", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the container's /dev/null to mask paths: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		f.Close()
		return nil, errors.New("the container's /dev/null is not the null device (1:3); refusing to mask paths with it")
	}
	return f, nil
}

// ReadonlyPaths makes each of linux.readonlyPaths a read-only bind of
// itself.
func ReadonlyPaths(paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	root, err := openNewRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	for i, p := range paths {
		f, err := resolveInRoot(root, p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return &errs.Error{Field: fmt.Sprintf("linux.readonlyPaths[%d]", i), Value: p, Err: err}
		}
		// Read-only all the way down (/proc/sys has submounts); its other
		// flags are left as they are, as runc leaves them.
		err = bindAt(procFd(f), f, Options{Bind: true, Recursive: true, RecSet: unix.MS_RDONLY})
		f.Close()
		if err != nil {
			return &errs.Error{Field: fmt.Sprintf("linux.readonlyPaths[%d]", i), Value: p, Err: err}
		}
	}
	return nil
}

// ReadonlyRoot remounts / read-only (root.readonly).
func ReadonlyRoot() error {
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", 0, attr); err != nil {
		return &errs.Error{Field: "root.readonly", Value: "true", Err: err}
	}
	return nil
}
