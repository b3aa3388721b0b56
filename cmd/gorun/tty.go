package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// ttyProxy is the console socket of a foreground `run` or `exec` whose
// process has a terminal and no --console-socket was given: gorun receives
// the pty master itself and joins it to its own stdio, the host terminal in
// raw mode.
type ttyProxy struct {
	childEnd *os.File // passed to the init as its console socket
	ourEnd   *os.File
	master   *os.File
	oldState *term.State
	copied   sync.WaitGroup
}

func newTTYProxy() (*ttyProxy, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &ttyProxy{childEnd: os.NewFile(uintptr(fds[1]), "console"), ourEnd: os.NewFile(uintptr(fds[0]), "console")}, nil
}

// attach receives the pty master and starts copying.
func (t *ttyProxy) attach() error {
	defer t.ourEnd.Close()
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(t.ourEnd.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return fmt.Errorf("receive the container's terminal: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fmt.Errorf("receive the container's terminal: no fd")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return fmt.Errorf("receive the container's terminal: no fd")
	}
	t.master = os.NewFile(uintptr(fds[0]), "pty-master")
	if term.IsTerminal(int(os.Stdin.Fd())) {
		if t.oldState, err = term.MakeRaw(int(os.Stdin.Fd())); err != nil {
			return err
		}
		t.resize()
	}
	go io.Copy(t.master, os.Stdin)
	t.copied.Add(1)
	go func() {
		defer t.copied.Done()
		io.Copy(os.Stdout, t.master)
	}()
	return nil
}

// resize gives the container's terminal the size of gorun's.
func (t *ttyProxy) resize() {
	if t.master == nil {
		return
	}
	ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
}

// drain waits for the last output of the container's terminal.
func (t *ttyProxy) drain() {
	if t.master != nil {
		t.copied.Wait()
	}
}

func (t *ttyProxy) restore() {
	if t.oldState != nil {
		term.Restore(int(os.Stdin.Fd()), t.oldState)
	}
	if t.master != nil {
		t.master.Close()
	}
}
