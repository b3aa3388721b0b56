package libcontainer

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/nsenter"
	"github.com/gorun/gorun/libcontainer/rootfs"
)

// HoldEnv marks a gorun process whose only job is to keep a user namespace
// alive until its stdin closes (see HoldMain).
const HoldEnv = "_GORUN_HOLD_USERNS"

// HoldMain is the whole of a hold process: it waits for its stdin to close.
func HoldMain() {
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// newUserNS makes a user namespace with the given maps and returns a
// handle on it. A namespace needs a process to be created in: a gorun
// process in hold mode lives in it just long enough for the handle to be
// opened.
func newUserNS(uidMap, gidMap []rspec.LinuxIDMapping) (*os.File, error) {
	self, err := sealedSelf()
	if err != nil {
		return nil, err
	}
	defer self.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:  fmt.Sprintf("/proc/self/fd/%d", self.Fd()),
		Args:  []string{"gorun-hold"},
		Env:   []string{HoldEnv + "=1"},
		Stdin: r,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  unix.CLONE_NEWUSER,
			UidMappings: idMap(uidMap),
			GidMappings: idMap(gidMap),
		},
	}
	err = nsenter.WithCallerTimerSlack(cmd.Start)
	r.Close()
	if err != nil {
		w.Close()
		return nil, err
	}
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid))
	// Closing the pipe ends the hold process; the handle keeps the
	// namespace.
	w.Close()
	cmd.Wait()
	return ns, err
}

// idmappedTrees prepares, on the host side, every bind mount of s that has
// uidMappings or gidMappings: a detached copy of the source, its attributes
// set and its ids mapped through a user namespace made of the mount's maps
// (MOUNT_ATTR_IDMAP needs privilege over the filesystem, which the init in
// a user namespace does not have). The init attaches them by fd. It
// returns the trees in the order of the mounts, and their indices.
func idmappedTrees(s *rspec.Spec) ([]*os.File, []int, error) {
	var trees []*os.File
	var idx []int
	fail := func(err error) ([]*os.File, []int, error) {
		for _, t := range trees {
			t.Close()
		}
		return nil, nil, err
	}
	for i, m := range s.Mounts {
		if len(m.UIDMappings) == 0 && len(m.GIDMappings) == 0 {
			continue
		}
		field := fmt.Sprintf("mounts[%d]", i)
		o := rootfs.ParseOptions(m.Options)
		if !(o.Bind || m.Type == "bind") {
			return fail(errs.Field(field+".type", m.Type, "only bind mounts can be idmapped by gorun", "uidMappings on a mount that is not a bind mount"))
		}
		uids, gids := m.UIDMappings, m.GIDMappings
		if len(uids) == 0 {
			uids = gids
		}
		if len(gids) == 0 {
			gids = uids
		}
		ns, err := newUserNS(uids, gids)
		if err != nil {
			return fail(&errs.Error{Field: field + ".uidMappings", Err: fmt.Errorf("make the mapping's user namespace: %w", err)})
		}
		t, err := rootfs.IDMappedTree(m.Source, o, ns)
		ns.Close()
		if err != nil {
			return fail(&errs.Error{Field: field, Value: filepath.Clean(m.Source), Err: err,
				Hint: "idmapped mounts need kernel 5.12 or later and a filesystem that supports them"})
		}
		trees = append(trees, t)
		idx = append(idx, i)
	}
	return trees, idx, nil
}
