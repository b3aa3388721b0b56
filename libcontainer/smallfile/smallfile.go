// Package smallfile reads the small files that gorun reads by the hundred
// (state files, /proc/PID/stat, cgroup control files) with three system
// calls: open, read until EOF, close. os.ReadFile also stats the file and
// offers every descriptor to the Go runtime's poller (an epoll_ctl that
// regular, proc and cgroup files refuse); `gorun list` reads three files
// per container, so those calls were a third of its system calls.
package smallfile

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// Read returns the whole content of the file at path. Its errors are
// *fs.PathError, like os.ReadFile's, so errors.Is(err, fs.ErrNotExist)
// works on them.
func Read(path string) ([]byte, error) {
	fd, err := openRetry(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 4096)
	for {
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

func openRetry(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
