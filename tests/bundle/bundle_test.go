package bundle

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRootfs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rootfs")
	start := time.Now()
	if err := Rootfs(dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("first Rootfs took %v", time.Since(start))

	bb, err := os.Stat(filepath.Join(dir, "bin/busybox"))
	if err != nil {
		t.Fatal(err)
	}
	if !bb.Mode().IsRegular() || bb.Mode().Perm() != 0o755 {
		t.Errorf("bin/busybox mode %v, want regular 0755", bb.Mode())
	}
	host, err := os.Stat(BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(bb, host) {
		t.Errorf("bin/busybox shares its inode with the host's %s", BusyboxPath)
	}

	for _, applet := range []string{"sh", "true", "echo", "cat", "sleep", "id", "ls"} {
		target, err := os.Readlink(filepath.Join(dir, "bin", applet))
		if err != nil || target != "busybox" {
			t.Errorf("bin/%s: link %q, %v; want -> busybox", applet, target, err)
		}
	}

	wantModes := map[string]os.FileMode{
		"tmp": os.ModeDir | os.ModeSticky | 0o777, "root": os.ModeDir | 0o700,
		"sbin": os.ModeDir | 0o755, "usr/bin": os.ModeDir | 0o755, "usr/sbin": os.ModeDir | 0o755,
		"proc": os.ModeDir | 0o555, "sys": os.ModeDir | 0o555, "dev": os.ModeDir | 0o755,
		"etc": os.ModeDir | 0o755, "home/user": os.ModeDir | 0o755, "var": os.ModeDir | 0o755,
		"run": os.ModeDir | 0o755, "mnt": os.ModeDir | 0o755, "etc/passwd": 0o644,
		"etc/group": 0o644, "etc/hostname": 0o644, "etc/hosts": 0o644, "etc/resolv.conf": 0o644,
	}
	for p, want := range wantModes {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	if os.Geteuid() == 0 {
		fi, _ := os.Stat(filepath.Join(dir, "home/user"))
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 {
			t.Errorf("home/user owned by %d:%d, want 1000:1000", st.Uid, st.Gid)
		}
	}

	for file, lines := range map[string][]string{
		"etc/passwd": {"root:x:0:0:root:/root:/bin/sh", "user:x:1000:1000:user:/home/user:/bin/sh",
			"daemon:x:1:1:", "nobody:x:65534:65534:"},
		"etc/group":    {"root:x:0:", "tty:x:5:", "user:x:1000:", "extra:x:2000:user", "nobody:x:65534:"},
		"etc/hostname": {"gorun-test"},
		"etc/hosts":    {"127.0.0.1\tlocalhost"},
	} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Error(err)
			continue
		}
		for _, l := range lines {
			if !strings.Contains(string(data), l) {
				t.Errorf("%s lacks %q:\n%s", file, l, data)
			}
		}
	}

	// The applet symlinks work when called by path (no chroot needed).
	out, err := exec.Command(filepath.Join(dir, "bin/echo"), "hello").Output()
	if err != nil || string(out) != "hello\n" {
		t.Errorf("bin/echo hello: %q, %v", out, err)
	}
}

func TestRootfsIsFast(t *testing.T) {
	if err := Rootfs(filepath.Join(t.TempDir(), "warm")); err != nil {
		t.Fatal(err)
	}
	const n = 5
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := Rootfs(filepath.Join(t.TempDir(), "r")); err != nil {
			t.Fatal(err)
		}
	}
	per := time.Since(start) / n
	t.Logf("Rootfs: %v per rootfs", per)
	if per > 500*time.Millisecond {
		t.Errorf("Rootfs takes %v, want a few ms", per)
	}
}

func TestRootfsTwice(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		if err := Rootfs(dir); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}

func TestNew(t *testing.T) {
	b := New(t, "sh", "-c", "echo hi")
	if b.Rootfs != filepath.Join(b.Dir, "rootfs") {
		t.Errorf("Rootfs = %q", b.Rootfs)
	}
	b.Spec.Hostname = "changed"
	b.Spec.Process.Env = append(b.Spec.Process.Env, "FOO=bar")
	if err := b.Write(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(b.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("config.json mode %v", fi.Mode())
	}
	data, err := os.ReadFile(b.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.Version != specs.Version || s.Hostname != "changed" || s.Root.Path != "rootfs" || s.Root.Readonly {
		t.Errorf("bad spec: version %q hostname %q root %+v", s.Version, s.Hostname, s.Root)
	}
	p := s.Process
	if p.Terminal || p.User.UID != 0 || p.User.GID != 0 || p.Cwd != "/" || !p.NoNewPrivileges ||
		strings.Join(p.Args, " ") != "sh -c echo hi" || p.Env[len(p.Env)-1] != "FOO=bar" {
		t.Errorf("bad process: %+v", p)
	}
	if len(p.Rlimits) != 1 || p.Rlimits[0].Type != "RLIMIT_NOFILE" || p.Rlimits[0].Hard != 1024 {
		t.Errorf("bad rlimits: %+v", p.Rlimits)
	}
	if got := strings.Join(p.Capabilities.Bounding, ","); got != "CAP_AUDIT_WRITE,CAP_KILL,CAP_NET_BIND_SERVICE" {
		t.Errorf("bounding caps %s", got)
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	if got := strings.Join(dests, " "); got != "/proc /dev /dev/pts /dev/shm /dev/mqueue /sys /sys/fs/cgroup" {
		t.Errorf("mounts: %s", got)
	}
	var ns []string
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, string(n.Type))
	}
	if got := strings.Join(ns, " "); got != "pid network ipc uts mount cgroup" {
		t.Errorf("namespaces: %s", got)
	}
	if d := s.Linux.Resources.Devices; len(d) != 1 || d[0].Allow || d[0].Access != "rwm" {
		t.Errorf("devices: %+v", d)
	}
	if len(s.Linux.MaskedPaths) == 0 || len(s.Linux.ReadonlyPaths) == 0 {
		t.Error("no masked or readonly paths")
	}
}

func TestDefaultArgs(t *testing.T) {
	if got := DefaultSpec().Process.Args; len(got) != 1 || got[0] != "true" {
		t.Errorf("default args %q", got)
	}
}

func TestWriteFile(t *testing.T) {
	b := New(t)
	if err := b.WriteFile("/opt/x/script.sh", "#!/bin/sh\necho ok\n", 0o750); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(b.Rootfs, "opt/x/script.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o750 {
		t.Errorf("mode %v", fi.Mode())
	}
	if err := b.WriteFile("../../escape", "x", 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(b.Rootfs, "escape")); err != nil {
		t.Errorf("../../escape was not kept inside the rootfs: %v", err)
	}

	// Overwriting an applet replaces the symlink, not the shared busybox.
	before, _ := os.Stat(filepath.Join(b.Rootfs, "bin/busybox"))
	if err := b.WriteFile("bin/sh", "not busybox", 0o755); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(b.Rootfs, "bin/busybox"))
	if after.Size() != before.Size() {
		t.Errorf("writing bin/sh changed bin/busybox")
	}
}
