package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// defaultDevices are the device nodes every Linux container gets
// (runtime-spec config-linux.md, "Default Devices").
var defaultDevices = []rspec.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

var devLinks = [][2]string{
	{"/proc/self/fd", "fd"},
	{"/proc/self/fd/0", "stdin"},
	{"/proc/self/fd/1", "stdout"},
	{"/proc/self/fd/2", "stderr"},
}

// createDevices makes the default devices, linux.devices, and /dev's links.
// All of it goes through the rootfs handle (CVE-2026-41579: a /dev symlink
// in the image must not send device nodes to the host).
func (s *Setup) createDevices() error {
	mode := os.FileMode(0o666)
	for _, d := range defaultDevices {
		d.FileMode = &mode
		if err := s.createDevice(d, "default device"); err != nil {
			return err
		}
	}
	for i, d := range s.Spec.Linux.Devices {
		if err := s.createDevice(d, fmt.Sprintf("linux.devices[%d]", i)); err != nil {
			return err
		}
	}
	for _, l := range devLinks {
		if err := s.symlinkInRoot(l[0], "/dev/"+l[1]); err != nil {
			return err
		}
	}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		if err := s.symlinkInRoot("/proc/kcore", "/dev/core"); err != nil {
			return err
		}
	}
	return s.linkPtmx()
}

// linkPtmx points /dev/ptmx at the container's own devpts instance.
func (s *Setup) linkPtmx() error {
	hasPts := false
	for _, m := range s.Spec.Mounts {
		if filepath.Clean(m.Destination) == "/dev/pts" {
			hasPts = true
		}
	}
	if !hasPts {
		return nil
	}
	dev, err := s.openInRoot("/dev")
	if err != nil {
		return err
	}
	defer dev.Close()
	if err := unix.Unlinkat(int(dev.Fd()), "ptmx", 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove /dev/ptmx: %w", err)
	}
	if err := unix.Symlinkat("pts/ptmx", int(dev.Fd()), "ptmx"); err != nil {
		return fmt.Errorf("link /dev/ptmx: %w", err)
	}
	return nil
}

func (s *Setup) createDevice(d rspec.LinuxDevice, field string) error {
	var typ uint32
	switch d.Type {
	case "c", "u":
		typ = unix.S_IFCHR
	case "b":
		typ = unix.S_IFBLK
	case "p":
		typ = unix.S_IFIFO
	default:
		return errs.Field(field+".type", d.Type, "use c, b, u or p", "unknown device type")
	}
	dir, base := filepath.Split(filepath.Clean(d.Path))
	parent, err := s.mkdirInRoot(dir)
	if err != nil {
		return &errs.Error{Field: field + ".path", Value: d.Path, Err: err}
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(*d.FileMode) & 0o7777
	}
	if err := unix.Unlinkat(pfd, base, 0); err != nil && err != unix.ENOENT {
		return &errs.Error{Field: field + ".path", Value: d.Path, Err: err}
	}
	err = unix.Mknodat(pfd, base, typ|perm, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor))))
	if errors.Is(err, unix.EPERM) && s.UserNS && typ != unix.S_IFIFO {
		return s.bindHostDevice(d, parent, base, field)
	}
	if err != nil {
		return &errs.Error{Field: field + ".path", Value: d.Path, Err: fmt.Errorf("mknod: %w", err)}
	}
	// mknod applies the umask; set the mode the config asked for.
	if err := unix.Fchmodat(pfd, base, perm, 0); err != nil {
		return err
	}
	uid, gid := -1, -1
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if uid != -1 || gid != -1 {
		if err := unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &errs.Error{Field: field + ".uid", Value: fmt.Sprint(uid), Err: err}
		}
	}
	return nil
}

// bindHostDevice binds the host's device node in a user namespace, where
// mknod is not allowed.
func (s *Setup) bindHostDevice(d rspec.LinuxDevice, parent *os.File, base, field string) error {
	host := d.Path
	var st unix.Stat_t
	if err := unix.Stat(host, &st); err != nil {
		return &errs.Error{Field: field + ".path", Value: d.Path, Err: err, Hint: "in a user namespace gorun binds the host's device node, and the host has none there"}
	}
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &errs.Error{Field: field + ".path", Value: d.Path, Err: err}
	}
	unix.Close(fd)
	fd, err = unix.Openat(int(parent.Fd()), base, unix.O_NOFOLLOW|unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), d.Path)
	defer f.Close()
	return bindAt(host, f, Options{Bind: true})
}
