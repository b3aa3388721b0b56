// Package rootfs builds a container's filesystem view inside its new mount
// namespace: the config's mounts in order, /dev and its devices, pivot_root,
// masked and read-only paths. Every path inside the rootfs is resolved
// through a handle on the rootfs by openat2 RESOLVE_IN_ROOT (with
// github.com/cyphar/filepath-securejoin's pathrs-lite where the kernel lacks
// it, and to create missing directories: resolve.go), and mounts are made on
// the resolved handle, never on a re-resolved string: a symlink in the image
// cannot send a mount outside the rootfs.
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// Setup is what Prepare needs.
type Setup struct {
	Spec   *rspec.Spec
	Rootfs string // absolute host path of the rootfs
	// Cgroup is the container's cgroup path, bound into /sys/fs/cgroup when
	// the container has no cgroup namespace of its own.
	Cgroup   string
	UserNS   bool // the init runs in a new user namespace: no mknod
	CgroupNS bool
	// IDMapped maps the index of a mount in Spec.Mounts to the fd of a
	// detached, idmapped tree the parent prepared for it.
	IDMapped map[int]int

	current int // index of the mount being made

	root *os.File // O_PATH handle on the rootfs
}

// Prepare makes every mount of the config under the rootfs, then /dev's
// devices and links. The init runs it in its new mount namespace, before
// pivot_root.
func Prepare(s *Setup) error {
	// Keep what happens here from propagating back to the host.
	prop := uintptr(unix.MS_SLAVE | unix.MS_REC)
	if p := s.Spec.Linux.RootfsPropagation; p != "" {
		f, ok := PropagationFlags(p)
		if !ok {
			return errs.Field("linux.rootfsPropagation", p, "use private, rprivate, slave, rslave, shared, rshared, unbindable or runbindable", "unknown propagation")
		}
		prop = f
	}
	if err := unix.Mount("", "/", "", prop, ""); err != nil {
		return fmt.Errorf("make / %s: %w", s.Spec.Linux.RootfsPropagation, err)
	}
	if prop != unix.MS_SLAVE|unix.MS_REC && prop != unix.MS_PRIVATE|unix.MS_REC {
		// The rootfs's own mount may still be shared with the host's
		// (rshared, or a value that left it alone): the mounts made
		// under it would appear on the host, and pivot_root refuses a
		// new root whose parent is shared. The configured propagation
		// goes on the new root after pivot_root (ApplyPropagation).
		if err := parentMountPrivate(s.Rootfs); err != nil {
			return &errs.Error{Field: "linux.rootfsPropagation", Value: s.Spec.Linux.RootfsPropagation, Err: err}
		}
	}
	// pivot_root needs the new root to be a mount point.
	if err := unix.Mount(s.Rootfs, s.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		hint := "the rootfs must be a directory gorun can bind-mount"
		if s.UserNS && errors.Is(err, unix.EACCES) {
			hint = "the container's root, a mapped uid in its user namespace, must be able to reach the rootfs: make every directory above it searchable (chmod o+x)"
		}
		return &errs.Error{Field: "root.path", Value: s.Rootfs, Err: err, Hint: hint}
	}
	root, err := os.OpenFile(s.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &errs.Error{Field: "root.path", Value: s.Rootfs, Err: err}
	}
	defer root.Close()
	s.root = root

	bindDev := false
	for i, m := range s.Spec.Mounts {
		s.current = i
		if err := s.mount(m); err != nil {
			return errs.Wrap(fmt.Sprintf("mounts[%d] (%s)", i, m.Destination), err)
		}
		if filepath.Clean(m.Destination) == "/dev" && ParseOptions(m.Options).Bind {
			bindDev = true
		}
	}
	if !bindDev {
		if err := s.createDevices(); err != nil {
			return err
		}
	}
	// A working directory the image lacks is made, as runc does (a
	// Kubernetes workingDir need not exist in the image), inside the
	// rootfs and its mounts, before the root may turn read-only.
	if p := s.Spec.Process; p != nil && p.Cwd != "" {
		d, err := s.mkdirInRoot(p.Cwd)
		if err != nil {
			return &errs.Error{Field: "process.cwd", Value: p.Cwd, Err: err, Hint: "the working directory must be a directory in the rootfs, or creatable there"}
		}
		d.Close()
	}
	return nil
}

// openInRoot resolves p inside the rootfs and returns an O_PATH handle.
func (s *Setup) openInRoot(p string) (*os.File, error) {
	return resolveInRoot(s.root, p)
}

// procFd is the path by which a mount call reaches the object behind f.
func procFd(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

// mkdirInRoot creates directory p (and its parents) inside the rootfs and
// returns a handle on it.
func (s *Setup) mkdirInRoot(p string) (*os.File, error) {
	return mkdirAllInRoot(s.root, p)
}

// mkfileInRoot creates an empty file p inside the rootfs (if it is not
// there) and returns a handle on it: a mount point for a file bind mount.
func (s *Setup) mkfileInRoot(p string) (*os.File, error) {
	dir, base := filepath.Split(filepath.Clean("/" + p))
	parent, err := s.mkdirInRoot(dir)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_NOFOLLOW|unix.O_PATH|unix.O_CLOEXEC, 0o644)
	if err == unix.ELOOP || err == unix.EISDIR {
		return nil, fmt.Errorf("%s is a symlink or a directory, not a file", p)
	}
	if err != nil {
		// O_PATH|O_CREAT is refused: create, then open.
		cfd, cerr := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
		if cerr != nil {
			return nil, cerr
		}
		unix.Close(cfd)
		fd, err = unix.Openat(int(parent.Fd()), base, unix.O_NOFOLLOW|unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// parentMountPrivate makes the mount that holds dir private, if it is
// shared (or unbindable: the rootfs could not be bound onto itself).
func parentMountPrivate(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.ParentsFilter(dir))
	if err != nil {
		return err
	}
	var parent *mountinfo.Info
	for _, m := range mounts {
		if parent == nil || len(m.Mountpoint) > len(parent.Mountpoint) {
			parent = m
		}
	}
	if parent == nil || !strings.Contains(parent.Optional, "shared:") && !strings.Contains(parent.Optional, "unbindable") {
		return nil
	}
	if err := unix.Mount("", parent.Mountpoint, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s (which holds the rootfs) private: %w", parent.Mountpoint, err)
	}
	return nil
}

// ApplyPropagation gives the container's root, once it is "/", the
// linux.rootfsPropagation of the config (none: it stays a slave of the
// host's mounts).
func ApplyPropagation(name string) error {
	if name == "" {
		return nil
	}
	flags, ok := PropagationFlags(name)
	if !ok {
		return errs.Field("linux.rootfsPropagation", name, "use private, rprivate, slave, rslave, shared, rshared, unbindable or runbindable", "unknown propagation")
	}
	if err := unix.Mount("", "/", "", flags, ""); err != nil {
		return &errs.Error{Field: "linux.rootfsPropagation", Value: name, Err: err}
	}
	return nil
}
