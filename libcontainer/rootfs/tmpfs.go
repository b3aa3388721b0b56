package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// tmpfsBase is what a tmpfs mount takes from the directory it covers, as
// runc does: its permissions when the options give no mode=, and, with
// tmpcopyup, its contents (podman's read-only containers mount /tmp, /run
// and /var/tmp so).
type tmpfsBase struct {
	dir    *os.File // the covered directory, open for reading (copy-up only)
	st     unix.Stat_t
	mode   bool // give the tmpfs the directory's permission bits
	copyUp bool
}

// tmpfsBase looks at the mount point before the tmpfs covers it. It returns
// nil when there is nothing to take: a mode= option and no tmpcopyup (the
// default config's tmpfs mounts, at no cost), or no directory there yet.
func (s *Setup) tmpfsBase(m rspec.Mount, o Options) (*tmpfsBase, error) {
	mode := !strings.Contains(","+o.Data, ",mode=")
	if !mode && !o.CopyUp {
		return nil, nil
	}
	f, err := s.openInRoot(m.Destination)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &errs.Error{Field: "destination", Value: m.Destination, Err: err}
	}
	defer f.Close()
	b := &tmpfsBase{mode: mode, copyUp: o.CopyUp}
	if err := unix.Fstat(int(f.Fd()), &b.st); err != nil {
		return nil, err
	}
	if b.st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, nil // mountpointDir reports it
	}
	if o.CopyUp {
		fd, err := unix.Openat(int(f.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &errs.Error{Field: "options", Value: "tmpcopyup", Err: fmt.Errorf("open %s: %w", m.Destination, err)}
		}
		b.dir = os.NewFile(uintptr(fd), m.Destination)
	}
	return b, nil
}

func (b *tmpfsBase) close() {
	if b != nil && b.dir != nil {
		b.dir.Close()
	}
}

// fillTmpfs gives the tmpfs now mounted at m's destination what b took from
// the directory below it.
func (s *Setup) fillTmpfs(m rspec.Mount, b *tmpfsBase) error {
	f, err := s.openInRoot(m.Destination)
	if err != nil {
		return err
	}
	defer f.Close()
	fd, err := unix.Openat(int(f.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if b.copyUp {
		if err := copyDir(int(b.dir.Fd()), fd); err != nil {
			return &errs.Error{Field: "options", Value: "tmpcopyup", Err: fmt.Errorf("copy %s into its tmpfs: %w", m.Destination, err)}
		}
		if err := unix.Fchown(fd, int(b.st.Uid), int(b.st.Gid)); err != nil {
			return err
		}
	}
	if b.mode || b.copyUp {
		return unix.Fchmod(fd, b.st.Mode&0o7777)
	}
	return nil
}

// copyDir copies the entries of directory src into directory dst, both
// open fds: subdirectories, regular files, symlinks, device nodes and fifos,
// with owners and permissions. Every name is opened relative to its parent
// and never followed, so a symlink in the image cannot lead the copy
// outside it.
func copyDir(src, dst int) error {
	dup, err := unix.Dup(src)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(dup), "copy-up source")
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := copyEntry(src, dst, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func copyEntry(src, dst int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(src, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	perm := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(dst, name, 0o700); err != nil {
			return err
		}
		sfd, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(sfd)
		dfd, err := unix.Openat(dst, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(dfd)
		if err := copyDir(sfd, dfd); err != nil {
			return err
		}
		return ownAndMode(dfd, st, perm)
	case unix.S_IFREG:
		sfd, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		in := os.NewFile(uintptr(sfd), name)
		defer in.Close()
		dfd, err := unix.Openat(dst, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return err
		}
		out := os.NewFile(uintptr(dfd), name)
		defer out.Close()
		if _, err := io.Copy(out, in); err != nil {
			return err
		}
		return ownAndMode(dfd, st, perm)
	case unix.S_IFLNK:
		target, err := readlinkat(src, name)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(target, dst, name); err != nil {
			return err
		}
		return unix.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		if err := unix.Mknodat(dst, name, st.Mode, int(st.Rdev)); err != nil {
			if errors.Is(err, unix.EPERM) && st.Mode&unix.S_IFMT != unix.S_IFIFO {
				return nil // no device nodes in a user namespace
			}
			return err
		}
		if err := unix.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		return unix.Fchmodat(dst, name, perm, 0)
	}
	return nil // a socket: nothing to copy
}

// ownAndMode gives fd the owner of st, then perm (chown clears setuid bits).
func ownAndMode(fd int, st unix.Stat_t, perm uint32) error {
	if err := unix.Fchown(fd, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	return unix.Fchmod(fd, perm)
}

func readlinkat(dir int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dir, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}
