// Package cpulist reads the kernel's list format for CPUs and memory nodes
// ("0-3,7": numbers and ranges, comma-separated), as cpuset files, taskset
// and the runtime-spec fields linux.resources.cpu.cpus, .mems,
// process.execCPUAffinity and linux.memoryPolicy.nodes write it.
package cpulist

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Max is one more than the highest number a list may name: the size of the
// kernel's CPU and node masks that gorun passes (CPU_SETSIZE).
const Max = 1024

// Parse returns the numbers list names, in the order written. An empty list
// names none.
func Parse(list string) ([]int, error) {
	if list == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, errA := strconv.ParseUint(lo, 10, 16)
		b, errB := a, error(nil)
		if isRange {
			b, errB = strconv.ParseUint(hi, 10, 16)
		}
		switch {
		case errA != nil || errB != nil || b < a:
			return nil, fmt.Errorf("malformed list element %q", part)
		case b >= Max:
			return nil, fmt.Errorf("%d is beyond the highest number gorun accepts (%d)", b, Max-1)
		}
		for n := a; n <= b; n++ {
			out = append(out, int(n))
		}
	}
	return out, nil
}

// Mask returns list as a bit mask, the form sched_setaffinity and
// set_mempolicy take.
func Mask(list string) (*unix.CPUSet, error) {
	ns, err := Parse(list)
	if err != nil {
		return nil, err
	}
	var set unix.CPUSet
	for _, n := range ns {
		set.Set(n)
	}
	return &set, nil
}
