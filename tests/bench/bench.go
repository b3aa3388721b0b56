package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	gorunspecs "github.com/gorun/gorun/specs"
	"github.com/gorun/gorun/tests/bundle"
)

// Bench is one run of the benchmark: its runtimes, bundles, results, and
// everything it must undo.
type Bench struct {
	o   *Options
	tmp string // bundles, copies of binaries; removed at the end
	// state is a tmpfs (mounted in the private mount namespace) under tmp
	// for the runtimes' --root directories, pid files and stderr files, as
	// /run is a tmpfs on most hosts (not on this one).
	state        string
	unmountState func()
	devnull      *os.File
	runtimes     []*Runtime
	byName       map[string]*Runtime
	// bundles[runtime][kind] is a bundle directory; kinds: "true", "sleep".
	bundles     map[string]map[string]string
	floorRootfs string
	cg          *cgroupProbe
	res         *Results
	notes       []string
	reg         registry
	pods        []string // pods created and not yet seen removed
	undoMount   func()
	stop        atomic.Bool
	started     time.Time
	loadBefore  string
}

// specVersion is the ociVersion of the benchmark's config, which all three
// runtimes accept.
const specVersion = "1.0.2"

var errInterrupted = errors.New("interrupted")

func newBench(o *Options) (*Bench, error) {
	b := &Bench{o: o, byName: map[string]*Runtime{}, bundles: map[string]map[string]string{},
		res: newResults(), reg: registry{live: map[*Container]bool{}}, started: time.Now(), loadBefore: loadavg()}
	var err error
	if b.tmp, err = os.MkdirTemp("/run", "gorun-bench-"); err != nil {
		return nil, err
	}
	if err := os.Chmod(b.tmp, 0o755); err != nil {
		return b, err
	}
	if b.devnull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
		return b, err
	}
	// Orphaned container inits become children of the benchmark, which
	// reaps them (as containerd's shim does), rather than of this
	// machine's PID 1.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return b, fmt.Errorf("become a subreaper: %w", err)
	}
	undo, note, err := hideUnifiedControllers(b.tmp)
	if err != nil {
		return b, err
	}
	b.undoMount = undo
	b.notes = append(b.notes, note)
	b.state = filepath.Join(b.tmp, "state")
	if err := os.Mkdir(b.state, 0o711); err != nil {
		return b, err
	}
	if err := unix.Mount("tmpfs", b.state, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0711,size=256m"); err != nil {
		return b, fmt.Errorf("mount a tmpfs for the state roots: %w", err)
	}
	b.unmountState = func() { unix.Unmount(b.state, unix.MNT_DETACH) }
	b.notes = append(b.notes, "every runtime's --root is on a tmpfs (as /run is on most hosts; here /run is on the disk), bundles are on the disk")

	// A private copy of gorun: a rebuild during the run must not change
	// what is measured.
	gorunBin := filepath.Join(b.tmp, "bin", "gorun")
	if err := copyFile(o.Gorun, gorunBin); err != nil {
		return b, fmt.Errorf("copy %s: %w", o.Gorun, err)
	}
	for _, r := range []struct {
		name, label, bin string
		cgroups          bool
		global           []string
	}{
		{gorunName, "gorun", gorunBin, true, nil},
		{runcName, "runc", "runc", true, nil},
		{crunName, "crun", "crun", true, nil},
		{crunNoCgName, "crun, no cgroups", "crun", false, []string{"--cgroup-manager=disabled"}},
	} {
		rt, err := b.newRuntime(r.name, r.label, r.bin, r.cgroups, r.global...)
		if err != nil {
			return b, err
		}
		b.runtimes = append(b.runtimes, rt)
		b.byName[rt.Name] = rt
	}
	b.notes = append(b.notes,
		"gorun and runc always create a cgroup (runc as root has no way to skip it), so they are measured with cgroups only; crun is measured both ways (--cgroup-manager=disabled)",
		"`run` in the foreground deletes the container itself when its process exits (all three runtimes), so run+delete is one call; the benchmark checks that no state is left")

	// One bundle per runtime and kind, all with the same config.
	for _, rt := range b.runtimes {
		b.bundles[rt.Name] = map[string]string{}
		for kind, args := range map[string][]string{"true": {"true"}, "sleep": {"sleep", "1000000"}, "true-seccomp": {"true"}} {
			dir := filepath.Join(b.tmp, "bundles", rt.Name, kind)
			var sc *specs.LinuxSeccomp
			if kind == "true-seccomp" {
				sc = gorunspecs.DefaultSeccomp()
			}
			if err := makeBundle(dir, args, sc); err != nil {
				return b, err
			}
			b.bundles[rt.Name][kind] = dir
		}
	}
	b.floorRootfs = filepath.Join(b.tmp, "bundles", "floor", "rootfs")
	if err := os.MkdirAll(filepath.Dir(b.floorRootfs), 0o755); err != nil {
		return b, err
	}
	if err := bundle.Rootfs(b.floorRootfs); err != nil {
		return b, err
	}
	if b.cg, err = newCgroupProbe(b); err != nil {
		return b, err
	}
	return b, nil
}

// makeBundle writes a bundle running args, with the seccomp profile sc
// (nil: none).
func makeBundle(dir string, args []string, sc *specs.LinuxSeccomp) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bu := &bundle.Bundle{Dir: dir, Rootfs: filepath.Join(dir, "rootfs"), Spec: bundle.DefaultSpec(args...)}
	// crun 1.8.1 refuses ociVersion 1.2 and later ("unknown version
	// specified"); 1.0.2 is runc 1.1.5's own and gorun takes any 1.x.
	bu.Spec.Version = specVersion
	bu.Spec.Linux.Seccomp = sc
	if err := bundle.Rootfs(bu.Rootfs); err != nil {
		return err
	}
	return bu.Write()
}

func (b *Bench) bundle(rt *Runtime, kind string) string { return b.bundles[rt.Name][kind] }

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// trapSignals makes SIGINT, SIGTERM and SIGHUP stop the benchmark after
// the current sample, so that cleanup runs. The returned func undoes it.
func (b *Bench) trapSignals() func() {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			fmt.Fprintf(os.Stderr, "\nbench: %v: stopping after this sample, then cleaning up\n", s)
			b.stop.Store(true)
		case <-done:
		}
	}()
	return func() {
		close(done)
		signal.Stop(ch)
	}
}

// cleanup deletes every container the benchmark still knows of, then any
// container a runtime still lists under its roots, removes the cgroup
// probe's cgroups, reaps what is left, undoes the bind mount and removes
// the temporary directory. It returns what it could not remove.
func (b *Bench) cleanup() []string {
	var left []string
	live := b.liveContainers()
	parallelDo(len(live), 4, func(i int) error {
		c := live[i]
		if _, err := c.delete(true); err != nil {
			c.reap(time.Second)
		}
		return nil
	})
	if gr := b.byName[gorunName]; gr != nil && len(b.pods) > 0 {
		root := gr.root("pod")
		for _, name := range b.pods {
			if _, err := gr.output(root, "pod", "rm", "--force", name); err != nil {
				left = append(left, fmt.Sprintf("gorun pod %s: %v", name, err))
			}
		}
	}
	for _, rt := range b.runtimes {
		roots, _ := filepath.Glob(filepath.Join(rt.Root, "*"))
		for _, root := range roots {
			out, err := rt.output(root, "list", "-q")
			if err != nil {
				continue
			}
			for _, id := range strings.Fields(out) {
				c := &Container{rt: rt, root: root, ID: id, pidfd: -1}
				if _, err := c.delete(true); err != nil {
					left = append(left, fmt.Sprintf("%s container %s under %s: %v", rt.Name, id, root, err))
				}
			}
		}
	}
	if b.cg != nil {
		left = append(left, b.cg.close()...)
	}
	left = append(left, b.leftCgroups()...)
	reapAll()
	if b.unmountState != nil {
		b.unmountState()
	}
	if b.undoMount != nil {
		b.undoMount()
	}
	if b.devnull != nil {
		b.devnull.Close()
	}
	if b.tmp != "" {
		if err := os.RemoveAll(b.tmp); err != nil {
			left = append(left, err.Error())
		}
	}
	return left
}

// leftCgroups finds cgroups named after this run's containers (their ids
// start with gb<pid>-) in every v1 hierarchy and the unified one, removes
// them, and reports them.
func (b *Bench) leftCgroups() []string {
	prefix := fmt.Sprintf("gb%d-", os.Getpid())
	var left []string
	for _, h := range cgroupMounts() {
		filepath.WalkDir(h, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if strings.Count(strings.TrimPrefix(p, h), "/") > 3 {
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), prefix) {
				left = append(left, "cgroup "+p)
				os.Remove(p)
				return filepath.SkipDir
			}
			return nil
		})
	}
	sort.Strings(left)
	return left
}

// reapAll collects every exited child that nobody waited for.
func reapAll() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// gorunHasPod reports whether `gorun pod` exists.
func (b *Bench) gorunHasPod() bool {
	return exec.Command(b.byName[gorunName].Bin, "pod", "--help").Run() == nil
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
