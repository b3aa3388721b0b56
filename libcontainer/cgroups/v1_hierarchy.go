package cgroups

import (
	"os"
	"path/filepath"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/moby/sys/userns"
	"golang.org/x/sys/unix"
)

// v1Root is where a legacy or hybrid host mounts its v1 hierarchies: where
// the library's mode detection (a statfs of /sys/fs/cgroup) found them.
const v1Root = "/sys/fs/cgroup"

// v1Hierarchy lists the v1 controllers this host has mounted, in the
// library's order: cgroup1.Default's list, with one read of v1Root and a
// statfs of each entry telling which are there. Default finds the root again in
// /proc/self/mountinfo, lists the hugetlb page sizes even where no hugetlb
// hierarchy is mounted, and stats each of its fourteen controllers: ~40
// system calls that every create, exec and delete paid.
func v1Hierarchy() ([]cgroup1.Subsystem, error) {
	ents, err := os.ReadDir(v1Root)
	if err != nil {
		return nil, err
	}
	// An entry is a hierarchy if a cgroup file system is mounted there: a
	// systemd in a container leaves empty directories (and links to
	// them) for the controllers it could not mount.
	mounted := make(map[string]bool, len(ents))
	for _, e := range ents {
		if isV1Mount(filepath.Join(v1Root, e.Name())) {
			mounted[e.Name()] = true
		}
	}
	all := []cgroup1.Subsystem{
		cgroup1.NewNamed(v1Root, "systemd"),
		cgroup1.NewFreezer(v1Root),
		cgroup1.NewPids(v1Root),
		cgroup1.NewNetCls(v1Root),
		cgroup1.NewNetPrio(v1Root),
		cgroup1.NewPerfEvent(v1Root),
		cgroup1.NewCpuset(v1Root),
		cgroup1.NewCpu(v1Root),
		cgroup1.NewCpuacct(v1Root),
		cgroup1.NewMemory(v1Root),
		cgroup1.NewBlkio(v1Root),
		cgroup1.NewRdma(v1Root),
	}
	// As Default: no devices controller in a user namespace, whose root
	// may not change it.
	if !userns.RunningInUserNS() {
		all = append(all, cgroup1.NewDevices(v1Root))
	}
	var out []cgroup1.Subsystem
	for _, s := range all {
		if mounted[subsystemDir(s)] {
			out = append(out, s)
		}
	}
	if mounted["hugetlb"] {
		switch h, err := cgroup1.NewHugetlb(v1Root); {
		case err == nil:
			out = append(out, h)
		case !os.IsNotExist(err):
			return nil, err
		}
	}
	return out, nil
}

// subsystemDir is the directory name of a controller's hierarchy under
// v1Root ("cpu", "net_cls", "systemd").
func subsystemDir(s cgroup1.Subsystem) string {
	if p, ok := s.(interface{ Path(string) string }); ok {
		return filepath.Base(p.Path("/"))
	}
	return string(s.Name())
}

// isV1Mount reports whether a v1 cgroup hierarchy is mounted at dir.
func isV1Mount(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC
}
