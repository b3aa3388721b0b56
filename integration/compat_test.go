package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Configs that podman, CRI-O and containerd send and runc runs as they
// expect.

// TestTmpcopyupAndTmpfsMode: a tmpfs with tmpcopyup (podman --read-only's
// /tmp, /run, /var/tmp) starts with the image's files, owners and modes;
// a tmpfs without mode= takes the mode of the directory it covers.
func TestTmpcopyupAndTmpfsMode(t *testing.T) {
	root := setup(t)
	b := sh(t, `cd /etc2 && for f in passwd sub sub/deep link fifo; do stat -c '%n %a %u:%g %F' $f; done; cat sub/deep; readlink link
stat -c '%a' /etc2 /data /fresh; echo new > /etc2/new && echo written`)
	if err := b.WriteFile("/etc2/passwd", "root:x:0:0::/root:/bin/sh\n", 0o640); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFile("/etc2/sub/deep", "deep\n", 0o4755); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(b.Rootfs, "etc2")
	for _, err := range []error{
		unix.Chmod(filepath.Join(base, "sub", "deep"), 0o4755), // os.Chmod takes os.ModeSetuid, not 04000
		os.Chown(filepath.Join(base, "sub"), 1000, 1001),
		os.Chmod(filepath.Join(base, "sub"), 0o705),
		os.Chmod(base, 0o751),
		os.Symlink("/etc/hostname", filepath.Join(base, "link")),
		unix.Mkfifo(filepath.Join(base, "fifo"), 0o600),
		os.MkdirAll(filepath.Join(b.Rootfs, "data"), 0o750),
		os.Chmod(filepath.Join(b.Rootfs, "data"), 0o750),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	b.Spec.Root.Readonly = true
	b.Spec.Mounts = append(b.Spec.Mounts,
		specs.Mount{Destination: "/etc2", Type: "tmpfs", Source: "tmpfs", Options: []string{"rw", "rprivate", "nosuid", "nodev", "tmpcopyup"}},
		specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}},
		specs.Mount{Destination: "/fresh", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}})
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	want := `passwd 640 0:0 regular file
sub 705 1000:1001 directory
sub/deep 4755 0:0 regular file
link 777 0:0 symbolic link
fifo 600 0:0 fifo
deep
/etc/hostname
751
750
1777
written
`
	if out != want {
		t.Errorf("inside:\n%s\nwant:\n%s", out, want)
	}
	if _, err := os.Stat(filepath.Join(base, "new")); err == nil {
		t.Error("a file written to the copied-up tmpfs landed in the rootfs")
	}
}

// TestRecursiveReadonlyBind: on an rbind, "ro" makes the top mount
// read-only and leaves the mounts below it as they are (runc's rule);
// "rro" makes all of them read-only.
func TestRecursiveReadonlyBind(t *testing.T) {
	root := setup(t)
	dir := hostDir(t)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "gorun-test", sub).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs below the bind source: %v: %s", err, out)
	}
	t.Cleanup(func() { unix.Unmount(sub, unix.MNT_DETACH) })
	const script = `touch /mnt/top 2>/dev/null && echo top-rw || echo top-ro; touch /mnt/sub/f 2>/dev/null && echo sub-rw || echo sub-ro`
	for _, tc := range []struct {
		opt, want string
	}{
		{"ro", "top-ro\nsub-rw\n"},
		{"rro", "top-ro\nsub-ro\n"},
	} {
		b := sh(t, script)
		bindMount(b.Spec, dir, "/mnt", tc.opt)
		writeBundle(t, b)
		if out := mustRun(t, root, b, containerID(t, tc.opt)); out != tc.want {
			t.Errorf("rbind,%s: %q, want %q", tc.opt, out, tc.want)
		}
		os.Remove(filepath.Join(sub, "f"))
	}
}

// TestCwdCreated: a process.cwd the image lacks is made (a Kubernetes
// workingDir), even under a read-only root.
func TestCwdCreated(t *testing.T) {
	root := setup(t)
	b := sh(t, "pwd")
	b.Spec.Process.Cwd = "/work/dir"
	b.Spec.Root.Readonly = true
	writeBundle(t, b)
	if out := mustRun(t, root, b, containerID(t)); out != "/work/dir\n" {
		t.Errorf("pwd: %q, want /work/dir", out)
	}
	if fi, err := os.Stat(filepath.Join(b.Rootfs, "work", "dir")); err != nil || !fi.IsDir() {
		t.Errorf("the working directory was not made in the rootfs: %v", err)
	}
}

// TestHostnameInJoinedUTS: a container joining another's uts namespace
// (a pod's, as CRI-O and podman run them) may set its hostname; the host's
// own uts namespace may not be renamed that way.
func TestHostnameInJoinedUTS(t *testing.T) {
	root := setup(t)
	holder := containerID(t, "holder")
	pid := startSleeper(t, root, holder, nil)
	b := sh(t, "hostname")
	b.Spec.Hostname = "podmember"
	for i, ns := range b.Spec.Linux.Namespaces {
		if ns.Type == specs.UTSNamespace {
			b.Spec.Linux.Namespaces[i].Path = "/proc/" + strconv.Itoa(pid) + "/ns/uts"
		}
	}
	writeBundle(t, b)
	if out := mustRun(t, root, b, containerID(t, "member")); out != "podmember\n" {
		t.Errorf("hostname in the joined uts namespace: %q", out)
	}
	if out := mustGorun(t, root, "exec", holder, "hostname"); out != "podmember\n" {
		t.Errorf("the namespace's holder sees hostname %q, want podmember", out)
	}

	for i, ns := range b.Spec.Linux.Namespaces {
		if ns.Type == specs.UTSNamespace {
			b.Spec.Linux.Namespaces[i].Path = "/proc/self/ns/uts"
		}
	}
	writeBundle(t, b)
	h, _ := os.Hostname()
	out, errOut, code := runContainer(t, root, b, containerID(t, "host"))
	expectFailure(t, "hostname in the host's uts namespace", out, errOut, code, `hostname "podmember"`, "host")
	if now, _ := os.Hostname(); now != h {
		t.Errorf("the host was renamed from %q to %q", h, now)
	}
}

// TestTunAllowed: /dev/net/tun, bind-mounted from the host, can be opened
// with the default device rules, as with runc.
func TestTunAllowed(t *testing.T) {
	root := setup(t)
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("this host has no /dev/net/tun")
	}
	b := sh(t, "cat /dev/net/tun 2>&1; true")
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/dev/net/tun", Type: "bind", Source: "/dev/net/tun", Options: []string{"bind"}})
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	if strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "bad state") {
		t.Errorf("open /dev/net/tun: %q, want the open to succeed (and the read to fail with EBADFD)", out)
	}
}

// TestReadonlyPathKeepsExec: a readonly path is made read-only, nothing
// more: programs below it still run (runc adds no noexec either).
func TestReadonlyPathKeepsExec(t *testing.T) {
	root := setup(t)
	b := sh(t, "echo ran; touch /bin/x 2>/dev/null || echo bin-ro")
	b.Spec.Linux.ReadonlyPaths = append(b.Spec.Linux.ReadonlyPaths, "/bin")
	writeBundle(t, b)
	if out := mustRun(t, root, b, containerID(t)); out != "ran\nbin-ro\n" {
		t.Errorf("inside: %q, want ran and bin-ro", out)
	}
}

// statSession returns the session id and controlling terminal (tty_nr) of
// pid from /proc/PID/stat.
func statSession(t *testing.T, pid int) (sid, tty string) {
	t.Helper()
	s := readFile(t, "/proc/"+strconv.Itoa(pid)+"/stat")
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // f[0] is field 3
	return f[6-3], f[7-3]
}

// TestOwnSession: the container's process and exec'd ones lead sessions of
// their own, without the caller's controlling terminal (runc: setsid for
// every process), so they cannot write to or inject into it.
func TestOwnSession(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	pid := startSleeper(t, root, id, nil)
	if sid, tty := statSession(t, pid); sid != strconv.Itoa(pid) || tty != "0" {
		t.Errorf("container process %d: session %s, tty %s; want its own session and no terminal", pid, sid, tty)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	mustGorun(t, root, "exec", "-d", "--pid-file", pidFile, id, "sleep", "300")
	epid, _ := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if sid, tty := statSession(t, epid); sid != strconv.Itoa(epid) || tty != "0" {
		t.Errorf("exec'd process %d: session %s, tty %s; want its own session and no terminal", epid, sid, tty)
	}
	// Signal 0 only checks that the container's process is there.
	mustGorun(t, root, "kill", id, "0")
	mustGorun(t, root, "kill", "--all", id, "0")
	if s := state(t, root, id); s.Status != "running" {
		t.Errorf("after kill 0: %s", s.Status)
	}
}

// sharedBind makes dir a shared mount of its own (as / is on a systemd
// host) until the test ends.
func sharedBind(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{{"--bind", dir, dir}, {"--make-shared", dir}} {
		if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
			t.Fatalf("mount %v: %v: %s", args, err, out)
		}
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
}

// mountsUnder counts the host's mounts at or below dir.
func mountsUnder(t *testing.T, dir string) int {
	n := 0
	for _, l := range lines(readFile(t, "/proc/self/mountinfo")) {
		if f := strings.Fields(l); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			n++
		}
	}
	return n
}

// TestRootfsPropagationSharedParent: with the rootfs on a shared mount (a
// systemd host's /), every linux.rootfsPropagation works, the container's
// mounts do not appear on the host, and the container's root gets the
// propagation asked for; with rshared, a bidirectional volume (Kubernetes'
// mountPropagation: Bidirectional) carries a mount made inside out to the
// host.
func TestRootfsPropagationSharedParent(t *testing.T) {
	root := setup(t)
	b := sh(t, `awk '$5 == "/"' /proc/self/mountinfo`)
	sharedBind(t, b.Dir)
	before := mountsUnder(t, b.Dir)
	for _, tc := range []struct{ prop, want string }{
		{"", "master:"}, {"rshared", "shared:"}, {"shared", "shared:"}, {"rslave", "master:"},
		{"private", " - "}, {"rprivate", " - "}, {"unbindable", "unbindable"}, {"runbindable", "unbindable"},
	} {
		b.Spec.Linux.RootfsPropagation = tc.prop
		writeBundle(t, b)
		out, errOut, code := runContainer(t, root, b, containerID(t, tc.prop))
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("rootfsPropagation %q: exit %d, root mount %q, want %q in it; stderr %s", tc.prop, code, out, tc.want, errOut)
		}
		if n := mountsUnder(t, b.Dir); n != before {
			t.Errorf("rootfsPropagation %q: %d mounts under the bundle on the host, want %d", tc.prop, n, before)
		}
	}

	vol := hostDir(t)
	sharedBind(t, vol)
	if err := os.Mkdir(filepath.Join(vol, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(filepath.Join(vol, "inner"), unix.MNT_DETACH) })
	b2 := sh(t, "mount -t tmpfs bidir /vol/inner && echo mounted")
	b2.Spec.Linux.RootfsPropagation = "rshared"
	b2.Spec.Linux.Seccomp = nil
	c := b2.Spec.Process.Capabilities
	c.Bounding, c.Effective, c.Permitted = append(c.Bounding, "CAP_SYS_ADMIN"), append(c.Effective, "CAP_SYS_ADMIN"), append(c.Permitted, "CAP_SYS_ADMIN")
	bindMount(b2.Spec, vol, "/vol", "rshared")
	writeBundle(t, b2)
	if out := mustRun(t, root, b2, containerID(t, "bidir")); out != "mounted\n" {
		t.Fatalf("inside: %q", out)
	}
	if !strings.Contains(readFile(t, "/proc/self/mountinfo"), " "+filepath.Join(vol, "inner")+" ") {
		t.Error("the mount made in the bidirectional volume did not reach the host")
	}
}

// TestNoHostConsole: the device rules do not let the container reach the
// host's console (c 5:1) through a node of its own making; its own
// /dev/console is its pty.
func TestNoHostConsole(t *testing.T) {
	root := setup(t)
	b := sh(t, "mknod /tmp/hc c 5 1 && { (true < /tmp/hc) && echo opened || echo refused; }")
	withMknod(b)
	writeBundle(t, b)
	out, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 0 || out != "refused\n" || !strings.Contains(errOut, "Operation not permitted") {
		t.Errorf("open of a host console node: exit %d, stdout %q, stderr %q; want EPERM", code, out, errOut)
	}
}

// TestAmbientWithoutInheritable: runc's own template lists ambient
// capabilities that are not inheritable; the kernel cannot raise them, and
// runtime-spec asks for a warning, not a failure: the container runs
// without them.
func TestAmbientWithoutInheritable(t *testing.T) {
	root := setup(t)
	b := sh(t, "grep CapAmb /proc/self/status")
	b.Spec.Process.Capabilities.Ambient = []string{"CAP_KILL"}
	b.Spec.Process.Capabilities.Inheritable = nil
	writeBundle(t, b)
	out, errOut, code := runContainer(t, root, b, containerID(t))
	if code != 0 || !strings.Contains(out, "CapAmb:\t0000000000000000") || !strings.Contains(errOut, "CAP_KILL") {
		t.Errorf("ambient CAP_KILL without inheritable: exit %d, stdout %q, stderr %q; want a run without it and a warning", code, out, errOut)
	}
}
