package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/tests/bundle"
	"github.com/gorun/gorun/tests/consolesock"
)

// The security tests run each escape class against gorun as a real busybox
// container with a malicious rootfs layout or process, and check that the
// attack's step failed for the right reason and that the host is as it
// was: gorun's binary, probe directories, the mount table. Threat model: a
// malicious image, and a malicious container racing through a shared
// volume. The config itself is trusted.

// withoutMounts drops the spec's mounts at the given destinations.
func withoutMounts(s *specs.Spec, dests ...string) {
	var keep []specs.Mount
	for _, m := range s.Mounts {
		drop := false
		for _, d := range dests {
			drop = drop || m.Destination == d
		}
		if !drop {
			keep = append(keep, m)
		}
	}
	s.Mounts = keep
}

// replaceWithSymlink replaces path in b's rootfs with a symlink to target.
func replaceWithSymlink(t *testing.T, b *bundle.Bundle, path, target string) {
	t.Helper()
	p := b.Path(path)
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// ---- 1. CVE-2019-5736: overwriting the host's runtime binary ----

// TestSecurityCVE_2019_5736_ProcSelfExe: the init runs from a sealed copy
// of gorun (a detached read-only bind mount), so /proc/<init>/exe cannot be
// opened for writing: not by the host's root while the init waits for
// start, not through an fd kept across the init's exec (the CVE's trick),
// not by a container process with CAP_SYS_PTRACE; and an entrypoint
// "#!/proc/self/exe", which would have the container run gorun's binary,
// does not exec. gorun's binary on the host is unchanged.
func TestSecurityCVE_2019_5736_ProcSelfExe(t *testing.T) {
	root := setup(t)
	guard := guardHost(t)

	t.Run("init_exe", func(t *testing.T) {
		id := containerID(t)
		b := sh(t, `exec sleep 100`)
		addSectool(t, b)
		create(t, root, b, id)
		pid := state(t, root, id).Pid
		exe := fmt.Sprintf("/proc/%d/exe", pid)

		// The host's root: even with every capability, no write.
		if f, err := os.OpenFile(exe, os.O_WRONLY, 0); err == nil {
			f.Close()
			t.Errorf("host root opened %s (the waiting init's binary) for writing", exe)
		} else if !refusedWrite(err.Error()) {
			t.Errorf("open %s for writing: %v; want EROFS (or ETXTBSY)", exe, err)
		}
		// Keep a handle across the init's exec, as the CVE's attacker did,
		// and reopen it for writing once the init runs something else.
		held, err := os.Open(exe)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		// What makes the reopen fail once no gorun process runs the
		// binary (ETXTBSY while any does, and on this host other gorun
		// processes may): the mount it is reached through is read-only.
		var sfs unix.Statfs_t
		if err := unix.Fstatfs(int(held.Fd()), &sfs); err != nil || sfs.Flags&unix.ST_RDONLY == 0 {
			t.Errorf("the init's binary is not on a read-only mount (statfs flags %#x, %v)", sfs.Flags, err)
		}

		// A container process: without CAP_SYS_PTRACE the init (not
		// dumpable) is out of reach; with it, the mount is read-only.
		out, errOut, code := gorun(t, root, "exec", id, "sectool", "write-exe", "1")
		if code != 0 || strings.Contains(out, "OPENED") || !strings.Contains(out, "direct: open for writing failed: Permission denied") {
			t.Errorf("exec write-exe 1: exit %d, stdout %q, stderr %q; want EACCES", code, out, errOut)
		}
		out, errOut, code = gorun(t, root, "exec", "--cap", "CAP_SYS_PTRACE", id, "sectool", "write-exe", "1")
		if code != 0 || strings.Contains(out, "OPENED") || strings.Count(out, "open for writing failed") != 2 || !refusedWrite(out) {
			t.Errorf("exec --cap CAP_SYS_PTRACE write-exe 1: exit %d, stdout %q, stderr %q; want EROFS (or ETXTBSY) twice", code, out, errOut)
		}

		mustGorun(t, root, "start", id)
		waitExeChange(t, pid, held)
		if f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", held.Fd()), os.O_WRONLY, 0); err == nil {
			f.Close()
			t.Error("reopened the init's former binary for writing after its exec")
		} else if !refusedWrite(err.Error()) {
			t.Errorf("reopen for writing: %v; want EROFS (or ETXTBSY)", err)
		}
	})

	t.Run("shebang_proc_self_exe", func(t *testing.T) {
		// An entrypoint whose interpreter is /proc/self/exe, the init's
		// own binary: the sealed copy, on a detached mount; the kernel
		// does not find it as an interpreter (ENOENT) and the exec fails
		// (were it gorun's memfd fallback, it would run, sealed against
		// writes). Both for the container's process and `gorun exec`.
		const evil = "#!/proc/self/exe\n"
		b := bundle.New(t, "/evil")
		if err := b.WriteFile("/evil", evil, 0o755); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runContainer(t, root, b, containerID(t))
		if code == 0 || !strings.Contains(errOut, `"/evil"`) {
			t.Errorf("entrypoint #!/proc/self/exe: exit %d, stdout %q, stderr %q; want the exec refused", code, out, errOut)
		}
		id := containerID(t, "exec")
		b = sh(t, `exec sleep 100`)
		if err := b.WriteFile("/evil", evil, 0o755); err != nil {
			t.Fatal(err)
		}
		create(t, root, b, id)
		mustGorun(t, root, "start", id)
		out, errOut, code = gorun(t, root, "exec", id, "/evil")
		if code == 0 || !strings.Contains(errOut, `"/evil"`) {
			t.Errorf("exec #!/proc/self/exe: exit %d, stdout %q, stderr %q; want the exec refused", code, out, errOut)
		}
	})
	guard.check()
}

// refusedWrite reports whether msg is the refusal of a write open of
// gorun's binary: EROFS, or ETXTBSY while a gorun process runs it.
func refusedWrite(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "read-only file system") || strings.Contains(msg, "text file busy")
}

// waitExeChange waits until /proc/PID/exe no longer is the file held.
func waitExeChange(t *testing.T, pid int, held *os.File) {
	t.Helper()
	var st1 os.FileInfo
	st1, _ = held.Stat()
	if !poll(5*time.Second, func() bool {
		st2, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
		return err == nil && !os.SameFile(st1, st2)
	}) {
		t.Fatalf("the init %d did not exec", pid)
	}
}

// ---- 2. CVE-2024-21626: leaked host fds and cwd ----

// TestSecurityCVE_2024_21626_LeakedFdCwd: process.cwd /proc/self/fd/N and
// `exec --cwd /proc/self/fd/N` fail for every N the init or an exec'd
// child could hold, and the container's process holds only 0, 1 and 2.
func TestSecurityCVE_2024_21626_LeakedFdCwd(t *testing.T) {
	root := setup(t)
	guard := guardHost(t)
	for n := 3; n <= 12; n++ {
		b := sh(t, `echo escaped; ls /`)
		b.Spec.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", n)
		writeBundle(t, b)
		out, errOut, code := runContainer(t, root, b, containerID(t, strconv.Itoa(n)))
		if strings.Contains(out, "escaped") {
			t.Errorf("cwd %s: the process ran:\n%s", b.Spec.Process.Cwd, out)
		}
		expectFailure(t, "cwd "+b.Spec.Process.Cwd, out, errOut, code, "process.cwd")
	}

	id := containerID(t)
	// ls lists the fds of its parent, the shell, with no pipeline
	// running (the shell would hold the pipe's ends).
	b := sh(t, `ls /proc/$$/fd; echo end; exec sleep 100`)
	c := create(t, root, b, id)
	mustGorun(t, root, "start", id)
	if !c.waitOutput("end\n", 5*time.Second) {
		t.Fatal("no output from the container")
	}
	if out, _ := c.output(); strings.Join(lines(out), " ") != "0 1 2 end" {
		t.Errorf("fds of the container's init: %q, want 0 1 2", out)
	}
	out := mustGorun(t, root, "exec", id, "sh", "-c", `ls /proc/$$/fd; true`)
	if strings.Join(lines(out), " ") != "0 1 2" {
		t.Errorf("fds of an exec'd process: %q, want 0 1 2", out)
	}
	for n := 3; n <= 12; n++ {
		out, errOut, code := gorun(t, root, "exec", "--cwd", fmt.Sprintf("/proc/self/fd/%d", n), id, "sh", "-c", "echo escaped; pwd")
		if strings.Contains(out, "escaped") {
			t.Errorf("exec --cwd /proc/self/fd/%d ran: %q", n, out)
		}
		expectFailure(t, fmt.Sprintf("exec --cwd /proc/self/fd/%d", n), out, errOut, code, "process.cwd")
	}
	guard.check()
}

// ---- 3. /proc and /sys on symlinks, non-directories, fake procfs ----

// TestSecurityCVE_2019_16884_ProcSysNotADirectory: an image whose /proc or
// /sys is a symlink (to a host path, absolute or relative) or a file is
// refused before anything is mounted; the host path is untouched.
func TestSecurityCVE_2019_16884_ProcSysNotADirectory(t *testing.T) {
	root := setup(t)
	probe := probeDir(t)
	guard := guardHost(t, probe)
	cases := []struct {
		name, path string
		make       func(b *bundle.Bundle)
	}{
		{"proc_symlink_absolute", "/proc", func(b *bundle.Bundle) { replaceWithSymlink(t, b, "/proc", probe) }},
		{"proc_symlink_relative", "/proc", func(b *bundle.Bundle) {
			replaceWithSymlink(t, b, "/proc", strings.Repeat("../", 20)+strings.TrimPrefix(probe, "/"))
		}},
		{"proc_file", "/proc", func(b *bundle.Bundle) {
			os.RemoveAll(b.Path("/proc"))
			if err := b.WriteFile("/proc", "not a directory", 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"sys_symlink", "/sys", func(b *bundle.Bundle) { replaceWithSymlink(t, b, "/sys", probe) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := sh(t, `echo ran`)
			c.make(b)
			out, errOut, code := runContainer(t, root, b, containerID(t))
			expectFailure(t, c.name, out, errOut, code, c.path, "symlink or not a directory")
		})
	}
	guard.check()
}

// TestSecurityCVE_2019_19921_FakeProcfs: a directory of the host (a shared
// volume) mounted over /proc, with files where /proc/sys has them (also
// CVE-2023-27561, the same attack after a regression): gorun refuses to
// write the sysctl into it.
func TestSecurityCVE_2019_19921_FakeProcfs(t *testing.T) {
	root := setup(t)
	fake := probeDir(t)
	if err := os.MkdirAll(filepath.Join(fake, "sys/kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fake, "sys/kernel/shmmax"), []byte("host value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	guard := guardHost(t, fake)
	b := sh(t, `echo ran`)
	bindMount(b.Spec, fake, "/proc")
	b.Spec.Linux.MaskedPaths, b.Spec.Linux.ReadonlyPaths = nil, nil
	b.Spec.Linux.Sysctl = map[string]string{"kernel.shmmax": "12345"}
	writeBundle(t, b)
	out, errOut, code := runContainer(t, root, b, containerID(t))
	expectFailure(t, "sysctl into a fake procfs", out, errOut, code, "linux.sysctl", "kernel.shmmax", "procfs")
	guard.check()
}

// ---- 4. symlink and rename races on mount destinations ----

// TestSecurityCVE_2021_30465_MountDestinationSymlink: a mount destination
// reached through a symlink in the image resolves inside the container's
// root. A symlink to a host path that the rootfs lacks fails cleanly; one
// to a path that exists both on the host and in the rootfs (/tmp) gets the
// mount inside the rootfs. Neither touches the host.
func TestSecurityCVE_2021_30465_MountDestinationSymlink(t *testing.T) {
	root := setup(t)
	probe := probeDir(t)
	src := hostDir(t)
	if err := os.WriteFile(filepath.Join(src, "marker"), []byte("mounted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	guard := guardHost(t, probe)

	t.Run("to_host_path", func(t *testing.T) {
		b := sh(t, `echo ran`)
		if err := os.Symlink(probe, b.Path("/mnt/link")); err != nil {
			t.Fatal(err)
		}
		bindMount(b.Spec, src, "/mnt/link/sub")
		writeBundle(t, b)
		out, errOut, code := runContainer(t, root, b, containerID(t))
		expectFailure(t, "mount through a symlink to a host path", out, errOut, code, "/mnt/link/sub")
	})
	t.Run("to_tmp", func(t *testing.T) {
		name := "gorun-sec-" + strconv.Itoa(os.Getpid())
		b := sh(t, `cat /mnt/link/`+name+`/marker`)
		if err := os.Symlink("/tmp", b.Path("/mnt/link")); err != nil {
			t.Fatal(err)
		}
		bindMount(b.Spec, src, "/mnt/link/"+name)
		writeBundle(t, b)
		if out := mustRun(t, root, b, containerID(t)); out != "mounted\n" {
			t.Errorf("stdout %q", out)
		}
		if _, err := os.Stat(b.Path("/tmp/" + name)); err != nil {
			t.Errorf("the mount point was not made inside the rootfs: %v", err)
		}
		if _, err := os.Lstat("/tmp/" + name); err == nil {
			t.Errorf("gorun made /tmp/%s on the host", name)
		}
	})
	guard.check()
}

// TestSecurityCVE_2024_45310_MountRace: one container swaps a directory and
// a symlink to a host probe in a shared volume (renameat2
// RENAME_EXCHANGE, as fast as it can) while another is created many times
// with mounts into that volume. Bounded: 200 creates or 20 s. Every create
// either works or fails cleanly; the probe and the host's mount table stay
// as they were.
func TestSecurityCVE_2024_45310_MountRace(t *testing.T) {
	root := setup(t)
	probe := probeDir(t)
	vol := hostDir(t)
	src := hostDir(t)
	if err := os.Mkdir(filepath.Join(vol, "d"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(probe, filepath.Join(vol, "l")); err != nil {
		t.Fatal(err)
	}
	guard := guardHost(t, probe)

	attacker := containerID(t, "attacker")
	a := sh(t, `cd /vol && exec sectool exchange d l 30000`)
	addSectool(t, a)
	bindMount(a.Spec, vol, "/vol")
	writeBundle(t, a)
	create(t, root, a, attacker)
	mustGorun(t, root, "start", attacker)

	victim := sh(t, `echo pwned > /vol/d/sub/written 2>/dev/null; echo pwned > /vol/d/tmp/written 2>/dev/null; true`)
	bindMount(victim.Spec, vol, "/vol")
	bindMount(victim.Spec, src, "/vol/d/sub")
	victim.Spec.Mounts = append(victim.Spec.Mounts, specs.Mount{Destination: "/vol/d/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=64k"}})
	writeBundle(t, victim)

	deadline := time.Now().Add(20 * time.Second)
	ok, failed := 0, 0
	reasons := map[string]int{}
	for i := 0; i < 200 && time.Now().Before(deadline); i++ {
		out, errOut, code := runContainer(t, root, victim, containerID(t, "victim", strconv.Itoa(i)))
		switch {
		case code == 0:
			ok++
		case code == 1 && len(lines(errOut)) == 1:
			failed++
			// The reason, without the run's own paths.
			reason := errOut
			if i := strings.LastIndex(reason, ": "); i >= 0 {
				reason = reason[i+2:]
			}
			reasons[strings.TrimSpace(reason)]++
		default:
			t.Errorf("run %d: exit %d, stdout %q, stderr %q", i, code, out, errOut)
		}
	}
	t.Logf("%d creates worked, %d failed cleanly: %v", ok, failed, reasons)
	if st := state(t, root, attacker); st.Status != "running" {
		t.Errorf("the attacker stopped early: %s", st.Status)
	}
	mustGorun(t, root, "kill", attacker, "KILL")
	guard.check()
}

// ---- 5. /dev as a symlink ----

// TestSecurityCVE_2026_41579_DevSymlink: an image whose /dev is a symlink
// to a host directory (absolute or relative), with /dev a tmpfs of the
// config or the image's own /dev: gorun resolves it inside the rootfs, finds
// no directory there and refuses; no device node or mount reaches the
// host, whose decoy stays byte-for-byte the same.
func TestSecurityCVE_2026_41579_DevSymlink(t *testing.T) {
	root := setup(t)
	decoy := probeDir(t)
	guard := guardHost(t, decoy)
	for _, c := range []struct {
		name, target string
		tmpfs        bool
	}{
		{"absolute_tmpfs", decoy, true},
		{"absolute_image_dev", decoy, false},
		{"relative_image_dev", strings.Repeat("../", 20) + strings.TrimPrefix(decoy, "/"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := sh(t, `ls /dev/ | tr '\n' ' '; echo hi > /dev/null && echo null works`)
			replaceWithSymlink(t, b, "/dev", c.target)
			if !c.tmpfs {
				withoutMounts(b.Spec, "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue")
			}
			writeBundle(t, b)
			// The symlink resolves inside the rootfs, where its target
			// does not exist: no /dev to put nodes in.
			out, errOut, code := runContainer(t, root, b, containerID(t))
			expectFailure(t, "/dev -> "+c.target, out, errOut, code, "/dev", "not a directory")
		})
	}
	guard.check()
}

// ---- 6. /dev/null, /dev/console, /proc/sys redirected ----

// devFromVolume makes /dev a bind of a host directory (a volume a
// malicious container shares), without gorun's own /dev submounts.
func devFromVolume(t *testing.T, b *bundle.Bundle) string {
	t.Helper()
	vol := hostDir(t)
	withoutMounts(b.Spec, "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue")
	bindMount(b.Spec, vol, "/dev")
	// Put the bind first: nothing else is mounted under /dev.
	n := len(b.Spec.Mounts)
	b.Spec.Mounts = append([]specs.Mount{b.Spec.Mounts[n-1]}, b.Spec.Mounts[:n-1]...)
	return vol
}

// TestSecurityCVE_2025_31133_MaskedPathsDevNull: with /dev/null replaced
// (a symlink to a procfs file, or a plain file), masking paths fails
// instead of binding the replacement over them.
func TestSecurityCVE_2025_31133_MaskedPathsDevNull(t *testing.T) {
	root := setup(t)
	for _, c := range []struct {
		name string
		make func(dir string) error
	}{
		{"symlink_to_core_pattern", func(d string) error { return os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(d, "null")) }},
		{"symlink_to_host_file", func(d string) error { return os.Symlink("/etc/passwd", filepath.Join(d, "null")) }},
		{"regular_file", func(d string) error { return os.WriteFile(filepath.Join(d, "null"), nil, 0o666) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := sh(t, `echo ran; echo x > /proc/kcore`)
			vol := devFromVolume(t, b)
			if err := c.make(vol); err != nil {
				t.Fatal(err)
			}
			writeBundle(t, b)
			guard := guardHost(t, vol)
			out, errOut, code := runContainer(t, root, b, containerID(t))
			expectFailure(t, c.name, out, errOut, code, "not the null device")
			guard.check()
		})
	}
}

// TestSecurityCVE_2025_52565_ConsoleSymlink: with /dev/console a symlink,
// binding the terminal fails instead of following it.
func TestSecurityCVE_2025_52565_ConsoleSymlink(t *testing.T) {
	root := setup(t)
	probe := probeDir(t)
	b := sh(t, `echo ran`)
	vol := devFromVolume(t, b)
	if err := os.Symlink(filepath.Join(probe, "precious"), filepath.Join(vol, "console")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("pts/ptmx", filepath.Join(vol, "ptmx")); err != nil {
		t.Fatal(err)
	}
	// The pty comes from a devpts; /dev is the volume here.
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
		Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}})
	b.Spec.Linux.MaskedPaths = nil
	b.Spec.Process.Terminal = true
	writeBundle(t, b)
	guard := guardHost(t, probe)
	sock, err := consolesock.Listen(filepath.Join(t.TempDir(), "console.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	go func() {
		if f, err := sock.Accept(10 * time.Second); err == nil {
			f.Close()
		}
	}()
	id := containerID(t)
	mustDelete(t, root, id)
	out, errOut, code := gorun(t, root, "create", "--bundle", b.Dir, "--console-socket", sock.Path(), id)
	expectFailure(t, "console onto a symlink", out, errOut, code, "/dev/console", "symlink")
	os.Remove(filepath.Join(vol, "pts")) // the devpts mount point gorun made
	guard.check()
}

// TestSecurityCVE_2025_52881_ProcSysRedirect: a sysctl write must reach the
// container's own /proc/sys file. A file bind-mounted over it — a host file
// or another procfs file (here a host process's oom_score_adj) — makes
// create fail; neither target changes.
func TestSecurityCVE_2025_52881_ProcSysRedirect(t *testing.T) {
	root := setup(t)
	t.Run("host_file", func(t *testing.T) {
		probe := probeDir(t)
		guard := guardHost(t, probe)
		b := sh(t, `echo ran`)
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/proc/sys/kernel/shmmax", Type: "bind",
			Source: filepath.Join(probe, "precious"), Options: []string{"bind"}})
		b.Spec.Linux.Sysctl = map[string]string{"kernel.shmmax": "12345"}
		writeBundle(t, b)
		out, errOut, code := runContainer(t, root, b, containerID(t))
		expectFailure(t, "sysctl onto a bound host file", out, errOut, code, "linux.sysctl", "kernel.shmmax")
		guard.check()
	})
	t.Run("other_procfs_file", func(t *testing.T) {
		// A host process, and its oom_score_adj bound over the sysctl.
		victim := startHostSleeper(t)
		adj := fmt.Sprintf("/proc/%d/oom_score_adj", victim)
		before := readFile(t, adj)
		b := sh(t, `echo ran`)
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/proc/sys/kernel/shmmax", Type: "bind",
			Source: adj, Options: []string{"bind"}})
		b.Spec.Linux.Sysctl = map[string]string{"kernel.shmmax": "500"}
		writeBundle(t, b)
		out, errOut, code := runContainer(t, root, b, containerID(t))
		if after := readFile(t, adj); after != before {
			t.Errorf("the host process's oom_score_adj went from %q to %q: the sysctl write was redirected", before, after)
		}
		expectFailure(t, "sysctl onto a bound procfs file", out, errOut, code, "linux.sysctl", "kernel.shmmax")
	})
}

// startHostSleeper starts a process on the host for a test to aim at, and
// ends it at cleanup.
func startHostSleeper(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess(bundle.BusyboxPath, []string{"sleep", "100"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		p.Wait()
	})
	return p.Pid
}

// ---- 7. capabilities, cgroupfs, sysfs, no_new_privileges, masks ----

// capsOf parses the Cap* lines of a /proc/PID/status.
func capsOf(t *testing.T, status string) map[string]uint64 {
	t.Helper()
	caps := map[string]uint64{}
	for _, l := range lines(status) {
		name, val, ok := strings.Cut(l, ":")
		if ok && strings.HasPrefix(name, "Cap") {
			v, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			caps[name] = v
		}
	}
	return caps
}

// secCapMask is the bit set of the named capabilities.
func secCapMask(names ...string) uint64 {
	bits := map[string]uint{"CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21, "CAP_AUDIT_WRITE": 29}
	var m uint64
	for _, n := range names {
		m |= 1 << bits[n]
	}
	return m
}

// TestSecurityCVE_2022_29162_Capabilities: the container's process has
// exactly the spec's bounding, effective and permitted sets and nothing
// inheritable or ambient; `exec --cap` adds to bounding, effective and
// permitted only.
func TestSecurityCVE_2022_29162_Capabilities(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := sh(t, `grep ^Cap /proc/self/status; exec sleep 100`)
	c := create(t, root, b, id)
	mustGorun(t, root, "start", id)
	if !c.waitOutput("CapAmb", 5*time.Second) {
		t.Fatal("no output")
	}
	out, _ := c.output()
	want := secCapMask("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE")
	caps := capsOf(t, out)
	if caps["CapBnd"] != want || caps["CapEff"] != want || caps["CapPrm"] != want || caps["CapInh"] != 0 || caps["CapAmb"] != 0 {
		t.Errorf("init caps %x, want bounding/effective/permitted %x and nothing inheritable or ambient", caps, want)
	}
	out = mustGorun(t, root, "exec", "--cap", "CAP_NET_RAW", "--cap", "CAP_SYS_ADMIN", id, "grep", "^Cap", "/proc/self/status")
	want |= secCapMask("CAP_NET_RAW", "CAP_SYS_ADMIN")
	caps = capsOf(t, out)
	if caps["CapBnd"] != want || caps["CapEff"] != want || caps["CapPrm"] != want || caps["CapInh"] != 0 || caps["CapAmb"] != 0 {
		t.Errorf("exec --cap caps %x, want %x and CapInh = CapAmb = 0", caps, want)
	}
}

// TestSecurityCVE_2023_25809_CgroupfsReadonly: without a cgroup namespace
// (with or without a user namespace) /sys/fs/cgroup is read-only.
func TestSecurityCVE_2023_25809_CgroupfsReadonly(t *testing.T) {
	root := setup(t)
	for _, userns := range []bool{false, true} {
		t.Run(fmt.Sprintf("userns=%v", userns), func(t *testing.T) {
			b := sh(t, `for d in /sys/fs/cgroup /sys/fs/cgroup/*/; do mkdir "$d/gorun-escape" 2>&1; done; echo done`)
			dropNamespace(b.Spec, specs.CgroupNamespace)
			if userns {
				userNamespace(t, b.Spec)
			}
			writeBundle(t, b)
			out := mustRun(t, root, b, containerID(t))
			for _, l := range lines(out) {
				if l != "done" && !strings.Contains(l, "Read-only file system") {
					t.Errorf("cgroupfs writable: %q", l)
				}
			}
			if !strings.Contains(out, "Read-only file system") {
				t.Errorf("stdout %q", out)
			}
		})
	}
}

// userNamespace gives s a user namespace mapping 0-65535 to host
// 100000-165535, and lets those uids reach the test's bundles.
func userNamespace(t *testing.T, s *specs.Spec) {
	t.Helper()
	if err := os.Chmod(filepath.Dir(t.TempDir()), 0o755); err != nil {
		t.Fatal(err)
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
}

// TestSecuritySysfsReadonly: /sys is read-only (writing a value back to
// itself, harmless either way, fails with EROFS).
func TestSecuritySysfsReadonly(t *testing.T) {
	root := setup(t)
	b := sh(t, `awk '$5 == "/sys" { print $6 }' /proc/self/mountinfo | cut -d, -f1; mkdir /sys/gorun-x 2>&1; { cat /sys/kernel/mm/ksm/run > /sys/kernel/mm/ksm/run; } 2>&1; true`)
	out := mustRun(t, root, b, containerID(t))
	l := lines(out)
	if len(l) != 3 || l[0] != "ro" || !strings.Contains(l[1], "Read-only file system") || !strings.Contains(l[2], "Read-only file system") {
		t.Errorf("stdout %q: want /sys mounted ro and both writes refused with EROFS", out)
	}
}

// TestSecurityNoNewPrivileges: a setuid-root binary in the image does not
// raise the effective uid of a uid-1000 process under no_new_privileges.
// A copy of busybox, setuid root, drops privileges by itself for id(1), so
// sectool (which does not) is the real check, with a control run without
// no_new_privileges.
func TestSecurityNoNewPrivileges(t *testing.T) {
	root := setup(t)
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			// busybox takes its applet from argv[0] unless that starts
			// with "busybox".
			b := sh(t, `/bin/busybox-suid id -u; /bin/suid-sectool euid`)
			addSectool(t, b)
			copyFile(t, b.Path("/bin/busybox"), b.Path("/bin/busybox-suid"), 0o755)
			copyFile(t, b.Path("/bin/sectool"), b.Path("/bin/suid-sectool"), 0o755)
			for _, p := range []string{"/bin/busybox-suid", "/bin/suid-sectool"} {
				if err := os.Chown(b.Path(p), 0, 0); err != nil {
					t.Fatal(err)
				}
				if err := unix.Chmod(b.Path(p), 0o4755); err != nil {
					t.Fatal(err)
				}
			}
			b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
			b.Spec.Process.NoNewPrivileges = nnp
			writeBundle(t, b)
			out := mustRun(t, root, b, containerID(t))
			want := "1000\nuid=1000 euid=1000\n"
			if !nnp {
				want = "1000\nuid=1000 euid=0\n" // the setuid bit works
			}
			if out != want {
				t.Errorf("stdout %q, want %q", out, want)
			}
		})
	}
}

// TestSecurityMaskedAndReadonlyPaths: masked paths read as empty, read-only
// paths refuse writes (namespaced files, harmless if the write went
// through).
func TestSecurityMaskedAndReadonlyPaths(t *testing.T) {
	root := setup(t)
	b := sh(t, `for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do [ -e $f ] && echo "$f: $(wc -c < $f) bytes"; done
ls /sys/firmware | wc -l
{ echo gorun > /proc/sys/kernel/domainname; } 2>&1
{ cat /proc/sys/kernel/shmmax > /proc/sys/kernel/shmmax; } 2>&1
true`)
	out := mustRun(t, root, b, containerID(t))
	for _, l := range lines(out) {
		switch {
		case strings.HasPrefix(l, "/proc/"):
			if !strings.HasSuffix(l, ": 0 bytes") {
				t.Errorf("masked path readable: %q", l)
			}
		case l == "0":
		case strings.Contains(l, "Read-only file system"):
		default:
			t.Errorf("unexpected: %q (full output %q)", l, out)
		}
	}
	if strings.Count(out, "Read-only file system") != 2 {
		t.Errorf("stdout %q: want both /proc/sys writes refused", out)
	}
}

// ---- 8. user namespaces and host files ----

// TestSecurityUserNamespaceHostFiles: root in a user namespace (host uid
// 100000) cannot change host-owned files bind-mounted into the container.
func TestSecurityUserNamespaceHostFiles(t *testing.T) {
	root := setup(t)
	host := probeDir(t)
	if err := os.Chmod(host, 0o755); err != nil {
		t.Fatal(err)
	}
	guard := guardHost(t, host)
	b := sh(t, `id -u
{ echo x >> /host/precious; } 2>&1
touch /host/new 2>&1
rm -f /host/precious 2>&1
chmod 666 /host/precious 2>&1
chown 0:0 /host/precious 2>&1
mv /host/precious /host/moved 2>&1
true`)
	userNamespace(t, b.Spec)
	// The mount point exists in the image: the init, host uid 100000,
	// cannot create it in a rootfs owned by the host's root.
	if err := os.Mkdir(b.Path("/host"), 0o755); err != nil {
		t.Fatal(err)
	}
	bindMount(b.Spec, host, "/host")
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	l := lines(out)
	if len(l) != 7 || l[0] != "0" {
		t.Fatalf("stdout %q", out)
	}
	for _, e := range l[1:] {
		if !strings.Contains(e, "Permission denied") && !strings.Contains(e, "Operation not permitted") {
			t.Errorf("not refused: %q", e)
		}
	}
	guard.check()
}

// ---- host safety on bad bundles ----

// TestSecurityBadBundles: a rootfs that is a symlink to the host's /, a
// bind source that does not exist, a device the host lacks (in a user
// namespace, where gorun binds the host's node): a clear error, and
// nothing created on the host.
func TestSecurityBadBundles(t *testing.T) {
	root := setup(t)
	guard := guardHost(t)
	t.Run("rootfs_symlink_to_host_root", func(t *testing.T) {
		b := sh(t, `echo ran; touch /gorun-was-here`)
		if err := os.RemoveAll(b.Rootfs); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/", b.Rootfs); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runContainer(t, root, b, containerID(t))
		expectFailure(t, "rootfs -> /", out, errOut, code, "root.path")
		if _, err := os.Lstat("/gorun-was-here"); err == nil {
			os.Remove("/gorun-was-here")
			t.Error("the container wrote to the host's /")
		}
	})
	t.Run("missing_bind_source", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "no", "such", "dir")
		b := sh(t, `echo ran`)
		bindMount(b.Spec, missing, "/mnt/x")
		writeBundle(t, b)
		out, errOut, code := runContainer(t, root, b, containerID(t))
		expectFailure(t, "missing bind source", out, errOut, code, missing)
		if _, err := os.Lstat(filepath.Dir(filepath.Dir(missing))); err == nil {
			t.Errorf("gorun created part of the missing source %s", missing)
		}
	})
	t.Run("device_missing_on_host_userns", func(t *testing.T) {
		b := sh(t, `echo ran`)
		userNamespace(t, b.Spec)
		mode := os.FileMode(0o666)
		b.Spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/gorun-no-such-device", Type: "c", Major: 240, Minor: 77, FileMode: &mode}}
		writeBundle(t, b)
		out, errOut, code := runContainer(t, root, b, containerID(t))
		expectFailure(t, "device missing on the host", out, errOut, code, "linux.devices[0].path", "/dev/gorun-no-such-device")
	})
	t.Run("device_missing_on_host", func(t *testing.T) {
		// Without a user namespace gorun makes the node itself; opening
		// it finds no driver. The host's /dev gets nothing.
		b := sh(t, `ls -l /dev/gorun-no-such-device | cut -c1; cat /dev/gorun-no-such-device 2>&1; true`)
		mode := os.FileMode(0o666)
		b.Spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/gorun-no-such-device", Type: "c", Major: 240, Minor: 77, FileMode: &mode}}
		writeBundle(t, b)
		out := mustRun(t, root, b, containerID(t))
		// The device cgroup (deny all but the defaults) refuses it.
		if !strings.HasPrefix(out, "c\n") || !strings.Contains(out, "Operation not permitted") && !strings.Contains(out, "No such device") {
			t.Errorf("stdout %q", out)
		}
	})
	if _, err := os.Lstat("/dev/gorun-no-such-device"); err == nil {
		t.Error("a device node appeared in the host's /dev")
	}
	guard.check()
}

// ---- LSMs ----

// TestSecurityLSMNotOnHost: a config or `gorun exec` asking for an AppArmor
// profile or an SELinux label on a host without that module fails with an
// error naming the field, instead of running unconfined.
func TestSecurityLSMNotOnHost(t *testing.T) {
	root := setup(t)
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.HasPrefix(string(b), "Y") {
		t.Skip("this host runs AppArmor")
	}
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Skip("this host runs SELinux")
	}
	const label = "system_u:system_r:container_t:s0:c1,c2"
	cases := []struct {
		name, field string
		set         func(s *specs.Spec)
	}{
		{"apparmorProfile", "process.apparmorProfile", func(s *specs.Spec) { s.Process.ApparmorProfile = "gorun-default" }},
		{"selinuxLabel", "process.selinuxLabel", func(s *specs.Spec) { s.Process.SelinuxLabel = label }},
		{"mountLabel", "linux.mountLabel", func(s *specs.Spec) { s.Linux.MountLabel = label }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := sh(t, `echo ran unconfined`)
			c.set(b.Spec)
			writeBundle(t, b)
			out, errOut, code := runContainer(t, root, b, containerID(t))
			expectFailure(t, c.name, out, errOut, code, c.field, "not enabled on this host")
		})
	}
	id := containerID(t)
	create(t, root, sh(t, `exec sleep 100`), id)
	mustGorun(t, root, "start", id)
	for flag, field := range map[string]string{"--apparmor=gorun-default": "process.apparmorProfile", "--process-label=" + label: "process.selinuxLabel"} {
		out, errOut, code := gorun(t, root, "exec", flag, id, "echo", "ran unconfined")
		expectFailure(t, "exec "+flag, out, errOut, code, field, "not enabled on this host")
	}
}
