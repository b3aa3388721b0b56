// Package state is gorun's on-disk state store: one directory per container
// under the --root directory, holding state.json (written atomically by
// rename) and the exec fifo. A flock on the container directory serialises
// gorun invocations that act on the same container.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/smallfile"
)

const (
	stateFile   = "state.json"
	configFile  = "config.json"
	execFile    = "exec.json"
	systemdFile = "systemd.json"
	// FifoName is the exec fifo the init blocks on until `start`.
	FifoName = "exec.fifo"
)

// State is what gorun records about a container in state.json: what
// start, state, list, kill and delete need, kept small because every one of
// them decodes it. The whole config is kept apart, in config.json, for the
// commands that need it (exec, update).
type State struct {
	ID      string    `json:"id"`
	Bundle  string    `json:"bundle"`
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
	// InitPid is the host pid of the container's init, and InitStart its
	// start time in clock ticks (/proc/PID/stat field 22): together they
	// tell the init from a later process that reuses the pid.
	InitPid   int    `json:"init_pid"`
	InitStart uint64 `json:"init_start"`
	// Cgroup is the cgroup path the container was placed in ("" for none).
	Cgroup string `json:"cgroup,omitempty"`
	// SystemdUnit is the scope unit systemd made for the cgroup, with
	// --systemd-cgroup ("" with cgroupfs).
	SystemdUnit string `json:"systemd_unit,omitempty"`
	// Annotations and Hooks are the config's, for state and the hooks
	// that start and delete run.
	Annotations map[string]string `json:"annotations,omitempty"`
	Hooks       *rspec.Hooks      `json:"hooks,omitempty"`
	// NamespacePaths maps a namespace type to its /proc path, for exec.
	NamespacePaths map[rspec.LinuxNamespaceType]string `json:"namespace_paths,omitempty"`
}

// ExecInfo is what `gorun exec` needs of a container besides its state and
// would otherwise find again each time, recorded by create in exec.json: a
// file of its own, since list decodes every state.json and this would
// double their size.
type ExecInfo struct {
	// CgroupPlacement is how a process exec'd into the container joins
	// its cgroup: exec need not find the cgroup hierarchies again.
	CgroupPlacement *cgroups.Placement `json:"cgroup_placement,omitempty"`
	// Seccomp is what exec needs of linux.seccomp: NoSeccomp, or the name
	// of its compiled program in the seccomp cache under the root. With ""
	// (a profile with a listener) exec reads the config.
	Seccomp string `json:"seccomp,omitempty"`
	// Personality and MemoryPolicy are the config's linux.personality and
	// linux.memoryPolicy, which exec'd processes get too.
	Personality  *rspec.LinuxPersonality  `json:"personality,omitempty"`
	MemoryPolicy *rspec.LinuxMemoryPolicy `json:"memory_policy,omitempty"`
}

// NoSeccomp is ExecInfo.Seccomp of a container without linux.seccomp.
const NoSeccomp = "none"

// Store is a state root directory.
type Store struct{ Root string }

// Dir is the directory of container id.
func (s Store) Dir(id string) string { return filepath.Join(s.Root, id) }

// Create makes the directory of a new container and locks it. It fails with
// errs.ErrExist if the id is taken.
func (s Store) Create(id string) (*Lock, error) {
	if err := os.MkdirAll(s.Root, 0o711); err != nil {
		return nil, &errs.Error{Field: "--root", Value: s.Root, Err: err, Hint: "give a writable --root directory"}
	}
	dir := s.Dir(id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, &errs.Error{Field: "container id", Value: id, Err: errs.ErrExist, Hint: "choose another id or `gorun delete` the old one"}
		}
		return nil, &errs.Error{Field: "--root", Value: s.Root, Err: err, Hint: "give a writable --root directory"}
	}
	return LockDir(dir, unix.LOCK_EX)
}

// Lock locks the directory of an existing container. The directory may be
// removed (and made again by another create) while this waits for its
// lock: then the lock of the one now there is taken, or ErrNotExist
// returned if there is none.
func (s Store) Lock(id string) (*Lock, error) {
	for {
		l, err := LockDir(s.Dir(id), unix.LOCK_EX)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &errs.Error{Field: "container id", Value: id, Err: errs.ErrNotExist, Hint: "`gorun list` shows the containers under --root " + s.Root}
		}
		if err != nil || l.IsAt(s.Dir(id)) {
			return l, err
		}
		l.Unlock()
	}
}

// Load reads the state of container id without locking it.
func (s Store) Load(id string) (*State, error) {
	data, err := smallfile.Read(filepath.Join(s.Dir(id), stateFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, derr := os.Stat(s.Dir(id)); derr == nil {
				// The directory exists but holds no state: a create that
				// died before finishing, or one still under way.
				return nil, &errs.Error{Field: "container id", Value: id, Err: errors.New("container state is incomplete (create did not finish)"), Hint: "remove it with `gorun delete --force " + id + "`"}
			}
			return nil, &errs.Error{Field: "container id", Value: id, Err: errs.ErrNotExist, Hint: "`gorun list` shows the containers under --root " + s.Root}
		}
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, &errs.Error{Field: "state file", Value: filepath.Join(s.Dir(id), stateFile), Err: fmt.Errorf("corrupt: %v", err), Hint: "remove the container with `gorun delete --force " + id + "`"}
	}
	return &st, nil
}

// Save writes st atomically: a reader sees the old state or the new one,
// never a part.
func (s Store) Save(st *State) error {
	return s.writeJSON(st.ID, stateFile, st)
}

// SaveSpec records the container's config (as create used it, then with
// update's resources) atomically.
func (s Store) SaveSpec(id string, spec *rspec.Spec) error {
	return s.writeJSON(id, configFile, spec)
}

// SaveExecInfo records what exec needs of container id.
func (s Store) SaveExecInfo(id string, e *ExecInfo) error {
	return s.writeJSON(id, execFile, e)
}

// SaveSystemdUnit records, beside state.json, the systemd scope a
// container's cgroup is (--systemd-cgroup): `delete --force` of a container
// whose state.json is lost still finds it, and knows it for its own.
func (s Store) SaveSystemdUnit(id string, u *cgroups.SystemdUnit) error {
	return s.writeJSON(id, systemdFile, u)
}

// LoadSystemdUnit reads what SaveSystemdUnit recorded (nil if nothing).
func (s Store) LoadSystemdUnit(id string) *cgroups.SystemdUnit {
	var u cgroups.SystemdUnit
	data, err := smallfile.Read(filepath.Join(s.Dir(id), systemdFile))
	if err != nil || json.Unmarshal(data, &u) != nil || u.Unit == "" {
		return nil
	}
	return &u
}

// LoadExecInfo reads what create recorded for exec. A container created by
// a gorun that recorded none, or a file that cannot be read, gives an
// empty ExecInfo: exec then finds everything again.
func (s Store) LoadExecInfo(id string) *ExecInfo {
	var e ExecInfo
	if data, err := smallfile.Read(filepath.Join(s.Dir(id), execFile)); err == nil {
		if json.Unmarshal(data, &e) != nil {
			e = ExecInfo{}
		}
	}
	return &e
}

// LoadSpec reads the container's recorded config.
func (s Store) LoadSpec(id string) (*rspec.Spec, error) {
	var spec rspec.Spec
	if err := s.LoadSpecInto(id, &spec); err != nil {
		return nil, err
	}
	return &spec, nil
}

// LoadSpecInto decodes the container's recorded config into v, a struct
// with the part of runtime-spec's Spec the caller needs (fields it lacks
// are skipped).
func (s Store) LoadSpecInto(id string, v any) error {
	path := filepath.Join(s.Dir(id), configFile)
	data, err := smallfile.Read(path)
	if err != nil {
		return &errs.Error{Field: "container " + id, Value: path, Err: err, Hint: "remove the container with `gorun delete --force " + id + "`"}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &errs.Error{Field: "container " + id, Value: path, Err: fmt.Errorf("corrupt: %v", err), Hint: "remove the container with `gorun delete --force " + id + "`"}
	}
	return nil
}

// writeJSON writes v as file name of container id through a temporary
// file and a rename.
func (s Store) writeJSON(id, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dir := s.Dir(id)
	tmp, err := os.CreateTemp(dir, ".state-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s of %s: %w", name, id, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Remove deletes the container's directory.
func (s Store) Remove(id string) error { return os.RemoveAll(s.Dir(id)) }

// IDs lists the container ids under the root, in directory order.
func (s Store) IDs() ([]string, error) {
	ents, err := os.ReadDir(s.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ents))
	for _, e := range ents {
		// '@' starts gorun's own directories (@pods, @cache), never an id.
		if e.IsDir() && !strings.HasPrefix(e.Name(), "@") {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Locked reports whether another process holds the lock of container id.
func (s Store) Locked(id string) bool {
	f, err := os.OpenFile(s.Dir(id), os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == unix.EWOULDBLOCK
}
