package cgroups

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"

	cg "github.com/containerd/cgroups/v3"
	"github.com/moby/sys/mountinfo"
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
	if !underDefaultParent(p) {
		return
	}
	roots, err := hierarchyRoots()
	if err != nil {
		return
	}
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		for _, r := range roots {
			os.Remove(filepath.Join(r, dir))
		}
		if dir == DefaultParent || dir == "/" {
			return
		}
	}
}

// hierarchyRoots lists the mount points of the cgroup hierarchies gorun
// places containers in.
func hierarchyRoots() ([]string, error) {
	if cg.Mode() == cg.Unified {
		return []string{unifiedRoot}, nil
	}
	ms, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup"))
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
// directory was removed under it by a concurrent RemoveEmptyParents.
func retryOnVanishedParent(create func() (Manager, error)) (Manager, error) {
	var m Manager
	var err error
	for i := 0; i < 5; i++ {
		if m, err = create(); err == nil || !errors.Is(err, os.ErrNotExist) {
			return m, err
		}
	}
	return m, err
}
