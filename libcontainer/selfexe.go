package libcontainer

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sealedSelf returns a handle on gorun's own binary that the container
// cannot write through: the init is exec'd from it, so a container process
// that reaches /proc/PID/exe of the init (or re-executes it with
// #!/proc/self/exe) finds a file on a read-only mount, or a sealed memfd
// (CVE-2019-5736, overwriting the host's runtime binary).
//
// The cheap way is a detached, read-only bind mount of the binary
// (open_tree + mount_setattr: two syscalls, no copy, nothing in the mount
// table). Where that is not allowed (no CAP_SYS_ADMIN), the binary is copied
// into a sealed memfd.
//
// The fd is moved to 100 or above, out of the range that exec.Cmd fills with
// the child's ExtraFiles.
func sealedSelf() (*os.File, error) {
	tree, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err == nil {
		err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV})
		if err == nil {
			return highFd(tree, "gorun (read-only)")
		}
		unix.Close(tree)
	}
	return sealedMemfd()
}

func sealedMemfd() (*os.File, error) {
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	defer self.Close()
	fd, err := unix.MemfdCreate("gorun", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd for gorun's binary: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "gorun (memfd)")
	if _, err := io.Copy(mem, self); err != nil {
		mem.Close()
		return nil, err
	}
	defer mem.Close()
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return nil, fmt.Errorf("seal gorun's binary: %w", err)
	}
	// A copy of the fd: mem's own is closed through mem, once (closing
	// it by number too would close whatever reused the number meanwhile).
	nfd, err := unix.FcntlInt(mem.Fd(), unix.F_DUPFD_CLOEXEC, 100)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), "gorun (memfd)"), nil
}

func highFd(fd int, name string) (*os.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 100)
	unix.Close(fd)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), name), nil
}
