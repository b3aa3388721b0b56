package pod

import (
	"os"
	"sort"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer"
)

// Status is a pod's status, from its phase and its containers'.
type Status string

const (
	StatusCreating Status = "creating" // create has not finished
	StatusEmpty    Status = "empty"    // no containers
	StatusCreated  Status = "created"  // containers created, none started
	StatusRunning  Status = "running"  // at least one container running (or paused)
	StatusExited   Status = "exited"   // every container has exited
	StatusBroken   Status = "broken"   // its state cannot be read, or its infra process died (`gorun pod rm --force` removes it)
)

// Info is what `gorun pod inspect` prints: the pod's state, where it is
// kept, and its containers now.
type Info struct {
	*Pod
	Status   Status `json:"status"`
	StateDir string `json:"stateDir"`
	// InfraRunning says whether the infra process is alive (pods that
	// share their PID namespace).
	InfraRunning *bool           `json:"infraRunning,omitempty"`
	Containers   []ContainerInfo `json:"containers"`
}

// ContainerInfo is one container of a pod.
type ContainerInfo struct {
	ID      string               `json:"id"`
	Status  rspec.ContainerState `json:"status"`
	Pid     int                  `json:"pid,omitempty"`
	Bundle  string               `json:"bundle"`
	Created time.Time            `json:"created"`
	// Log is the file its output goes to, for a container `pod run`
	// started.
	Log string `json:"log,omitempty"`
}

// members returns, oldest first, the containers under root whose config
// says they belong to the pod with id podID. The containers' own state is
// the record of membership: a container deleted with `gorun delete` simply
// leaves the pod.
func members(states []*libcontainer.State, podID string) []*libcontainer.State {
	var out []*libcontainer.State
	for _, s := range states {
		if s.Annotations[AnnotationID] == podID {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

func (p *Pod) info(dir string, states []*libcontainer.State) *Info {
	in := &Info{Pod: p, StateDir: dir, Containers: []ContainerInfo{}}
	for _, s := range members(states, p.ID) {
		ci := ContainerInfo{ID: s.ID, Status: s.Status, Pid: s.Pid, Bundle: s.Bundle, Created: s.Created}
		if log := logPath(dir, s.ID); fileExists(log) {
			ci.Log = log
		}
		in.Containers = append(in.Containers, ci)
	}
	if p.Infra != nil {
		alive := p.Infra.alive()
		in.InfraRunning = &alive
	}
	in.Status = status(p.Phase, in.Containers)
	if in.InfraRunning != nil && !*in.InfraRunning && p.Phase == PhaseReady {
		in.Status = StatusBroken
	}
	return in
}

func status(phase Phase, cs []ContainerInfo) Status {
	if phase != PhaseReady {
		return StatusCreating
	}
	if len(cs) == 0 {
		return StatusEmpty
	}
	created := false
	for _, c := range cs {
		switch c.Status {
		case rspec.StateRunning, "paused":
			return StatusRunning
		case rspec.StateCreated, rspec.StateCreating:
			created = true
		}
	}
	if created {
		return StatusCreated
	}
	return StatusExited
}

// Inspect returns pod name's state and containers.
func Inspect(root, name string) (*Info, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	st := newStore(root)
	p, err := st.load(name)
	if err != nil {
		return nil, err
	}
	states, err := libcontainer.List(root)
	if err != nil {
		return nil, err
	}
	return p.info(st.dir(name), states), nil
}

// List returns every pod under root, by name. A pod whose state cannot be
// read (a create that died early) is listed as broken.
func List(root string) ([]*Info, error) {
	st := newStore(root)
	names, err := st.names()
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return []*Info{}, nil
	}
	states, err := libcontainer.List(root)
	if err != nil {
		return nil, err
	}
	out := make([]*Info, 0, len(names))
	for _, n := range names {
		p, err := st.load(n)
		if err != nil {
			out = append(out, &Info{Pod: &Pod{Name: n}, Status: StatusBroken, StateDir: st.dir(n), Containers: []ContainerInfo{}})
			continue
		}
		out = append(out, p.info(st.dir(n), states))
	}
	return out, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
