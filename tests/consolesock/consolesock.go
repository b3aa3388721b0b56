// Package consolesock implements the receiving end of the OCI console
// socket (runc --console-socket), as containerd and conmon do: the runtime
// connects to a unix socket and sends the pty master with SCM_RIGHTS.
package consolesock

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Receiver listens on a console socket.
type Receiver struct {
	path string
	l    *net.UnixListener
}

// Listen creates a unix stream socket at path and listens on it.
func Listen(path string) (*Receiver, error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("consolesock: %w", err)
	}
	return &Receiver{path: path, l: l}, nil
}

// Path is the socket's path, the value for --console-socket.
func (r *Receiver) Path() string { return r.path }

// Accept waits for one connection and receives exactly one file descriptor
// sent over it with SCM_RIGHTS, normally the pty master, which it returns.
// The file is named after the data sent along with the descriptor, if any.
// A timeout <= 0 means no timeout.
func (r *Receiver) Accept(timeout time.Duration) (*os.File, error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if err := r.l.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("consolesock: %w", err)
	}
	conn, err := r.l.AcceptUnix()
	if err != nil {
		return nil, fmt.Errorf("consolesock: accept on %s: %w", r.path, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("consolesock: %w", err)
	}
	f, err := recvFile(conn)
	if err != nil {
		return nil, fmt.Errorf("consolesock: receive on %s: %w", r.path, err)
	}
	return f, nil
}

// Close stops listening and removes the socket.
func (r *Receiver) Close() error {
	err := r.l.Close()
	if rerr := os.Remove(r.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// maxFDs bounds the descriptors accepted in one message, so that extra
// ones are received (and closed) rather than silently dropped.
const maxFDs = 16

var errNoFD = errors.New("connection closed without a file descriptor")

// recvFile reads messages from conn until one carries descriptors, and
// requires that it carries exactly one.
func recvFile(conn *net.UnixConn) (*os.File, error) {
	var name strings.Builder
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*maxFDs))
	for {
		n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
		name.Write(buf[:n])
		if oobn > 0 {
			fds, perr := parseRights(oob[:oobn])
			switch {
			case perr != nil:
				closeAll(fds)
				return nil, perr
			case flags&unix.MSG_CTRUNC != 0:
				closeAll(fds)
				return nil, errors.New("control message truncated")
			case len(fds) != 1:
				closeAll(fds)
				return nil, fmt.Errorf("got %d file descriptors, want 1", len(fds))
			}
			n := strings.Trim(name.String(), "\x00\n ")
			if n == "" {
				n = "console"
			}
			return os.NewFile(uintptr(fds[0]), n), nil
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return nil, errNoFD
		}
		if err != nil {
			return nil, err
		}
	}
}

// parseRights returns all descriptors of the SCM_RIGHTS messages in oob.
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		rights, err := unix.ParseUnixRights(&m)
		if err != nil {
			return fds, err
		}
		fds = append(fds, rights...)
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
