package integration

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/tests/consolesock"
)

// ptyReader collects what a pty master prints, so tests can wait for text.
type ptyReader struct {
	mu  sync.Mutex
	buf strings.Builder
}

func readPty(f *os.File) *ptyReader {
	r := &ptyReader{}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			r.mu.Lock()
			r.buf.Write(b[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return r
}

func (r *ptyReader) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

func (r *ptyReader) wait(t *testing.T, want string) {
	t.Helper()
	if !poll(10*time.Second, func() bool { return strings.Contains(r.text(), want) }) {
		t.Fatalf("terminal never showed %q; it showed:\n%s", want, r.text())
	}
}

// TestConsoleSocket: the pty master arrives over the console socket, the
// process sees a terminal of its own devpts with the size the config gave,
// and a resize through the master is seen inside.
func TestConsoleSocket(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	cs := listenConsole(t)
	b := sh(t, "")
	b.Spec.Process.Terminal = true
	b.Spec.Process.Args = []string{"sh"}
	b.Spec.Process.ConsoleSize = &specs.Box{Height: 30, Width: 100}
	writeBundle(t, b)

	next := cs.next(t)
	create(t, root, b, id, "--console-socket", cs.path)
	master := cs.master(t, next)
	out := readPty(master)
	mustGorun(t, root, "start", id)
	io.WriteString(master, "tty; stty size\n")
	out.wait(t, "/dev/pts/0")
	out.wait(t, "30 100")
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(master, "stty size\n")
	out.wait(t, "40 120")
	io.WriteString(master, "exit 3\n")
	waitStatus(t, root, id, "stopped", 5*time.Second)
}

// openPty opens a pseudo-terminal for a foreground gorun to run in.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 25, Col: 81})
	return m, s
}

// foregroundInPty runs gorun with args on a new pty, as a person at a
// terminal would, and returns the master and the running command.
func foregroundInPty(t *testing.T, root string, args ...string) (*os.File, *exec.Cmd, *ptyReader) {
	t.Helper()
	master, slave := openPty(t)
	cmd := exec.Command(binary(t), append([]string{"--root", root}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	t.Cleanup(func() { master.Close() })
	return master, cmd, readPty(master)
}

func waitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("gorun did not exit")
	}
	return exitStatus(cmd.ProcessState)
}

// TestRunTerminalForeground: `gorun run` of a terminal process under a real
// pty proxies it: the shell's prompt and output come back, the size of
// gorun's terminal is the container's, and gorun exits with the shell's
// status.
func TestRunTerminalForeground(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, "")
	b.Spec.Process.Terminal = true
	b.Spec.Process.Args = []string{"sh"}
	writeBundle(t, b)
	master, cmd, out := foregroundInPty(t, root, "run", "--bundle", b.Dir, id)
	io.WriteString(master, "stty size; echo hel''lo; tty\n")
	out.wait(t, "hello")
	out.wait(t, "25 81")
	out.wait(t, "/dev/pts/0")
	io.WriteString(master, "exit 4\n")
	if code := waitCode(t, cmd); code != 4 {
		t.Errorf("gorun run -t exited %d, want the shell's 4; terminal:\n%s", code, out.text())
	}
}

func TestExecTerminalForeground(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	startSleeper(t, root, id, nil)
	master, cmd, out := foregroundInPty(t, root, "exec", "-t", id, "sh")
	io.WriteString(master, "echo wor''ld $(tty)\n")
	out.wait(t, "world /dev/pts/")
	io.WriteString(master, "exit 6\n")
	if code := waitCode(t, cmd); code != 6 {
		t.Errorf("gorun exec -t exited %d, want 6; terminal:\n%s", code, out.text())
	}
}

// consoleListener is a console socket of the test's own, receiving the
// pty masters gorun sends.
type consoleListener struct {
	path string
	recv *consolesock.Receiver
}

func listenConsole(t *testing.T) *consoleListener {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console.sock")
	recv, err := consolesock.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recv.Close() })
	return &consoleListener{path, recv}
}

// next accepts the next pty master in the background (gorun sends it while
// the command that makes the terminal runs); master takes it.
func (l *consoleListener) next(t *testing.T) <-chan *os.File {
	got := make(chan *os.File, 1)
	go func() {
		f, err := l.recv.Accept(10 * time.Second)
		if err != nil {
			t.Errorf("console socket: %v", err)
		}
		got <- f
	}()
	return got
}

func (l *consoleListener) master(t *testing.T, next <-chan *os.File) *os.File {
	t.Helper()
	f := <-next
	if f == nil {
		t.FailNow()
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestConsoleOwnedByUser: a process with a terminal running as another user
// owns its terminal, as with runc: it can reopen it by name (script,
// screen, su do), for the container's process and an exec'd one.
func TestConsoleOwnedByUser(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	cs := listenConsole(t)
	b := sh(t, "")
	b.Spec.Process.Terminal = true
	b.Spec.Process.Args = []string{"sh"}
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	writeBundle(t, b)
	next := cs.next(t)
	create(t, root, b, id, "--console-socket", cs.path)
	master := cs.master(t, next)
	out := readPty(master)
	mustGorun(t, root, "start", id)
	io.WriteString(master, "echo owner $(stat -c %u $(tty)); (exec 3<>$(tty)) && echo reopened\n")
	out.wait(t, "owner 1000")
	out.wait(t, "reopened")

	// An exec'd process with a terminal, as another user.
	next = cs.next(t)
	mustGorun(t, root, "exec", "-d", "-t", "--console-socket", cs.path, "--user", "1001", id, "sh", "-c", "echo exec-owner $(stat -c %u $(tty)); sleep 5")
	readPty(cs.master(t, next)).wait(t, "exec-owner 1001")
	io.WriteString(master, "exit\n")
	waitStatus(t, root, id, "stopped", 5*time.Second)
}
