package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Def describes one measured quantity.
type Def struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	Unit  string `json:"unit"` // "ms" or "KiB"
	// Reference quantities are measured on the host, without a runtime.
	Reference bool `json:"reference,omitempty"`
}

// hostRunner is the runner name of the references.
const hostRunner = "host"

// defs lists every quantity, in report order.
func (b *Bench) defs() []Def {
	gap := b.o.Gap.String()
	cgTitle := "cgroup setup"
	if b.cg != nil {
		cgTitle = b.cg.Title()
	}
	d := []Def{
		{Key: "run", Title: "run /bin/true to exit (incl. its delete)", Unit: "ms"},
		{Key: "run-idle", Title: "run /bin/true, after " + gap + " idle", Unit: "ms"},
		{Key: "run-seccomp", Title: "run /bin/true with `gorun spec`'s seccomp profile (as containerd and podman always pass one)", Unit: "ms"},
		{Key: "create", Title: "create", Unit: "ms"},
		{Key: "start", Title: "start", Unit: "ms"},
		{Key: "exit", Title: "process exit, after start returned", Unit: "ms"},
		{Key: "delete", Title: "delete (stopped)", Unit: "ms"},
		{Key: "create+start", Title: "create + start", Unit: "ms"},
		{Key: "lifecycle", Title: "create + start + exit + delete", Unit: "ms"},
		{Key: "create-idle", Title: "create, after " + gap + " idle", Unit: "ms"},
		{Key: "start-idle", Title: "start (idle variant)", Unit: "ms"},
		{Key: "exit-idle", Title: "process exit (idle variant)", Unit: "ms"},
		{Key: "delete-idle", Title: "delete (idle variant)", Unit: "ms"},
		{Key: "create+start-idle", Title: "create + start, after " + gap + " idle", Unit: "ms"},
		{Key: "lifecycle-idle", Title: "create + start + exit + delete, after " + gap + " idle", Unit: "ms"},
		{Key: "exec", Title: "exec true into a running container", Unit: "ms"},
		{Key: "state", Title: fmt.Sprintf("state, %d containers present", b.o.ListN), Unit: "ms"},
		{Key: "list", Title: fmt.Sprintf("list, %d containers present", b.o.ListN), Unit: "ms"},
		{Key: "parallel", Title: fmt.Sprintf("%d lifecycles (run) in parallel, wall time", b.o.Parallel), Unit: "ms"},
		{Key: "delete-force", Title: "delete --force of a running container", Unit: "ms"},
		{Key: "rss-runtime", Title: "peak RSS of the runtime process (create, ru_maxrss)", Unit: "KiB"},
		{Key: "rss-init", Title: "peak RSS of the waiting init (VmHWM reset when create returns, read before start)", Unit: "KiB"},
		{Key: "pss-init", Title: "PSS of the waiting init (smaps_rollup)", Unit: "KiB"},
		{Key: "pod", Title: "pod (--network none) + 2 containers: create, add, rm --force", Unit: "ms"},
		{Key: "pod-create", Title: "pod create --network none", Unit: "ms"},
		{Key: "pod-add", Title: "pod add of 2 containers (create + start each)", Unit: "ms"},
		{Key: "pod-rm", Title: "pod rm --force (2 running containers)", Unit: "ms"},
		{Key: "floor", Title: "floor: unshare --mount --uts --ipc --net --pid --fork chroot ROOTFS /bin/true", Unit: "ms", Reference: true},
		{Key: "floor-idle", Title: "floor, after " + gap + " idle", Unit: "ms", Reference: true},
		{Key: "cgroup", Title: cgTitle, Unit: "ms", Reference: true},
		{Key: "cgroup-idle", Title: cgTitle + ", after " + gap + " idle", Unit: "ms", Reference: true},
	}
	return d
}

// group is a set of scenarios measured together.
type group struct {
	name string
	run  func(b *Bench) error
}

var groups = []group{
	{"run", func(b *Bench) error { return b.runGroup("", 0) }},
	{"run-idle", func(b *Bench) error { return b.runGroup("-idle", b.o.Gap) }},
	{"run-seccomp", (*Bench).runSeccompGroup},
	{"phases", func(b *Bench) error { return b.phasesGroup("", 0) }},
	{"phases-idle", func(b *Bench) error { return b.phasesGroup("-idle", b.o.Gap) }},
	{"exec", (*Bench).execGroup},
	{"list", (*Bench).listGroup},
	{"parallel", (*Bench).parallelGroup},
	{"delete-force", (*Bench).deleteForceGroup},
	{"pod", (*Bench).podGroup},
}

func groupNames() []string {
	var n []string
	for _, g := range groups {
		n = append(n, g.name)
	}
	return n
}

func validGroup(name string) bool {
	for _, g := range groups {
		if g.name == name {
			return true
		}
	}
	return false
}

// runAll runs the selected groups in order.
func (b *Bench) runAll() error {
	for _, g := range groups {
		if b.o.Only != nil && !b.o.Only[g.name] {
			continue
		}
		t0 := time.Now()
		fmt.Fprintf(os.Stderr, "bench: %-13s ... ", g.name)
		err := g.run(b)
		fmt.Fprintf(os.Stderr, "%.1fs\n", time.Since(t0).Seconds())
		if err != nil {
			return fmt.Errorf("%s: %w", g.name, err)
		}
	}
	return nil
}

// allRuntimes, cgroupRuntimes: runner names.
var (
	allRuntimes    = []string{gorunName, runcName, crunName, crunNoCgName}
	cgroupRuntimes = []string{gorunName, runcName, crunName}
)

// interleave takes n samples of each runner, one runner after the other
// (A B C A B C ...), starting each round one runner later so that no
// runner always follows the same one. Before each sample it sleeps gap
// (not timed). A failed sample is recorded under scenario and does not stop
// the others.
func (b *Bench) interleave(n int, runners []string, gap time.Duration, scenario string, sample func(runner string) error) error {
	for i := 0; i < n; i++ {
		for k := range runners {
			if b.stop.Load() {
				return errInterrupted
			}
			r := runners[(i+k)%len(runners)]
			if gap > 0 {
				time.Sleep(gap)
			}
			if err := sample(r); err != nil {
				if errors.Is(err, errInterrupted) {
					return err
				}
				b.res.fail(scenario, r, err)
				if b.o.Verbose {
					fmt.Fprintf(os.Stderr, "\n  %s %s: %v", scenario, r, err)
				}
			}
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (b *Bench) record(scenario, runner string, v float64) {
	b.res.add(scenario, runner, v)
	if b.o.Verbose {
		fmt.Fprintf(os.Stderr, "\n  %-18s %-10s %9.3f", scenario, runner, v)
	}
}

// runGroup: `run` of /bin/true to exit, for each runtime, interleaved with
// the floor and the cgroup setup.
func (b *Bench) runGroup(suffix string, gap time.Duration) error {
	runners := append(append([]string(nil), allRuntimes...), "floor", "cgroup")
	return b.interleave(b.o.N, runners, gap, "run"+suffix, func(r string) error {
		switch r {
		case "floor":
			d, err := b.floor()
			if err != nil {
				b.res.fail("floor"+suffix, hostRunner, err)
				return nil
			}
			b.record("floor"+suffix, hostRunner, ms(d))
		case "cgroup":
			d, err := b.cg.sample()
			if err != nil {
				b.res.fail("cgroup"+suffix, hostRunner, err)
				return nil
			}
			b.record("cgroup"+suffix, hostRunner, ms(d))
		default:
			d, err := b.runToExit(b.byName[r], "run")
			if err != nil {
				return err
			}
			b.record("run"+suffix, r, ms(d))
		}
		return nil
	})
}

// runSeccompGroup: `run` of /bin/true whose config has a seccomp profile,
// for each runtime: loading the filter is part of every start.
func (b *Bench) runSeccompGroup() error {
	return b.interleave(b.o.N, allRuntimes, 0, "run-seccomp", func(r string) error {
		d, err := b.runToExitWith(b.byName[r], "run-seccomp", "true-seccomp")
		if err != nil {
			return err
		}
		b.record("run-seccomp", r, ms(d))
		return nil
	})
}

// runToExit runs `run --bundle B id` of /bin/true in the foreground and
// checks that the runtime removed the container's state.
func (b *Bench) runToExit(rt *Runtime, scenario string) (time.Duration, error) {
	return b.runToExitWith(rt, scenario, "true")
}

// runToExitWith is runToExit with the bundle of the given kind.
func (b *Bench) runToExitWith(rt *Runtime, scenario, kind string) (time.Duration, error) {
	c := &Container{rt: rt, root: rt.root(scenario), ID: rt.newID(), pidfd: -1}
	b.track(c)
	call, err := rt.invoke(c.root, "run", "--bundle", b.bundle(rt, kind), c.ID)
	if err != nil {
		return 0, err
	}
	if _, serr := os.Stat(filepath.Join(c.root, c.ID)); serr == nil {
		return 0, fmt.Errorf("%s run %s: state left under %s after the process exited", rt.Name, c.ID, c.root)
	}
	b.untrack(c)
	return call.Elapsed, nil
}

// phasesGroup: create, start, the process's exit and delete, timed
// separately; between create and start, the waiting init's memory.
func (b *Bench) phasesGroup(suffix string, gap time.Duration) error {
	return b.interleave(b.o.N, allRuntimes, gap, "lifecycle"+suffix, func(r string) (err error) {
		rt := b.byName[r]
		c, cc, err := rt.create("phases", b.bundle(rt, "true"))
		defer abandonOnError(c, &err)
		if err != nil {
			return err
		}
		// The issue asks for the init's peak between create and start:
		// reset its high-water mark when create returns (for every
		// runtime alike), so that the setup before does not count.
		rerr := resetPeakRSS(c.Pid)
		pss, perr := procPss(c.Pid)
		st, serr := procStatus(c.Pid, "VmHWM", "VmRSS")
		if serr == nil {
			serr = rerr
		}
		sc, err := c.start()
		if err != nil {
			return err
		}
		t0 := time.Now()
		if err := c.waitExit(10 * time.Second); err != nil {
			return err
		}
		exit := time.Since(t0)
		c.reap(time.Second)
		dc, err := c.delete(false)
		if err != nil {
			return err
		}
		b.record("create"+suffix, r, ms(cc.Elapsed))
		b.record("start"+suffix, r, ms(sc.Elapsed))
		b.record("exit"+suffix, r, ms(exit))
		b.record("delete"+suffix, r, ms(dc.Elapsed))
		b.record("create+start"+suffix, r, ms(cc.Elapsed+sc.Elapsed))
		b.record("lifecycle"+suffix, r, ms(cc.Elapsed+sc.Elapsed+exit+dc.Elapsed))
		if suffix == "" {
			b.record("rss-runtime", r, float64(cc.MaxRSSKB))
			if serr != nil {
				b.res.fail("rss-init", r, serr)
			} else {
				b.record("rss-init", r, float64(st["VmHWM"]))
			}
			if perr != nil {
				b.res.fail("pss-init", r, perr)
			} else {
				b.record("pss-init", r, float64(pss))
			}
		}
		return nil
	})
}

// running creates and starts a container running sleep (not timed).
func (b *Bench) running(rt *Runtime, scenario string) (_ *Container, err error) {
	c, _, err := rt.create(scenario, b.bundle(rt, "sleep"))
	defer abandonOnError(c, &err)
	if err != nil {
		return nil, err
	}
	if _, err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}

// abandonOnError deletes c (--force, best effort) if *err is set, so that
// a failed sample leaves nothing running.
func abandonOnError(c *Container, err *error) {
	if *err != nil && c != nil {
		if _, derr := c.delete(true); derr != nil {
			c.reap(time.Second)
		}
	}
}

// execGroup: `exec true` into one running container per runtime.
func (b *Bench) execGroup() error {
	targets := map[string]*Container{}
	var errs []error
	for _, r := range allRuntimes {
		c, err := b.running(b.byName[r], "exec")
		if err != nil {
			b.res.fail("exec", r, err)
			continue
		}
		targets[r] = c
	}
	var runners []string
	for _, r := range allRuntimes {
		if targets[r] != nil {
			runners = append(runners, r)
		}
	}
	err := b.interleave(b.o.N, runners, 0, "exec", func(r string) error {
		c := targets[r]
		call, err := c.rt.invoke(c.root, "exec", c.ID, "true")
		if err != nil {
			return err
		}
		b.record("exec", r, ms(call.Elapsed))
		return nil
	})
	for _, c := range targets {
		if _, derr := c.delete(true); derr != nil {
			errs = append(errs, derr)
		}
	}
	return errors.Join(append([]error{err}, errs...)...)
}

// listGroup: `state` of one container and `list`, with ListN running
// containers under each runtime's root.
func (b *Bench) listGroup() error {
	n := b.o.ListN
	present := map[string][]*Container{}
	var runners []string
	for _, r := range cgroupRuntimes {
		rt := b.byName[r]
		cs := make([]*Container, n)
		err := parallelDo(n, 2, func(i int) error {
			var err error
			cs[i], err = b.running(rt, "list")
			return err
		})
		if err == nil {
			var out string
			if out, err = rt.output(rt.root("list"), "list", "-q"); err == nil && len(strings.Fields(out)) != n {
				err = fmt.Errorf("%s list -q shows %d containers, want %d", r, len(strings.Fields(out)), n)
			}
		}
		if err != nil {
			b.res.fail("list", r, err)
		} else {
			runners = append(runners, r)
		}
		present[r] = cs
	}
	mid := n / 2
	err := b.interleave(b.o.N, runners, 0, "list", func(r string) error {
		rt := b.byName[r]
		call, err := rt.invoke(rt.root("list"), "state", present[r][mid].ID)
		if err != nil {
			b.res.fail("state", r, err)
		} else {
			b.record("state", r, ms(call.Elapsed))
		}
		call, err = rt.invoke(rt.root("list"), "list")
		if err != nil {
			return err
		}
		b.record("list", r, ms(call.Elapsed))
		return nil
	})
	var errs []error
	for _, r := range cgroupRuntimes {
		cs := present[r]
		errs = append(errs, parallelDo(len(cs), 4, func(i int) error {
			if cs[i] == nil {
				return nil
			}
			_, err := cs[i].delete(true)
			return err
		}))
	}
	return errors.Join(append([]error{err}, errs...)...)
}

// parallelGroup: Parallel runs of /bin/true at once; the sample is the
// wall time until the last one exits.
func (b *Bench) parallelGroup() error {
	return b.interleave(b.o.ParallelN, allRuntimes, 0, "parallel", func(r string) error {
		rt := b.byName[r]
		t0 := time.Now()
		err := parallelDo(b.o.Parallel, b.o.Parallel, func(int) error {
			_, err := b.runToExit(rt, "parallel")
			return err
		})
		wall := time.Since(t0)
		if err != nil {
			return err
		}
		b.record("parallel", r, ms(wall))
		return nil
	})
}

// deleteForceGroup: `delete --force` of a running container (sleep).
func (b *Bench) deleteForceGroup() error {
	return b.interleave(b.o.N, allRuntimes, 0, "delete-force", func(r string) error {
		c, err := b.running(b.byName[r], "delete-force")
		if err != nil {
			return err
		}
		call, err := c.delete(true)
		if err != nil {
			return err
		}
		b.record("delete-force", r, ms(call.Elapsed))
		return nil
	})
}

// podGroup: a pod (--network none) with two containers (sleep) added
// and started by `pod add`, then removed with `pod rm --force`; gorun
// only, and only if this gorun has `gorun pod`.
func (b *Bench) podGroup() error {
	if !b.gorunHasPod() {
		b.notes = append(b.notes, "pod: skipped: `gorun pod` does not exist in this gorun")
		return nil
	}
	rt := b.byName[gorunName]
	root := rt.root("pod")
	return b.interleave(b.o.N, []string{gorunName}, 0, "pod", func(r string) error {
		name := rt.newID()
		b.pods = append(b.pods, name)
		create, err := rt.invoke(root, "pod", "create", "--network", "none", name)
		if err != nil {
			return err
		}
		var add time.Duration
		for i := 1; i <= 2; i++ {
			c, err := rt.invoke(root, "pod", "add", name, b.bundle(rt, "sleep"), fmt.Sprintf("%s-c%d", name, i))
			if err != nil {
				return err
			}
			add += c.Elapsed
		}
		rm, err := rt.invoke(root, "pod", "rm", "--force", name)
		if err != nil {
			return err
		}
		b.pods = b.pods[:len(b.pods)-1]
		b.record("pod-create", r, ms(create.Elapsed))
		b.record("pod-add", r, ms(add))
		b.record("pod-rm", r, ms(rm.Elapsed))
		b.record("pod", r, ms(create.Elapsed+add+rm.Elapsed))
		return nil
	})
}
