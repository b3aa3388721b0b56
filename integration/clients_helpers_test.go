package integration

// Helpers shared by the tests that drive gorun through real clients:
// containerd (ctr, and its CRI plugin through crictl) and podman. Each test
// starts its own private daemon or storage under a temporary directory and
// tears everything down: processes, mounts, cgroup parents the clients
// made, network interfaces.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/tests/image"
	"github.com/gorun/gorun/tests/leakcheck"
)

// clientTimeout bounds one client command (ctr, crictl, podman).
const clientTimeout = 90 * time.Second

// Names of the images the client tests load.
const (
	busyboxRef = "localhost/gorun-busybox:latest"
	pauseRef   = "localhost/gorun/pause:1"
)

// clientSetup starts a client test: root, the leak checker on the gorun
// state root the client will use, and a temporary directory. Call it first.
func clientSetup(t *testing.T, gorunRoot func(dir string) string) (dir, root string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("client tests need root")
	}
	binary(t)
	lockClients(t)
	// A short directory: unix socket paths are limited to 108 bytes.
	d, err := os.MkdirTemp("", "gorun-cl-")
	if err != nil {
		t.Fatal(err)
	}
	root = gorunRoot(d)
	leakcheck.Register(t, root)
	t.Cleanup(func() {
		unmountUnder(t, d)
		if err := os.RemoveAll(d); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return d, root
}

// lockClients serialises the client tests of every test process on this
// host (several people may run `make test` at once): they share host-wide
// names (the CNI bridges, podman's default gorun root, /run/containerd).
// The lock is held until the test's leak check is done.
func lockClients(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "gorun-tests-clients.lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			t.Fatalf("lock %s: %v (another test process is running the client tests)", f.Name(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() { f.Close() })
}

// needPackage makes sure the commands of a Debian package are installed,
// installing the package if they are not; it skips the test, with the
// reason, when that is impossible.
func needPackage(t *testing.T, pkg string, paths ...string) {
	t.Helper()
	missing := func() string {
		for _, p := range paths {
			if _, err := os.Stat(p); err != nil {
				return p
			}
		}
		return ""
	}
	if missing() == "" {
		return
	}
	install := func() ([]byte, error) {
		cmd := exec.Command("apt-get", "install", "-y", "-qq", pkg)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	out, err := install()
	if err != nil {
		exec.Command("apt-get", "update", "-qq").Run()
		out, err = install()
	}
	if p := missing(); p != "" {
		t.Skipf("%s is not installed and `apt-get install %s` failed (%v): %s", p, pkg, err, lastLines(string(out), 3))
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// cmdResult is what a client command did.
type cmdResult struct {
	stdout, stderr string
	code           int
}

func (r cmdResult) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// runCmd runs name with args and env added to the environment, with
// stdin from in (may be empty), and returns what it did. A command that
// cannot start or times out fails the test.
func runCmd(t testing.TB, env []string, in string, name string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	if in != "" {
		cmd.Stdin = strings.NewReader(in)
	}
	// Files, not pipes: a daemon a client starts may inherit them.
	outF, errF := tempFile(t), tempFile(t)
	defer closeRemove(outF)
	defer closeRemove(errF)
	cmd.Stdout, cmd.Stderr = outF, errF
	err := cmd.Run()
	r := cmdResult{stdout: readFile(t, outF.Name()), stderr: readFile(t, errF.Name())}
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: timed out after %v\n%s", name, strings.Join(args, " "), clientTimeout, r)
	case err == nil:
	case cmd.ProcessState != nil:
		r.code = exitStatus(cmd.ProcessState)
	default:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return r
}

func tempFile(t testing.TB) *os.File {
	t.Helper()
	f, err := os.CreateTemp("", "gorun-client-out-")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func closeRemove(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// runInPty runs name with args on a new pseudo-terminal (as a person at a
// terminal would: `-t`/`-it` clients need one) and returns what the
// terminal showed and the exit code.
func runInPty(t testing.TB, env []string, name string, args ...string) (string, int) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		s.Close()
		t.Fatal(err)
	}
	s.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	shown := func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := m.Read(b)
			mu.Lock()
			out.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	err = cmd.Wait()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out on a terminal; it showed:\n%s", name, strings.Join(args, " "), shown())
	}
	code := 0
	if err != nil {
		if cmd.ProcessState == nil {
			t.Fatalf("%s: %v", name, err)
		}
		code = exitStatus(cmd.ProcessState)
	}
	return shown(), code
}

// buildImages writes the busybox image (running sh) and the pause image
// (sleeping forever) as tarballs in format f under dir.
func buildImages(t testing.TB, dir string, f image.Format) (busyboxTar, pauseTar string) {
	t.Helper()
	bb, err := image.Busybox(filepath.Join(dir, "img-busybox"), busyboxRef)
	if err != nil {
		t.Fatal(err)
	}
	busyboxTar = filepath.Join(dir, "busybox.tar")
	if err := bb.WriteFile(busyboxTar, f); err != nil {
		t.Fatal(err)
	}
	p, err := image.Pause(filepath.Join(dir, "img-pause"), pauseRef)
	if err != nil {
		t.Fatal(err)
	}
	pauseTar = filepath.Join(dir, "pause.tar")
	if err := p.WriteFile(pauseTar, f); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "img-busybox"))
	os.RemoveAll(filepath.Join(dir, "img-pause"))
	return busyboxTar, pauseTar
}

// argvRecorder writes a wrapper that logs each argv of the runtime to a
// file, one line per call, then execs gorun. It returns the wrapper's path
// and a function reading the calls so far.
func argvRecorder(t testing.TB, dir string) (string, func() []string) {
	t.Helper()
	logPath := filepath.Join(dir, "argv.log")
	wrapper := filepath.Join(dir, "gorun-argv")
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> %s\nexec %s \"$@\"\n", logPath, binary(t))
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper, func() []string {
		b, _ := os.ReadFile(logPath)
		return lines(string(b))
	}
}

// hasCall reports whether one recorded argv contains every part, in order.
func hasCall(calls []string, parts ...string) bool {
	for _, c := range calls {
		rest, ok := c, true
		for _, p := range parts {
			i := strings.Index(rest, p)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}

// gorunAt runs the built gorun with the given global and command args
// (no implicit --root), e.g. on the state root a client gave it.
func gorunAt(t testing.TB, in string, args ...string) cmdResult {
	t.Helper()
	return runCmd(t, nil, in, binary(t), args...)
}

// gorunStates lists the containers under a gorun state root, by id.
func gorunStates(t testing.TB, root string) map[string]containerState {
	t.Helper()
	r := gorunAt(t, "", "--root", root, "list", "--format", "json")
	if r.code != 0 {
		t.Fatalf("gorun list: %s", r)
	}
	var states []containerState
	if err := json.Unmarshal([]byte(r.stdout), &states); err != nil {
		t.Fatalf("gorun list: %v\n%s", err, r.stdout)
	}
	m := make(map[string]containerState, len(states))
	for _, s := range states {
		m[s.ID] = s
	}
	return m
}

// waitFor polls cond for up to d and fails the test with what if it never
// holds.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(d, cond) {
		t.Fatalf("after %v: %s", d, what)
	}
}

// ---- teardown ----

// daemon is a long-running client process (containerd) the test started.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startDaemon(t testing.TB, logPath string, env []string, name string, args ...string) *daemon {
	t.Helper()
	logF, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logF.Close()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logF, logF
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(d.done) }()
	return d
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop ends the daemon: SIGTERM, then SIGKILL after 5 s; it is reaped.
func (d *daemon) stop() {
	if d.exited() {
		return
	}
	d.cmd.Process.Signal(unix.SIGTERM)
	select {
	case <-d.done:
		return
	case <-time.After(5 * time.Second):
	}
	d.cmd.Process.Kill()
	<-d.done
}

// waitSocket waits until something accepts connections on the unix socket.
func waitSocket(t testing.TB, d *daemon, path, logPath string) {
	t.Helper()
	ok := poll(20*time.Second, func() bool {
		if d.exited() {
			return true
		}
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Close()
			return true
		}
		return false
	})
	if !ok || d.exited() {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("%s did not start serving on %s; its log ends:\n%s", filepath.Base(d.cmd.Path), path, lastLines(string(b), 20))
	}
}

// killProcsWith SIGKILLs every process whose command line contains all of
// parts (processes this test started and that were reparented away from
// it, such as containerd's shims), and returns how many it killed.
func killProcsWith(parts ...string) int {
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		all := true
		for _, p := range parts {
			if !strings.Contains(cmdline, p) {
				all = false
				break
			}
		}
		if all {
			unix.Kill(pid, unix.SIGKILL)
			n++
		}
	}
	return n
}

// forceDeleteAll deletes, with --force, every container under a gorun
// state root whose bundle is under bundleDir: whatever a client failed to
// clean up (and nobody else's, when the root is gorun's default).
func forceDeleteAll(t testing.TB, root, bundleDir string) {
	t.Helper()
	if _, err := os.Stat(root); err != nil {
		return
	}
	for id, st := range gorunStates(t, root) {
		if !strings.HasPrefix(st.Bundle, bundleDir+"/") {
			continue
		}
		t.Logf("cleanup: gorun delete --force %s (left by the client)", id)
		if r := gorunAt(t, "", "--root", root, "delete", "--force", id); r.code != 0 {
			t.Errorf("cleanup: gorun --root %s delete --force %s: %s", root, id, r)
		}
	}
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(t testing.TB, dir string) {
	t.Helper()
	for i := 0; i < 5; i++ {
		var points []string
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 4 {
				p := unescapeMount(fields[4])
				if p == dir || strings.HasPrefix(p, dir+"/") {
					points = append(points, p)
				}
			}
		}
		f.Close()
		if len(points) == 0 {
			return
		}
		sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
		for _, p := range points {
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				t.Logf("cleanup: umount %s: %v", p, err)
			}
		}
	}
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupRoots lists the mount points of the host's cgroup hierarchies.
func cgroupRoots() []string {
	var roots []string
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		i := strings.Index(l, " - ")
		if i < 0 {
			continue
		}
		fields := strings.Fields(l[:i])
		post := strings.Fields(l[i+3:])
		if len(fields) > 4 && len(post) > 0 && (post[0] == "cgroup" || post[0] == "cgroup2") {
			roots = append(roots, fields[4])
		}
	}
	return roots
}

// cgroupParents records the cgroup directories that exist now at and
// below the given ones (relative to each hierarchy's root), and returns a
// function that removes, children first, the empty ones that did not: the
// parents a client makes for its containers (containerd's /<namespace>,
// podman's /libpod_parent and its pods' cgroups) are the client's, not
// gorun's, and gorun leaves them as runc does.
func cgroupParents(rel ...string) func() {
	walk := func(fn func(string)) {
		for _, r := range cgroupRoots() {
			for _, p := range rel {
				filepath.WalkDir(filepath.Join(r, p), func(path string, d os.DirEntry, err error) error {
					if err == nil && d.IsDir() {
						fn(path)
					}
					return nil
				})
			}
		}
	}
	existed := map[string]bool{}
	walk(func(p string) { existed[p] = true })
	return func() {
		var dirs []string
		walk(func(p string) {
			if !existed[p] {
				dirs = append(dirs, p)
			}
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			os.Remove(d)
		}
	}
}

// linkCleanup returns a function that deletes the network interface name
// if it did not exist now (a CNI bridge outlives the last pod).
func linkCleanup(name string) func() {
	_, err := os.Stat("/sys/class/net/" + name)
	existed := err == nil
	return func() {
		if existed {
			return
		}
		if _, err := os.Stat("/sys/class/net/" + name); err == nil {
			exec.Command("ip", "link", "delete", name).Run()
		}
	}
}

// dirCleanup returns a function that removes the directories (children
// after parents in the list) that did not exist now, where empty: host
// directories clients make for themselves (containerd's shim socket and
// fifo directories under /run/containerd).
func dirCleanup(dirs ...string) func() {
	existed := map[string]bool{}
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			existed[d] = true
		}
	}
	return func() {
		for i := len(dirs) - 1; i >= 0; i-- {
			if !existed[dirs[i]] {
				os.Remove(dirs[i])
			}
		}
	}
}

// staleSockets returns a function that removes the unix sockets that
// appeared in dir since now and that nothing listens on any more: those of
// shims that were killed.
func staleSockets(dir string) func() {
	before := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		before[e.Name()] = true
	}
	return func() {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if before[e.Name()] || e.Type()&os.ModeSocket == 0 {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if c, err := net.Dial("unix", p); err == nil {
				c.Close()
				continue
			}
			os.Remove(p)
		}
	}
}

// goTool returns the go command (to build crictl).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// ---- containerd ----

// ctrd is a private containerd: its own root, state, sockets and config
// under dir.
type ctrd struct {
	t     testing.TB
	dir   string
	sock  string
	log   string
	ns    string // namespace of ctr commands
	d     *daemon
	gorun string // the gorun state root its shims use: <Root option>/<ns>
}

// ctrdOpts says how to configure the containerd under test.
type ctrdOpts struct {
	ns  string
	cri *criOpts // nil: the CRI plugin is disabled
}

// criOpts configures the CRI plugin: a runtime handler "gorun" whose
// io.containerd.runc.v2 shim runs gorun (what a RuntimeClass selects).
type criOpts struct {
	binaryName  string // the BinaryName option
	runtimeRoot string // the Root option (gorun's --root is Root/<ns>)
	cniConfDir  string
	sandbox     string // sandbox (pause) image
	// systemdCgroup is the shim's SystemdCgroup option (gorun gets
	// --systemd-cgroup).
	systemdCgroup bool
}

// containerdConfig is containerd's config.toml for a private instance.
func containerdConfig(dir string, o ctrdOpts) string {
	disabled := []string{
		"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
		"io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
	}
	if o.cri == nil {
		disabled = append(disabled, "io.containerd.grpc.v1.cri")
	}
	q := func(ss []string) string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `version = 2
root = %q
state = %q
disabled_plugins = %s

[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  level = "info"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), q(disabled),
		filepath.Join(dir, "c.sock"), filepath.Join(dir, "c.sock.ttrpc"), filepath.Join(dir, "opt"))
	if c := o.cri; c != nil {
		fmt.Fprintf(&b, `  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = %q
    # Root here cannot lower oom_score_adj (no CAP_SYS_RESOURCE): keep
    # the sandbox's -998 at or above containerd's own score.
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    disable_apparmor = true
    enable_selinux = false
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "gorun"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.gorun]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.gorun.options]
          BinaryName = %q
          Root = %q
          SystemdCgroup = %v
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = %q
      max_conf_num = 1
`, c.sandbox, c.binaryName, c.runtimeRoot, c.systemdCgroup, c.cniConfDir)
	}
	return b.String()
}

// startContainerd writes the config, starts containerd and waits until it
// serves. Its cleanup (registered here) removes what is left through ctr,
// stops containerd, kills the shims it started and force-deletes any
// container left under gorunRoot.
func startContainerd(t *testing.T, dir string, o ctrdOpts, gorunRoot string) *ctrd {
	t.Helper()
	needPackage(t, "containerd", "/usr/bin/containerd", "/usr/bin/ctr", "/usr/bin/containerd-shim-runc-v2")
	c := &ctrd{t: t, dir: dir, sock: filepath.Join(dir, "c.sock"), log: filepath.Join(dir, "containerd.log"), ns: o.ns, gorun: gorunRoot}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(containerdConfig(dir, o)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The shims keep their sockets under /run/containerd whatever the
	// config says (ctr's fifos go to --fifo-dir).
	t.Cleanup(dirCleanup("/run/containerd", "/run/containerd/s", "/run/containerd/fifo"))
	t.Cleanup(staleSockets("/run/containerd/s"))
	t.Cleanup(cgroupParents(o.ns))
	c.d = startDaemon(t, c.log, nil, "containerd", "--config", cfg)
	t.Cleanup(c.teardown)
	waitSocket(t, c.d, c.sock, c.log)
	return c
}

func (c *ctrd) teardown() {
	t := c.t
	if !c.d.exited() {
		// What a user would do first: remove tasks and containers.
		for _, id := range lines(c.ctr("task", "ls", "-q").stdout) {
			c.ctr("task", "rm", "-f", id)
		}
		for _, id := range lines(c.ctr("containers", "ls", "-q").stdout) {
			c.ctr("containers", "rm", id)
		}
	}
	c.d.stop()
	if n := killProcsWith("containerd-shim", "-address "+c.sock+" "); n > 0 {
		t.Logf("cleanup: killed %d containerd shim(s) still running", n)
	}
	forceDeleteAll(t, c.gorun, c.dir)
	unmountUnder(t, c.dir)
	if t.Failed() {
		b, _ := os.ReadFile(c.log)
		t.Logf("containerd log (last lines):\n%s", lastLines(string(b), 40))
	}
}

// ctr runs ctr against this containerd, in its namespace.
func (c *ctrd) ctr(args ...string) cmdResult {
	c.t.Helper()
	return runCmd(c.t, nil, "", "ctr", append([]string{"--address", c.sock, "--namespace", c.ns}, args...)...)
}

// mustCtr is ctr that fails the test unless it exits 0; it returns stdout.
func (c *ctrd) mustCtr(args ...string) string {
	c.t.Helper()
	r := c.ctr(args...)
	if r.code != 0 {
		c.t.Fatalf("ctr %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// taskStatus returns the STATUS and PID columns of `ctr task ls` for id
// ("" when there is no such task).
func (c *ctrd) taskStatus(id string) (status string, pid int) {
	c.t.Helper()
	for _, l := range lines(c.mustCtr("task", "ls"))[1:] {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == id {
			pid, _ = strconv.Atoi(f[1])
			return f[2], pid
		}
	}
	return "", 0
}

// waitTask polls `ctr task ls` until id has status want.
func (c *ctrd) waitTask(id, want string) int {
	c.t.Helper()
	var st string
	var pid int
	if !poll(15*time.Second, func() bool { st, pid = c.taskStatus(id); return st == want }) {
		c.t.Fatalf("task %s: status %q, want %q", id, st, want)
	}
	return pid
}
