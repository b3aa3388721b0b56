package rootfs

import (
	"testing"

	"github.com/moby/sys/mountinfo"
)

// TestVisibleMounts: of cgroup mounts stacked on one mount point (a
// systemd in a container mounts its /sys/fs/cgroup over the one it was
// given), the container gets the one on top, once.
func TestVisibleMounts(t *testing.T) {
	in := []*mountinfo.Info{
		{ID: 1, Mountpoint: "/sys/fs/cgroup/memory", VFSOptions: "rw,memory"},
		{ID: 2, Mountpoint: "/sys/fs/cgroup/blkio", VFSOptions: "rw,blkio"},
		{ID: 3, Mountpoint: "/sys/fs/cgroup/memory", VFSOptions: "rw,memory"},
		{ID: 4, Mountpoint: "/sys/fs/cgroup/unified", FSType: "cgroup2"},
	}
	var got []int
	for _, m := range visibleMounts(in) {
		got = append(got, m.ID)
	}
	if len(got) != 3 || got[0] != 2 || got[1] != 3 || got[2] != 4 {
		t.Errorf("visible mounts %v, want [2 3 4]", got)
	}
}
