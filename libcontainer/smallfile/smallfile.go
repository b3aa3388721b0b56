// Package smallfile reads the small files that gorun reads by the hundred
// (state files, /proc/PID/stat, cgroup control files) with three system
// calls: open, one read, close. os.ReadFile also stats the file, offers
// every descriptor to the Go runtime's poller (an epoll_ctl that regular,
// proc and cgroup files refuse) and reads again to see EOF; `gorun list`
// reads three files per container, so those calls were half of its
// system calls.
//
// A read that returns less than it was asked for is taken as the end of
// the file. That holds for the files this package is for: regular files
// on local filesystems (gorun's state, written whole and renamed into
// place) return short only at EOF, and proc and cgroup files of one record
// hand the whole record to the first read. A read that fills the buffer is
// followed by another, as many as needed.
package smallfile

import (
	"io/fs"
	"sync"

	"golang.org/x/sys/unix"
)

// Read returns the whole content of the file at path. Its errors are
// *fs.PathError, like os.ReadFile's, so errors.Is(err, fs.ErrNotExist)
// works on them.
//
// The read goes into a pooled buffer and the content is copied out at its
// size: `gorun list` reads three files of a few hundred bytes per
// container, and a fresh 4 KiB buffer for each grew the heap by ~1 MiB,
// most of it page faults, for 100 containers.
func Read(path string) ([]byte, error) {
	fd, err := openRetry(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	buf := (*bp)[:0]
	for {
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		short := n < cap(buf)-len(buf)
		buf = buf[:len(buf)+n]
		if n == 0 || short {
			return append(make([]byte, 0, len(buf)), buf...), nil
		}
		buf = append(buf, 0)[:len(buf)]
		if cap(buf) <= maxPooled {
			*bp = buf
		}
	}
}

// buffers holds Read's buffers; one grown for a large file is kept up to
// maxPooled bytes.
var buffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 4096)
	return &b
}}

const maxPooled = 64 << 10

func openRetry(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
