package leakcheck

import (
	"os"
	"path/filepath"
)

// addDirEntries records root/NAME for each entry of root (a missing root
// has none). A state root's @cache (compiled seccomp profiles, kept on
// purpose across containers) is not a leak.
func addDirEntries(s *Snapshot, kind, root string) {
	for _, name := range dirNames(root) {
		if kind == "state" && name == "@cache" {
			continue
		}
		s.add(kind+": "+filepath.Join(root, name), "")
	}
}

// addDirNames records NAME for each entry of root.
func addDirNames(s *Snapshot, kind, root string) {
	for _, name := range dirNames(root) {
		s.add(kind+": "+name, "")
	}
}

func dirNames(root string) []string {
	f, err := os.Open(root)
	if err != nil {
		return nil
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	return names
}
