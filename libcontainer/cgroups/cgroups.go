// Package cgroups places a container in the cgroup that linux.cgroupsPath
// names and applies linux.resources there, through
// github.com/containerd/cgroups/v3 on v1 (legacy), hybrid and unified hosts.
package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	cg "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
)

// DefaultParent is where a relative or empty linux.cgroupsPath is placed.
const DefaultParent = "/gorun"

// unifiedRoot is where cgroup2 is mounted on a unified host.
const unifiedRoot = "/sys/fs/cgroup"

// Manager is one container's cgroup.
type Manager interface {
	// Path is the cgroup path, relative to each hierarchy's root.
	Path() string
	// Apply moves pid into the cgroup on every hierarchy.
	Apply(pid int) error
	// Set applies resources to the cgroup.
	Set(r *rspec.LinuxResources) error
	// Pids lists every process in the cgroup and its descendants.
	Pids() ([]int, error)
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
	if path.IsAbs(cgroupsPath) {
		return path.Clean(cgroupsPath), nil
	}
	return path.Join(DefaultParent, cgroupsPath), nil
}

// New creates the cgroup at p (from ResolvePath) with resources r.
func New(p string, r *rspec.LinuxResources) (Manager, error) {
	return retryOnVanishedParent(func() (Manager, error) { return create(p, r) })
}

func create(p string, r *rspec.LinuxResources) (Manager, error) {
	if cg.Mode() == cg.Unified {
		var res *cgroup2.Resources
		if r != nil {
			res = cgroup2.ToResources(r)
		} else {
			res = &cgroup2.Resources{}
		}
		m, err := cgroup2.NewManager(unifiedRoot, p, res)
		if err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", p, err)
		}
		return &v2{path: p, m: m}, nil
	}
	r = withDefaultDevices(r)
	c, err := cgroup1.New(cgroup1.StaticPath(p), r)
	if err != nil {
		// Remove what the library made before it failed.
		if l, lerr := cgroup1.Load(cgroup1.StaticPath(p), cgroup1.WithHierarchy(cgroup1.Default)); lerr == nil {
			l.Delete()
		}
		return nil, explain(p, err)
	}
	return &v1{path: p, c: c}, nil
}

// Load opens the existing cgroup at p. A cgroup that is gone is reported
// with os.ErrNotExist.
func Load(p string) (Manager, error) {
	if cg.Mode() == cg.Unified {
		m, err := cgroup2.Load(p, cgroup2.WithMountpoint(unifiedRoot))
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path.Join(unifiedRoot, p)); err != nil {
			return nil, err
		}
		return &v2{path: p, m: m}, nil
	}
	c, err := cgroup1.Load(cgroup1.StaticPath(p), cgroup1.WithHierarchy(cgroup1.Default))
	if err != nil {
		if errors.Is(err, cgroup1.ErrCgroupDeleted) {
			return nil, fmt.Errorf("cgroup %s: %w", p, os.ErrNotExist)
		}
		return nil, err
	}
	return &v1{path: p, c: c}, nil
}

func explain(p string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return &errs.Error{Field: "linux.cgroupsPath", Value: p, Err: err, Hint: "the cgroup is not writable: run as root or use a delegated cgroup"}
	}
	return &errs.Error{Field: "linux.resources", Value: p, Err: err, Hint: "check the resource values against what this kernel's cgroup controllers accept"}
}

// defaultDevices are the devices every container may use whatever its
// linux.resources.devices say (runtime-spec config-linux.md "Default
// Devices", plus /dev/pts/* and /dev/ptmx for terminals), allowed after the
// config's own rules as runc and crun do.
var defaultDevices = []rspec.LinuxDeviceCgroup{
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},    // null
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"},    // zero
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(7), Access: "rwm"},    // full
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(8), Access: "rwm"},    // random
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(9), Access: "rwm"},    // urandom
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(0), Access: "rwm"},    // tty
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(1), Access: "rwm"},    // console
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(2), Access: "rwm"},    // ptmx
	{Allow: true, Type: "c", Major: i64(136), Minor: i64(-1), Access: "rwm"}, // pts
}

func i64(v int64) *int64 { return &v }

// withDefaultDevices returns a copy of r whose device rules are normalised
// (an empty type means "a", a missing major or minor means any) and end with
// the default devices.
func withDefaultDevices(r *rspec.LinuxResources) *rspec.LinuxResources {
	var c rspec.LinuxResources
	if r != nil {
		c = *r
	}
	devs := make([]rspec.LinuxDeviceCgroup, 0, len(c.Devices)+len(defaultDevices))
	for _, d := range c.Devices {
		devs = append(devs, NormalizeDevice(d))
	}
	c.Devices = append(devs, defaultDevices...)
	return &c
}

// NormalizeDevice fills in what a device rule leaves out: type "a" and
// major/minor -1 (any).
func NormalizeDevice(d rspec.LinuxDeviceCgroup) rspec.LinuxDeviceCgroup {
	if d.Type == "" {
		d.Type = "a"
	}
	if d.Major == nil {
		d.Major = i64(-1)
	}
	if d.Minor == nil {
		d.Minor = i64(-1)
	}
	if d.Access == "" {
		d.Access = "rwm"
	}
	return d
}
