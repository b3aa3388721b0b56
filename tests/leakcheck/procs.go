package leakcheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

type procInfo struct {
	pid, ppid int
	comm      string
	state     string // R, S, D, Z, ...
	start     string // start time in clock ticks since boot, against pid reuse
}

// addProcesses records the descendants of this process, every process
// whose argv[0] contains "gorun" (test binaries, *.test, aside), and every
// process in another pid namespace than this one: a container's processes
// are reparented away from the test once the runtime exits. Zombies are
// left out unless they are children of this process.
func addProcesses(s *Snapshot) {
	self := os.Getpid()
	selfNS, _ := os.Readlink("/proc/self/ns/pid")
	procs := readProcs()
	children := make(map[int][]int)
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	descendant := make(map[int]bool)
	queue := append([]int(nil), children[self]...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if descendant[pid] || pid == self {
			continue
		}
		descendant[pid] = true
		queue = append(queue, children[pid]...)
	}
	for _, p := range procs {
		// A zombie holds nothing but its pid; it is only ours to reap
		// when it is our child.
		if p.pid == self || (p.state == "Z" && p.ppid != self) {
			continue
		}
		argv := cmdline(p.pid)
		if !descendant[p.pid] && !isGorun(argv) && !otherPidNS(p.pid, selfNS) {
			continue
		}
		cmd := strings.Join(argv, " ")
		if cmd == "" {
			cmd = "[" + p.comm + "]"
		}
		s.add(fmt.Sprintf("process: %d@%s", p.pid, p.start),
			fmt.Sprintf("process: pid %d (ppid %d) %s", p.pid, p.ppid, cmd))
	}
}

func isGorun(argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	base := filepath.Base(argv[0])
	if strings.HasSuffix(base, ".test") {
		return false
	}
	return base == "gorun" || strings.Contains(argv[0], "gorun")
}

func otherPidNS(pid int, selfNS string) bool {
	ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid")
	return err == nil && selfNS != "" && ns != selfNS
}

func readProcs() []procInfo {
	names := dirNames("/proc")
	procs := make([]procInfo, 0, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if p, ok := readStat(pid); ok {
			procs = append(procs, p)
		}
	}
	return procs
}

// readStat parses /proc/PID/stat: "pid (comm) state ppid ... starttime ...".
func readStat(pid int) (procInfo, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return procInfo{}, false
	}
	// Fields after comm start at field 3 (state); starttime is field 22.
	f := strings.Fields(string(data[end+1:]))
	if len(f) < 20 {
		return procInfo{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procInfo{}, false
	}
	return procInfo{pid: pid, ppid: ppid, comm: string(data[open+1 : end]), state: f[0], start: f[19]}, true
}

func cmdline(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}
