// Package sdmachine starts a private systemd for tests of gorun's systemd
// cgroup driver, on a host that does not run systemd (or does: the private
// one leaves the host's alone).
//
// The machine is systemd 252 (Debian's package) as pid 1 of new pid, mount,
// cgroup, UTS, IPC and network namespaces, the way systemd runs in a
// container: its cgroup namespace is rooted at a fresh cgroup,
// /gorun-systemd-test-N on every hierarchy, and it is given the host's
// hierarchies mounted afresh there, so that everything it makes stays below
// that cgroup and goes with it. It boots only an empty target: no service
// of the host starts. Programs run inside it (Command) with nsenter, in all
// its namespaces, where gorun reaches systemd on /run/systemd/private and
// sees the cgroups as systemd does. The machine shares the host's file
// systems: every boot unit is masked (see masked), and only units without
// default dependencies (gorun's scopes are such) can start in it. Its
// console is a file, which a failing test prints (systemd 252 in a
// container writes little there).
package sdmachine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
)

// Binary is systemd's program, from Debian's systemd package.
const Binary = "/lib/systemd/systemd"

// masked are the units the machine must never start: it shares the host's
// file systems, and the early-boot services would act on them (tmpfiles
// empties /tmp and /var/lib/cni, sysctl sets the host's kernel settings,
// journald takes /dev/log). A unit with default dependencies needs
// sysinit.target, masked here, so it fails to start instead of pulling
// those in; the services are masked too, for a unit that names one.
var masked = []string{
	"sysinit.target", "basic.target", "sockets.target", "timers.target", "paths.target", "local-fs.target",
	"local-fs-pre.target", "swap.target", "cryptsetup.target", "network.target", "multi-user.target",
	"systemd-tmpfiles-setup.service", "systemd-tmpfiles-setup-dev.service", "systemd-tmpfiles-clean.service",
	"systemd-tmpfiles-clean.timer", "systemd-sysctl.service", "systemd-sysusers.service", "systemd-journald.service",
	"systemd-journald.socket", "systemd-journald-dev-log.socket", "systemd-journald-audit.socket",
	"systemd-journal-flush.service", "systemd-random-seed.service", "systemd-machine-id-commit.service",
	"systemd-update-utmp.service", "systemd-remount-fs.service", "systemd-modules-load.service",
	"systemd-binfmt.service", "systemd-firstboot.service", "systemd-hwdb-update.service", "systemd-update-done.service",
	"systemd-journal-catalog-update.service", "systemd-repart.service", "systemd-pstore.service",
	"systemd-timesyncd.service", "kmod-static-nodes.service", "ldconfig.service", "dev-hugepages.mount",
	"dev-mqueue.mount", "sys-kernel-config.mount", "sys-kernel-debug.mount", "sys-kernel-tracing.mount",
	"sys-fs-fuse-connections.mount", "proc-sys-fs-binfmt_misc.automount", "apt-daily.timer", "apt-daily-upgrade.timer",
	"dpkg-db-backup.timer", "e2scrub_all.timer", "fstrim.timer", "man-db.timer", "logrotate.timer",
	"podman-auto-update.timer", "podman.socket", "containerd.service",
}

// Machine is a running private systemd.
type Machine struct {
	// Pid is systemd's pid on the host.
	Pid int
	// Cgroup is the root of its cgroup namespace, relative to each
	// hierarchy's root.
	Cgroup string
	// Log is the file that is systemd's /dev/console.
	Log string
	// hierarchies are the host's cgroup mount points
	// (/sys/fs/cgroup/memory..., or /sys/fs/cgroup on a unified host).
	hierarchies []string
	// unified is the host's cgroup2 mount point ("" without one).
	unified string
	cmd     *exec.Cmd
}

// Start starts a machine for the test and stops it when the test ends. It
// skips the test, saying why, where systemd is missing.
func Start(t testing.TB) *Machine {
	t.Helper()
	return start(t, false)
}

// StartUnified starts a machine that sees only the host's cgroup2
// hierarchy, mounted at /sys/fs/cgroup: systemd and gorun in it take the
// host for a unified (cgroup v2 only) one. On a hybrid host that hierarchy
// has few controllers; device rules (eBPF) work all the same. It skips the
// test on a host without a cgroup2 hierarchy.
func StartUnified(t testing.TB) *Machine {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, unifiedView bool) *Machine {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("no %s: the systemd package is not installed (`make deps` installs it)", Binary)
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		t.Fatal(err)
	}
	m := &Machine{Cgroup: fmt.Sprintf("/gorun-systemd-test-%d", os.Getpid())}
	var script strings.Builder
	// Inside the namespaces: the host's hierarchies, mounted afresh under
	// a tmpfs (rooted at the new cgroup namespace's root), a /proc for
	// the pid namespace, a /run of its own, a file as its console
	// (not the host's), and the empty target.
	unified := false
	fmt.Fprintf(&script, "set -e\nmount --make-rprivate /\n")
	for _, mi := range mounts {
		if mi.Mountpoint == "/sys/fs/cgroup" && mi.FSType == "cgroup2" {
			unified = true
		}
	}
	seen := map[string]bool{}
	if unifiedView && !unified {
		// Every host hierarchy holds the machine (so that it ends with
		// it), but it is given the cgroup2 one alone.
		for _, mi := range mounts {
			if filepath.Dir(mi.Mountpoint) == "/sys/fs/cgroup" && !seen[mi.Mountpoint] {
				seen[mi.Mountpoint] = true
				m.hierarchies = append(m.hierarchies, mi.Mountpoint)
				if mi.FSType == "cgroup2" {
					m.unified = mi.Mountpoint
				}
			}
		}
		if m.unified == "" {
			t.Skip("this host has no cgroup2 hierarchy to give a unified machine")
		}
		fmt.Fprintf(&script, "mount -t cgroup2 cgroup2 /sys/fs/cgroup\n")
	} else if unified {
		fmt.Fprintf(&script, "mount -t cgroup2 cgroup2 /sys/fs/cgroup\n")
		m.hierarchies = []string{"/sys/fs/cgroup"}
		m.unified = "/sys/fs/cgroup"
	} else {
		fmt.Fprintf(&script, "mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup\n")
		for _, mi := range mounts {
			if filepath.Dir(mi.Mountpoint) != "/sys/fs/cgroup" || seen[mi.Mountpoint] {
				continue
			}
			seen[mi.Mountpoint] = true
			m.hierarchies = append(m.hierarchies, mi.Mountpoint)
			fmt.Fprintf(&script, "mkdir %s\n", mi.Mountpoint)
			if mi.FSType == "cgroup2" {
				m.unified = mi.Mountpoint
				fmt.Fprintf(&script, "mount -t cgroup2 cgroup2 %s\n", mi.Mountpoint)
				continue
			}
			opts := controllers(mi.VFSOptions)
			if strings.HasPrefix(opts, "name=") {
				opts = "none," + opts
			}
			fmt.Fprintf(&script, "mount -t cgroup -o %s cgroup %s\n", opts, mi.Mountpoint)
		}
	}
	dir := t.TempDir()
	m.Log = filepath.Join(dir, "systemd.log")
	if err := os.WriteFile(m.Log, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&script, "mount -t proc proc /proc\nmount -t tmpfs -o mode=755 tmpfs /run\n")
	fmt.Fprintf(&script, "mount --bind %s /dev/console\n", m.Log)
	fmt.Fprintf(&script, "mkdir -p /run/systemd/system\nprintf '[Unit]\\nDescription=gorun test machine\\nDefaultDependencies=no\\n' > /run/systemd/system/gorun-test.target\n")
	for _, u := range masked {
		fmt.Fprintf(&script, "ln -s /dev/null /run/systemd/system/%s\n", u)
	}
	fmt.Fprintf(&script, "export container=gorun-test\nexec %s --system --unit=gorun-test.target --log-level=info </dev/null >/dev/console 2>&1\n", Binary)

	// The cgroup the machine is rooted at, on every hierarchy; the shell
	// moves itself there before it makes the namespaces.
	var procs []string
	for _, h := range m.hierarchies {
		d := filepath.Join(h, m.Cgroup)
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			m.removeCgroups()
			t.Fatal(err)
		}
		if filepath.Base(h) == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				b, _ := os.ReadFile(filepath.Join(h, f))
				os.WriteFile(filepath.Join(d, f), b, 0o644)
			}
		}
		procs = append(procs, filepath.Join(d, "cgroup.procs"))
	}
	outer := fmt.Sprintf("for f in %s; do echo $$ > $f; done\nexec unshare --pid --fork --mount --uts --ipc --net --cgroup --propagation private sh -c %s",
		strings.Join(procs, " "), shellQuote(script.String()))
	m.cmd = exec.Command("sh", "-c", outer)
	m.cmd.Stdout, m.cmd.Stderr = os.Stderr, os.Stderr
	if err := m.cmd.Start(); err != nil {
		m.removeCgroups()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.stop(t) })
	if err := m.waitRunning(); err != nil {
		t.Fatalf("private systemd did not come up: %v\n%s", err, m.logTail())
	}
	return m
}

// controllers keeps the controller options of a v1 mount's super options.
func controllers(vfs string) string {
	var keep []string
	for _, o := range strings.Split(vfs, ",") {
		switch {
		case o == "rw" || o == "ro" || o == "xattr" || o == "clone_children" || o == "noprefix" || o == "cpuset_v2_mode" || o == "favordynmods":
		case strings.HasPrefix(o, "release_agent="):
		default:
			keep = append(keep, o)
		}
	}
	return strings.Join(keep, ",")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// waitRunning finds systemd (the child of unshare) and waits until it says
// it is running.
func (m *Machine) waitRunning() error {
	deadline := time.Now().Add(20 * time.Second)
	unsharePid := m.cmd.Process.Pid
	for m.Pid == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("no systemd process appeared")
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", unsharePid, unsharePid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			pid, _ := strconv.Atoi(f[0])
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "systemd" {
				m.Pid = pid
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	var last string
	for time.Now().Before(deadline) {
		out, _ := m.Command("systemctl", "is-system-running").Output()
		last = strings.TrimSpace(string(out))
		if last == "running" || last == "degraded" {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("systemctl is-system-running: %q after 20 s", last)
}

// Argv is the command line that runs name with args inside the machine,
// in all its namespaces.
func (m *Machine) Argv(name string, args ...string) []string {
	return append([]string{"nsenter", "-t", strconv.Itoa(m.Pid), "-a", name}, args...)
}

// Command runs name inside the machine (Argv).
func (m *Machine) Command(name string, args ...string) *exec.Cmd {
	return m.CommandContext(context.Background(), name, args...)
}

// CommandContext is Command with a context.
func (m *Machine) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := m.Argv(name, args...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

// Systemctl runs systemctl in the machine and returns its output.
func (m *Machine) Systemctl(args ...string) (string, error) {
	var out bytes.Buffer
	c := m.Command("systemctl", args...)
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return strings.TrimSpace(out.String()), err
}

// Property reads one property of unit.
func (m *Machine) Property(unit, name string) string {
	out, _ := m.Systemctl("show", "--value", "-p", name, unit)
	return out
}

// HostDir is the host's directory of cgroup p (a path as the machine sees
// it) on the hierarchy mounted at hierarchy ("/sys/fs/cgroup/memory").
func (m *Machine) HostDir(hierarchy, p string) string {
	return filepath.Join(hierarchy, m.Cgroup, p)
}

// Hierarchies are the host's cgroup mount points.
func (m *Machine) Hierarchies() []string { return m.hierarchies }

// Unified is the host's cgroup2 mount point ("" if it has none).
func (m *Machine) Unified() string { return m.unified }

func (m *Machine) logTail() string {
	b, _ := os.ReadFile(m.Log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "systemd's log:\n" + string(b)
}

// stop kills the machine (its pid namespace goes with its pid 1) and
// removes its cgroups.
func (m *Machine) stop(t testing.TB) {
	if t.Failed() {
		t.Log(m.logTail())
	}
	m.cmd.Process.Kill()
	if m.Pid != 0 {
		syscall.Kill(m.Pid, syscall.SIGKILL)
	}
	m.cmd.Wait()
	if err := m.removeCgroups(); err != nil {
		t.Errorf("private systemd: %v", err)
	}
}

// removeCgroups removes the machine's cgroup tree on every hierarchy,
// deepest first, waiting for the killed processes to leave.
func (m *Machine) removeCgroups() error {
	deadline := time.Now().Add(5 * time.Second)
	for _, h := range m.hierarchies {
		root := filepath.Join(h, m.Cgroup)
		for {
			var dirs []string
			filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			var err error
			for i := len(dirs) - 1; i >= 0; i-- {
				if e := os.Remove(dirs[i]); e != nil && !os.IsNotExist(e) {
					err = e
				}
			}
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("cannot remove its cgroups: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}
