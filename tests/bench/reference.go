package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The references are what no runtime can do without: the floor (new
// namespaces, a chroot and an exec of /bin/true) and the cgroup setup.

// floor runs `unshare --mount --uts --ipc --net --pid --fork chroot ROOTFS
// /bin/true` and times it.
func (b *Bench) floor() (time.Duration, error) {
	cmd := exec.Command("unshare", "--mount", "--uts", "--ipc", "--net", "--pid", "--fork",
		"chroot", b.floorRootfs, "/bin/true")
	c, err := b.timed(cmd, "floor")
	return c.Elapsed, err
}

// cgroupMounts lists the mount points of the cgroup hierarchies, v1 first,
// then the unified one.
func cgroupMounts() []string {
	v1, v2 := cgroupMountsByVersion()
	return append(v1, v2...)
}

func cgroupMountsByVersion() (v1, v2 []string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source superoptions
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 1 {
			continue
		}
		switch qf[0] {
		case "cgroup":
			v1 = append(v1, pf[4])
		case "cgroup2":
			v2 = append(v2, pf[4])
		}
	}
	return v1, v2
}

// cgroupProbe measures what placing a process in a new cgroup costs on
// this host: a directory in every v1 hierarchy (cpuset given its parent's
// cpus and mems) and a write of a pid into each cgroup.procs. The process
// moved is a sleeping helper; it is moved back and the directories removed
// after each sample, untimed.
type cgroupProbe struct {
	b           *Bench
	hierarchies []string
	helper      *exec.Cmd
	seq         int
	made        []string
}

func newCgroupProbe(b *Bench) (*cgroupProbe, error) {
	v1, v2 := cgroupMountsByVersion()
	p := &cgroupProbe{b: b, hierarchies: v1}
	if len(v1) == 0 {
		// A unified host: one hierarchy.
		p.hierarchies = v2
	}
	if len(p.hierarchies) == 0 {
		return nil, errors.New("no cgroup hierarchy mounted")
	}
	p.helper = exec.Command("sleep", "1000000")
	if err := p.helper.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *cgroupProbe) Title() string {
	names := make([]string, len(p.hierarchies))
	for i, h := range p.hierarchies {
		names[i] = filepath.Base(h)
	}
	return fmt.Sprintf("cgroup setup: mkdir + first pid write, %d hierarchies (%s)", len(p.hierarchies), strings.Join(names, ","))
}

// sample times one cgroup setup.
func (p *cgroupProbe) sample() (time.Duration, error) {
	p.seq++
	name := fmt.Sprintf("gb%d-cgprobe-%d", os.Getpid(), p.seq)
	pid := []byte(strconv.Itoa(p.helper.Process.Pid))
	dirs := make([]string, len(p.hierarchies))
	t0 := time.Now()
	for i, h := range p.hierarchies {
		dirs[i] = filepath.Join(h, name)
		if err := os.Mkdir(dirs[i], 0o755); err != nil {
			return 0, err
		}
		p.made = append(p.made, dirs[i])
		if filepath.Base(h) == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(h, f))
				if err != nil {
					return 0, err
				}
				if err := os.WriteFile(filepath.Join(dirs[i], f), v, 0); err != nil {
					return 0, err
				}
			}
		}
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), pid, 0); err != nil {
			return 0, fmt.Errorf("write pid into %s: %w", d, err)
		}
	}
	el := time.Since(t0)
	return el, p.undo(pid)
}

// undo moves the helper back to each hierarchy's root and removes the
// directories made.
func (p *cgroupProbe) undo(pid []byte) error {
	var errs []error
	for _, h := range p.hierarchies {
		if err := os.WriteFile(filepath.Join(h, "cgroup.procs"), pid, 0); err != nil {
			errs = append(errs, err)
		}
	}
	var kept []string
	for _, d := range p.made {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			kept = append(kept, d)
		}
	}
	p.made = kept
	return errors.Join(errs...)
}

// close ends the helper and removes any directory left; it returns what
// it could not remove.
func (p *cgroupProbe) close() []string {
	var left []string
	if p.helper != nil && p.helper.Process != nil {
		p.undo([]byte(strconv.Itoa(p.helper.Process.Pid)))
		p.helper.Process.Kill()
		p.helper.Wait()
	}
	for _, d := range p.made {
		left = append(left, "cgroup "+d)
	}
	return left
}
