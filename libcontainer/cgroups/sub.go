package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gorun/gorun/libcontainer/errs"
)

// ParseSubCgroups reads `exec --cgroup` values, runc's format
// "[CONTROLLER[,CONTROLLER...]:]PATH": PATH is a cgroup below the
// container's, in the hierarchies of the controllers named, or in every
// hierarchy (key "") without any.
func ParseSubCgroups(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	subs := make(map[string]string, len(values))
	for _, v := range values {
		ctrls, path, hasCtrls := strings.Cut(v, ":")
		if !hasCtrls {
			ctrls, path = "", v
		}
		path = strings.TrimPrefix(path, "/")
		if path == "" || !filepath.IsLocal(path) {
			return nil, errs.Field("--cgroup", v, `name a cgroup below the container's, e.g. "sub" or "memory:sub"`, "not a path inside the container's cgroup")
		}
		for _, c := range strings.Split(ctrls, ",") {
			if _, dup := subs[c]; dup {
				if c == "" {
					return nil, errs.Field("--cgroup", v, "give one --cgroup without a controller", "a second sub-cgroup for every hierarchy")
				}
				return nil, errs.Field("--cgroup", v, "give each controller one sub-cgroup", "controller %q named twice", c)
			}
			subs[c] = path
		}
	}
	return subs, nil
}

// Sub returns the placement in the sub-cgroups subs (see ParseSubCgroups)
// of p's cgroup. Each must exist: exec does not create cgroups.
func (p Placement) Sub(subs map[string]string) (Placement, error) {
	used := make(map[string]bool, len(subs))
	pick := func(ctrls []string) string {
		for _, c := range ctrls {
			if s, ok := subs[c]; ok {
				used[c] = true
				return s
			}
		}
		used[""] = true
		return subs[""]
	}
	var out Placement
	for _, t := range p.Tasks {
		dir := filepath.Dir(t)
		// The hierarchy's mount point is named for its controllers:
		// /sys/fs/cgroup/cpu,cpuacct/..., /sys/fs/cgroup/systemd/...
		mount := strings.TrimPrefix(dir, v1Root+"/")
		mount, _, _ = strings.Cut(mount, "/")
		ctrls := strings.Split(mount, ",")
		if s := pick(ctrls); s != "" {
			dir = filepath.Join(dir, s)
		}
		out.Tasks = append(out.Tasks, filepath.Join(dir, "tasks"))
	}
	if p.Dir != "" {
		out.Dir = p.Dir
		if s := pick([]string{"unified"}); s != "" {
			out.Dir = filepath.Join(p.Dir, s)
		}
	}
	for c := range subs {
		if !used[c] {
			return Placement{}, errs.Field("--cgroup", c+":"+subs[c], "name a controller of a hierarchy the container has a cgroup in (see /proc/PID/cgroup)", "no such controller")
		}
	}
	for _, d := range out.dirs() {
		if _, err := os.Stat(d); err != nil {
			return Placement{}, &errs.Error{Field: "--cgroup", Value: d, Err: err, Hint: "exec does not create cgroups: make the sub-cgroup first"}
		}
	}
	return out, nil
}

// dirs are the cgroup directories of p.
func (p Placement) dirs() []string {
	ds := make([]string, 0, len(p.Tasks)+1)
	for _, t := range p.Tasks {
		ds = append(ds, filepath.Dir(t))
	}
	if p.Dir != "" {
		ds = append(ds, p.Dir)
	}
	return ds
}

// Join moves process pid, and all its threads, into p's cgroups by writing
// its pid into each cgroup.procs: the way for a process that did not place
// itself (see Placement for what that costs).
func (p Placement) Join(pid int) error {
	var errList []error
	for _, d := range p.dirs() {
		if err := writeFile(filepath.Join(d, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			errList = append(errList, fmt.Errorf("join %s: %w", d, err))
		}
	}
	return errors.Join(errList...)
}
