package pod

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer"
	"github.com/gorun/gorun/libcontainer/errs"
)

// killGrace is how long Stop waits for the containers after SIGKILL.
const killGrace = 10 * time.Second

// Stop stops every container of pod name: SIGTERM to each init, then, for
// those still running after timeout, SIGKILL to all their processes. The
// pod keeps its namespaces and IP: its containers can be deleted and
// created again in it.
func Stop(root, name string, timeout time.Duration) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	st := newStore(root)
	l, err := st.lock(name, unix.LOCK_SH)
	if err != nil {
		return err
	}
	defer l.Unlock()
	p, err := st.load(name)
	if err != nil {
		return err
	}
	cs, err := loadMembers(root, p)
	if err != nil {
		return err
	}
	// live lists the containers with a process left. Once a container's
	// init is gone, what it started (in a pod sharing one pid namespace,
	// its exit ends nothing) gets SIGKILL at once, as containerd's shim
	// does.
	live := func() []*libcontainer.Container {
		var out []*libcontainer.Container
		for _, c := range cs {
			if c.Status() != rspec.StateStopped {
				out = append(out, c)
			} else if pids, err := c.Pids(); err == nil && len(pids) > 0 {
				c.Signal(unix.SIGKILL, true)
				out = append(out, c)
			}
		}
		return out
	}
	for _, c := range live() {
		c.Signal(unix.SIGTERM, false)
	}
	left := waitStopped(live, timeout)
	for _, c := range left {
		c.Signal(unix.SIGKILL, true)
	}
	if left = waitStopped(live, killGrace); len(left) > 0 {
		return &errs.Error{Op: "pod stop", Field: "pod", Value: name, Err: fmt.Errorf("containers still running after SIGKILL: %s", ids(left))}
	}
	return nil
}

// waitStopped polls live until it is empty or timeout passes, and returns
// what is left.
func waitStopped(live func() []*libcontainer.Container, timeout time.Duration) []*libcontainer.Container {
	deadline := time.Now().Add(timeout)
	for {
		left := live()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(cs []*libcontainer.Container) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.ID()
	}
	return strings.Join(s, ", ")
}

// loadMembers opens the containers of pod p.
func loadMembers(root string, p *Pod) ([]*libcontainer.Container, error) {
	states, err := libcontainer.List(root)
	if err != nil {
		return nil, err
	}
	var cs []*libcontainer.Container
	for _, s := range members(states, p.ID) {
		c, err := libcontainer.Load(root, s.ID)
		if err != nil {
			continue // deleted meanwhile
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// Remove deletes pod name: its containers (running ones only with force),
// its network (CNI DEL: the IP is released, the veth and port mappings
// removed), namespaces, infra process, cgroup and state. With force, a pod
// whose create died half way is removed too, and errors past the
// containers are logged rather than keeping the pod.
func Remove(root, name string, force bool) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	st := newStore(root)
	l, err := st.lock(name, unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer l.Unlock()
	dir := st.dir(name)
	p, err := st.load(name)
	if err != nil {
		if !force || errors.Is(err, ErrNotExist) {
			return err
		}
		// No readable state: remove what can be found without it.
		if err := removeSandbox(dir, nil); err != nil {
			slog.Warn("pod rm: " + err.Error())
		}
		return st.remove(name)
	}
	if p.Phase != PhaseReady && !force {
		return incomplete(name)
	}
	cs, err := loadMembers(root, p)
	if err != nil {
		return err
	}
	if !force {
		var running []*libcontainer.Container
		for _, c := range cs {
			if s := c.Status(); s == rspec.StateRunning || s == "paused" {
				running = append(running, c)
			}
		}
		if len(running) > 0 {
			return &errs.Error{Op: "pod rm", Field: "pod", Value: name, Err: fmt.Errorf("containers are running: %s", ids(running)),
				Hint: "stop them with `gorun pod stop " + name + "`, or use `gorun pod rm --force`"}
		}
	}
	for _, c := range cs {
		if err := c.Delete(true); err != nil && !errors.Is(err, errs.ErrNotExist) {
			return errs.Wrap("pod rm", err)
		}
	}
	if err := p.teardown(dir); err != nil {
		if !force {
			return errs.Wrap("pod rm", err)
		}
		slog.Warn("pod rm: " + err.Error())
	}
	return st.remove(name)
}
