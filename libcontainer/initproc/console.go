package initproc

import (
	"errors"
	"fmt"
	"os"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// setupConsole gives the process a terminal (process.terminal): a pty from
// the container's own devpts, its peer made the controlling terminal and
// stdio, its master sent to the console socket; for a container's init it
// is also bound onto /dev/console. The peer belongs to uid, the process's
// user (as runc gives it: a process that reopens its terminal by name, such
// as script, screen or su, needs to own it). It returns the peer, which
// the caller closes once stdio holds it.
func setupConsole(socketFD int, size *rspec.Box, devConsole bool, uid uint32) (*os.File, error) {
	if socketFD < 0 {
		return nil, errs.Field("process.terminal", "true", "pass --console-socket, or set process.terminal to false", "a terminal needs a console socket")
	}
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &errs.Error{Field: "process.terminal", Value: "true", Err: fmt.Errorf("open /dev/ptmx: %w", err), Hint: "mount a devpts at /dev/pts with newinstance,ptmxmode=0666"}
	}
	defer master.Close()
	mfd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return nil, fmt.Errorf("unlock pty: %w", err)
	}
	// TIOCGPTPEER opens the peer from the master itself, not by a path a
	// racing container could swap (CVE-2025-52565).
	pfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return nil, fmt.Errorf("open pty peer: %w", errno)
	}
	peer := os.NewFile(pfd, "pty")
	if err := unix.Fchown(int(pfd), int(uid), -1); err != nil && !errors.Is(err, unix.EINVAL) {
		// EINVAL: a uid the user namespace does not map; root keeps it.
		peer.Close()
		return nil, &errs.Error{Field: "process.user.uid", Value: fmt.Sprint(uid), Err: fmt.Errorf("give the terminal to the process's user: %w", err)}
	}
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		if err := unix.IoctlSetWinsize(mfd, unix.TIOCSWINSZ, ws); err != nil {
			peer.Close()
			return nil, fmt.Errorf("set terminal size: %w", err)
		}
	}
	if devConsole {
		if err := bindConsole(peer); err != nil {
			peer.Close()
			return nil, err
		}
	}
	name, _ := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err := unix.Sendmsg(socketFD, []byte(fmt.Sprintf("/dev/pts/%d", name)), unix.UnixRights(mfd), nil, 0); err != nil {
		peer.Close()
		return nil, fmt.Errorf("send pty master to the console socket: %w", err)
	}
	unix.Close(socketFD)
	if _, err := unix.Setsid(); err != nil && !errors.Is(err, unix.EPERM) {
		peer.Close()
		return nil, fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(int(peer.Fd()), unix.TIOCSCTTY, 0); err != nil {
		peer.Close()
		return nil, fmt.Errorf("make the pty the controlling terminal: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(peer.Fd()), fd, 0); err != nil {
			peer.Close()
			return nil, fmt.Errorf("dup pty onto fd %d: %w", fd, err)
		}
	}
	return peer, nil
}

// bindConsole binds the pty peer onto /dev/console, refusing a /dev/console
// that is a symlink (it could point the bind anywhere in the container).
func bindConsole(peer *os.File) error {
	dev, err := os.OpenFile("/dev", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil // no /dev: nothing to bind onto
	}
	defer dev.Close()
	fd, err := unix.Openat(int(dev.Fd()), "console", unix.O_CREAT|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, unix.ELOOP) {
		return errs.Field("/dev/console", "symlink", "remove the symlink from the image", "refusing to bind the terminal onto a symlink")
	}
	if err != nil {
		// An existing device node cannot be opened without a device
		// behind it; take it as a mount point anyway.
		fd, err = unix.Openat(int(dev.Fd()), "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("create /dev/console: %w", err)
		}
	}
	defer unix.Close(fd)
	src := fmt.Sprintf("/proc/self/fd/%d", peer.Fd())
	dst := fmt.Sprintf("/proc/self/fd/%d", fd)
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind the pty onto /dev/console: %w", err)
	}
	return nil
}
