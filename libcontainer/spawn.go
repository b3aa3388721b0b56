package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/initmsg"
	"github.com/gorun/gorun/libcontainer/initproc"
	"github.com/gorun/gorun/libcontainer/nsenter"
	"github.com/gorun/gorun/libcontainer/sched"
)

// cloneFlags maps namespace types to the clone flags that create them.
// Cgroup and time namespaces are not here: the child unshares them itself,
// after it has been placed in its cgroup.
var cloneFlags = map[rspec.LinuxNamespaceType]uintptr{
	rspec.PIDNamespace:     unix.CLONE_NEWPID,
	rspec.NetworkNamespace: unix.CLONE_NEWNET,
	rspec.MountNamespace:   unix.CLONE_NEWNS,
	rspec.IPCNamespace:     unix.CLONE_NEWIPC,
	rspec.UTSNamespace:     unix.CLONE_NEWUTS,
	rspec.UserNamespace:    unix.CLONE_NEWUSER,
}

// setnsFlags maps the namespace types the parent joins on its own thread
// before forking; user, mount, cgroup and time are joined in the child by
// nsenter (see planJoins).
var setnsFlags = map[rspec.LinuxNamespaceType]int{
	rspec.PIDNamespace:     unix.CLONE_NEWPID,
	rspec.NetworkNamespace: unix.CLONE_NEWNET,
	rspec.IPCNamespace:     unix.CLONE_NEWIPC,
	rspec.UTSNamespace:     unix.CLONE_NEWUTS,
}

// spawnOpts says how to start the child.
type spawnOpts struct {
	namespaces []rspec.LinuxNamespace // new (no path) or joined (path)
	uidMap     []rspec.LinuxIDMapping
	gidMap     []rspec.LinuxIDMapping
	stdio      [3]*os.File
	preserve   int        // fds 3..3+preserve-1 of this process go along
	extra      []*os.File // after the preserved fds and the sync socket
	// cgroup, when set, is where the child is born (cgroup2) or moves
	// itself in nsenter (v1), if it can: see selfPlaceable.
	cgroup *cgroups.Placement
	// affinity, when set, is the list of CPUs the child starts on
	// (process.execCPUAffinity.initial).
	affinity string
}

// child is a started, not yet configured init or exec process.
type child struct {
	pid     int // the init or exec'd process (a grandchild when nsenter forked)
	started int // the process spawn started (pid, unless nsenter forked)
	conn    *initmsg.Conn
	sock    *os.File
	// placed: the child is in its cgroup already (spawnOpts.cgroup).
	placed bool
}

// spawn re-execs gorun's sealed binary as the child, in the namespaces
// opts names. The sync socket is fd 3+preserve in the child, opts.extra
// follow it.
func spawn(o spawnOpts) (*child, error) {
	self, err := sealedSelf()
	if err != nil {
		return nil, err
	}
	defer self.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	parentSock := os.NewFile(uintptr(fds[0]), "sync-parent")
	childSock := os.NewFile(uintptr(fds[1]), "sync-child")
	defer childSock.Close()

	var files []*os.File
	for i := 0; i < o.preserve; i++ {
		files = append(files, os.NewFile(uintptr(3+i), fmt.Sprintf("preserved-%d", 3+i)))
	}
	files = append(files, childSock)
	files = append(files, o.extra...)

	env := []string{fmt.Sprintf("%s=%d", initproc.SyncEnv, 3+o.preserve)}
	cflags, joins, nsenterPaths, forks := planJoins(o.namespaces, rootless())
	if len(nsenterPaths) > 0 {
		env = append(env, nsenter.Env+"="+strings.Join(nsenterPaths, ","))
	}
	cmd := &command{
		path:  fmt.Sprintf("/proc/self/fd/%d", self.Fd()),
		args:  []string{"gorun", "init"},
		env:   env,
		files: append(o.stdio[:], files...),
		sys:   &syscall.SysProcAttr{Cloneflags: cflags},
	}
	placed := o.cgroup != nil && selfPlaceable(o.cgroup, o.namespaces)
	if placed {
		done, err := startInCgroup(cmd, o.cgroup)
		if err != nil {
			parentSock.Close()
			return nil, err
		}
		defer done()
	}
	helperMaps := cflags&unix.CLONE_NEWUSER != 0 && needsIDMapHelpers(o.uidMap, o.gidMap)
	if helperMaps {
		// newuidmap/newgidmap write the maps once the child exists; it
		// waits for them in nsenter, then execs itself again.
		cmd.env = append(cmd.env, "_GORUN_WAIT_MAPS=1")
	} else if cflags&unix.CLONE_NEWUSER != 0 {
		cmd.sys.UidMappings = idMap(o.uidMap)
		cmd.sys.GidMappings = idMap(o.gidMap)
		// Without root, the kernel takes a gid map only once setgroups is
		// denied in the namespace; and a namespace made where setgroups
		// is denied (root of `unshare -r`) cannot allow it.
		privileged := os.Geteuid() == 0 && setgroupsAllowedHere()
		cmd.sys.GidMappingsEnableSetgroups = privileged
		cmd.sys.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: !privileged}
	}
	if forks {
		// The grandchild that nsenter forks is reparented to this process
		// when its parent exits, so that it can be waited for.
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	err = startIn(cmd, joins, o.affinity)
	if err != nil && cmd.sys.UseCgroupFD && (errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL)) {
		// A kernel before 5.7 has no clone3(CLONE_INTO_CGROUP): start
		// the child plainly, and the parent moves it (Apply).
		cmd.sys.UseCgroupFD, placed = false, false
		err = startIn(cmd, joins, o.affinity)
	}
	if err != nil {
		parentSock.Close()
		return nil, err
	}
	ch := &child{started: cmd.pid, conn: initmsg.NewConn(parentSock), sock: parentSock, pid: cmd.pid, placed: placed}
	if helperMaps {
		if err := writeIDMaps(ch.pid, o.uidMap, o.gidMap); err != nil {
			ch.kill()
			return nil, err
		}
		if _, err := parentSock.Write([]byte{'M'}); err != nil {
			ch.kill()
			return nil, err
		}
	}
	if forks {
		m, err := ch.conn.Recv()
		reap(cmd.pid)
		if err == nil && m.Type == initmsg.Error {
			err = m.Err.AsError()
		} else if err == nil && (m.Type != initmsg.Forked || m.Pid <= 0) {
			err = fmt.Errorf("init protocol: got %q, want %q", m.Type, initmsg.Forked)
		}
		if err != nil {
			parentSock.Close()
			return nil, err
		}
		ch.pid = m.Pid
	}
	return ch, nil
}

// selfPlaceable says whether the child can be placed in its cgroup by
// cgroups.Placement. Not without root, where the cgroup may be one the
// caller cannot write, nor in a user namespace, whose root is not the owner
// of the host's cgroup files: there the parent moves the child with Apply.
// (A cgroup namespace, which would limit where the child may move, is
// joined in nsenter after the move.)
func selfPlaceable(p *cgroups.Placement, nss []rspec.LinuxNamespace) bool {
	if rootless() {
		return false
	}
	for _, ns := range nss {
		if ns.Type == rspec.UserNamespace {
			return false
		}
	}
	for _, t := range p.Tasks {
		if strings.Contains(t, "\n") {
			return false
		}
	}
	return true
}

// startInCgroup makes cmd start in cgroup p: born in its cgroup2 directory
// (CLONE_INTO_CGROUP), moving itself into the v1 ones in nsenter. done
// closes what the start needed.
func startInCgroup(cmd *command, p *cgroups.Placement) (done func(), err error) {
	if len(p.Tasks) > 0 {
		cmd.env = append(cmd.env, nsenter.CgroupTasksEnv+"="+strings.Join(p.Tasks, "\n"))
	}
	if p.Dir == "" {
		return func() {}, nil
	}
	fd, err := unix.Open(p.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &errs.Error{Field: "linux.cgroupsPath", Value: p.Dir, Err: err}
	}
	cmd.sys.UseCgroupFD, cmd.sys.CgroupFD = true, fd
	return func() { unix.Close(fd) }, nil
}

// planJoins splits namespaces into clone flags for the new ones, the ones
// this process joins on a thread before forking, and the ones the child
// joins in nsenter before its Go runtime starts. User, mount, cgroup and
// time namespaces are always joined by nsenter. Without root, every namespace
// is: only after joining the container's user namespace may the process
// join the namespaces it owns. A pid namespace joined by nsenter makes it fork.
func planJoins(nss []rspec.LinuxNamespace, rootless bool) (cflags uintptr, joins []rspec.LinuxNamespace, nsenterPaths []string, forks bool) {
	var user, rest, pid []string
	for _, ns := range nss {
		entry := nsProcName[ns.Type] + "=" + ns.Path
		switch {
		case ns.Path == "":
			cflags |= cloneFlags[ns.Type]
		case ns.Type == rspec.UserNamespace:
			user = append(user, entry)
		case ns.Type == rspec.MountNamespace, ns.Type == rspec.CgroupNamespace, ns.Type == rspec.TimeNamespace:
			// A cgroup namespace is joined after the child moved itself
			// into its cgroup (see cgroups.Placement): from the parent's
			// thread it would limit where the child may move. A time
			// namespace can only be joined by a single-threaded process
			// (EUSERS from the Go parent's thread).
			rest = append(rest, entry)
		case !rootless:
			joins = append(joins, ns)
		case ns.Type == rspec.PIDNamespace:
			pid = append(pid, entry)
			forks = true
		default:
			rest = append(rest, entry)
		}
	}
	nsenterPaths = append(append(user, rest...), pid...)
	return cflags, joins, nsenterPaths, forks
}

func idMap(m []rspec.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}

// startIn starts cmd after joining the namespaces joins on a thread of its
// own, pinned to the CPUs of affinity when that is set (the child inherits
// the thread's affinity). That thread is left locked, so the Go runtime ends
// it instead of reusing it in namespaces that are not the host's.
func startIn(cmd *command, joins []rspec.LinuxNamespace, affinity string) error {
	if len(joins) == 0 && affinity == "" {
		return nsenter.WithCallerTimerSlack(cmd.start)
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if affinity != "" {
			if err := sched.SetAffinity("process.execCPUAffinity.initial", affinity); err != nil {
				done <- err
				return
			}
		}
		for _, ns := range joins {
			fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				done <- fmt.Errorf("linux.namespaces[%s].path %q: %w", ns.Type, ns.Path, err)
				return
			}
			err = unix.Setns(fd, setnsFlags[ns.Type])
			unix.Close(fd)
			if err != nil {
				done <- fmt.Errorf("linux.namespaces[%s].path %q: join: %w", ns.Type, ns.Path, err)
				return
			}
		}
		done <- nsenter.WithCallerTimerSlack(cmd.start)
	}()
	return <-done
}

// command is a child to start with syscall.StartProcess. Not os/exec: on
// its first start of a child, package os checks that pidfds work by
// cloning a throwaway process (Go 1.23+), ~0.1 ms more for every create
// and exec; gorun waits for its children with wait4 and needs no pidfd.
type command struct {
	path  string
	args  []string
	env   []string
	files []*os.File // fd i of the child is files[i]
	sys   *syscall.SysProcAttr
	pid   int // once started
}

func (c *command) start() error {
	fds := make([]uintptr, len(c.files))
	for i, f := range c.files {
		fds[i] = f.Fd()
	}
	pid, _, err := syscall.StartProcess(c.path, c.args, &syscall.ProcAttr{Env: c.env, Files: fds, Sys: c.sys})
	runtime.KeepAlive(c.files)
	if err != nil {
		return &os.PathError{Op: "fork/exec", Path: c.path, Err: err}
	}
	c.pid = pid
	return nil
}

// reap waits for the child pid to end.
func reap(pid int) (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err != unix.EINTR {
			return ws, err
		}
	}
}

// kill ends a child that failed, and reaps it.
func (c *child) kill() {
	unix.Kill(c.pid, unix.SIGKILL)
	reap(c.pid)
	c.sock.Close()
}

// configure sends the child its config, then, unless it was placed as it
// started, moves it into its cgroup with place (nil: no cgroup) while it
// sets up, and tells it it is placed: the child waits for that before
// anything that needs its cgroup. Such a move can wait ~10 ms for an RCU
// grace period (see cgroups.Placement); the child's start-up runs meanwhile.
func (c *child) configure(cfg *initmsg.InitConfig, place func() error) error {
	if err := c.conn.Send(initmsg.Message{Type: initmsg.Config, Config: cfg}); err != nil {
		// A child that failed in nsenter, before reading anything, said
		// why before it exited.
		if m, rerr := c.conn.Recv(); rerr == nil && m.Type == initmsg.Error {
			return m.Err.AsError()
		}
		return fmt.Errorf("send config to the child: %w", err)
	}
	if place != nil && !c.placed {
		if err := place(); err != nil {
			return err
		}
	}
	// A child that already failed has closed its end: what it said comes
	// from recvReady.
	c.conn.Send(initmsg.Message{Type: initmsg.Placed})
	return nil
}

// recvReady reads messages until the child is ready, running the runtime's
// hooks when it asks. A child that dies without a word is reported with its
// exit status.
func (c *child) recvReady(runHooks func() error) (int, error) {
	for {
		m, err := c.conn.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, c.diedEarly()
			}
			return 0, err
		}
		switch m.Type {
		case initmsg.Error:
			return 0, m.Err.AsError()
		case initmsg.Ready:
			return m.Pid, nil
		case initmsg.RunHooks:
			if err := runHooks(); err != nil {
				return 0, err
			}
			if err := c.conn.Send(initmsg.Message{Type: initmsg.HooksDone}); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("init protocol: unexpected %q", m.Type)
		}
	}
}

func (c *child) diedEarly() error {
	if c.pid != c.started {
		return errors.New("container process exited before it was ready")
	}
	ws, err := reap(c.pid)
	switch {
	case err != nil:
		return fmt.Errorf("container init died before it was ready: %v", err)
	case ws.Signaled():
		return fmt.Errorf("container init died before it was ready: signal: %v", ws.Signal())
	case ws.ExitStatus() != 0:
		return fmt.Errorf("container init died before it was ready: exit status %d", ws.ExitStatus())
	}
	return errors.New("container init exited before it was ready")
}

// setgroupsAllowedHere says whether this process's user namespace allows
// setgroups (its children's can then allow it too).
func setgroupsAllowedHere() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err != nil || strings.TrimSpace(string(b)) != "deny"
}
