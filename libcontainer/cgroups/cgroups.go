// Package cgroups places a container in the cgroup that linux.cgroupsPath
// names and applies linux.resources there, through
// github.com/containerd/cgroups/v3, on the three host layouts: cgroup v1
// (legacy), hybrid (v1 controllers plus a controller-less cgroup2 at
// /sys/fs/cgroup/unified) and unified cgroup v2. The layout is detected at
// run time.
//
// The library creates and removes the directories, moves processes, reads
// statistics and OOM events, and loads the eBPF device filter on v2. What
// is written into the control files gorun computes itself (v1Settings,
// v2Settings), because the library's own conversion drops or mangles
// several fields; each write carries the spec field it comes from, which
// errors name.
//
// On a hybrid host the container also gets a cgroup in the cgroup2
// hierarchy, as runc gives it: /proc/PID/cgroup then shows the container's
// path on its 0:: line (and its cgroup namespace hides the host's), the
// hugetlb controller, which this kind of host has only there, can limit it,
// linux.resources.unified can set cgroup2 files, and cgroup.kill kills the
// whole container at once.
package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	cg "github.com/containerd/cgroups/v3"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// DefaultParent is where a relative or empty linux.cgroupsPath is placed.
const DefaultParent = "/gorun"

// Manager is one container's cgroup.
type Manager interface {
	// Path is the cgroup path, relative to each hierarchy's root.
	Path() string
	// Apply moves pid into the cgroup on every hierarchy.
	Apply(pid int) error
	// Placement says how a new process can be born in the cgroup, or
	// move itself there, instead of being moved by Apply.
	Placement() Placement
	// Set applies changed resources to the live cgroup (gorun update):
	// everything but the device rules.
	Set(r *rspec.LinuxResources) error
	// Pids lists every process in the cgroup and its descendants.
	Pids() ([]int, error)
	// Signal sends sig to every process in the cgroup.
	Signal(sig unix.Signal) error
	Freeze() error
	Thaw() error
	// Stats reads resource usage.
	Stats() (*Stats, error)
	// OOMEvents signals each OOM kill in the cgroup.
	OOMEvents() (<-chan struct{}, error)
	// Destroy removes the cgroup from every hierarchy. It is not an error
	// if it is already gone.
	Destroy() error
}

// Placement is how a process joins the cgroup without another process
// writing its pid into cgroup.procs. That write takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and the first such write after an
// idle spell waits for an RCU grace period: ~10 ms here, on whatever
// hierarchy it comes first (measured: every later write in the next few
// milliseconds costs microseconds). Two ways need no such write lock:
//   - a single-threaded process writing "0" into a v1 hierarchy's "tasks"
//     file moves its one thread, which the kernel does under cgroup_mutex
//     alone (0.3 ms for all seven hierarchies here); gorun's child does it
//     in nsenter, before the Go runtime starts its threads;
//   - clone3(CLONE_INTO_CGROUP) starts the child in a cgroup2 cgroup.
type Placement struct {
	// Tasks are the cgroup's v1 "tasks" files, one per hierarchy.
	Tasks []string `json:"tasks,omitempty"`
	// Dir is the cgroup's cgroup2 directory, for CLONE_INTO_CGROUP ("" on
	// a legacy host).
	Dir string `json:"dir,omitempty"`
}

// IsZero reports whether p places nowhere.
func (p Placement) IsZero() bool { return len(p.Tasks) == 0 && p.Dir == "" }

// removeCgroupDir removes a cgroup directory, its child cgroups first. The
// kernel refuses (EBUSY) while a process is in it, and gorun's caller kills
// and retries then. The library's Delete reads every cgroup.procs of the
// tree before removing (0.65 ms per delete here, where the kernel makes the
// same check) and retries a refused removal after sleeping (150 ms).
func removeCgroupDir(dir string) error {
	err := unix.Rmdir(dir)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	entries, rerr := os.ReadDir(dir)
	if rerr != nil {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	children := false
	for _, e := range entries {
		if e.IsDir() {
			children = true
			if cerr := removeCgroupDir(filepath.Join(dir, e.Name())); cerr != nil {
				return cerr
			}
		}
	}
	if !children {
		return fmt.Errorf("remove cgroup %s: %w (a process is still in it)", dir, err)
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	return nil
}

// host is this machine's cgroup layout.
type host struct {
	mode cg.CGMode
	// unified is the cgroup2 mount point: /sys/fs/cgroup on a unified
	// host, /sys/fs/cgroup/unified on a hybrid one, "" on a legacy one.
	unified string
}

func detect() (host, error) {
	switch m := cg.Mode(); m {
	case cg.Unified:
		return host{mode: m, unified: "/sys/fs/cgroup"}, nil
	case cg.Hybrid:
		return host{mode: m, unified: "/sys/fs/cgroup/unified"}, nil
	case cg.Legacy:
		return host{mode: m}, nil
	default:
		return host{}, &errs.Error{Field: "linux.cgroupsPath", Err: errors.New("no cgroup hierarchy is mounted at /sys/fs/cgroup"),
			Hint: "mount cgroup2 (or the v1 controllers) there"}
	}
}

// ResolvePath turns linux.cgroupsPath into the absolute cgroup path gorun
// uses: an absolute path is taken as it is, a relative one (or none) is put
// under DefaultParent.
func ResolvePath(cgroupsPath, id string) (string, error) {
	if cgroupsPath == "" {
		return path.Join(DefaultParent, id), nil
	}
	for _, el := range strings.Split(cgroupsPath, "/") {
		if el == ".." {
			return "", errs.Field("linux.cgroupsPath", cgroupsPath, "use a path without \"..\"", "must not leave the cgroup root")
		}
	}
	if strings.Contains(cgroupsPath, ":") && !strings.HasPrefix(cgroupsPath, "/") {
		return "", errs.Field("linux.cgroupsPath", cgroupsPath, "the slice:prefix:name form needs --systemd-cgroup and systemd", "looks like a systemd cgroup path")
	}
	p := path.Clean(cgroupsPath)
	if !path.IsAbs(p) {
		p = path.Join(DefaultParent, p)
	}
	if p == "/" {
		return "", errs.Field("linux.cgroupsPath", cgroupsPath, "name a cgroup below the root", "is the root cgroup")
	}
	return p, nil
}

// New creates the cgroup at p (from ResolvePath) with resources r. The
// resources are converted before anything is created, so a config the
// conversion rejects leaves nothing behind; neither does one the kernel
// rejects.
func New(p string, r *rspec.LinuxResources) (Manager, error) {
	h, create, err := prepare(p, r)
	if err != nil {
		return nil, err
	}
	// The parents a failed create made go again (all of them: one of its
	// settings was refused, nobody else is using them yet).
	top := missingAncestor(h.representative(), p)
	m, err := retryOnVanishedParent(create)
	if err != nil {
		if top != "" {
			removeEmptyAncestors(p, top)
		}
		RemoveEmptyParents(p)
		return nil, err
	}
	return m, nil
}

// prepare converts r for this host's layout and returns how to create the
// cgroup p with it: a config the conversion rejects fails here, before
// anything is made.
func prepare(p string, r *rspec.LinuxResources) (host, func() (Manager, error), error) {
	h, err := detect()
	if err != nil {
		return h, nil, err
	}
	if h.mode == cg.Unified {
		ss, err := v2Settings(r)
		if err != nil {
			return h, nil, err
		}
		var rules []rspec.LinuxDeviceCgroup
		if r != nil {
			rules = r.Devices
		}
		devs := v2DeviceRules(rules)
		return h, func() (Manager, error) { return newV2(h.unified, p, ss, devs) }, nil
	}
	o := v1Opts{hugetlbV2: r != nil && len(r.HugepageLimits) > 0 && hugetlbOnlyInV2(h)}
	ss, err := v1Settings(r, o)
	if err != nil {
		return h, nil, err
	}
	return h, func() (Manager, error) { return newV1(h, p, ss) }, nil
}

// representative is the hierarchy in which New looks up which parents of a
// new cgroup exist: the cgroup2 one, or on a legacy host the memory
// controller's (all hierarchies are made alike).
func (h host) representative() string {
	if h.unified != "" {
		return h.unified
	}
	return "/sys/fs/cgroup/memory"
}

// Load opens the existing cgroup at p. A cgroup that is gone is reported
// with os.ErrNotExist.
func Load(p string) (Manager, error) {
	h, err := detect()
	if err != nil {
		return nil, err
	}
	if h.mode == cg.Unified {
		return loadV2(h.unified, p)
	}
	return loadV1(h, p)
}

// hugetlbOnlyInV2 reports whether, on a hybrid host, the hugetlb
// controller is not a v1 hierarchy but is available in the cgroup2 one.
func hugetlbOnlyInV2(h host) bool {
	if h.unified == "" {
		return false
	}
	if isV1Mount("/sys/fs/cgroup/hugetlb") {
		return false
	}
	return hasController(h.unified, "hugetlb")
}

// hasController reports whether dir's cgroup.controllers lists c.
func hasController(dir, c string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return false
	}
	for _, f := range strings.Fields(string(b)) {
		if f == c {
			return true
		}
	}
	return false
}

// enableControllers enables ctrls for the cgroup at p below the cgroup2
// mount point: in the cgroup.subtree_control of the root and of every
// ancestor of p, each time only those the level has (its
// cgroup.controllers).
func enableControllers(mount, p string, ctrls []string) error {
	if len(ctrls) == 0 {
		return nil
	}
	var ancestors []string
	for d := path.Dir(p); ; d = path.Dir(d) {
		ancestors = append(ancestors, d)
		if d == "/" {
			break
		}
	}
	for i := len(ancestors) - 1; i >= 0; i-- {
		if err := enableIn(filepath.Join(mount, ancestors[i]), ctrls); err != nil {
			return err
		}
	}
	return nil
}

func enableIn(dir string, ctrls []string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return err
	}
	have := strings.Fields(string(b))
	var add []string
	for _, c := range ctrls {
		for _, h := range have {
			if h == c {
				add = append(add, "+"+c)
			}
		}
	}
	if len(add) == 0 {
		return nil
	}
	// Best effort, as runc: a parent that holds processes (gorun in a
	// container with a cgroup namespace of its own, whose root is such a
	// cgroup) cannot hand any controller down, and one that refuses one
	// controller may take the others. A container that asks for no limit
	// needs none; one that does is told which controller is missing when
	// its setting is written.
	ctl := filepath.Join(dir, "cgroup.subtree_control")
	if err := writeFile(ctl, strings.Join(add, " ")); err != nil {
		for _, a := range add {
			if err := writeFile(ctl, a); err != nil {
				slog.Debug("cgroup v2: cannot enable a controller", "cgroup", dir, "controller", a[1:], "err", err)
			}
		}
	}
	return nil
}

func errField(field, value, what, hint string) error {
	return errs.Field(field, value, hint, "%s", what)
}

func explain(p string, err error) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, os.ErrPermission) {
		return &errs.Error{Field: "linux.cgroupsPath", Value: p, Err: err, Hint: "the cgroup is not writable: run as root or use a delegated cgroup"}
	}
	return &errs.Error{Field: "linux.cgroupsPath", Value: p, Err: err}
}
