package cgroups

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cg "github.com/containerd/cgroups/v3"
	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// The systemd cgroup driver (--systemd-cgroup): on a host whose cgroups
// systemd manages, a container's cgroup is a transient scope unit that
// systemd creates, as runc's systemd driver and crun's do, so that systemd
// neither removes nor resets a cgroup it did not make. containerd's
// SystemdCgroup, podman's cgroup_manager=systemd and the kubelet's
// cgroupDriver=systemd use it.
//
// systemd is asked over D-Bus to start the scope "prefix-name.scope" in
// the slice with the container's init as its one process, with Delegate=yes
// (the container may manage cgroups below its own) and the limits systemd
// knows as properties (systemdProperties). systemd moves the init into the
// scope on the hierarchies it manages; gorun then makes the same path on
// the others (cpuset, freezer... on a v1 host), moves the init there, and
// writes every limit into the files itself, as with cgroupfs. Everything
// after create (exec, update, pause, stats, events, kill --all) works on
// those files; update also tells systemd the new limits, and delete stops
// the unit.
//
// gorun talks to systemd directly on its private socket
// (/run/systemd/private, root only, no D-Bus daemon needed), else through
// the D-Bus system bus.

// systemd is a container's cgroup under the systemd driver: the scope, and
// the cgroupfs view of it once it exists.
type systemd struct {
	unit    SystemdUnit
	unified bool
	props   []sd.Property
	// create makes the cgroupfs side at the scope's path with the
	// container's limits (see prepare).
	create func() (Manager, error)
	fs     Manager
	// started is set once the unit is this container's: Destroy stops
	// no other's (a create that failed because the name was taken).
	started, stopped bool
}

// NewSystemd prepares the scope u for a container with resources r. It
// converts r and connects to systemd, so that a config or host gorun cannot
// serve fails before the init is started; the scope itself is made by
// Apply, with the init's pid (a scope cannot be empty).
func NewSystemd(u SystemdUnit, r *rspec.LinuxResources, annotations map[string]string) (Manager, error) {
	h, create, err := prepare(u.Path, r)
	if err != nil {
		return nil, err
	}
	unified := h.mode == cg.Unified
	props, warnings := systemdProperties(r, unified, true)
	extra, err := annotationProperties(annotations)
	if err != nil {
		return nil, err
	}
	if _, err := systemdConn(); err != nil {
		return nil, err
	}
	props, dropped := supported(append(props, extra...), systemdVersion())
	for _, d := range dropped {
		warnings = append(warnings, "systemd "+strconv.Itoa(systemdVersion())+" has no property "+d+"; left out of its view")
	}
	for _, w := range warnings {
		slog.Warn("systemd cgroup driver: " + w)
	}
	return &systemd{unit: u, unified: unified, props: props, create: create}, nil
}

// LoadSystemd opens the cgroup of a container in systemd's unit u. A
// cgroup that is gone is reported with os.ErrNotExist (see
// ReleaseSystemdUnit for its unit then), and so is one whose unit systemd
// has with another container's description: the container never got its
// scope (a create killed half way, another container held the name) or
// ended and another took the name since; what is there is not its own.
func LoadSystemd(u SystemdUnit) (Manager, error) {
	fs, err := Load(u.Path)
	if err != nil {
		return nil, err
	}
	if c, err := systemdConn(); err == nil {
		if loaded, ours, err := unitOwnedBy(c, u); err == nil && loaded && !ours {
			return nil, fmt.Errorf("cgroup %s: the scope %s is another container's: %w", u.Path, u.Unit, os.ErrNotExist)
		}
	}
	// (A systemd that cannot be asked: the cgroup is taken for this
	// container's, as the state says.)
	return &systemd{unit: u, unified: cg.Mode() == cg.Unified, fs: fs, started: true}, nil
}

// ReleaseSystemdUnit stops a container's unit u and clears its failed
// state, if systemd still has it, as this container's.
func ReleaseSystemdUnit(u SystemdUnit) error {
	c, err := systemdConn()
	if err != nil {
		return err
	}
	loaded, ours, err := unitOwnedBy(c, u)
	if err != nil || !loaded || !ours {
		return err
	}
	return stopUnit(c, u.Unit)
}

// unitOwnedBy asks systemd whether it has unit u, and with u's
// description.
func unitOwnedBy(c *sd.Conn, u SystemdUnit) (loaded, ours bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	st, err := c.ListUnitsByNamesContext(ctx, []string{u.Unit})
	if err != nil || len(st) == 0 || st[0].LoadState == "not-found" {
		return false, false, err
	}
	return true, st[0].Description == u.Description, nil
}

func (m *systemd) Path() string { return m.unit.Path }

// Apply starts the scope with pid in it, then places pid on the other
// hierarchies and writes the limits there.
func (m *systemd) Apply(pid int) (retErr error) {
	if m.fs != nil {
		return m.fs.Apply(pid)
	}
	c, err := systemdConn()
	if err != nil {
		return err
	}
	props := append([]sd.Property{
		sd.PropDescription(m.unit.Description),
		sd.PropSlice(m.unit.Slice),
		{Name: "Delegate", Value: dbus.MakeVariant(true)},
		// Not ordered against shutdown.target and the like: the engine
		// that made the container stops it.
		{Name: "DefaultDependencies", Value: dbus.MakeVariant(false)},
		{Name: "MemoryAccounting", Value: dbus.MakeVariant(true)},
		{Name: "CPUAccounting", Value: dbus.MakeVariant(true)},
		{Name: "TasksAccounting", Value: dbus.MakeVariant(true)},
		{Name: ioAccounting(m.unified), Value: dbus.MakeVariant(true)},
		sd.PropPids(uint32(pid)),
	}, m.props...)
	made, err := startUnit(c, m.unit.Unit, props)
	if made {
		// (Even if its job failed: a failed unit is stopped and reset.)
		m.started = true
	}
	if err != nil {
		if made {
			stopUnit(c, m.unit.Unit)
			m.stopped = true
		}
		return err
	}
	defer func() {
		if retErr != nil {
			stopUnit(c, m.unit.Unit)
			m.stopped = true
		}
	}()
	if got, err := systemdCgroupOf(pid, m.unified); err != nil {
		return err
	} else if got != m.unit.Path {
		return &errs.Error{Field: "linux.cgroupsPath", Value: m.unit.Path,
			Err:  fmt.Errorf("systemd put the scope %s at %s", m.unit.Unit, got),
			Hint: "gorun and systemd see different cgroup roots: run gorun in systemd's cgroup namespace"}
	}
	fs, err := m.create()
	if err != nil {
		return err
	}
	if err := fs.Apply(pid); err != nil {
		fs.Destroy()
		return err
	}
	m.fs = fs
	return nil
}

func ioAccounting(unified bool) string {
	if unified {
		return "IOAccounting"
	}
	return "BlockIOAccounting"
}

// Placement is the cgroupfs placement once the scope exists; before that
// none: the init is moved by Apply.
func (m *systemd) Placement() Placement {
	if m.fs == nil {
		return Placement{}
	}
	return m.fs.Placement()
}

// Set writes the limits, then tells systemd, so that it keeps them.
func (m *systemd) Set(r *rspec.LinuxResources) error {
	if err := m.fs.Set(r); err != nil {
		return err
	}
	props, _ := systemdProperties(r, m.unified, false)
	if len(props) == 0 {
		return nil
	}
	c, err := systemdConn()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		props, _ = supported(props, systemdVersion())
		err = c.SetUnitPropertiesContext(ctx, m.unit.Unit, true, props...)
	}
	if err != nil {
		slog.Warn("systemd cgroup driver: the new limits are in place, but systemd was not told them and may reset them on a reload",
			"unit", m.unit.Unit, "err", err)
	}
	return nil
}

func (m *systemd) Pids() ([]int, error)                { return m.fs.Pids() }
func (m *systemd) Signal(sig unix.Signal) error        { return m.fs.Signal(sig) }
func (m *systemd) Freeze() error                       { return m.fs.Freeze() }
func (m *systemd) Thaw() error                         { return m.fs.Thaw() }
func (m *systemd) Stats() (*Stats, error)              { return m.fs.Stats() }
func (m *systemd) OOMEvents() (<-chan struct{}, error) { return m.fs.OOMEvents() }

// Destroy kills what is left in the cgroup, stops the unit (systemd
// removes the cgroups it made), then removes what is left on the other
// hierarchies. (Killed first: systemd stops a scope with SIGTERM, which a
// container's init ignores, and waits for it.) A systemd that cannot be
// reached is warned about: the cgroups go anyway.
func (m *systemd) Destroy() error {
	if m.started && !m.stopped {
		if m.fs != nil {
			m.fs.Signal(unix.SIGKILL)
		}
		c, err := systemdConn()
		if err == nil {
			err = stopUnit(c, m.unit.Unit)
		}
		if err != nil {
			slog.Warn("systemd cgroup driver: cannot stop the container's unit", "unit", m.unit.Unit, "err", err)
		}
		m.stopped = true
	}
	if m.fs == nil {
		return nil
	}
	return m.fs.Destroy()
}

// sdConn is this process's connection to systemd, made on first use.
var sdConn struct {
	sync.Mutex
	c       *sd.Conn
	version int // systemd's version number, 0 if unknown
}

// callTimeout bounds each exchange with systemd: a systemd that hangs
// (stopped, stuck in a reload) must not hang the engine calling gorun.
const callTimeout = 30 * time.Second

func systemdConn() (*sd.Conn, error) {
	sdConn.Lock()
	defer sdConn.Unlock()
	if sdConn.c != nil && sdConn.c.Connected() {
		return sdConn.c, nil
	}
	type result struct {
		c       *sd.Conn
		version int
		err     error
	}
	done := make(chan result, 1)
	go func() {
		// (A connection lives as long as the context it is made with, so
		// the wait is bounded here instead.)
		ctx := context.Background()
		var c *sd.Conn
		var err error
		if os.Geteuid() == 0 {
			c, err = sd.NewSystemdConnectionContext(ctx)
		}
		if c == nil {
			var berr error
			if c, berr = sd.NewSystemConnectionContext(ctx); berr != nil && err == nil {
				err = berr
			}
		}
		version := 0
		if c != nil {
			err = nil
			if v, verr := c.GetManagerProperty("Version"); verr == nil {
				version = leadingInt(strings.Trim(v, `"`))
			}
		}
		done <- result{c, version, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(callTimeout):
		r.err = fmt.Errorf("no answer within %v", callTimeout)
	}
	if r.err != nil {
		return nil, &errs.Error{Field: "--systemd-cgroup", Err: fmt.Errorf("cannot reach systemd: %w", r.err),
			Hint: "systemd must be running and reachable on /run/systemd/private (as root) or the D-Bus system bus; or drop the flag to use cgroupfs"}
	}
	sdConn.c, sdConn.version = r.c, r.version
	return r.c, nil
}

// systemdVersion is the version number of the systemd systemdConn
// reached (0 if it could not be read).
func systemdVersion() int {
	sdConn.Lock()
	defer sdConn.Unlock()
	return sdConn.version
}

func leadingInt(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// propertySince is the systemd version that brought a property gorun
// sends; an older one refuses the whole unit over it.
var propertySince = map[string]int{"CPUQuotaPeriodUSec": 242, "AllowedCPUs": 244, "AllowedMemoryNodes": 244}

// supported drops the properties systemd version v does not know (v 0:
// unknown, all are kept) and names them.
func supported(props []sd.Property, v int) (kept []sd.Property, dropped []string) {
	for _, p := range props {
		if since, ok := propertySince[p.Name]; ok && v != 0 && v < since {
			dropped = append(dropped, p.Name)
			continue
		}
		kept = append(kept, p)
	}
	return kept, dropped
}

// annotationPrefix marks an annotation that sets a unit property, as runc
// reads it: "org.systemd.property.TimeoutStopUSec": "uint64 5000000". The
// value is in GVariant text form; the name is systemd's D-Bus property.
const annotationPrefix = "org.systemd.property."

func annotationProperties(annotations map[string]string) ([]sd.Property, error) {
	var out []sd.Property
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, annotationPrefix)
		if !ok {
			continue
		}
		v, err := dbus.ParseVariant(annotations[k], dbus.Signature{})
		if name == "" || err != nil {
			return nil, errs.Field("annotations."+k, annotations[k], `give a D-Bus property name and a value in GVariant text form, e.g. "uint64 5000000"`,
				"not a systemd unit property: %v", err)
		}
		out = append(out, sd.Property{Name: name, Value: v})
	}
	return out, nil
}

// startUnit starts the transient unit name and waits for systemd's job. A
// unit of that name left failed by an earlier container is reset first.
// made is set once systemd has taken the unit, even if its job then failed.
func startUnit(c *sd.Conn, name string, props []sd.Property) (made bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	ch := make(chan string, 1)
	_, err = c.StartTransientUnitContext(ctx, name, "replace", props, ch)
	if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
		c.ResetFailedUnitContext(ctx, name)
		_, err = c.StartTransientUnitContext(ctx, name, "replace", props, ch)
	}
	if err != nil {
		if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
			return false, &errs.Error{Field: "linux.cgroupsPath", Value: name, Err: errors.New("systemd already has a unit of this name"),
				Hint: "another container uses this cgroupsPath: give each container its own"}
		}
		return false, &errs.Error{Field: "linux.cgroupsPath", Value: name, Err: fmt.Errorf("systemd refused to start the scope: %w", err),
			Hint: "check the limits and any org.systemd.property.* annotation"}
	}
	select {
	case res := <-ch:
		if res != "done" {
			return true, &errs.Error{Field: "linux.cgroupsPath", Value: name, Err: fmt.Errorf("systemd's job to start the scope ended %q", res),
				Hint: "see `journalctl -u " + name + "`"}
		}
		return true, nil
	case <-ctx.Done():
		return true, &errs.Error{Field: "linux.cgroupsPath", Value: name, Err: fmt.Errorf("systemd did not start the scope within %v", callTimeout)}
	}
}

// stopUnit stops unit name, if systemd has it, waits for the job, and
// clears a failed state so that the name can be used again.
func stopUnit(c *sd.Conn, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	ch := make(chan string, 1)
	_, err := c.StopUnitContext(ctx, name, "replace", ch)
	switch {
	case isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit"):
		return nil
	case err != nil:
		return err
	}
	select {
	case <-ch:
	case <-ctx.Done():
		return fmt.Errorf("systemd did not stop %s within %v", name, callTimeout)
	}
	c.ResetFailedUnitContext(ctx, name)
	return nil
}

func isDBusError(err error, name string) bool {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name == name
	}
	var pe *dbus.Error
	return errors.As(err, &pe) && pe.Name == name
}

// systemdCgroupOf reads where systemd put pid: its cgroup on the cgroup2
// hierarchy of a unified host, else on systemd's own name=systemd one.
func systemdCgroupOf(pid int, unified bool) (string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if (unified && parts[0] == "0") || (!unified && parts[1] == "name=systemd") {
			return parts[2], nil
		}
	}
	return "", fmt.Errorf("/proc/%d/cgroup: no systemd hierarchy", pid)
}
