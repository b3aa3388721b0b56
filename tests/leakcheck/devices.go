package leakcheck

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// hostDevices are the host's device nodes a container may get bound in
// (rootless containers cannot mknod): a test that changes one of them
// (its mode, owner or kind) shows up as a changed entry.
var hostDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

func addDevices(s *Snapshot) {
	for _, p := range hostDevices {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			s.add(fmt.Sprintf("hostdev: %s missing", p), "")
			continue
		}
		s.add(fmt.Sprintf("hostdev: %s %v %d:%d owner %d:%d", p, os.FileMode(st.Mode&0o7777)|typeBits(st.Mode),
			unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)), st.Uid, st.Gid), "")
	}
}

func typeBits(m uint32) os.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFCHR:
		return os.ModeDevice | os.ModeCharDevice
	case unix.S_IFBLK:
		return os.ModeDevice
	case unix.S_IFREG:
		return 0
	}
	return os.ModeIrregular
}
