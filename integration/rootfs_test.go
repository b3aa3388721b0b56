package integration

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/tests/bundle"
)

// mountEntry is one line of /proc/PID/mountinfo.
type mountEntry struct {
	point, opts, fstype, source, superOpts string
}

func parseMountinfo(s string) []mountEntry {
	var out []mountEntry
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 > len(f) {
			continue
		}
		e := mountEntry{point: f[4], opts: f[5], fstype: f[sep+1], source: f[sep+2]}
		if sep+3 < len(f) {
			e.superOpts = f[sep+3]
		}
		out = append(out, e)
	}
	return out
}

// findMount returns the last (topmost) mount at point.
func findMount(ms []mountEntry, point string) (mountEntry, bool) {
	var m mountEntry
	found := false
	for _, e := range ms {
		if e.point == point {
			m, found = e, true
		}
	}
	return m, found
}

func hasOpt(opts, opt string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

func TestMountTable(t *testing.T) {
	root := setup(t)
	out := mustRun(t, root, sh(t, "cat /proc/self/mountinfo"), containerID(t))
	ms := parseMountinfo(out)
	for _, w := range []struct{ point, fstype string }{
		{"/proc", "proc"}, {"/dev", "tmpfs"}, {"/dev/pts", "devpts"}, {"/dev/shm", "tmpfs"},
		{"/dev/mqueue", "mqueue"}, {"/sys", "sysfs"},
	} {
		m, ok := findMount(ms, w.point)
		if !ok {
			t.Errorf("no mount at %s:\n%s", w.point, out)
			continue
		}
		if m.fstype != w.fstype {
			t.Errorf("%s is %s, want %s", w.point, m.fstype, w.fstype)
		}
	}
	if m, _ := findMount(ms, "/sys"); !hasOpt(m.opts, "ro") {
		t.Errorf("/sys is not read-only: %q", m.opts)
	}
	if m, _ := findMount(ms, "/dev"); !hasOpt(m.opts, "nosuid") {
		t.Errorf("/dev options %q lack nosuid", m.opts)
	}
	if m, _ := findMount(ms, "/dev/mqueue"); !hasOpt(m.opts, "nodev") || !hasOpt(m.opts, "noexec") {
		t.Errorf("/dev/mqueue options %q lack nodev,noexec", m.opts)
	}
	if m, _ := findMount(ms, "/"); m.point != "/" {
		t.Errorf("no root mount:\n%s", out)
	}
	// Nothing of the host's mount table but what the spec asks for: the
	// host's own mount points are absent.
	for _, m := range parseMountinfo(readFile(t, "/proc/self/mountinfo")) {
		if m.point == "/" || m.point == "/proc" || m.point == "/dev" || m.point == "/sys" ||
			strings.HasPrefix(m.point, "/dev/") || strings.HasPrefix(m.point, "/sys/") || strings.HasPrefix(m.point, "/proc/") {
			continue
		}
		if _, ok := findMount(ms, m.point); ok {
			t.Errorf("host mount %s visible in the container", m.point)
		}
	}
}

func TestReadonlyRoot(t *testing.T) {
	root := setup(t)
	for _, ro := range []bool{true, false} {
		t.Run(strconv.FormatBool(ro), func(t *testing.T) {
			b := sh(t, "touch /x && echo wrote")
			b.Spec.Root.Readonly = ro
			writeBundle(t, b)
			out, errOut, code := runContainer(t, root, b, containerID(t))
			_, statErr := os.Stat(filepath.Join(b.Rootfs, "x"))
			if ro {
				if code == 0 || out != "" || !strings.Contains(errOut, "Read-only file system") || statErr == nil {
					t.Errorf("readonly root: exit %d, stdout %q, stderr %q, /x on host: %v; want touch to fail with EROFS", code, out, errOut, statErr)
				}
			} else if code != 0 || out != "wrote\n" || statErr != nil {
				t.Errorf("writable root: exit %d, stdout %q, stderr %q, /x on host: %v", code, out, errOut, statErr)
			}
		})
	}
}

func TestMaskedPaths(t *testing.T) {
	root := setup(t)
	var paths []string
	for _, p := range []string{"/proc/keys", "/proc/timer_list"} {
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		t.Skip("neither /proc/keys nor /proc/timer_list has content on this host")
	}
	script := ""
	for _, p := range paths {
		script += "echo " + p + " $(cat " + p + " 2>/dev/null | wc -c);"
	}
	script += "echo /sys/firmware $(ls -A /sys/firmware | wc -l)"
	out := mustRun(t, root, sh(t, script), containerID(t))
	for _, p := range paths {
		if !strings.Contains(out, p+" 0\n") {
			t.Errorf("masked %s is readable inside:\n%s", p, out)
		}
	}
	if ents, _ := os.ReadDir("/sys/firmware"); len(ents) > 0 && !strings.Contains(out, "/sys/firmware 0\n") {
		t.Errorf("masked /sys/firmware is not empty inside:\n%s", out)
	}
}

// TestReadonlyPaths: /proc/sys/kernel/hostname (0644, writable by root for
// its own uts namespace) cannot be written when /proc/sys is a readonly
// path, and can when it is not.
func TestReadonlyPaths(t *testing.T) {
	root := setup(t)
	const script = "echo changed > /proc/sys/kernel/hostname && hostname"
	b := sh(t, script)
	out, errOut, code := runContainer(t, root, b, containerID(t, "ro"))
	if code == 0 || !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("write to /proc/sys with /proc/sys read-only: exit %d, stdout %q, stderr %q; want EROFS", code, out, errOut)
	}

	b.Spec.Linux.ReadonlyPaths = nil
	b.Spec.Process.Args = []string{"sh", "-c", script}
	writeBundle(t, b)
	out, errOut, code = runContainer(t, root, b, containerID(t, "rw"))
	if code != 0 || out != "changed\n" {
		t.Errorf("write to /proc/sys without readonly paths: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if h, _ := os.Hostname(); h == "changed" {
		t.Error("the host's hostname was changed")
	}
}

func TestBindMounts(t *testing.T) {
	root := setup(t)
	rw, ro := hostDir(t), hostDir(t)
	if err := os.WriteFile(filepath.Join(ro, "existing"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := sh(t, `echo inside > /mnt/rw/new && echo rw-ok
cat /mnt/ro/existing
echo inside > /mnt/ro/new && echo ro-written
grep -E ' /mnt/(rw|ro) ' /proc/self/mountinfo`)
	bindMount(b.Spec, rw, "/mnt/rw", "rw")
	bindMount(b.Spec, ro, "/mnt/ro", "ro")
	writeBundle(t, b)
	out, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(out, "rw-ok\n") || readFileOrEmpty(filepath.Join(rw, "new")) != "inside\n" {
		t.Errorf("rw bind mount: stdout %q, host file %q", out, readFileOrEmpty(filepath.Join(rw, "new")))
	}
	if !strings.Contains(out, "from the host\n") {
		t.Errorf("ro bind mount: host file not visible: %q", out)
	}
	if strings.Contains(out, "ro-written") || !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("ro bind mount is writable: stdout %q, stderr %q", out, errOut)
	}
	if _, err := os.Stat(filepath.Join(ro, "new")); err == nil {
		t.Error("a file appeared in the host dir of the ro bind mount")
	}
	ms := parseMountinfo(out)
	if m, ok := findMount(ms, "/mnt/ro"); !ok || !hasOpt(m.opts, "ro") {
		t.Errorf("/mnt/ro mount: %+v %v", m, ok)
	}
	if m, ok := findMount(ms, "/mnt/rw"); !ok || !hasOpt(m.opts, "rw") {
		t.Errorf("/mnt/rw mount: %+v %v", m, ok)
	}
}

func readFileOrEmpty(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func TestTmpfsMount(t *testing.T) {
	root := setup(t)
	b := sh(t, "grep ' /data ' /proc/self/mountinfo; stat -c %a /data; echo hi > /data/f && cat /data/f")
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{
		Destination: "/data", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "nodev", "mode=1777", "size=1m"},
	})
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	l := lines(out)
	if len(l) != 3 {
		t.Fatalf("inside:\n%s", out)
	}
	ms := parseMountinfo(l[0])
	if len(ms) != 1 || ms[0].fstype != "tmpfs" || !strings.Contains(ms[0].superOpts, "size=1024k") {
		t.Errorf("/data mount: %q, want a tmpfs of 1m", l[0])
	}
	if l[1] != "1777" || l[2] != "hi" {
		t.Errorf("/data mode %s, content %q; want 1777 and hi", l[1], l[2])
	}
	if _, err := os.Stat(filepath.Join(b.Rootfs, "data", "f")); err == nil {
		t.Error("a file written to the tmpfs landed in the rootfs on the host")
	}
}

func TestDefaultDevices(t *testing.T) {
	root := setup(t)
	b := sh(t, `for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done
for l in fd stdin stdout stderr ptmx; do echo /dev/$l "$(readlink /dev/$l)"; done
echo x > /dev/null && echo null-ok
head -c 5 /dev/zero | wc -c
head -c 5 /dev/urandom | wc -c
echo x > /dev/full || echo full-fails`)
	out, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{
		"/dev/null character special file 1:3 666",
		"/dev/zero character special file 1:5 666",
		"/dev/full character special file 1:7 666",
		"/dev/random character special file 1:8 666",
		"/dev/urandom character special file 1:9 666",
		"/dev/tty character special file 5:0 666",
		"/dev/fd /proc/self/fd",
		"/dev/stdin /proc/self/fd/0",
		"/dev/stdout /proc/self/fd/1",
		"/dev/stderr /proc/self/fd/2",
		"/dev/ptmx pts/ptmx",
		"null-ok", "5\n5", "full-fails",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("inside lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "No space left on device") {
		t.Errorf("writing /dev/full: stderr %q, want ENOSPC", errOut)
	}
}

// TestLinuxDevices: a device of linux.devices is created with its type,
// numbers and mode; the device cgroup denies it unless a rule allows it.
func TestLinuxDevices(t *testing.T) {
	root := setup(t)
	const script = "stat -c '%n %F %t:%T %a %u:%g' /dev/mykmsg; (: > /dev/mykmsg) 2>/dev/null && echo open-ok || echo open-denied"
	mode := os.FileMode(0o620)
	gid := uint32(5)
	dev := specs.LinuxDevice{Path: "/dev/mykmsg", Type: "c", Major: 1, Minor: 11, FileMode: &mode, GID: &gid}
	for _, allow := range []bool{false, true} {
		t.Run("allow="+strconv.FormatBool(allow), func(t *testing.T) {
			b := sh(t, script)
			b.Spec.Linux.Devices = []specs.LinuxDevice{dev}
			if allow {
				maj, minor := int64(1), int64(11)
				b.Spec.Linux.Resources.Devices = append(b.Spec.Linux.Resources.Devices,
					specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &maj, Minor: &minor, Access: "rwm"})
			}
			writeBundle(t, b)
			out := mustRun(t, root, b, containerID(t))
			want := "/dev/mykmsg character special file 1:b 620 0:5\nopen-denied\n"
			if allow {
				want = "/dev/mykmsg character special file 1:b 620 0:5\nopen-ok\n"
			}
			if out != want {
				t.Errorf("inside: %q, want %q", out, want)
			}
		})
	}
}

func TestSysctl(t *testing.T) {
	root := setup(t)
	const key = "/proc/sys/net/ipv4/ip_forward"
	before := readFile(t, key)
	b := sh(t, "cat "+key)
	b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	writeBundle(t, b)
	if out := mustRun(t, root, b, containerID(t)); out != "1\n" {
		t.Errorf("ip_forward inside: %q, want 1", out)
	}
	if after := readFile(t, key); after != before {
		t.Errorf("the host's ip_forward changed from %q to %q", before, after)
	}
}

func TestNetworkNamespace(t *testing.T) {
	root := setup(t)
	out := mustRun(t, root, sh(t, "cat /proc/net/dev"), containerID(t))
	inside := netIfaces(out)
	if strings.Join(inside, " ") != "lo" {
		t.Errorf("interfaces inside: %v, want only lo", inside)
	}
	host := netIfaces(readFile(t, "/proc/net/dev"))
	if len(host) < 2 {
		t.Logf("the host has only %v", host)
	}
	for _, h := range host {
		if h != "lo" && contains(inside, h) {
			t.Errorf("host interface %s visible inside", h)
		}
	}
}

func netIfaces(procNetDev string) []string {
	var out []string
	for _, l := range lines(procNetDev) {
		if i := strings.IndexByte(l, ':'); i > 0 {
			out = append(out, strings.TrimSpace(l[:i]))
		}
	}
	return out
}

func TestKernelIsTheHosts(t *testing.T) {
	root := setup(t)
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	if out := mustRun(t, root, sh(t, "uname -r"), containerID(t)); out != release+"\n" {
		t.Errorf("uname -r inside %q, host %q", out, release)
	}
}

// cgroupMounts returns the mount points of the host's cgroup v1
// hierarchies.
func cgroupMounts(t testing.TB) []string {
	return cgroupMountsOf(t, "cgroup")
}

// allCgroupMounts returns the mount points of every cgroup hierarchy, v1
// and v2.
func allCgroupMounts(t testing.TB) []string {
	return cgroupMountsOf(t, "cgroup", "cgroup2")
}

func cgroupMountsOf(t testing.TB, types ...string) []string {
	var out []string
	for _, m := range parseMountinfo(readFile(t, "/proc/self/mountinfo")) {
		if contains(types, m.fstype) {
			out = append(out, m.point)
		}
	}
	return out
}

// checkCgroup checks that the container id's init is in cgroup path on
// every v1 hierarchy, and that /proc/self/cgroup inside shows "/".
func checkCgroup(t *testing.T, root string, b *bundle.Bundle, id, path string) {
	t.Helper()
	c := create(t, root, b, id)
	mustGorun(t, root, "start", id)
	if !c.waitOutput("done\n", 5*time.Second) {
		out, errOut := c.output()
		t.Fatalf("container output: %q %q", out, errOut)
	}
	pid := state(t, root, id).Pid
	mounts := cgroupMounts(t)
	if len(mounts) == 0 {
		t.Fatal("no cgroup v1 hierarchy on the host")
	}
	for _, m := range mounts {
		procs := readFileOrEmpty(filepath.Join(m, path, "cgroup.procs"))
		if !contains(lines(procs), strconv.Itoa(pid)) {
			t.Errorf("%s: pid %d not in %s/cgroup.procs (%q)", m, pid, path, procs)
		}
	}
	out, _ := c.output()
	for _, l := range lines(strings.TrimSuffix(out, "done\n")) {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("/proc/self/cgroup inside: %q does not end in :/ (no cgroup namespace?)", l)
		}
	}
	mustGorun(t, root, "delete", "--force", id)
	for _, m := range allCgroupMounts(t) {
		if _, err := os.Stat(filepath.Join(m, path)); !os.IsNotExist(err) {
			t.Errorf("after delete: %s: %v", filepath.Join(m, path), err)
		}
	}
}

const cgroupScript = "cat /proc/self/cgroup; echo done; exec sleep 100"

func TestCgroupDefaultPath(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	checkCgroup(t, root, sh(t, cgroupScript), id, "/gorun/"+id)
}

func TestCgroupAbsolutePath(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	t.Cleanup(func() {
		// gorun leaves the parents of a path it did not choose.
		for _, m := range allCgroupMounts(t) {
			os.Remove(filepath.Join(m, "gorun-itest"))
		}
	})
	b := sh(t, cgroupScript)
	b.Spec.Linux.CgroupsPath = "/gorun-itest/" + id
	writeBundle(t, b)
	checkCgroup(t, root, b, id, "/gorun-itest/"+id)
	for _, m := range allCgroupMounts(t) {
		if _, err := os.Stat(filepath.Join(m, "gorun", id)); err == nil {
			t.Errorf("%s: the default cgroup was made too", filepath.Join(m, "gorun", id))
		}
	}
}

// ---- security basics ----

// TestProcSymlink: a rootfs whose /proc is a symlink (here to /tmp) must
// not get procfs mounted through it.
func TestProcSymlink(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, "echo should not run")
	if err := os.Remove(filepath.Join(b.Rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/tmp", filepath.Join(b.Rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	mustDelete(t, root, id)
	out, errOut, code := gorun(t, root, "create", "--bundle", b.Dir, id)
	expectFailure(t, "create with /proc a symlink", out, errOut, code, "/proc")
	if _, err := os.Lstat(filepath.Join(root, id)); !os.IsNotExist(err) {
		t.Errorf("state left after a failed create: %v", err)
	}
}

// TestBindMountSymlinkDestination: a mount destination that is a symlink
// in the image to an absolute path is resolved inside the rootfs; the host
// path the link names is never mounted on.
func TestBindMountSymlinkDestination(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	probe := filepath.Join(hostDir(t), "hostprobe")
	if err := os.Mkdir(probe, 0o755); err != nil {
		t.Fatal(err)
	}
	src := hostDir(t)
	if err := os.WriteFile(filepath.Join(src, "marker"), []byte("marker\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := sh(t, "ls /etc/evil; ls "+probe+"; echo done; exec sleep 100")
	if err := os.MkdirAll(filepath.Join(b.Rootfs, probe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(probe, filepath.Join(b.Rootfs, "etc/evil")); err != nil {
		t.Fatal(err)
	}
	bindMount(b.Spec, src, "/etc/evil")
	writeBundle(t, b)

	c := create(t, root, b, id)
	if ents, _ := os.ReadDir(probe); len(ents) != 0 {
		t.Errorf("after create: the host dir %s has %d entries", probe, len(ents))
	}
	mustGorun(t, root, "start", id)
	if !c.waitOutput("done\n", 5*time.Second) {
		out, errOut := c.output()
		t.Fatalf("container output: %q %q", out, errOut)
	}
	if out, _ := c.output(); out != "marker\nmarker\ndone\n" {
		t.Errorf("inside: %q, want the mount at /etc/evil and at the link's target inside the rootfs", out)
	}
	if ents, _ := os.ReadDir(probe); len(ents) != 0 {
		t.Errorf("while running: the host dir %s has %d entries", probe, len(ents))
	}
	for _, m := range parseMountinfo(readFile(t, "/proc/self/mountinfo")) {
		if m.point == probe {
			t.Errorf("host mount table has a mount at %s", probe)
		}
	}
	mustGorun(t, root, "delete", "--force", id)
}
