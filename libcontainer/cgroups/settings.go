package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// setting is one value gorun writes into one cgroup file, and the
// linux.resources field it comes from (named in errors). The conversions
// (v1Settings, v2Settings) are pure functions from the spec to a list of
// settings, so that what reaches the kernel can be tested without one.
type setting struct {
	// ctrl is the controller the file belongs to. On v1 it picks the
	// hierarchy; on v2 it is the controller that must be enabled in the
	// parent's cgroup.subtree_control ("" for the core cgroup.* files).
	ctrl string
	// v2 marks, on a v1 or hybrid host, a file of the cgroup2 hierarchy
	// (hugetlb on this kind of host, linux.resources.unified).
	v2    bool
	file  string
	value string
	field string
	// alt is written instead of file when file does not exist (BFQ's
	// blkio.bfq.weight where the kernel has no blkio.weight).
	alt      string
	altValue string // written to alt, when it differs from value
	// optional settings are skipped where the kernel has no such file
	// (memory.kmem.limit_in_bytes on kernels that dropped kernel memory
	// limits).
	optional bool
	// hint replaces the default advice when the file does not exist or
	// the kernel refuses the value.
	hint string
}

func (s setting) String() string { return s.file + "=" + s.value }

// errNoController is returned for a setting whose controller is not
// mounted on this host.
var errNoController = errors.New("controller not available")

// applySettings writes each setting into the directory dir returns for
// it. A write the kernel rejects with EINVAL or EBUSY is retried once after
// all the others, since some limits are checked against others and the
// order that works depends on the current values: memory.memsw must stay
// at least memory.limit, cpu.cfs_burst_us at most cpu.cfs_quota_us, and an
// idle group takes no cpu.shares.
func applySettings(ss []setting, dir func(setting) (string, error)) error {
	var retry []setting
	for _, s := range ss {
		err := writeSetting(s, dir)
		if err == nil {
			continue
		}
		if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EBUSY) {
			retry = append(retry, s)
			continue
		}
		return err
	}
	for _, s := range retry {
		if err := writeSetting(s, dir); err != nil {
			return err
		}
	}
	return nil
}

func writeSetting(s setting, dirOf func(setting) (string, error)) error {
	dir, err := dirOf(s)
	if err != nil {
		if errors.Is(err, errNoController) {
			return &errs.Error{Field: s.field, Value: s.value, Err: fmt.Errorf("the %s cgroup controller is not available on this host", s.ctrl),
				Hint: "remove the setting, or run on a host whose kernel has the controller"}
		}
		return err
	}
	file, value := s.file, s.value
	err = writeFileHook(filepath.Join(dir, file), value)
	if errors.Is(err, os.ErrNotExist) && s.alt != "" {
		file = s.alt
		if s.altValue != "" {
			value = s.altValue
		}
		err = writeFileHook(filepath.Join(dir, file), value)
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Stat(dir); derr != nil {
			// The cgroup itself is gone (removed under us): let the
			// caller see ErrNotExist.
			return fmt.Errorf("cgroup %s: %w", dir, derr)
		}
		if s.optional {
			return nil
		}
		names := s.file
		if s.alt != "" {
			names += " or " + s.alt
		}
		if s.ctrl != "" && notDelegated(dir, s.ctrl) {
			return &errs.Error{Field: s.field, Value: s.value,
				Err:  fmt.Errorf("the %s controller is not enabled for cgroup %s (its parent's cgroup.subtree_control lacks it)", s.ctrl, dir),
				Hint: "the parent cgroup must have the controller and hold no processes itself (cgroup v2's rule), or remove the setting"}
		}
		hint := s.hint
		if hint == "" {
			hint = "the kernel lacks the feature: remove the setting"
		}
		return &errs.Error{Field: s.field, Value: s.value, Err: fmt.Errorf("this kernel's cgroup has no %s", names), Hint: hint}
	}
	hint := s.hint
	if hint == "" {
		hint = "the kernel rejected the value: check it against the other limits and the parent cgroup's"
	}
	return &errs.Error{Field: s.field, Value: s.value, Err: fmt.Errorf("write %q to %s: %w", value, filepath.Join(dir, file), errors.Unwrap(err)),
		Hint: hint}
}

// writeFileHook writes the settings; tests replace it to play the kernel.
var writeFileHook = writeFile

// writeFile writes value into an existing cgroup file in one write(2).
// Three system calls: os.OpenFile would add four more per file (offering
// the fd to the runtime's poller, which cgroup files refuse), and a
// container's cgroup takes a dozen such writes (device rules, cpuset).
func writeFile(path, value string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	_, err = unix.Write(fd, []byte(value))
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// notDelegated says whether dir is a cgroup2 cgroup whose parent does not
// enable controller ctrl for it.
func notDelegated(dir, ctrl string) bool {
	if _, err := os.Stat(filepath.Join(dir, "cgroup.controllers")); err != nil {
		return false // a v1 hierarchy
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "cgroup.subtree_control"))
	return err == nil && !slices.Contains(strings.Fields(string(b)), ctrl)
}
