package rootfs

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountCgroup gives the container its /sys/fs/cgroup: on a v1 or hybrid host
// a tmpfs with one directory per hierarchy, on a unified host cgroup2
// itself. With a cgroup namespace each hierarchy is mounted afresh (the
// container sees its own cgroup as the root); without one, the container's
// own cgroup directory is bound there, so it never sees the host's tree.
func (s *Setup) mountCgroup(m rspec.Mount, o Options) error {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return err
	}
	mounts = visibleMounts(mounts)
	flags := o.Flags | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	// A unified host: cgroup2 at /sys/fs/cgroup (perhaps mounted over a
	// v1 layout, which the mount table still lists).
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		for _, mi := range mounts {
			if mi.Mountpoint == "/sys/fs/cgroup" {
				return s.mountHierarchy(m.Destination, mi, flags)
			}
		}
	}
	dest, err := s.mountpointDir(m)
	if err != nil {
		return err
	}
	err = unix.Mount("tmpfs", procFd(dest), "tmpfs", flags&^unix.MS_RDONLY, "mode=755")
	dest.Close()
	if err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", m.Destination, err)
	}
	for _, mi := range mounts {
		if filepath.Dir(mi.Mountpoint) != "/sys/fs/cgroup" {
			continue
		}
		name := filepath.Base(mi.Mountpoint)
		if err := s.mountHierarchy(path.Join(m.Destination, name), mi, flags); err != nil {
			return err
		}
		if strings.Contains(name, ",") {
			for _, c := range strings.Split(name, ",") {
				if err := s.symlinkInRoot(name, path.Join(m.Destination, c)); err != nil {
					return err
				}
			}
		}
	}
	if flags&unix.MS_RDONLY != 0 {
		top, err := s.openInRoot(m.Destination)
		if err != nil {
			return err
		}
		defer top.Close()
		if err := unix.Mount("", procFd(top), "", unix.MS_REMOUNT|unix.MS_BIND|flags, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", m.Destination, err)
		}
	}
	return nil
}

// visibleMounts keeps, of mounts on the same mount point, the last: the
// one on top, which a path there reaches. (A systemd in a container mounts
// its own /sys/fs/cgroup over the one it was given.)
func visibleMounts(mounts []*mountinfo.Info) []*mountinfo.Info {
	last := make(map[string]int, len(mounts))
	for i, m := range mounts {
		last[m.Mountpoint] = i
	}
	out := mounts[:0:0]
	for i, m := range mounts {
		if last[m.Mountpoint] == i {
			out = append(out, m)
		}
	}
	return out
}

// mountHierarchy mounts one cgroup hierarchy at dest inside the rootfs.
func (s *Setup) mountHierarchy(dest string, mi *mountinfo.Info, flags uintptr) error {
	d, err := s.mkdirInRoot(dest)
	if err != nil {
		return err
	}
	defer d.Close()
	if s.CgroupNS {
		data := ""
		if mi.FSType == "cgroup" {
			data = v1Controllers(mi.VFSOptions)
		}
		if err := unix.Mount(mi.FSType, procFd(d), mi.FSType, flags, data); err != nil {
			return fmt.Errorf("mount %s (%s) on %s: %w", mi.FSType, data, dest, err)
		}
		return nil
	}
	src := filepath.Join(mi.Mountpoint, s.Cgroup)
	if _, err := os.Stat(src); err != nil {
		// A hierarchy the container has no cgroup in (systemd's, say):
		// leave the directory empty.
		return nil
	}
	return bindAt(src, d, Options{Flags: flags, Bind: true})
}

// v1Controllers keeps the controller options of a v1 cgroup mount's super
// options ("rw,memory" → "memory", "rw,xattr,name=systemd" → "name=systemd").
func v1Controllers(vfsOpts string) string {
	var keep []string
	for _, o := range strings.Split(vfsOpts, ",") {
		switch o {
		case "rw", "ro", "xattr", "clone_children", "noprefix", "cpuset_v2_mode", "favordynmods", "nsdelegate", "memory_recursiveprot", "memory_localevents", "memory_hugetlb_accounting":
			continue
		}
		if strings.HasPrefix(o, "release_agent=") {
			continue
		}
		keep = append(keep, o)
	}
	return strings.Join(keep, ",")
}

// symlinkInRoot makes link (a path in the rootfs) point at target.
func (s *Setup) symlinkInRoot(target, link string) error {
	dir, base := filepath.Split(filepath.Clean("/" + link))
	parent, err := s.mkdirInRoot(dir)
	if err != nil {
		return err
	}
	defer parent.Close()
	if err := unix.Symlinkat(target, int(parent.Fd()), base); err != nil && err != unix.EEXIST {
		return fmt.Errorf("symlink %s -> %s: %w", link, target, err)
	}
	return nil
}
