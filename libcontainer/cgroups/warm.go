package cgroups

import (
	"bufio"

	cg "github.com/containerd/cgroups/v3"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Warm writes this process's pid into the cgroup it is already in: a
// no-op move that makes the kernel start the RCU grace period that the
// first write into any cgroup.procs waits for (5-15 ms on an idle host).
// Run in a goroutine at the start of create or exec, the wait overlaps the
// work before the container's own pid is written, which then costs
// microseconds. Errors are ignored: it is only an optimisation.
func Warm() {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return
	}
	defer f.Close()
	var target string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "7:pids:/user.slice" on v1, "0::/user.slice" on v2.
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[1] == "pids":
			target = filepath.Join("/sys/fs/cgroup/pids", parts[2])
		case parts[0] == "0" && parts[1] == "" && target == "" && cg.Mode() == cg.Unified:
			target = filepath.Join("/sys/fs/cgroup", parts[2])
		}
	}
	if target == "" {
		return
	}
	w, err := os.OpenFile(filepath.Join(target, "cgroup.procs"), os.O_WRONLY, 0)
	if err != nil {
		return
	}
	w.WriteString(strconv.Itoa(os.Getpid()))
	w.Close()
}
