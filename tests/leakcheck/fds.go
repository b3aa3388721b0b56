package leakcheck

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// addFDs records the open file descriptors of this process by their
// readlink target (several fds may share one), labelled with the fd
// numbers. The fd used to read /proc/self/fd is left out.
func addFDs(s *Snapshot) {
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		return
	}
	defer f.Close()
	own := int(f.Fd())
	names, _ := f.Readdirnames(-1)
	byTarget := make(map[string][]int)
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd == own {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + name)
		if err != nil {
			continue // closed meanwhile
		}
		byTarget[target] = append(byTarget[target], fd)
	}
	for target, fds := range byTarget {
		sort.Ints(fds)
		nums := make([]string, len(fds))
		for i, fd := range fds {
			nums[i] = strconv.Itoa(fd)
		}
		key := "fd: " + target
		s.items[key] = len(fds)
		s.labels[key] = fmt.Sprintf("fd: %s (fd %s)", target, strings.Join(nums, ", "))
	}
}
