package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/smallfile"
)

// procStat reads a process's state letter and start time (clock ticks since
// boot) from /proc/PID/stat.
func procStat(pid int) (state byte, start uint64, err error) {
	data, err := smallfile.Read("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	state, start, ok := parseStat(data)
	if !ok {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: %q", pid, data)
	}
	return state, start, nil
}

// parseStat takes field 3 (state) and field 22 (start time) of a
// /proc/PID/stat line. The command name (field 2) may hold spaces and
// parens: the fields that follow start after the last ')'. `gorun list`
// parses one line per container, so this walks the spaces instead of
// splitting the line.
func parseStat(data []byte) (state byte, start uint64, ok bool) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return 0, 0, false
	}
	fields := data[i+2:]
	state = fields[0]
	for n := 3; n < 22; n++ {
		sp := bytes.IndexByte(fields, ' ')
		if sp < 0 {
			return 0, 0, false
		}
		fields = fields[sp+1:]
	}
	if sp := bytes.IndexAny(fields, " \n"); sp >= 0 {
		fields = fields[:sp]
	}
	start, err := strconv.ParseUint(string(fields), 10, 64)
	return state, start, err == nil
}

// alive reports whether pid is still the process that started at start and
// has not exited (a zombie has exited).
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, s, err := procStat(pid)
	if err != nil {
		return false
	}
	return s == start && st != 'Z' && st != 'X'
}

// openPidfd opens a pidfd on the process pid that started at start. It
// returns -1 if that process has exited: the pidfd pins the process, so a
// later reuse of the pid cannot be mistaken for it.
func openPidfd(pid int, start uint64) (int, error) {
	if pid <= 0 {
		return -1, nil
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, nil
		}
		return -1, err
	}
	if !alive(pid, start) {
		unix.Close(pidfd)
		return -1, nil
	}
	return pidfd, nil
}

// waitExit waits until pid has exited (is a zombie or gone), up to timeout.
func waitExit(pid int, start uint64, timeout time.Duration) error {
	pidfd, err := openPidfd(pid, start)
	if err != nil || pidfd < 0 {
		return err
	}
	defer unix.Close(pidfd)
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("process %d did not exit within %s", pid, timeout)
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

// pidsInNamespaceOf lists the processes that share the pid namespace of
// pid: the container's processes when it has no cgroup (rootless on a v1
// host), found without one.
func pidsInNamespaceOf(pid int) ([]int, error) {
	ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid")
	if err != nil {
		return nil, err
	}
	host, err := os.Readlink("/proc/self/ns/pid")
	if err == nil && host == ns {
		// The container shares the host's pid namespace: only the init
		// can be told apart.
		return []int{pid}, nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && l == ns {
			pids = append(pids, p)
		}
	}
	return pids, nil
}
