package specs

import (
	"fmt"
	"strconv"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/sched"
)

// scheduling checks how the process asks to be run: process.scheduler,
// process.ioPriority and process.execCPUAffinity.
func scheduling(p *rspec.Process) error {
	return first(
		func() error { return scheduler(p.Scheduler) },
		func() error { return ioPriority(p.IOPriority) },
		func() error { return execCPUAffinity(p.ExecCPUAffinity) },
	)
}

func scheduler(sc *rspec.Scheduler) error {
	if sc == nil {
		return nil
	}
	const f = "process.scheduler."
	if sc.Policy == "SCHED_ISO" {
		return errs.Field(f+"policy", string(sc.Policy), "use SCHED_OTHER or SCHED_BATCH",
			"no such policy in Linux (SCHED_ISO was never merged)")
	}
	if _, err := sched.Attr(sc); err != nil {
		return err
	}
	if sc.Nice < -20 || sc.Nice > 19 {
		return errs.Field(f+"nice", strconv.Itoa(int(sc.Nice)), "use a nice value from -20 to 19", "out of range")
	}
	realtime := sc.Policy == rspec.SchedFIFO || sc.Policy == rspec.SchedRR
	switch {
	case realtime && (sc.Priority < 1 || sc.Priority > 99):
		return errs.Field(f+"priority", strconv.Itoa(int(sc.Priority)), "use a priority from 1 to 99 with "+string(sc.Policy), "out of range")
	case !realtime && sc.Priority != 0:
		return errs.Field(f+"priority", strconv.Itoa(int(sc.Priority)),
			"leave priority 0: only SCHED_FIFO and SCHED_RR have static priorities (nice sets the others')", "not used by %s", sc.Policy)
	}
	if sc.Policy != rspec.SchedDeadline {
		if sc.Runtime != 0 || sc.Deadline != 0 || sc.Period != 0 {
			return errs.Field(f+"runtime", fmt.Sprintf("runtime %d, deadline %d, period %d", sc.Runtime, sc.Deadline, sc.Period),
				"remove them, or use policy SCHED_DEADLINE", "runtime, deadline and period are for SCHED_DEADLINE only")
		}
		return nil
	}
	// The kernel's own checks (__checkparam_dl): a runtime of at least
	// 1024 ns, runtime <= deadline <= period (a period of 0 means the
	// deadline).
	period := sc.Period
	if period == 0 {
		period = sc.Deadline
	}
	if sc.Runtime < 1024 || sc.Deadline < sc.Runtime || period < sc.Deadline {
		return errs.Field(f+"runtime", fmt.Sprintf("runtime %d, deadline %d, period %d", sc.Runtime, sc.Deadline, sc.Period),
			"SCHED_DEADLINE needs 1024 <= runtime <= deadline <= period (nanoseconds; period 0 means the deadline)", "inconsistent deadline parameters")
	}
	return nil
}

func ioPriority(io *rspec.LinuxIOPriority) error {
	if io == nil {
		return nil
	}
	if _, ok := sched.IOClass(io.Class); !ok {
		return errs.Field("process.ioPriority.class", string(io.Class), "use one of "+sched.IOClassNames, "unknown I/O priority class")
	}
	if io.Priority < 0 || io.Priority > 7 {
		return errs.Field("process.ioPriority.priority", strconv.Itoa(io.Priority), "use a priority from 0 (highest) to 7 (lowest)", "out of range")
	}
	return nil
}

func execCPUAffinity(a *rspec.CPUAffinity) error {
	if a == nil {
		return nil
	}
	if err := cpuList("process.execCPUAffinity.initial", a.Initial); err != nil {
		return err
	}
	return cpuList("process.execCPUAffinity.final", a.Final)
}
