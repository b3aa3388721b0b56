package sched

import (
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The name lists given in hints and by `gorun features` are exactly the
// names the switches know.
func TestNameLists(t *testing.T) {
	for _, tc := range []struct {
		list  string
		known func(string) bool
	}{
		{PolicyNames, func(n string) bool { _, ok := Policy(rspec.LinuxSchedulerPolicy(n)); return ok }},
		{FlagNames, func(n string) bool { _, ok := Flag(rspec.LinuxSchedulerFlag(n)); return ok }},
		{IOClassNames, func(n string) bool { _, ok := IOClass(rspec.IOPriorityClass(n)); return ok }},
		{MemoryModeNames, func(n string) bool { _, ok := MemoryMode(rspec.MemoryPolicyModeType(n)); return ok }},
		{MemoryFlagNames, func(n string) bool { _, ok := MemoryFlag(rspec.MemoryPolicyFlagType(n)); return ok }},
	} {
		for _, n := range strings.Split(tc.list, ", ") {
			if !tc.known(n) {
				t.Errorf("%s is listed but not known", n)
			}
		}
	}
	for _, n := range []string{"SCHED_ISO", "", "sched_fifo"} {
		if _, ok := Policy(rspec.LinuxSchedulerPolicy(n)); ok {
			t.Errorf("Policy(%q) known", n)
		}
	}
}

func TestAttr(t *testing.T) {
	a, err := Attr(&rspec.Scheduler{Policy: rspec.SchedDeadline, Runtime: 1e6, Deadline: 2e6, Period: 4e6,
		Flags: []rspec.LinuxSchedulerFlag{rspec.SchedFlagResetOnFork, rspec.SchedFlagDLOverrun}})
	if err != nil {
		t.Fatal(err)
	}
	want := unix.SchedAttr{Policy: unix.SCHED_DEADLINE, Flags: unix.SCHED_FLAG_RESET_ON_FORK | unix.SCHED_FLAG_DL_OVERRUN,
		Runtime: 1e6, Deadline: 2e6, Period: 4e6}
	if *a != want {
		t.Errorf("Attr = %+v, want %+v", *a, want)
	}
	if _, err := Attr(&rspec.Scheduler{Policy: rspec.SchedOther, Flags: []rspec.LinuxSchedulerFlag{"SCHED_FLAG_X"}}); err == nil ||
		!strings.Contains(err.Error(), "process.scheduler.flags[0]") {
		t.Errorf("unknown flag: %v", err)
	}
}
