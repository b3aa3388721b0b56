package cgroups

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// eventfdChan turns an eventfd into a channel: one value per wake-up,
// closed when the fd fails (the cgroup is gone).
func eventfdChan(fd int) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		defer close(out)
		defer unix.Close(fd)
		buf := make([]byte, 8)
		for {
			n, err := unix.Read(fd, buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n != 8 || binary.LittleEndian.Uint64(buf) == 0 {
				return
			}
			out <- struct{}{}
		}
	}()
	return out
}
