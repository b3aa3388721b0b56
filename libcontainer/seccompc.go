package libcontainer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/seccomp"
	"github.com/gorun/gorun/libcontainer/state"
)

// CacheDir is the directory under --root for compiled seccomp profiles. Its
// name is not a valid container id, so no container can take it and list
// skips it.
const CacheDir = "@cache"

// seccompCacheFormat changes whenever what a cached program depends on
// changes in gorun (how flags are derived, the file format).
const seccompCacheFormat = "2"

// seccompCacheMax bounds the number of cached profiles per root.
const seccompCacheMax = 64

// compileSeccomp returns a function that yields linux.seccomp compiled to
// a BPF program. libseccomp takes about 8 ms here to build and generate the
// default profile, and every container of a node uses one of a few
// profiles: a program compiled before is read from the cache under the
// state root; otherwise it is compiled in the background, while the
// container's init starts, and cached. A nil profile compiles to nil.
// It also returns what exec will need of the profile (see
// state.ExecInfo.Seccomp).
func compileSeccomp(root string, sc *rspec.LinuxSeccomp) (_ func() (*seccomp.Program, error), execRef string) {
	if sc == nil {
		return func() (*seccomp.Program, error) { return nil, nil }, state.NoSeccomp
	}
	key, keyErr := seccompKey(sc)
	if keyErr == nil && !seccomp.NeedsListener(sc) {
		execRef = key
	}
	dir := seccompCacheDir(root)
	if keyErr == nil {
		if p := readCachedProgram(dir, key); p != nil {
			return func() (*seccomp.Program, error) { return p, nil }, execRef
		}
	}
	type result struct {
		p   *seccomp.Program
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := seccomp.Build(sc)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Release()
		if len(f.Skipped) > 0 {
			slog.Debug("seccomp: syscalls this libseccomp does not know are left out", "names", f.Skipped)
		}
		p, err := f.Program()
		if err == nil && keyErr == nil {
			writeCachedProgram(dir, key, p)
		}
		ch <- result{p, err}
	}()
	var r *result
	return func() (*seccomp.Program, error) {
		if r == nil {
			v := <-ch
			r = &v
		}
		return r.p, r.err
	}, execRef
}

func seccompCacheDir(root string) string { return filepath.Join(root, CacheDir, "seccomp") }

// withoutSeccomp returns s without linux.seccomp, for the child, which
// gets the compiled program instead: the profile is most of the config's
// JSON (the default one names ~350 syscalls) and need not be encoded and
// decoded again.
func withoutSeccomp(s *rspec.Spec) *rspec.Spec {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return s
	}
	c := *s
	l := *s.Linux
	l.Seccomp = nil
	c.Linux = &l
	return &c
}

// seccompKey names a profile's program: the profile itself, the
// architecture, libseccomp's version and the cache format.
func seccompKey(sc *rspec.LinuxSeccomp) (string, error) {
	b, err := json.Marshal(struct {
		Profile        *rspec.LinuxSeccomp
		Arch, Lib, Fmt string
	}{sc, runtime.GOARCH, seccomp.LibraryVersion(), seccompCacheFormat})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// readCachedProgram returns the cached program of key, or nil. The cache
// is trusted only if its directory and file belong to this user and no
// one else may write them.
func readCachedProgram(dir, key string) *seccomp.Program {
	if !privateDir(dir) {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(dir, key+".json"), os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return nil
	}
	var p seccomp.Program
	if json.NewDecoder(f).Decode(&p) != nil || len(p.BPF) == 0 || len(p.BPF)%8 != 0 {
		return nil
	}
	return &p
}

func privateDir(dir string) bool {
	var st unix.Stat_t
	return unix.Lstat(dir, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR &&
		int(st.Uid) == os.Geteuid() && st.Mode&0o077 == 0
}

// writeCachedProgram stores p under key (atomically: a reader sees the
// whole file or none). Errors only cost the next container a compile.
func writeCachedProgram(dir, key string, p *seccomp.Program) {
	if err := os.MkdirAll(dir, 0o700); err != nil || !privateDir(dir) {
		return
	}
	b, err := json.Marshal(p)
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, key+".json"))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return
	}
	pruneCache(dir)
}

// pruneCache keeps the seccompCacheMax newest programs.
func pruneCache(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) <= seccompCacheMax {
		return
	}
	type entry struct {
		name string
		mod  int64
	}
	var es []entry
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			es = append(es, entry{e.Name(), info.ModTime().UnixNano()})
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].mod > es[j].mod })
	for _, e := range es[min(len(es), seccompCacheMax):] {
		if err := os.Remove(filepath.Join(dir, e.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return
		}
	}
}
