package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Runtime is one OCI runtime under test, with a --root of its own (one
// subdirectory per scenario).
type Runtime struct {
	Name    string   // key in the results: gorun, runc, crun, crun-nocg
	Label   string   // column heading
	Bin     string   // binary
	Global  []string // global flags after --root
	Root    string   // base of its state roots
	Cgroups bool     // whether it creates cgroups
	Version string   // first line of --version
	Commit  string   // its "commit: " line

	b   *Bench
	seq atomic.Int64
}

// Runtime names, in table order.
const (
	gorunName    = "gorun"
	runcName     = "runc"
	crunName     = "crun"
	crunNoCgName = "crun-nocg"
)

// newRuntime describes a runtime whose binary is bin.
func (b *Bench) newRuntime(name, label, bin string, cgroups bool, global ...string) (*Runtime, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, err
	}
	rt := &Runtime{Name: name, Label: label, Bin: path, Global: global, Cgroups: cgroups, b: b,
		Root: filepath.Join(b.state, "root-"+name)}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", path, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	rt.Version = lines[0]
	for _, l := range lines[1:] {
		if c, ok := strings.CutPrefix(l, "commit: "); ok {
			rt.Commit = c
		}
	}
	return rt, nil
}

// root is the runtime's state root for one scenario.
func (rt *Runtime) root(scenario string) string { return filepath.Join(rt.Root, scenario) }

// newID returns a container id no other runtime or run uses.
func (rt *Runtime) newID() string {
	return fmt.Sprintf("gb%d-%s-%d", os.Getpid(), rt.Name, rt.seq.Add(1))
}

func (rt *Runtime) command(root string, args ...string) *exec.Cmd {
	a := append([]string{"--root", root}, rt.Global...)
	return exec.Command(rt.Bin, append(a, args...)...)
}

// Call is one timed invocation of a runtime.
type Call struct {
	Elapsed  time.Duration
	MaxRSSKB int64 // the process's peak RSS (rusage ru_maxrss)
}

// invoke runs the runtime with args and times it from fork to reaping.
// Its stdin and stdout are /dev/null (a container it creates inherits
// them); stderr goes to a file that the error quotes.
func (rt *Runtime) invoke(root string, args ...string) (Call, error) {
	return rt.b.timed(rt.command(root, args...), rt.Name+" "+strings.Join(args, " "))
}

// output runs the runtime and returns its stdout (not timed).
func (rt *Runtime) output(root string, args ...string) (string, error) {
	cmd := rt.command(root, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", rt.Name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return string(out), nil
}

// timed runs cmd with /dev/null for stdin and stdout and a fresh file for
// stderr, and measures real time from before fork to after wait.
func (b *Bench) timed(cmd *exec.Cmd, what string) (Call, error) {
	errf, err := os.CreateTemp(b.state, "stderr-")
	if err != nil {
		return Call{}, err
	}
	defer os.Remove(errf.Name())
	defer errf.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = b.devnull, b.devnull, errf
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return Call{}, fmt.Errorf("%s: %w", what, err)
	}
	werr := cmd.Wait()
	c := Call{Elapsed: time.Since(t0)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		c.MaxRSSKB = ru.Maxrss
	}
	if werr != nil {
		msg, _ := os.ReadFile(errf.Name())
		return c, fmt.Errorf("%s: %v: %s", what, werr, bytes.TrimSpace(msg))
	}
	return c, nil
}

// Container is a container the benchmark created and has not yet seen
// deleted. Its init is a child of the benchmark (a subreaper), which reaps
// it.
type Container struct {
	rt    *Runtime
	root  string
	ID    string
	Pid   int
	pidfd int
}

// create runs `create --bundle dir --pid-file F id` and returns the
// container and the timing of the call.
func (rt *Runtime) create(scenario, bundleDir string) (*Container, Call, error) {
	root := rt.root(scenario)
	id := rt.newID()
	pidFile := filepath.Join(rt.b.state, id+".pid")
	defer os.Remove(pidFile)
	c := &Container{rt: rt, root: root, ID: id, pidfd: -1}
	rt.b.track(c)
	call, err := rt.invoke(root, "create", "--bundle", bundleDir, "--pid-file", pidFile, id)
	if err != nil {
		return c, call, err
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return c, call, fmt.Errorf("%s create: pid file: %w", rt.Name, err)
	}
	if c.Pid, err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
		return c, call, fmt.Errorf("%s create: pid file %q: %w", rt.Name, data, err)
	}
	if c.pidfd, err = unix.PidfdOpen(c.Pid, 0); err != nil {
		return c, call, fmt.Errorf("pidfd_open %d: %w", c.Pid, err)
	}
	return c, call, nil
}

// start runs `start id`.
func (c *Container) start() (Call, error) { return c.rt.invoke(c.root, "start", c.ID) }

// delete runs `delete [--force] id`; once it succeeded the container is
// forgotten and its init reaped.
func (c *Container) delete(force bool) (Call, error) {
	args := []string{"delete", c.ID}
	if force {
		args = []string{"delete", "--force", c.ID}
	}
	call, err := c.rt.invoke(c.root, args...)
	if err == nil {
		c.reap(5 * time.Second)
		c.rt.b.untrack(c)
	}
	return call, err
}

// waitExit waits until the init has exited, up to timeout.
func (c *Container) waitExit(timeout time.Duration) error {
	if c.pidfd < 0 {
		return errors.New("no pidfd")
	}
	fds := []unix.PollFd{{Fd: int32(c.pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s: pid %d did not exit within %v", c.ID, c.Pid, timeout)
		}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
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

// reap collects the init's exit status if it is the benchmark's child (the
// benchmark is a subreaper, so orphaned inits are), once it has exited.
func (c *Container) reap(timeout time.Duration) {
	if c.pidfd < 0 {
		return
	}
	if c.waitExit(timeout) == nil {
		var info unix.Siginfo
		unix.Waitid(unix.P_PIDFD, c.pidfd, &info, unix.WEXITED|unix.WNOHANG, nil)
	}
	unix.Close(c.pidfd)
	c.pidfd = -1
}

// resetPeakRSS sets the high-water mark of pid's resident set (VmHWM) to
// its current size (proc(5): clear_refs, value 5).
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// procStatus reads fields (in KiB) of /proc/PID/status, e.g. VmHWM.
func procStatus(pid int, fields ...string) (map[string]int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, f := range fields {
			if k == f {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				out[f] = n
			}
		}
	}
	for _, f := range fields {
		if _, ok := out[f]; !ok {
			return nil, fmt.Errorf("/proc/%d/status: no %s", pid, f)
		}
	}
	return out, nil
}

// procPss reads the proportional set size (KiB) of pid.
func procPss(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Pss:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/smaps_rollup: no Pss", pid)
}

// registry keeps every container not yet deleted, so that cleanup can
// delete what a failure or an interrupt left.
type registry struct {
	mu   sync.Mutex
	live map[*Container]bool
}

func (b *Bench) track(c *Container) {
	b.reg.mu.Lock()
	b.reg.live[c] = true
	b.reg.mu.Unlock()
}

func (b *Bench) untrack(c *Container) {
	b.reg.mu.Lock()
	delete(b.reg.live, c)
	b.reg.mu.Unlock()
}

func (b *Bench) liveContainers() []*Container {
	b.reg.mu.Lock()
	defer b.reg.mu.Unlock()
	out := make([]*Container, 0, len(b.reg.live))
	for c := range b.reg.live {
		out = append(out, c)
	}
	return out
}

// parallelDo runs f(i) for i in [0, n) on up to workers goroutines and
// returns the first error.
func parallelDo(n, workers int, f func(i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := atomic.Int64{}
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}
