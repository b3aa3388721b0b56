package integration

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gorun/gorun/tests/bundle"
)

// Helpers of the security and seccomp tests: a static attack tool for the
// rootfs, and snapshots of what on the host an attack must not change.

var sectoolBuild struct {
	once sync.Once
	path string
	err  error
}

// sectoolBinary compiles testdata/security/sectool.c statically, once per
// source version (cached under the temporary directory, like the busybox
// cache of tests/bundle).
func sectoolBinary(t testing.TB) string {
	t.Helper()
	sectoolBuild.once.Do(func() {
		src, err := filepath.Abs("testdata/security/sectool.c")
		if err != nil {
			sectoolBuild.err = err
			return
		}
		data, err := os.ReadFile(src)
		if err != nil {
			sectoolBuild.err = err
			return
		}
		sum := sha256.Sum256(data)
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("gorun-tests-sectool-%d", os.Geteuid()))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			sectoolBuild.err = err
			return
		}
		out := filepath.Join(dir, "sectool-"+hex.EncodeToString(sum[:6]))
		if _, err := os.Stat(out); err == nil {
			sectoolBuild.path = out
			return
		}
		tmp := out + ".tmp"
		cmd := exec.Command("gcc", "-static", "-O2", "-pthread", "-o", tmp, src)
		if msg, err := cmd.CombinedOutput(); err != nil {
			sectoolBuild.err = fmt.Errorf("gcc -static sectool.c (make deps installs gcc and libc6-dev): %v\n%s", err, msg)
			return
		}
		sectoolBuild.err = os.Rename(tmp, out)
		sectoolBuild.path = out
	})
	if sectoolBuild.err != nil {
		t.Fatal(sectoolBuild.err)
	}
	return sectoolBuild.path
}

// addSectool copies the attack tool to /bin/sectool in b's rootfs.
func addSectool(t testing.TB, b *bundle.Bundle) {
	t.Helper()
	copyFile(t, sectoolBinary(t), b.Path("/bin/sectool"), 0o755)
}

func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

// fileHash is the sha256 of a file's contents.
func fileHash(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// treeDigest describes everything under dir (names, types, modes, owners,
// sizes, contents, link targets): two equal digests mean the tree is
// byte-for-byte the same.
func treeDigest(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := fmt.Sprintf("%s %v %d", rel, fi.Mode(), fi.Size())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case fi.Mode().IsRegular():
			line += " " + fileHash(t, p)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("digest of %s: %v", dir, err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// hostMounts lists the mount points of the test's own mount namespace.
func hostMounts(t testing.TB) map[string]int {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			m[fields[4]]++
		}
	}
	return m
}

// hostGuard records what a test's attack must leave alone on the host:
// gorun's binary, some probe trees, and the mounts at /, /proc, /sys,
// /dev and under the probes. check fails the test if any changed.
type hostGuard struct {
	t      testing.TB
	binary string
	probes map[string]string
	mounts map[string]int
}

func guardHost(t testing.TB, probes ...string) *hostGuard {
	t.Helper()
	g := &hostGuard{t: t, binary: fileHash(t, binary(t)), probes: map[string]string{}, mounts: hostMounts(t)}
	for _, p := range probes {
		g.probes[p] = treeDigest(t, p)
	}
	return g
}

func (g *hostGuard) check() {
	g.t.Helper()
	if h := fileHash(g.t, binary(g.t)); h != g.binary {
		g.t.Errorf("the host's gorun binary changed: sha256 %s, was %s", h, g.binary)
	}
	for p, d := range g.probes {
		if now := treeDigest(g.t, p); now != d {
			g.t.Errorf("host probe %s changed:\nbefore:\n%s\nafter:\n%s", p, d, now)
		}
	}
	now := hostMounts(g.t)
	watched := func(mp string) bool {
		if mp == "/" || mp == "/proc" || mp == "/sys" || mp == "/dev" || mp == "/tmp" {
			return true
		}
		for p := range g.probes {
			if mp == p || strings.HasPrefix(mp, p+"/") {
				return true
			}
		}
		return false
	}
	for mp, n := range now {
		if watched(mp) && n != g.mounts[mp] {
			g.t.Errorf("host mount table: %d mounts at %s, was %d", n, mp, g.mounts[mp])
		}
	}
}

// probeDir makes a host directory with a file in it, for an attack to aim
// at.
func probeDir(t testing.TB) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "precious"), []byte("host data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}
