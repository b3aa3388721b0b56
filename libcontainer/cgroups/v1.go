package cgroups

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup1"
	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// v1 is a cgroup on the v1 hierarchies (legacy and hybrid hosts), and on a
// hybrid host in the cgroup2 hierarchy too.
type v1 struct {
	h    host
	path string
	// c is nil when only the cgroup2 part is left (a half-removed cgroup).
	c cgroup1.Cgroup
	// dirs maps each v1 controller ("memory", "cpu", "systemd" for
	// name=systemd) to the cgroup's directory in its hierarchy.
	dirs map[string]string
	// unified is the cgroup's directory in the cgroup2 hierarchy of a
	// hybrid host ("" on a legacy host).
	unified string
}

func newV1(h host, p string, ss []setting) (_ *v1, retErr error) {
	// The library makes the directories (and fills in a new cpuset's cpus
	// and mems from its parent's); gorun writes the limits.
	c, err := cgroup1.New(cgroup1.StaticPath(p), &rspec.LinuxResources{}, cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		// Remove what the library made before it failed.
		if l, lerr := cgroup1.Load(cgroup1.StaticPath(p), cgroup1.WithHierarchy(v1Hierarchy)); lerr == nil {
			l.Delete()
		}
		return nil, explain(p, err)
	}
	m := &v1{h: h, path: p, c: c, dirs: controllerDirs(c, p)}
	defer func() {
		if retErr != nil {
			m.Destroy()
		}
	}()
	if h.unified != "" {
		m.unified = filepath.Join(h.unified, p)
		if err := os.MkdirAll(m.unified, 0o755); err != nil {
			return nil, explain(p, err)
		}
	}
	if err := m.apply(ss); err != nil {
		return nil, err
	}
	return m, nil
}

func loadV1(h host, p string) (Manager, error) {
	m := &v1{h: h, path: p}
	if h.unified != "" {
		if _, err := os.Stat(filepath.Join(h.unified, p)); err == nil {
			m.unified = filepath.Join(h.unified, p)
		}
	}
	c, err := cgroup1.Load(cgroup1.StaticPath(p), cgroup1.WithHierarchy(v1Hierarchy))
	switch {
	case err == nil:
		m.c, m.dirs = c, controllerDirs(c, p)
	case errors.Is(err, cgroup1.ErrCgroupDeleted):
		if m.unified == "" {
			return nil, fmt.Errorf("cgroup %s: %w", p, os.ErrNotExist)
		}
	default:
		return nil, err
	}
	return m, nil
}

// controllerDirs maps each controller of c to the directory of cgroup p in
// its hierarchy.
func controllerDirs(c cgroup1.Cgroup, p string) map[string]string {
	dirs := make(map[string]string)
	for _, s := range c.Subsystems() {
		if pt, ok := s.(interface{ Path(string) string }); ok {
			dirs[string(s.Name())] = pt.Path(p)
		}
	}
	return dirs
}

func (m *v1) Path() string { return m.path }

func (m *v1) Apply(pid int) error {
	if m.c != nil {
		if err := m.c.Add(cgroup1.Process{Pid: pid}); err != nil {
			return err
		}
	}
	if m.unified != "" {
		return writeFile(filepath.Join(m.unified, "cgroup.procs"), strconv.Itoa(pid))
	}
	return nil
}

func (m *v1) Placement() Placement {
	p := Placement{Dir: m.unified}
	seen := make(map[string]bool, len(m.dirs))
	for _, d := range m.dirs {
		// Co-mounted controllers (cpu,cpuacct) share a directory.
		if !seen[d] {
			seen[d] = true
			p.Tasks = append(p.Tasks, filepath.Join(d, "tasks"))
		}
	}
	sort.Strings(p.Tasks)
	return p
}

// dirOf is the directory a setting is written in.
func (m *v1) dirOf(s setting) (string, error) {
	if s.v2 {
		if m.unified == "" {
			return "", &errs.Error{Field: s.field, Value: s.value, Err: errors.New("the container has no cgroup in a cgroup2 hierarchy"),
				Hint: "cgroup v2 files can be set on a unified or hybrid host only"}
		}
		return m.unified, nil
	}
	d, ok := m.dirs[s.ctrl]
	if !ok {
		return "", errNoController
	}
	return d, nil
}

// apply writes the settings, after enabling in the cgroup2 hierarchy the
// controllers its settings need. Device rules are dropped where there is no
// devices controller: in a user namespace (rootless podman) the library
// leaves it out, as the kernel refuses device rules from there.
func (m *v1) apply(ss []setting) error {
	if _, ok := m.dirs["devices"]; !ok {
		kept := ss[:0:0]
		for _, s := range ss {
			if s.ctrl != "devices" {
				kept = append(kept, s)
			}
		}
		ss = kept
	}
	if m.unified != "" {
		var ctrls []string
		for _, s := range ss {
			if s.v2 && s.ctrl != "" {
				ctrls = append(ctrls, s.ctrl)
			}
		}
		if err := enableControllers(m.h.unified, m.path, ctrls); err != nil {
			return err
		}
	}
	return applySettings(ss, m.dirOf)
}

func (m *v1) Set(r *rspec.LinuxResources) error {
	if r == nil {
		return nil
	}
	o := v1Opts{update: true, hugetlbV2: len(r.HugepageLimits) > 0 && hugetlbOnlyInV2(m.h)}
	ss, err := v1Settings(r, o)
	if err != nil {
		return err
	}
	if err := checkBeforeUpdate(r.Memory, m.dirs["memory"], "memory.usage_in_bytes"); err != nil {
		return err
	}
	return m.apply(ss)
}

// checkBeforeUpdate refuses, when the config asks for it
// (memory.checkBeforeUpdate), a memory limit below what the cgroup uses
// now, which the kernel would meet by reclaiming or OOM-killing.
func checkBeforeUpdate(mem *rspec.LinuxMemory, dir, usageFile string) error {
	if mem == nil || mem.CheckBeforeUpdate == nil || !*mem.CheckBeforeUpdate || !set(mem.Limit) || *mem.Limit == -1 || dir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, usageFile))
	if err != nil {
		return err
	}
	usage, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, usageFile), err)
	}
	if uint64(*mem.Limit) < usage {
		return errField(res+".memory.limit", itoa(*mem.Limit), fmt.Sprintf("below the current usage %d (checkBeforeUpdate is set)", usage),
			"raise the limit, or unset linux.resources.memory.checkBeforeUpdate")
	}
	return nil
}

func (m *v1) Pids() ([]int, error) {
	if m.c == nil {
		return readProcs(m.unified)
	}
	// Read one hierarchy the cgroup is in: under the systemd driver,
	// once the container's processes are gone, systemd removes the scope
	// from the hierarchies it manages (pids, memory...), and only gorun's
	// own directories (cpuset, freezer...) are left until delete.
	var from cgroup1.Name
	for _, s := range []cgroup1.Name{cgroup1.Pids, cgroup1.Freezer, cgroup1.Devices, cgroup1.Memory} {
		if _, ok := m.dirs[string(s)]; ok {
			from = s
			break
		}
	}
	if from == "" {
		for _, s := range m.c.Subsystems() {
			if _, ok := m.dirs[string(s.Name())]; ok {
				from = s.Name()
				break
			}
		}
	}
	if from == "" {
		return readProcs(m.unified)
	}
	procs, err := m.c.Processes(from, true)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	seen := make(map[int]bool, len(procs))
	pids := make([]int, 0, len(procs))
	for _, p := range procs {
		if !seen[p.Pid] {
			seen[p.Pid] = true
			pids = append(pids, p.Pid)
		}
	}
	return pids, nil
}

func (m *v1) Freeze() error { return m.freezer(true) }
func (m *v1) Thaw() error   { return m.freezer(false) }

func (m *v1) freezer(freeze bool) error {
	dir, ok := m.dirs["freezer"]
	if !ok {
		if m.c == nil {
			return nil
		}
		return errors.New("the freezer cgroup controller is not available on this host")
	}
	return v1Freezer(dir, freeze)
}

// Signal sends sig to every process of the cgroup. For SIGKILL on a hybrid
// host, cgroup.kill of the cgroup2 part kills them all at once; otherwise
// the cgroup is frozen while the processes are signalled, so that none
// forks a child the signal misses. The cgroup is thawed after a SIGKILL
// (a frozen v1 process dies only once thawed) and left as it was
// otherwise.
func (m *v1) Signal(sig unix.Signal) error {
	if sig == unix.SIGKILL && m.unified != "" {
		if err := writeFile(filepath.Join(m.unified, "cgroup.kill"), "1"); err == nil {
			m.Thaw()
			return nil
		}
	}
	_, hasFreezer := m.dirs["freezer"]
	wasFrozen := hasFreezer && isFrozenV1(m.dirs["freezer"])
	if hasFreezer && !wasFrozen {
		if err := m.Freeze(); err != nil {
			return err
		}
	}
	err := signalPids(m, sig)
	if hasFreezer && (!wasFrozen || sig == unix.SIGKILL) {
		if terr := m.Thaw(); err == nil {
			err = terr
		}
	}
	return err
}

func isFrozenV1(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "freezer.state"))
	return err == nil && strings.TrimSpace(string(b)) != "THAWED"
}

func signalPids(m Manager, sig unix.Signal) error {
	pids, err := m.Pids()
	if err != nil {
		return err
	}
	for _, p := range pids {
		if err := unix.Kill(p, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal %d: %w", p, err)
		}
	}
	return nil
}

func (m *v1) Destroy() error {
	var first error
	seen := make(map[string]bool, len(m.dirs)+1)
	for _, d := range append(slices.Collect(maps.Values(m.dirs)), m.unified) {
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		if err := removeCgroupDir(d); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m *v1) Stats() (*Stats, error) {
	s := newStats()
	if m.c == nil {
		return s, nil
	}
	mt, err := m.c.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return nil, err
	}
	if c := mt.CPU; c != nil {
		if u := c.Usage; u != nil {
			s.CPU.Usage = CPUUsage{Total: u.Total, Percpu: u.PerCPU, Kernel: u.Kernel, User: u.User}
		}
		if t := c.Throttling; t != nil {
			s.CPU.Throttling = Throttling{Periods: t.Periods, ThrottledPeriods: t.ThrottledPeriods, ThrottledTime: t.ThrottledTime}
		}
	}
	if mem := mt.Memory; mem != nil {
		s.Memory.Cache = mem.Cache
		s.Memory.Usage = memEntry(mem.Usage)
		s.Memory.Swap = memEntry(mem.Swap)
		s.Memory.Kernel = memEntry(mem.Kernel)
		s.Memory.KernelTCP = memEntry(mem.KernelTCP)
		s.Memory.Raw = map[string]uint64{
			"cache": mem.Cache, "rss": mem.RSS, "rss_huge": mem.RSSHuge, "mapped_file": mem.MappedFile,
			"dirty": mem.Dirty, "writeback": mem.Writeback, "pgpgin": mem.PgPgIn, "pgpgout": mem.PgPgOut,
			"pgfault": mem.PgFault, "pgmajfault": mem.PgMajFault, "inactive_anon": mem.InactiveAnon,
			"active_anon": mem.ActiveAnon, "inactive_file": mem.InactiveFile, "active_file": mem.ActiveFile,
			"unevictable": mem.Unevictable, "hierarchical_memory_limit": mem.HierarchicalMemoryLimit,
			"hierarchical_memsw_limit": mem.HierarchicalSwapLimit, "total_rss": mem.TotalRSS, "total_cache": mem.TotalCache,
		}
	}
	if p := mt.Pids; p != nil {
		s.Pids = PidsStats{Current: p.Current, Limit: p.Limit}
	}
	if b := mt.Blkio; b != nil {
		s.Blkio.IoServiceBytesRecursive = blkioEntries(b.IoServiceBytesRecursive)
		s.Blkio.IoServicedRecursive = blkioEntries(b.IoServicedRecursive)
	}
	for _, h := range mt.Hugetlb {
		s.Hugetlb[h.Pagesize] = Hugetlb{Usage: h.Usage, Max: h.Max, Failcnt: h.Failcnt}
	}
	return s, nil
}

func blkioEntries(es []*v1stats.BlkIOEntry) []BlkioEntry {
	var out []BlkioEntry
	for _, e := range es {
		out = append(out, BlkioEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value})
	}
	return out
}

func memEntry(e *v1stats.MemoryEntry) MemoryEntry {
	if e == nil {
		return MemoryEntry{}
	}
	return MemoryEntry{Limit: e.Limit, Usage: e.Usage, Max: e.Max, Failcnt: e.Failcnt}
}

// OOMEvents reads the memory cgroup's OOM notifications: an eventfd
// registered on memory.oom_control. The kernel signals it when the cgroup
// meets its limit and the OOM killer is about to act (before oom_kill
// counts the kill), and also when the cgroup is removed, after its
// directory is gone: a wake-up with the directory still there is an OOM.
func (m *v1) OOMEvents() (<-chan struct{}, error) {
	dir, ok := m.dirs["memory"]
	if !ok {
		return nil, errors.New("the memory cgroup controller is not available on this host")
	}
	fd, err := m.c.OOMEventFD()
	if err != nil {
		return nil, err
	}
	out := make(chan struct{})
	go func() {
		defer close(out)
		for range eventfdChan(int(fd)) {
			if _, err := os.Lstat(filepath.Join(dir, "memory.oom_control")); err != nil {
				return
			}
			out <- struct{}{}
		}
	}()
	return out, nil
}

// readProcs lists the pids in dir's cgroup.procs and its descendants'.
func readProcs(dir string) ([]int, error) {
	var pids []int
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return pids, err
}
