package libcontainer

import (
	"os"
	"path/filepath"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

func testProfile() *rspec.LinuxSeccomp {
	return &rspec.LinuxSeccomp{
		DefaultAction: rspec.ActAllow,
		Syscalls:      []rspec.LinuxSyscall{{Names: []string{"mkdir"}, Action: rspec.ActErrno}},
	}
}

// TestSeccompCache: the first compile writes the program under the root's
// @cache, the second reads the same program back; another profile gets
// another entry; a cache others may write is not trusted.
func TestSeccompCache(t *testing.T) {
	root := t.TempDir()
	get, _ := compileSeccomp(root, testProfile())
	p1, err := get()
	if err != nil || p1 == nil || len(p1.BPF) == 0 {
		t.Fatalf("compile: %v %v", p1, err)
	}
	dir := filepath.Join(root, CacheDir, "seccomp")
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("cache entries after one compile: %v", ents)
	}
	key, _ := seccompKey(testProfile())
	cached := readCachedProgram(dir, key)
	if cached == nil || string(cached.BPF) != string(p1.BPF) || cached.Flags != p1.Flags {
		t.Fatalf("cached program differs: %+v vs %+v", cached, p1)
	}
	other := testProfile()
	other.Flags = []rspec.LinuxSeccompFlag{rspec.LinuxSeccompFlagLog}
	get, _ = compileSeccomp(root, other)
	p2, err := get()
	if err != nil || p2.Flags == p1.Flags {
		t.Fatalf("profile with the log flag: %+v %v", p2, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("cache entries after two profiles: %v", ents)
	}
	os.Chmod(dir, 0o777)
	if readCachedProgram(dir, key) != nil {
		t.Error("a world-writable cache directory was trusted")
	}
}
