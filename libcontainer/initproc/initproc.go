// Package initproc is the child side of gorun: the re-exec'd binary that
// runs inside the container's namespaces, builds its filesystem view, sets
// up its process, waits for `start`, and execs the user's program. Nothing
// of gorun remains once it has exec'd.
package initproc

import (
	"os"
	"runtime"
	"strconv"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/initmsg"
)

// SyncEnv names the environment variable that carries the sync socket's fd
// number from the parent to the child.
const SyncEnv = "_GORUN_SYNC"

// Main runs the child. It never returns: it execs the user's program or
// exits after reporting an error to the parent.
func Main() {
	// Capabilities and credentials are per thread: all of the setup and the
	// final exec happen on this one (package main also locks it in init()).
	runtime.LockOSThread()
	// Keep processes of the container from opening /proc/PID/exe of this
	// one, the host's gorun binary (CVE-2019-5736), before it execs.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	// A session of its own, with no controlling terminal: the caller's
	// terminal (a shell's, a CI job's) is out of the container's reach
	// (/dev/tty, TIOCSTI), and signals sent to the caller's process group
	// do not reach it. A process with a terminal makes the pty its
	// controlling one later (setupConsole).
	unix.Setsid()
	fd, err := strconv.Atoi(os.Getenv(SyncEnv))
	if err != nil {
		os.Stderr.WriteString("gorun init: not started by gorun\n")
		os.Exit(1)
	}
	os.Unsetenv(SyncEnv)
	sock := os.NewFile(uintptr(fd), "sync")
	conn := initmsg.NewConn(sock)
	m, err := conn.Expect(initmsg.Config)
	var spec *rspec.Spec
	if err == nil {
		spec, err = m.Config.DecodeSpec()
	}
	if err == nil {
		c := &child{conn: conn, sock: sock, cfg: m.Config, spec: spec}
		if c.cfg.Exec {
			err = c.execProcess()
		} else {
			err = c.initContainer()
		}
	}
	// Only errors come back here: success ends in exec.
	if c := conn; c != nil {
		c.Send(initmsg.Message{Type: initmsg.Error, Err: initmsg.FromError(err)})
	}
	os.Exit(1)
}

type child struct {
	conn   *initmsg.Conn
	sock   *os.File
	cfg    *initmsg.InitConfig
	spec   *rspec.Spec
	placed bool
}

// waitPlaced returns once the parent has put this process in the
// container's cgroup (at once after the first time).
func (c *child) waitPlaced() error {
	if c.placed {
		return nil
	}
	if _, err := c.conn.Expect(initmsg.Placed); err != nil {
		return err
	}
	c.placed = true
	return nil
}

// hookState is the state a hook run by the init is given.
func (c *child) hookState(status rspec.ContainerState) *rspec.State {
	return &rspec.State{
		Version:     rspec.Version,
		ID:          c.cfg.ID,
		Status:      status,
		Pid:         c.cfg.Pid,
		Bundle:      c.cfg.Bundle,
		Annotations: c.spec.Annotations,
	}
}

// ready tells the parent that setup is done and closes the sync socket.
func (c *child) ready() error {
	if err := c.waitPlaced(); err != nil {
		return err
	}
	if err := c.conn.Send(initmsg.Message{Type: initmsg.Ready, Pid: os.Getpid()}); err != nil {
		return err
	}
	c.sock.Close()
	c.conn = nil
	return nil
}
