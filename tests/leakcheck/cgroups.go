package leakcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// addCgroups records every cgroup directory (except hierarchy roots) of
// every mounted cgroup or cgroup2 hierarchy. A hierarchy mounted more than
// once is walked once, at its first mount point.
func addCgroups(s *Snapshot, mounts []mountEntry) {
	var points []string
	seen := make(map[string]bool)
	for _, m := range mounts {
		if m.fstype != "cgroup" && m.fstype != "cgroup2" {
			continue
		}
		id := m.dev + " " + m.root
		if seen[id] {
			continue
		}
		seen[id] = true
		points = append(points, m.point)
	}
	dirs := make([][]string, len(points))
	var wg sync.WaitGroup
	for i, p := range points {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i] = subdirs(p)
		}()
	}
	wg.Wait()
	for i, p := range points {
		for _, rel := range dirs[i] {
			s.add(fmt.Sprintf("cgroup: %s", filepath.Join(p, rel)), "")
		}
	}
}

// subdirs returns the paths, relative to root, of all directories below
// root. It reads directory entries only: no stat of the many control files.
func subdirs(root string) []string {
	var out []string
	var walk func(rel string)
	walk = func(rel string) {
		f, err := os.Open(filepath.Join(root, rel))
		if err != nil {
			return // removed meanwhile
		}
		entries, _ := f.ReadDir(-1)
		f.Close()
		for _, e := range entries {
			if e.IsDir() {
				r := filepath.Join(rel, e.Name())
				out = append(out, r)
				walk(r)
			}
		}
	}
	walk("")
	return out
}
