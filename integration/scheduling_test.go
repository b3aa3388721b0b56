package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// statFields returns fields 19 (nice), 40 (rt_priority) and 41 (policy) of
// /proc/PID/stat as "nice N rtprio N policy N".
func statFields(t *testing.T, pid int) string {
	t.Helper()
	s := readFile(t, "/proc/"+strconv.Itoa(pid)+"/stat")
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // f[0] is field 3
	return "nice " + f[19-3] + " rtprio " + f[40-3] + " policy " + f[41-3]
}

// ioprio returns the I/O priority of pid as "class C prio P".
func ioprio(t *testing.T, pid int) string {
	t.Helper()
	v, _, e := unix.Syscall(unix.SYS_IOPRIO_GET, 1 /* IOPRIO_WHO_PROCESS */, uintptr(pid), 0)
	if e != 0 {
		t.Fatalf("ioprio_get(%d): %v", pid, e)
	}
	return "class " + strconv.Itoa(int(v>>13)) + " prio " + strconv.Itoa(int(v&0xff))
}

// TestScheduling: process.scheduler, process.ioPriority, linux.personality
// and linux.memoryPolicy, as the host sees the container's process and as
// processes exec'd into it see themselves, with and without --process;
// then process.execCPUAffinity.
func TestScheduling(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	pid := startSleeper(t, root, id, func(s *specs.Spec) {
		s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}
		s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}
		s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
		s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}
	})
	if got, want := statFields(t, pid), "nice 7 rtprio 0 policy 3"; got != want {
		t.Errorf("container process: %s, want %s (SCHED_BATCH, nice 7)", got, want)
	}
	if got, want := ioprio(t, pid), "class 2 prio 6"; got != want {
		t.Errorf("container process I/O priority: %s, want %s (IOPRIO_CLASS_BE 6)", got, want)
	}
	pidDir := "/proc/" + strconv.Itoa(pid)
	if got := strings.TrimSpace(readFile(t, pidDir+"/personality")); got != "00000008" {
		t.Errorf("container process personality %s, want 00000008 (PER_LINUX32)", got)
	}
	if maps := readFile(t, pidDir+"/numa_maps"); !strings.Contains(maps, "bind:0") {
		t.Errorf("container process memory policy is not bind:0:\n%s", maps)
	}
	if got := strings.TrimSpace(readFile(t, "/proc/self/personality")); got != "00000000" {
		t.Errorf("the test's own personality changed: %s", got)
	}

	// An exec'd process gets the container's, its process from the config.
	const report = `uname -m; cut -d" " -f19,41 /proc/self/stat; grep -c bind:0 /proc/self/numa_maps >/dev/null && echo bound; grep Cpus_allowed_list /proc/self/status`
	out := mustGorun(t, root, "exec", id, "sh", "-c", report)
	if !strings.HasPrefix(out, "i686\n7 3\nbound\n") {
		t.Errorf("exec without --process:\n%s\nwant i686, nice 7 policy 3 (SCHED_BATCH), bound to node 0", out)
	}
	execProcess := func(p specs.Process) (string, string, int) {
		p.Args, p.Env, p.Cwd = []string{"sh", "-c", report}, []string{"PATH=/bin"}, "/"
		data, _ := json.Marshal(p)
		pf := filepath.Join(t.TempDir(), "process.json")
		if err := os.WriteFile(pf, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return gorun(t, root, "exec", "--process", pf, id)
	}
	// --process, as containerd and podman exec: its own scheduler; the
	// container's personality and memory policy still (from exec.json).
	out, errOut, code := execProcess(specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedIdle}})
	if code != 0 || !strings.HasPrefix(out, "i686\n0 5\nbound\n") {
		t.Errorf("exec --process with SCHED_IDLE: exit %d\n%s%s\nwant i686, nice 0 policy 5 (SCHED_IDLE), bound to node 0", code, out, errOut)
	}

	// process.execCPUAffinity: initial until the process joins the
	// cgroup, final after; a CPU the host lacks is an error naming the
	// field.
	beyond := strconv.Itoa(runtime.NumCPU() + 3)
	out, errOut, code = execProcess(specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Final: beyond}})
	expectFailure(t, "exec with execCPUAffinity.final beyond the CPUs", out, errOut, code, "process.execCPUAffinity.final", beyond)
	if runtime.NumCPU() < 2 {
		t.Skip("execCPUAffinity needs two CPUs to tell initial from final; this machine has one")
	}
	last := strconv.Itoa(runtime.NumCPU() - 1)
	out, errOut, code = execProcess(specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: "0", Final: last}})
	if code != 0 || !strings.Contains(out, "Cpus_allowed_list:\t"+last+"\n") {
		t.Errorf("exec with execCPUAffinity 0 -> %s: exit %d\n%s%s", last, code, out, errOut)
	}
	out, errOut, code = execProcess(specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: last}})
	if code != 0 || !strings.Contains(out, "Cpus_allowed_list:\t"+last+"\n") {
		t.Errorf("exec with execCPUAffinity.initial %s only: exit %d\n%s%s", last, code, out, errOut)
	}
}

// TestSchedulingRealtime: SCHED_FIFO needs realtime time in the
// container's cgroup where the kernel schedules realtime tasks by group;
// without it the error says so.
func TestSchedulingRealtime(t *testing.T) {
	root := setup(t)
	needV1(t)
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"); err != nil {
		t.Skip("no realtime group scheduling in this kernel")
	}
	fifo := &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}
	b := resourcesBundle(t, "sleep 300", &specs.LinuxResources{
		CPU: &specs.LinuxCPU{RealtimePeriod: ptrU64(500000), RealtimeRuntime: ptrI64(5000)},
	})
	id := containerID(t)
	b.Spec.Process.Scheduler = fifo
	b.Spec.Linux.CgroupsPath = "/gorun-rt-" + id
	writeBundle(t, b)
	create(t, root, b, id)
	mustGorun(t, root, "start", id)
	if got, want := statFields(t, state(t, root, id).Pid), "nice 0 rtprio 10 policy 1"; got != want {
		t.Errorf("container process: %s, want %s (SCHED_FIFO 10)", got, want)
	}

	b2 := sh(t, "echo should not run")
	b2.Spec.Process.Scheduler = fifo
	writeBundle(t, b2)
	out, errOut, code := runContainer(t, root, b2, containerID(t, "2"))
	expectFailure(t, "run with SCHED_FIFO and no realtime time", out, errOut, code, "process.scheduler", "realtimeRuntime")
	if strings.Contains(out, "should not run") {
		t.Error("the process ran")
	}
}
