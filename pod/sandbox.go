package pod

// #cgo CFLAGS: -Wall -O2
import "C"

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/gorun/gorun/libcontainer/nsenter"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The environment of the namespace helper (infra.c reads it).
const (
	infraEnv     = "_GORUN_POD_INFRA"    // "once" or "hold"
	infraSyncEnv = "_GORUN_POD_SYNC"     // fd of the sync socket
	infraHostEnv = "_GORUN_POD_HOSTNAME" // set in the new UTS namespace
	infraJailEnv = "_GORUN_POD_JAIL"     // an empty directory for hold's root
)

// helperTimeout bounds how long the helper may take to report.
const helperTimeout = 10 * time.Second

// nsFiles names the nsfs file (under the pod's ns/ directory, as under
// /proc/PID/ns/) of each namespace type a pod can hold.
var nsFiles = map[rspec.LinuxNamespaceType]string{
	rspec.NetworkNamespace: "net",
	rspec.IPCNamespace:     "ipc",
	rspec.UTSNamespace:     "uts",
	rspec.PIDNamespace:     "pid",
}

var nsCloneFlags = map[rspec.LinuxNamespaceType]uintptr{
	rspec.NetworkNamespace: unix.CLONE_NEWNET,
	rspec.IPCNamespace:     unix.CLONE_NEWIPC,
	rspec.UTSNamespace:     unix.CLONE_NEWUTS,
	rspec.PIDNamespace:     unix.CLONE_NEWPID,
}

// sandboxOpts says which namespaces to make for a pod.
type sandboxOpts struct {
	name     string
	dir      string // the pod's directory
	hostname string // for a new UTS namespace
	types    []rspec.LinuxNamespaceType
	// onInfra is called with the pid of a helper that stays (a new PID
	// namespace needs an init) before it reports: to put it in a cgroup.
	onInfra func(pid int) error
}

// makeSandbox creates the namespaces o.types with a short-lived helper
// process and holds each by bind-mounting the helper's /proc/PID/ns file
// onto a file under o.dir/ns. With a PID namespace the helper stays, as the
// namespace's init, and is returned. What was made before an error is
// recorded in the returned paths and infra, for removeSandbox.
func makeSandbox(o sandboxOpts) (paths map[rspec.LinuxNamespaceType]string, infra *Process, err error) {
	paths = map[rspec.LinuxNamespaceType]string{}
	if len(o.types) == 0 {
		return paths, nil, nil
	}
	nsDir := filepath.Join(o.dir, "ns")
	if err := os.Mkdir(nsDir, 0o700); err != nil {
		return paths, nil, err
	}
	hold := false
	var flags uintptr
	for _, t := range o.types {
		flags |= nsCloneFlags[t]
		if t == rspec.PIDNamespace {
			hold = true
		}
	}
	if hold {
		// The infra's own mount namespace, where it jails itself.
		flags |= unix.CLONE_NEWNS
	}
	h, err := startHelper(o, flags, hold)
	if err != nil {
		return paths, nil, err
	}
	defer h.sock.Close()
	if hold {
		start, err := procStart(h.cmd.Process.Pid)
		if err != nil {
			h.kill()
			return paths, nil, err
		}
		infra = &Process{Pid: h.cmd.Process.Pid, Start: start}
		if o.onInfra != nil {
			if err := o.onInfra(infra.Pid); err != nil {
				h.kill()
				return paths, nil, err
			}
		}
	}
	if err := h.awaitOK(); err != nil {
		return paths, nil, err
	}
	for _, t := range o.types {
		p := filepath.Join(nsDir, nsFiles[t])
		if err := bindNamespace(h.cmd.Process.Pid, nsFiles[t], p); err != nil {
			if !hold {
				h.kill()
			}
			return paths, infra, err
		}
		paths[t] = p
	}
	if hold {
		// It lives on after this process exits.
		h.cmd.Process.Release()
		return paths, infra, nil
	}
	// Closing the socket tells the helper to exit.
	h.sock.Close()
	if err := h.cmd.Wait(); err != nil {
		return paths, nil, fmt.Errorf("pod namespace helper: %v", err)
	}
	return paths, nil, nil
}

// helper is a started namespace helper and gorun's end of its socket.
type helper struct {
	cmd  *exec.Cmd
	sock *os.File
}

func startHelper(o sandboxOpts, flags uintptr, hold bool) (*helper, error) {
	self, err := sealedSelf()
	if err != nil {
		return nil, err
	}
	defer self.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so that reads from it can time out.
	unix.SetNonblock(fds[0], true)
	sock := os.NewFile(uintptr(fds[0]), "pod-helper")
	childSock := os.NewFile(uintptr(fds[1]), "pod-helper-child")
	defer childSock.Close()
	mode := "once"
	if hold {
		mode = "hold"
	}
	env := []string{infraEnv + "=" + mode, infraSyncEnv + "=3"}
	if flags&unix.CLONE_NEWUTS != 0 {
		env = append(env, infraHostEnv+"="+o.hostname)
	}
	if hold {
		env = append(env, infraJailEnv+"="+o.dir)
	}
	cmd := &exec.Cmd{
		Path:        fmt.Sprintf("/proc/self/fd/%d", self.Fd()),
		Args:        []string{"gorun-pod-infra", o.name},
		Env:         env,
		Dir:         "/",
		ExtraFiles:  []*os.File{childSock},
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: flags, Setsid: true},
	}
	if err := nsenter.WithCallerTimerSlack(cmd.Start); err != nil {
		sock.Close()
		return nil, fmt.Errorf("start the pod's namespace helper: %w", err)
	}
	return &helper{cmd: cmd, sock: sock}, nil
}

// awaitOK waits for the helper's report. On error the helper is gone.
func (h *helper) awaitOK() error {
	h.sock.SetReadDeadline(time.Now().Add(helperTimeout))
	line, err := bufio.NewReader(h.sock).ReadString('\n')
	switch {
	case err == nil && line == "ok\n":
		return nil
	case err == nil && strings.HasPrefix(line, "error "):
		h.kill()
		return fmt.Errorf("pod namespace helper: %s", strings.TrimSpace(strings.TrimPrefix(line, "error ")))
	case errors.Is(err, os.ErrDeadlineExceeded):
		h.kill()
		return fmt.Errorf("pod namespace helper: no answer within %v", helperTimeout)
	case err != nil && line == "":
		werr := h.cmd.Wait()
		return fmt.Errorf("pod namespace helper died before it was ready: %v", werr)
	default:
		h.kill()
		return fmt.Errorf("pod namespace helper: unexpected report %q", line)
	}
}

func (h *helper) kill() {
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

// bindNamespace holds namespace file name of pid by bind-mounting it onto
// target (a new empty file), as `ip netns add` does.
func bindNamespace(pid int, name, target string) error {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_RDONLY|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return err
	}
	f.Close()
	src := fmt.Sprintf("/proc/%d/ns/%s", pid, name)
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		os.Remove(target)
		return fmt.Errorf("hold the pod's %s namespace: bind mount %s on %s: %w", name, src, target, err)
	}
	return nil
}

// removeSandbox undoes makeSandbox, whatever part of it was done: it kills
// the infra process, unmounts and removes the namespace files. The
// namespaces are freed when their last user goes.
func removeSandbox(dir string, infra *Process) error {
	var first error
	if infra != nil {
		if err := killProcess(infra, 10*time.Second); err != nil {
			first = fmt.Errorf("stop the pod's infra process %d: %w", infra.Pid, err)
		}
	}
	nsDir := filepath.Join(dir, "ns")
	ents, _ := os.ReadDir(nsDir)
	for _, e := range ents {
		p := filepath.Join(nsDir, e.Name())
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) && first == nil {
			first = fmt.Errorf("unmount %s: %w", p, err)
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	if err := os.Remove(nsDir); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
		first = err
	}
	return first
}

// sealedSelf returns a handle on gorun's own binary through a detached,
// read-only mount of it, for the helper to be exec'd from: the infra
// process shares a PID namespace with the pod's containers, and a process
// that reaches its /proc/PID/exe must not find a writable host binary
// (CVE-2019-5736). Where a mount cannot be made it falls back to the binary
// itself; the infra is then still out of reach (not dumpable, no
// capabilities, another uid).
func sealedSelf() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err == nil {
		err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV})
		if err != nil {
			unix.Close(fd)
			fd = -1
		}
	}
	if fd < 0 {
		if fd, err = unix.Open("/proc/self/exe", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			return nil, fmt.Errorf("open gorun's binary: %w", err)
		}
	}
	// Out of the range exec.Cmd fills with ExtraFiles.
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 100)
	unix.Close(fd)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), "gorun"), nil
}

// procStart reads a process's start time, in clock ticks after boot.
func procStart(pid int) (uint64, error) {
	state, start, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	if state == 'Z' || state == 'X' {
		return 0, fmt.Errorf("process %d has exited", pid)
	}
	return start, nil
}

func procStat(pid int) (state byte, start uint64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name may hold spaces and parens: fields follow the
	// last ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 || i+2 >= len(data) {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+2:]))
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err == nil {
		// A process that is exiting (PF_EXITING, field 9) is not alive,
		// whatever its state still says: a pid namespace's init stays in
		// S while the kernel tears the namespace down.
		if flags, ferr := strconv.ParseUint(f[6], 10, 64); ferr == nil && flags&pfExiting != 0 {
			return 'X', start, nil
		}
	}
	return f[0][0], start, err
}

// pfExiting is the kernel's PF_EXITING task flag.
const pfExiting = 0x4

// alive reports whether p is running (not gone, not exiting, not a zombie,
// not a later process with its pid).
func (p *Process) alive() bool {
	state, start, err := procStat(p.Pid)
	return err == nil && start == p.Start && state != 'Z' && state != 'X'
}

// killProcess sends SIGKILL to p through a pidfd (never to a process that
// reused its pid) and waits up to timeout for it to exit.
func killProcess(p *Process, timeout time.Duration) error {
	pidfd, err := unix.PidfdOpen(p.Pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil
		}
		return err
	}
	defer unix.Close(pidfd)
	if !p.alive() {
		return nil
	}
	if err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("still running %v after SIGKILL", timeout)
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
