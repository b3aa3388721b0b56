package pod

import (
	"errors"
	"os"
	"path"
	"path/filepath"

	"github.com/moby/sys/mountinfo"

	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
)

// DefaultCgroupParent is where pod cgroups go without --cgroup-parent. It
// is outside libcontainer's default parent (/gorun), which libcontainer
// removes once empty: a pod's cgroup must outlive its containers. gorun
// removes this directory itself when its last pod goes.
const DefaultCgroupParent = "/gorun-pods"

// infraCgroup is the leaf, under the pod's cgroup, of the infra process
// (cgroup v2 allows processes only in leaves). '@' is not allowed in a
// container id, so no container's cgroup can take the name.
const infraCgroup = "@infra"

// cgroupPath is the cgroup of pod p: parent/NAME-ID8. The id part keeps
// pods of the same name under two gorun roots apart.
func cgroupPath(parent, name, id string) (string, error) {
	if parent == "" {
		parent = DefaultCgroupParent
	}
	if !path.IsAbs(parent) {
		return "", errs.Field("--cgroup-parent", parent, "give an absolute cgroup path, e.g. /mypods", "not an absolute path")
	}
	p, err := cgroups.ResolvePath(parent+"/"+name+"-"+id[:8], name)
	if err != nil {
		return "", errs.Wrap("--cgroup-parent", err)
	}
	return p, nil
}

// containerCgroup is the cgroup of container id in pod p.
func (p *Pod) containerCgroup(id string) string { return path.Join(p.Cgroup, id) }

// makeCgroup creates the pod's cgroup, without limits of its own: each
// container's cgroup carries its limits.
func makeCgroup(p string) error {
	_, err := cgroups.New(p, nil)
	return err
}

// joinInfraCgroup puts the infra process in its leaf of the pod cgroup.
func joinInfraCgroup(podCgroup string, pid int) error {
	m, err := cgroups.New(path.Join(podCgroup, infraCgroup), nil)
	if err != nil {
		return err
	}
	return m.Apply(pid)
}

// removeCgroup removes the pod's cgroup (its containers' are gone by then)
// and the infra leaf; then the default parent, if this was its last pod.
func removeCgroup(p string) error {
	for _, cg := range []string{path.Join(p, infraCgroup), p} {
		m, err := cgroups.Load(cg)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if pids, _ := m.Pids(); len(pids) > 0 {
			return &errs.Error{Field: "pod cgroup", Value: cg, Err: errors.New("processes are still in it"), Hint: "retry with `gorun pod rm --force`"}
		}
		if err := m.Destroy(); err != nil {
			return &errs.Error{Field: "pod cgroup", Value: cg, Err: err}
		}
	}
	if path.Dir(p) == DefaultCgroupParent {
		removeEverywhere(DefaultCgroupParent)
	}
	return nil
}

// removeEverywhere removes cgroup directory p on every hierarchy where it
// is empty. A concurrent create that loses its parent this way retries
// (cgroups.New).
func removeEverywhere(p string) {
	ms, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return
	}
	for _, m := range ms {
		os.Remove(filepath.Join(m.Mountpoint, p))
	}
}

// missingParents lists the ancestors of cgroup p (below the root, other
// than the default parent, which removeCgroup handles) that exist in no
// hierarchy yet, deepest first.
func missingParents(p string) []string {
	ms, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil
	}
	var out []string
	for d := path.Dir(p); d != "/" && d != "." && d != DefaultCgroupParent; d = path.Dir(d) {
		exists := false
		for _, m := range ms {
			if _, err := os.Stat(filepath.Join(m.Mountpoint, d)); err == nil {
				exists = true
				break
			}
		}
		if exists {
			break
		}
		out = append(out, d)
	}
	return out
}
