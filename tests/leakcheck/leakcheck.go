// Package leakcheck detects resources that a test left behind: gorun state
// directories, cgroups, mounts, processes, network namespaces and
// interfaces, open file descriptors of the test process, and changes to the
// host's common device nodes (/dev/null and its kind).
//
// Processes recorded are the test's descendants, processes whose argv[0]
// contains "gorun", and processes in another pid namespace (container
// processes, which are reparented away from the test).
//
// Integration tests start with
//
//	leakcheck.Register(t, stateRoot)
//
// before anything else, so that its cleanup runs last (t.Cleanup is LIFO).
// The checker looks at the whole host, so it is not meant for tests that
// run in parallel with others (t.Parallel) or next to unrelated container
// activity: their resources would be reported too.
package leakcheck

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// Timing of Check: how long leaks may take to vanish, and how often to look.
var (
	checkTimeout = 2 * time.Second
	pollInterval = 10 * time.Millisecond
)

// Snapshot is a record of the resources present at one point in time.
type Snapshot struct {
	stateRoots []string
	// items counts each resource key; a key such as a mount can be present
	// more than once.
	items map[string]int
	// labels holds the human-readable form of a key, when it differs.
	labels map[string]string
}

// Take records the resources present now. stateRoots are gorun state root
// directories whose entries (one per container) are recorded; a missing
// root counts as empty.
func Take(stateRoots ...string) *Snapshot {
	s := &Snapshot{
		stateRoots: append([]string(nil), stateRoots...),
		items:      make(map[string]int),
		labels:     make(map[string]string),
	}
	// File descriptors first, before anything else opens files.
	addFDs(s)
	for _, root := range stateRoots {
		addDirEntries(s, "state", root)
	}
	mounts := readMountinfo()
	for _, m := range mounts {
		s.add(fmt.Sprintf("mount: %s %s %s", m.point, m.fstype, m.source), "")
	}
	addCgroups(s, mounts)
	addProcesses(s)
	addDirEntries(s, "netns", "/run/netns")
	addDirNames(s, "netif", "/sys/class/net")
	addDevices(s)
	return s
}

func (s *Snapshot) add(key, label string) {
	s.items[key]++
	if label != "" {
		s.labels[key] = label
	}
}

func (s *Snapshot) label(key string) string {
	if l, ok := s.labels[key]; ok {
		return l
	}
	return key
}

// Diff takes a new snapshot and returns, sorted, one line per resource
// present now that was not present in s, each starting with its kind
// ("state:", "cgroup:", "mount:", "process:", "netns:", "netif:", "fd:",
// "hostdev:").
func (s *Snapshot) Diff() []string {
	return s.diff(Take(s.stateRoots...))
}

func (s *Snapshot) diff(now *Snapshot) []string {
	var leaks []string
	for key, n := range now.items {
		was := s.items[key]
		if n <= was {
			continue
		}
		l := now.label(key)
		if was > 0 || n-was > 1 {
			l += fmt.Sprintf(" (now %d, was %d)", n, was)
		}
		leaks = append(leaks, l)
	}
	sort.Strings(leaks)
	return leaks
}

// Check reports with t.Errorf every resource that is present now but was
// not when s was taken. Since processes and cgroups may take a moment to
// vanish after a container is deleted, it polls for up to 2 s before
// reporting.
func (s *Snapshot) Check(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(checkTimeout)
	for {
		leaks := s.Diff()
		if len(leaks) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("leakcheck: %d leaked resource(s):\n\t%s", len(leaks), strings.Join(leaks, "\n\t"))
			return
		}
		time.Sleep(pollInterval)
	}
}

// Register takes a snapshot now and checks it when t finishes. Call it
// first in a test, so that its cleanup runs after all others.
func Register(t testing.TB, stateRoots ...string) *Snapshot {
	t.Helper()
	s := Take(stateRoots...)
	t.Cleanup(func() { s.Check(t) })
	return s
}
