package cgroups

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"

	cg "github.com/containerd/cgroups/v3"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// underDefaultParent reports whether p was placed by gorun under
// DefaultParent (which gorun then also removes once it is empty).
func underDefaultParent(p string) bool {
	return strings.HasPrefix(p, DefaultParent+"/")
}

// RemoveEmptyParents removes the directories between p (already removed)
// and DefaultParent, DefaultParent included, on every hierarchy, where they
// are empty. It does nothing for a cgroup outside DefaultParent: those
// parents belong to whoever chose the path. A directory that is not empty
// (another container is there) stays; a create racing with this retries
// (see New).
func RemoveEmptyParents(p string) {
	if underDefaultParent(p) {
		removeEmptyAncestors(p, DefaultParent)
	}
}

// removeEmptyAncestors removes the ancestors of p up to top, top included,
// on every hierarchy, where they are empty.
func removeEmptyAncestors(p, top string) {
	roots, err := hierarchyRoots()
	if err != nil {
		return
	}
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		for _, r := range roots {
			os.Remove(filepath.Join(r, dir))
		}
		if dir == top || dir == "/" {
			return
		}
	}
}

// missingAncestor returns the highest ancestor of p that does not exist
// yet ("" if the parent exists), looked up in the hierarchy at root: what
// creating p makes besides p, and a failed create removes again. On the
// usual path, the parent exists and this costs one stat.
func missingAncestor(root, p string) string {
	top := ""
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		if _, err := os.Stat(filepath.Join(root, d)); err == nil {
			break
		}
		top = d
	}
	return top
}

// hierarchyRoots lists the mount points of the cgroup hierarchies gorun
// places containers in: every v1 hierarchy and the cgroup2 one.
func hierarchyRoots() ([]string, error) {
	if cg.Mode() == cg.Unified {
		return []string{"/sys/fs/cgroup"}, nil
	}
	ms, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, err
	}
	roots := make([]string, 0, len(ms))
	for _, m := range ms {
		roots = append(roots, m.Mountpoint)
	}
	return roots, nil
}

// retryOnVanishedParent runs create again when it failed because a parent
// directory was removed under it by a concurrent RemoveEmptyParents: a
// path under it is gone (ENOENT), or a file of it, opened just before,
// reads ENODEV.
func retryOnVanishedParent(create func() (Manager, error)) (Manager, error) {
	var m Manager
	var err error
	for i := 0; i < 5; i++ {
		m, err = create()
		if err == nil || !(errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV)) {
			return m, err
		}
	}
	return m, err
}
