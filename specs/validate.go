package specs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
)

// Validate checks s, loaded from bundle, and returns the first problem it
// finds as an *errs.Error naming the config.json field, or nil. Checks run
// in a fixed order: ociVersion, root, process, mounts, hooks, linux.
// needProcess says the caller will start s.Process (create, run); then a
// process with args is required. A process that is present is always
// checked. The rootfs is looked at on disk (stat only); nothing else is.
func Validate(s *rspec.Spec, bundle string, needProcess bool) error {
	if s == nil {
		return errs.Field(ConfigName, "", "load the config with specs.Load", "no config")
	}
	v := validator{s: s, bundle: bundle, needProcess: needProcess}
	for _, check := range []func() error{
		v.version,
		v.root,
		v.process,
		v.mounts,
		v.hooks,
		v.linux,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

type validator struct {
	s           *rspec.Spec
	bundle      string
	needProcess bool
}

// first runs checks in order and returns the first error.
func first(checks ...func() error) error {
	for _, c := range checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) version() error {
	ver := v.s.Version
	if ver == "" {
		return errs.Field("ociVersion", ver,
			fmt.Sprintf("set ociVersion to %q", rspec.Version), "missing")
	}
	major, _, _ := strings.Cut(ver, ".")
	if n, err := strconv.Atoi(major); err != nil || n != rspec.VersionMajor || major != strconv.Itoa(n) {
		return errs.Field("ociVersion", ver,
			fmt.Sprintf("gorun supports runtime-spec 1.x; set ociVersion to %q", rspec.Version),
			"unsupported version: major version must be %d", rspec.VersionMajor)
	}
	return nil
}

func (v *validator) root() error {
	r := v.s.Root
	if r == nil {
		return errs.Field("root", "", `add "root": {"path": "rootfs"}`, "missing")
	}
	if r.Path == "" {
		return errs.Field("root.path", "", `set root.path to the rootfs directory, e.g. "rootfs"`, "empty")
	}
	if strings.IndexByte(r.Path, 0) >= 0 {
		return errs.Field("root.path", r.Path, "remove the NUL byte", "contains a NUL byte")
	}
	dir := r.Path
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(v.bundle, dir)
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errs.Field("root.path", r.Path,
			"create it and unpack a root filesystem into it, e.g. `docker export $(docker create busybox) | tar -C rootfs -xf -`",
			"rootfs directory %s does not exist", dir)
	case errors.Is(err, syscall.ELOOP):
		return errs.Field("root.path", r.Path, "fix the symlinks on the rootfs path",
			"rootfs %s: symlink loop (too many levels of symbolic links)", dir)
	case err != nil:
		return errs.Field("root.path", r.Path, "check the rootfs path and its permissions", "%w", err)
	case !fi.IsDir():
		return errs.Field("root.path", r.Path, "root.path must name a directory holding the root filesystem",
			"rootfs %s is not a directory", dir)
	}
	if isHostRoot(dir, fi) {
		return errs.Field("root.path", r.Path, "point root.path at a separate root filesystem directory",
			"rootfs %s resolves to the host's root directory", dir)
	}
	return nil
}

// isHostRoot says whether dir (already stat'ed as fi) is the host's "/".
func isHostRoot(dir string, fi os.FileInfo) bool {
	if abs, err := filepath.Abs(dir); err == nil {
		if real, err := filepath.EvalSymlinks(abs); err == nil && real == "/" {
			return true
		}
	}
	rfi, err := os.Stat("/")
	return err == nil && os.SameFile(fi, rfi)
}

func (v *validator) process() error {
	p := v.s.Process
	if p == nil {
		if v.needProcess {
			return errs.Field("process", "", `add a "process" object with args and cwd, as gorun spec writes it`, "missing")
		}
		return nil
	}
	return first(
		func() error { return v.args(p) },
		func() error { return cwd(p) },
		func() error { return env(p) },
		func() error { return caps(p.Capabilities) },
		func() error { return rlimitsOK(p.Rlimits) },
		func() error { return processMisc(p) },
		func() error { return scheduling(p) },
	)
}

func (v *validator) args(p *rspec.Process) error {
	if len(p.Args) == 0 {
		if v.needProcess {
			return errs.Field("process.args", "", `set process.args to the command to run, e.g. ["sh"]`, "empty")
		}
		return nil
	}
	if p.Args[0] == "" {
		return errs.Field("process.args[0]", "", "process.args[0] must name the program to run", "empty")
	}
	for i, a := range p.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return errs.Field(fmt.Sprintf("process.args[%d]", i), a, "remove the NUL byte", "contains a NUL byte")
		}
	}
	return nil
}

func cwd(p *rspec.Process) error {
	switch {
	case p.Cwd == "":
		return errs.Field("process.cwd", "", `set process.cwd to an absolute path in the container, e.g. "/"`, "empty")
	case !path.IsAbs(p.Cwd):
		return errs.Field("process.cwd", p.Cwd, fmt.Sprintf("use an absolute path in the container, e.g. %q", path.Join("/", p.Cwd)), "not an absolute path")
	case strings.IndexByte(p.Cwd, 0) >= 0:
		return errs.Field("process.cwd", p.Cwd, "remove the NUL byte", "contains a NUL byte")
	}
	return nil
}

func env(p *rspec.Process) error {
	for i, e := range p.Env {
		field := fmt.Sprintf("process.env[%d]", i)
		k, _, ok := strings.Cut(e, "=")
		switch {
		case !ok:
			return errs.Field(field, e, `write it as "NAME=value"`, "no '=' in environment entry")
		case k == "":
			return errs.Field(field, e, `write it as "NAME=value"`, "empty variable name")
		case strings.IndexByte(e, 0) >= 0:
			return errs.Field(field, e, "remove the NUL byte", "contains a NUL byte")
		}
	}
	return nil
}

func caps(c *rspec.LinuxCapabilities) error {
	if c == nil {
		return nil
	}
	sets := []struct {
		name  string
		names []string
	}{
		{"bounding", c.Bounding},
		{"effective", c.Effective},
		{"inheritable", c.Inheritable},
		{"permitted", c.Permitted},
		{"ambient", c.Ambient},
	}
	known := func(n string) bool { _, ok := capabilities[n]; return ok }
	for _, set := range sets {
		for i, n := range set.names {
			if !known(n) {
				return errs.Field(fmt.Sprintf("process.capabilities.%s[%d]", set.name, i), n,
					suggestUpper(n, "CAP_", known, "use a name from capabilities(7), e.g. CAP_CHOWN"),
					"unknown capability")
			}
		}
	}
	return nil
}

func rlimitsOK(rl []rspec.POSIXRlimit) error {
	seen := map[string]int{}
	known := func(n string) bool { return rlimits[n] }
	for i, r := range rl {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		if !rlimits[r.Type] {
			return errs.Field(field+".type", r.Type,
				suggestUpper(r.Type, "RLIMIT_", known, "use one of "+oneOf(rlimits)),
				"unknown rlimit type")
		}
		if j, dup := seen[r.Type]; dup {
			return errs.Field(field+".type", r.Type,
				fmt.Sprintf("remove one of the entries; process.rlimits[%d] sets it already", j),
				"duplicate rlimit type")
		}
		seen[r.Type] = i
		if r.Soft > r.Hard {
			return errs.Field(field+".soft", strconv.FormatUint(r.Soft, 10),
				"lower soft or raise hard: the soft limit cannot exceed the hard limit",
				"soft limit is above the hard limit %d", r.Hard)
		}
	}
	return nil
}

func processMisc(p *rspec.Process) error {
	if a := p.OOMScoreAdj; a != nil && (*a < -1000 || *a > 1000) {
		return errs.Field("process.oomScoreAdj", strconv.Itoa(*a), "use a value from -1000 to 1000",
			"out of range")
	}
	if m := p.User.Umask; m != nil && *m > 0o777 {
		return errs.Field("process.user.umask", strconv.FormatUint(uint64(*m), 10),
			"use a permission mask from 0 to 511 (octal 0777); JSON has no octal, so write 18 for 022",
			"out of range")
	}
	return nil
}
