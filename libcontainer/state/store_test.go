package state

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
)

func TestCreateSaveLoad(t *testing.T) {
	s := Store{Root: filepath.Join(t.TempDir(), "root")}
	l, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	st := &State{ID: "c1", Bundle: "/b", InitPid: 42, InitStart: 7, Created: time.Unix(1, 0).UTC(), Annotations: map[string]string{"a": "b"}}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSpec("c1", &rspec.Spec{Hostname: "h"}); err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	got, err := s.Load("c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.InitPid != 42 || got.InitStart != 7 || got.Annotations["a"] != "b" || !got.Created.Equal(st.Created) {
		t.Errorf("loaded %+v", got)
	}
	if spec, err := s.LoadSpec("c1"); err != nil || spec.Hostname != "h" {
		t.Errorf("LoadSpec: %+v, %v", spec, err)
	}
	ids, _ := s.IDs()
	if len(ids) != 1 || ids[0] != "c1" {
		t.Errorf("IDs = %v", ids)
	}
	// No temporary files stay behind.
	ents, _ := os.ReadDir(s.Dir("c1"))
	if len(ents) != 2 {
		t.Errorf("container dir holds %d entries, want only state.json and config.json", len(ents))
	}
	if err := s.Remove("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("c1"); !errors.Is(err, errs.ErrNotExist) {
		t.Errorf("Load after Remove: %v", err)
	}
}

func TestCreateTwice(t *testing.T) {
	s := Store{Root: t.TempDir()}
	l, err := s.Create("x")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if _, err := s.Create("x"); !errors.Is(err, errs.ErrExist) {
		t.Fatalf("second Create: %v, want ErrExist", err)
	}
}

func TestLoadIncompleteAndCorrupt(t *testing.T) {
	s := Store{Root: t.TempDir()}
	l, _ := s.Create("half")
	l.Unlock()
	if _, err := s.Load("half"); err == nil || errors.Is(err, errs.ErrNotExist) {
		t.Errorf("incomplete state: %v", err)
	}
	os.WriteFile(filepath.Join(s.Dir("half"), stateFile), []byte(`{"id": "half", "init_pid": `), 0o600)
	_, err := s.Load("half")
	var e *errs.Error
	if !errors.As(err, &e) || e.Field != "state file" {
		t.Errorf("corrupt state: %v", err)
	}
}

func TestLockSerialises(t *testing.T) {
	s := Store{Root: t.TempDir()}
	l, _ := s.Create("c")
	l.Unlock()
	var mu sync.Mutex
	inside := 0
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := s.Lock("c")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			if inside != 1 {
				t.Error("two holders of one container's lock")
			}
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			l.Unlock()
		}()
	}
	wg.Wait()
	if _, err := s.Lock("missing"); !errors.Is(err, errs.ErrNotExist) {
		t.Errorf("Lock of a missing container: %v", err)
	}
}

// TestExecInfo: what create records for exec comes back; a container
// without it (an older gorun's) or with a damaged file gives an empty
// ExecInfo, and exec finds everything again.
func TestExecInfo(t *testing.T) {
	s := Store{Root: filepath.Join(t.TempDir(), "root")}
	l, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if e := s.LoadExecInfo("c1"); e.Seccomp != "" || e.CgroupPlacement != nil {
		t.Errorf("no exec.json: %+v, want empty", e)
	}
	want := &ExecInfo{Seccomp: NoSeccomp, CgroupPlacement: &cgroups.Placement{Tasks: []string{"/sys/fs/cgroup/pids/c1/tasks"}, Dir: "/sys/fs/cgroup/unified/c1"}}
	if err := s.SaveExecInfo("c1", want); err != nil {
		t.Fatal(err)
	}
	got := s.LoadExecInfo("c1")
	if got.Seccomp != NoSeccomp || got.CgroupPlacement == nil || got.CgroupPlacement.Dir != want.CgroupPlacement.Dir ||
		len(got.CgroupPlacement.Tasks) != 1 || got.CgroupPlacement.Tasks[0] != want.CgroupPlacement.Tasks[0] {
		t.Errorf("LoadExecInfo: %+v, want %+v", got, want)
	}
	if err := os.WriteFile(filepath.Join(s.Dir("c1"), execFile), []byte("{\"seccomp\": 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if e := s.LoadExecInfo("c1"); e.Seccomp != "" || e.CgroupPlacement != nil {
		t.Errorf("damaged exec.json: %+v, want empty", e)
	}
}
