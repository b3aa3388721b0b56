package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// rootfsDirs are created in every rootfs, with their modes.
var rootfsDirs = []struct {
	path string
	mode os.FileMode
}{
	{"bin", 0o755},
	{"sbin", 0o755},
	{"usr", 0o755},
	{"usr/bin", 0o755},
	{"usr/sbin", 0o755},
	{"proc", 0o555},
	{"sys", 0o555},
	{"dev", 0o755},
	{"tmp", 0o777 | os.ModeSticky},
	{"etc", 0o755},
	{"root", 0o700},
	{"home", 0o755},
	{"home/user", 0o755},
	{"var", 0o755},
	{"run", 0o755},
	{"mnt", 0o755},
}

const passwd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`

const group = `root:x:0:
daemon:x:1:
tty:x:5:
user:x:1000:
extra:x:2000:user
nobody:x:65534:
`

const hosts = `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
`

// Hostname is the hostname of the default spec, also written to
// etc/hostname.
const Hostname = "gorun-test"

var rootfsFiles = []struct {
	path, content string
}{
	{"etc/passwd", passwd},
	{"etc/group", group},
	{"etc/hostname", Hostname + "\n"},
	{"etc/hosts", hosts},
	{"etc/resolv.conf", ""},
}

// Rootfs lays a minimal busybox root filesystem into dir, creating dir if
// needed: bin/busybox plus one symlink per applet in bin, empty sbin,
// usr/bin and usr/sbin, the usual top-level directories (tmp is 1777) and
// etc/{passwd,group,hostname,hosts,resolv.conf}. Users: root 0, daemon 1,
// user 1000 (home /home/user), nobody 65534. Groups: root 0, daemon 1,
// tty 5, user 1000, extra 2000 (member user), nobody 65534.
func Rootfs(dir string) error {
	cached, applets, err := cachedBusybox()
	if err != nil {
		return err
	}
	if err := mkdirMode(dir, 0o755); err != nil {
		return err
	}
	for _, d := range rootfsDirs {
		if err := mkdirMode(filepath.Join(dir, d.path), d.mode); err != nil {
			return err
		}
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(filepath.Join(dir, "home/user"), 1000, 1000); err != nil {
			return err
		}
	}
	bin := filepath.Join(dir, "bin")
	if err := installBusybox(cached, filepath.Join(bin, "busybox")); err != nil {
		return fmt.Errorf("rootfs: install busybox: %w", err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("rootfs: %w", err)
		}
	}
	for _, f := range rootfsFiles {
		if err := writeFileMode(filepath.Join(dir, f.path), f.content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// mkdirMode creates path (if missing) and sets its mode exactly, ignoring
// the umask.
func mkdirMode(path string, mode os.FileMode) error {
	if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return os.Chmod(path, mode)
}

// writeFileMode writes content to path and sets its mode exactly.
func writeFileMode(path, content string, mode os.FileMode) error {
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}
