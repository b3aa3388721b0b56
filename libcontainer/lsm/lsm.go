// Package lsm applies the Linux security module settings of a config:
// process.apparmorProfile (AppArmor), process.selinuxLabel and
// linux.mountLabel (SELinux, through github.com/opencontainers/selinux).
// A config that asks for a module the host does not run fails with an
// error naming the field, rather than running the container unconfined.
//
// Labels are set "on exec": the child writes them for its own thread before
// it execs the user's program, which is the first to run confined. Every
// /proc attribute is reached through a verified procfs handle
// (filepath-securejoin's procfs), never through the container's /proc by
// path: a fake or overmounted /proc would make the write a no-op
// (CVE-2019-16884, CVE-2025-52881).
package lsm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// host is how this package sees and changes the host's LSMs; unit tests
// replace it.
var host = struct {
	apparmorEnabled func() bool
	selinuxEnabled  func() bool
	// writeAttr writes value to /proc/thread-self/attr/<name>.
	writeAttr    func(name, value string) error
	setExecLabel func(label string) error
	setKeyLabel  func(label string) error
}{
	apparmorEnabled: apparmorEnabled,
	selinuxEnabled:  selinuxEnabled,
	writeAttr:       writeThreadAttr,
	setExecLabel:    selinux.SetExecLabel,
	setKeyLabel:     selinux.SetKeyLabel,
}

// Check fails if the config asks for an AppArmor profile or an SELinux
// label on a host without that module. The child calls it before anything
// else, so `gorun create` and `gorun exec` report it.
func Check(p *rspec.Process, l *rspec.Linux) error {
	if p != nil && p.ApparmorProfile != "" && !host.apparmorEnabled() {
		return errs.Field("process.apparmorProfile", p.ApparmorProfile, "remove it, or run gorun on a host with AppArmor", "AppArmor is not enabled on this host")
	}
	if p != nil && p.SelinuxLabel != "" && !host.selinuxEnabled() {
		return errs.Field("process.selinuxLabel", p.SelinuxLabel, "remove it, or run gorun on a host with SELinux", "SELinux is not enabled on this host")
	}
	if l != nil && l.MountLabel != "" && !host.selinuxEnabled() {
		return errs.Field("linux.mountLabel", l.MountLabel, "remove it, or run gorun on a host with SELinux", "SELinux is not enabled on this host")
	}
	return nil
}

// ApplyExec sets the AppArmor profile and the SELinux label that the
// calling thread's next execve takes on. The caller holds its OS thread.
func ApplyExec(p *rspec.Process) error {
	if p.ApparmorProfile != "" {
		if err := applyAppArmor(p.ApparmorProfile); err != nil {
			return &errs.Error{Field: "process.apparmorProfile", Value: p.ApparmorProfile, Err: err, Hint: "the profile must be loaded on the host (apparmor_parser)"}
		}
	}
	if p.SelinuxLabel != "" {
		if err := host.setExecLabel(p.SelinuxLabel); err != nil {
			return &errs.Error{Field: "process.selinuxLabel", Value: p.SelinuxLabel, Err: err}
		}
	}
	return nil
}

// SetKeyLabel labels the session keyring the init creates with the
// process's SELinux label. Without SELinux or a label it does nothing.
func SetKeyLabel(p *rspec.Process) error {
	if p == nil || p.SelinuxLabel == "" || !host.selinuxEnabled() {
		return nil
	}
	if err := host.setKeyLabel(p.SelinuxLabel); err != nil {
		return &errs.Error{Field: "process.selinuxLabel", Value: p.SelinuxLabel, Err: fmt.Errorf("label the session keyring: %w", err)}
	}
	return nil
}

// applyAppArmor asks AppArmor to confine the next exec with profile. The
// per-LSM attribute (Linux 5.8+) is tried first, so another module
// stacked in front of AppArmor cannot take the write.
func applyAppArmor(profile string) error {
	err := host.writeAttr("apparmor/exec", "exec "+profile)
	if errors.Is(err, os.ErrNotExist) {
		err = host.writeAttr("exec", "exec "+profile)
	}
	return err
}

// MountData adds an SELinux context option for label to the data of a
// filesystem mount (tmpfs, devpts, mqueue, ...). Filesystems of the
// kernel's own (proc, sysfs, cgroup) and binds take no context.
func MountData(fsType, data, label string) string {
	if label == "" {
		return data
	}
	switch fsType {
	case "proc", "sysfs", "cgroup", "cgroup2", "bind", "securityfs", "debugfs", "tracefs":
		return data
	}
	opt := fmt.Sprintf("context=%q", label)
	if data == "" {
		return opt
	}
	return data + "," + opt
}

func apparmorEnabled() bool {
	// Readable only when AppArmor is built in and enabled (Linux 5.8+).
	if _, err := readThreadAttr("apparmor/current"); err == nil {
		return true
	}
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && bytes.HasPrefix(b, []byte("Y"))
}

func selinuxEnabled() bool {
	if selinux.GetEnabled() {
		return true
	}
	// go-selinux looks for selinuxfs, which a container (where `gorun
	// exec` runs) may not mount; the process's own context tells too.
	cur, err := readThreadAttr("current")
	return err == nil && looksLikeSELinuxContext(cur)
}

// looksLikeSELinuxContext reports whether s is user:role:type[:level], as
// opposed to AppArmor's "unconfined" or "profile (enforce)".
func looksLikeSELinuxContext(s string) bool {
	s = strings.TrimRight(s, "\x00\n")
	return strings.Count(s, ":") >= 2 && !strings.ContainsAny(s, " ()")
}

func openThreadAttr(name string, flags int) (*os.File, error) {
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return nil, err
	}
	defer proc.Close()
	h, closer, err := proc.OpenThreadSelf("attr/" + name)
	if err != nil {
		return nil, err
	}
	defer closer()
	defer h.Close()
	return pathrs.Reopen(h, flags|unix.O_CLOEXEC)
}

func readThreadAttr(name string) (string, error) {
	f, err := openThreadAttr(name, unix.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, 4096)
	n, err := f.Read(b)
	if err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

func writeThreadAttr(name, value string) error {
	f, err := openThreadAttr(name, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(value)
	return err
}
