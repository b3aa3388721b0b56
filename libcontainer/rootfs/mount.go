package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/lsm"
)

// mount applies one entry of the config's mounts.
func (s *Setup) mount(m rspec.Mount) error {
	o := ParseOptions(m.Options)
	switch {
	case m.Type == "cgroup" || m.Type == "cgroup2":
		return s.mountCgroup(m, o)
	case o.Bind || m.Type == "bind":
		return s.bindMount(m, o)
	default:
		return s.mountFS(m, o)
	}
}

// mountFS mounts a new filesystem (proc, sysfs, tmpfs, devpts, mqueue, ...)
// on a directory inside the rootfs.
func (s *Setup) mountFS(m rspec.Mount, o Options) error {
	var under *tmpfsBase
	if m.Type == "tmpfs" {
		var err error
		if under, err = s.tmpfsBase(m, o); err != nil {
			return err
		}
		defer under.close()
	}
	dest, err := s.mountpointDir(m)
	if err != nil {
		return err
	}
	defer dest.Close()
	source := m.Source
	if source == "" {
		source = m.Type
	}
	data := lsm.MountData(m.Type, o.Data, s.Spec.Linux.MountLabel)
	if err := unix.Mount(source, procFd(dest), m.Type, o.Flags, data); err != nil {
		return &errs.Error{Field: "type", Value: m.Type, Err: fmt.Errorf("mount %s on %s (options %v): %w", source, m.Destination, m.Options, err)}
	}
	if m.Type == "proc" || m.Type == "sysfs" {
		if err := verifyFS(s, m); err != nil {
			return err
		}
	}
	if under != nil {
		if err := s.fillTmpfs(m, under); err != nil {
			return err
		}
	}
	if o.RecSet != 0 || o.RecClear != 0 {
		f, err := s.openInRoot(m.Destination)
		if err != nil {
			return err
		}
		err = setAttr(int(f.Fd()), mountAttr(o.RecSet, o.RecClear), true)
		f.Close()
		if err != nil {
			return &errs.Error{Field: "options", Value: fmt.Sprint(m.Options), Err: fmt.Errorf("set recursive attributes of %s: %w", m.Destination, err)}
		}
	}
	return s.setPropagation(m, o)
}

// mountpointDir creates the directory a filesystem is mounted on. /proc and
// /sys must be real directories in the image (CVE-2019-16884,
// CVE-2019-19921: a symlinked /proc redirects what the runtime later writes
// through it).
func (s *Setup) mountpointDir(m rspec.Mount) (*os.File, error) {
	if m.Type == "proc" || m.Type == "sysfs" {
		dir, base := filepath.Split(filepath.Clean(m.Destination))
		parent, err := s.mkdirInRoot(dir)
		if err != nil {
			return nil, err
		}
		var st unix.Stat_t
		err = unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW)
		parent.Close()
		if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, &errs.Error{Field: "destination", Value: m.Destination, Err: errors.New("is a symlink or not a directory in the rootfs"), Hint: "the image must have a real directory there; gorun refuses to mount " + m.Type + " through a symlink"}
		}
	}
	d, err := s.mkdirInRoot(m.Destination)
	if err != nil {
		return nil, &errs.Error{Field: "destination", Value: m.Destination, Err: err, Hint: "the mount point must be a directory inside the rootfs"}
	}
	return d, nil
}

// verifyFS checks that what is now mounted at the destination is the
// filesystem that was asked for.
func verifyFS(s *Setup, m rspec.Mount) error {
	f, err := s.openInRoot(m.Destination)
	if err != nil {
		return err
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return err
	}
	want := int64(unix.PROC_SUPER_MAGIC)
	if m.Type == "sysfs" {
		want = unix.SYSFS_MAGIC
	}
	if int64(st.Type) != want {
		return &errs.Error{Field: "destination", Value: m.Destination, Err: fmt.Errorf("is not a %s mount after mounting it", m.Type)}
	}
	return nil
}

// bindMount clones the source tree, sets its attributes while it is still
// detached, and moves it onto the destination handle: the mount never exists
// with weaker attributes than asked, and the destination is not resolved
// twice.
func (s *Setup) bindMount(m rspec.Mount, o Options) error {
	if m.Source == "" {
		return errs.Field("source", "", "give the host path to bind", "a bind mount needs a source")
	}
	fi, err := os.Stat(m.Source)
	if err != nil {
		return &errs.Error{Field: "source", Value: m.Source, Err: err, Hint: "the host path to bind must exist"}
	}
	var dest *os.File
	if fi.IsDir() {
		dest, err = s.mkdirInRoot(m.Destination)
	} else {
		dest, err = s.mkfileInRoot(m.Destination)
	}
	if err != nil {
		return &errs.Error{Field: "destination", Value: m.Destination, Err: err}
	}
	defer dest.Close()
	if tree, ok := s.IDMapped[s.current]; ok {
		// Prepared by the parent with the mount's id mapping.
		return attachTree(tree, m.Source, dest, o)
	}
	return bindAt(m.Source, dest, o)
}

// bindAt binds source onto the object behind dest with the options o.
func bindAt(source string, dest *os.File, o Options) error {
	tree, err := openBindTree(source, o, nil)
	if err != nil {
		return err
	}
	defer unix.Close(tree)
	return attachTree(tree, source, dest, o)
}

// openBindTree makes a detached copy of source with the attributes of o
// and, when userns is given, its ids mapped through that user namespace.
func openBindTree(source string, o Options, userns *os.File) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if o.Recursive {
		flags |= unix.AT_RECURSIVE
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, source, flags)
	if err != nil {
		return -1, &errs.Error{Field: "source", Value: source, Err: fmt.Errorf("open_tree: %w", err)}
	}
	if userns != nil {
		// The id mapping goes on every mount of the tree.
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
		if err := setAttr(tree, attr, o.Recursive); err != nil {
			unix.Close(tree)
			return -1, &errs.Error{Field: "options", Value: "idmap", Err: fmt.Errorf("map the ids of bind mount of %s: %w", source, err)}
		}
	}
	if err := setFlags(tree, o); err != nil {
		unix.Close(tree)
		return -1, &errs.Error{Field: "options", Value: fmt.Sprint(o.Flags), Err: fmt.Errorf("set attributes of bind mount of %s: %w", source, err)}
	}
	return tree, nil
}

// setFlags gives the mount behind fd o's flags, and its recursive flags to
// it and every mount below it.
func setFlags(fd int, o Options) error {
	if err := setAttr(fd, mountAttr(o.Flags, 0), false); err != nil {
		return err
	}
	return setAttr(fd, mountAttr(o.RecSet, o.RecClear), true)
}

// setAttr applies attr (if it changes anything) to the mount behind fd and,
// if recursive, every mount below it.
func setAttr(fd int, attr *unix.MountAttr, recursive bool) error {
	if attr.Attr_set == 0 && attr.Attr_clr == 0 {
		return nil
	}
	flags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	return unix.MountSetattr(fd, "", flags, attr)
}

// IDMappedTree is openBindTree for the parent side: a detached bind of
// source whose ids are mapped through userns, for the init to attach.
func IDMappedTree(source string, o Options, userns *os.File) (*os.File, error) {
	tree, err := openBindTree(source, o, userns)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(tree), "idmapped "+source), nil
}

// attachTree moves the detached tree onto dest and applies o's
// propagation.
func attachTree(tree int, source string, dest *os.File, o Options) error {
	if err := unix.MoveMount(tree, "", int(dest.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach bind mount of %s: %w", source, err)
	}
	for _, p := range o.Propagation {
		if err := unix.Mount("", fmt.Sprintf("/proc/self/fd/%d", tree), "", p, ""); err != nil {
			return fmt.Errorf("set propagation of bind mount of %s: %w", source, err)
		}
	}
	return nil
}

// mountAttr turns MS_* flags to set and to clear into mount_setattr
// attributes. The access-time flags are one setting (MOUNT_ATTR__ATIME):
// setting one replaces the others, clearing one goes back to relatime.
func mountAttr(set, clear uintptr) *unix.MountAttr {
	a := &unix.MountAttr{}
	for _, f := range []struct {
		ms   uintptr
		attr uint64
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
		{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME},
		{unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW},
	} {
		if set&f.ms != 0 {
			a.Attr_set |= f.attr
		}
		if clear&f.ms != 0 {
			a.Attr_clr |= f.attr
		}
	}
	switch {
	case set&unix.MS_NOATIME != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= unix.MOUNT_ATTR_NOATIME
	case set&unix.MS_STRICTATIME != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= unix.MOUNT_ATTR_STRICTATIME
	case set&unix.MS_RELATIME != 0, clear&(unix.MS_NOATIME|unix.MS_STRICTATIME) != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= unix.MOUNT_ATTR_RELATIME
	}
	return a
}

// setPropagation applies a mount's propagation options once it is mounted.
func (s *Setup) setPropagation(m rspec.Mount, o Options) error {
	if len(o.Propagation) == 0 {
		return nil
	}
	f, err := s.openInRoot(m.Destination)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range o.Propagation {
		if err := unix.Mount("", procFd(f), "", p, ""); err != nil {
			return fmt.Errorf("set propagation of %s: %w", m.Destination, err)
		}
	}
	return nil
}
