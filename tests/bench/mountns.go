package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/tests/bundle"
)

// nsEnv marks the second pass, inside the private mount namespace; its
// value is the mount namespace of the first pass (the host's).
const nsEnv = "GORUN_BENCH_MOUNTNS"

// unifiedControllers is the file whose content makes crun 1.8.1 refuse a
// hybrid host ("cgroups in hybrid mode not supported") when it is not
// empty. runc never reads it; gorun's cgroup library looks only at the
// filesystem types.
const unifiedControllers = "/sys/fs/cgroup/unified/cgroup.controllers"

// aptPackages are the Debian packages the benchmark needs, by the command
// it looks for.
var aptPackages = []struct{ cmd, pkg string }{
	{"runc", "runc"},
	{"crun", "crun"},
	{"unshare", "util-linux"},
	{"chroot", "coreutils"},
}

// ensureTools installs runc, crun and util-linux from Debian if missing,
// and busybox-static for the bundles.
func ensureTools() error {
	var missing []string
	for _, p := range aptPackages {
		if _, err := exec.LookPath(p.cmd); err != nil {
			missing = append(missing, p.pkg)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "bench: installing %s\n", strings.Join(missing, " "))
		install := append([]string{"install", "-y", "-qq"}, missing...)
		if err := aptGet(install...); err != nil {
			if uerr := aptGet("update", "-qq"); uerr != nil {
				return fmt.Errorf("%v; then %v", err, uerr)
			}
			if err := aptGet(install...); err != nil {
				return err
			}
		}
	}
	return bundle.EnsureBusybox()
}

func aptGet(args ...string) error {
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("apt-get %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// reexecInPrivateMountNS replaces this process with itself run by
// `unshare --mount --propagation private`: same pid, same arguments, a
// mount namespace of its own that vanishes when it exits. It returns only
// on error.
func reexecInPrivateMountNS() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return err
	}
	argv := append([]string{"unshare", "--mount", "--propagation", "private", "--", exe}, os.Args[1:]...)
	hostNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	// The second pass compares its namespace with this one.
	return syscall.Exec(unshare, argv, append(os.Environ(), nsEnv+"="+hostNS))
}

// hideUnifiedControllers bind-mounts an empty file over
// unifiedControllers, in this process's private mount namespace only. It
// refuses to do so in the host's mount namespace. undo unmounts it (the
// namespace's end would too).
func hideUnifiedControllers(tmp string) (undo func(), note string, err error) {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return nil, "", err
	}
	if host := os.Getenv(nsEnv); self == host || !strings.HasPrefix(host, "mnt:") {
		return nil, "", errors.New("not in a private mount namespace: refusing to hide " + unifiedControllers)
	}
	data, err := os.ReadFile(unifiedControllers)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, "no " + unifiedControllers + " (not a hybrid host): nothing hidden", nil
	}
	if err != nil {
		return nil, "", err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return func() {}, unifiedControllers + " is empty: nothing hidden", nil
	}
	empty := filepath.Join(tmp, "empty-cgroup.controllers")
	if err := os.WriteFile(empty, nil, 0o444); err != nil {
		return nil, "", err
	}
	if err := unix.Mount(empty, unifiedControllers, "", unix.MS_BIND, ""); err != nil {
		return nil, "", fmt.Errorf("bind %s over %s: %w", empty, unifiedControllers, err)
	}
	undo = func() { unix.Unmount(unifiedControllers, unix.MNT_DETACH) }
	note = fmt.Sprintf("private mount namespace: an empty file hides %s (%q on the host) so that crun accepts this hybrid host",
		unifiedControllers, strings.TrimSpace(string(data)))
	return undo, note, nil
}
