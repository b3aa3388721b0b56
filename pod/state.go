package pod

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gorun/gorun/libcontainer/state"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// PodsDir is the directory under --root that holds one directory per pod.
// Its name is not a valid container id (specs.ValidateID rejects '@'), so
// no container can take it, `gorun delete --force` cannot remove it, and
// libcontainer.List skips it (it holds no container state).
const PodsDir = "@pods"

const stateFile = "pod.json"

// store is the pods directory of one gorun root.
type store struct{ root string }

func newStore(root string) store { return store{root: filepath.Join(root, PodsDir)} }

// dir is pod name's directory.
func (s store) dir(name string) string { return filepath.Join(s.root, name) }

func notExist(name string) error {
	return &errs.Error{Field: "pod", Value: name, Err: ErrNotExist, Hint: "`gorun pod list` shows the pods"}
}

// create makes the directory of a new pod and locks it exclusively. It
// fails with ErrExist if the name is taken.
func (s store) create(name string) (*state.Lock, error) {
	for i := 0; ; i++ {
		if err := os.MkdirAll(s.root, 0o711); err != nil {
			return nil, &errs.Error{Field: "--root", Value: filepath.Dir(s.root), Err: err, Hint: "give a writable --root directory"}
		}
		err := os.Mkdir(s.dir(name), 0o711)
		if err == nil {
			break
		}
		if errors.Is(err, fs.ErrExist) {
			return nil, &errs.Error{Field: "pod", Value: name, Err: ErrExist, Hint: "choose another name or `gorun pod rm " + name + "` the old one"}
		}
		// The pods directory was removed by a concurrent `pod rm` of the
		// last pod: make it again.
		if !errors.Is(err, fs.ErrNotExist) || i == 5 {
			return nil, &errs.Error{Field: "--root", Value: filepath.Dir(s.root), Err: err}
		}
	}
	return state.LockDir(s.dir(name), unix.LOCK_EX)
}

// lock locks pod name's directory: exclusively to change the pod (create,
// rm), shared to add a container to it (several at once). It fails with
// ErrNotExist if there is no such pod.
func (s store) lock(name string, how int) (*state.Lock, error) {
	for {
		l, err := state.LockDir(s.dir(name), how)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notExist(name)
		}
		if err != nil {
			return nil, err
		}
		// A `pod rm` may have removed the directory while this waited
		// for the lock, and a `pod create` made a new one: the lock must
		// be on the directory that is there now.
		if l.IsAt(s.dir(name)) {
			return l, nil
		}
		l.Unlock()
	}
}

// load reads pod name's state. A directory without state (a create that
// died early) is reported with ErrIncomplete.
func (s store) load(name string) (*Pod, error) {
	data, err := os.ReadFile(filepath.Join(s.dir(name), stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, derr := os.Stat(s.dir(name)); derr == nil {
			return nil, incomplete(name)
		}
		return nil, notExist(name)
	}
	if err != nil {
		return nil, err
	}
	var p Pod
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, &errs.Error{Field: "pod state", Value: filepath.Join(s.dir(name), stateFile), Err: fmt.Errorf("corrupt: %v", err),
			Hint: "remove the pod with `gorun pod rm --force " + name + "`"}
	}
	return &p, nil
}

func incomplete(name string) error {
	return &errs.Error{Field: "pod", Value: name, Err: ErrIncomplete, Hint: "remove it with `gorun pod rm --force " + name + "`"}
}

// loadReady is load, failing unless the pod is complete.
func (s store) loadReady(name string) (*Pod, error) {
	p, err := s.load(name)
	if err != nil {
		return nil, err
	}
	if p.Phase != PhaseReady {
		return nil, incomplete(name)
	}
	return p, nil
}

// save writes p's state atomically.
func (s store) save(p *Pod) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	dir := s.dir(p.Name)
	tmp, err := os.CreateTemp(dir, ".pod-")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, stateFile))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save state of pod %s: %w", p.Name, err)
	}
	return nil
}

// remove deletes pod name's directory, and the pods directory once it is
// empty (so that a root without pods looks as it did before).
func (s store) remove(name string) error {
	if err := os.RemoveAll(s.dir(name)); err != nil {
		return err
	}
	os.Remove(s.root) // fails while other pods exist
	return nil
}

// names lists the pods, sorted.
func (s store) names() ([]string, error) {
	ents, err := os.ReadDir(s.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// all loads every pod whose state can be read.
func (s store) all() []*Pod {
	names, _ := s.names()
	var out []*Pod
	for _, n := range names {
		if p, err := s.load(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}
