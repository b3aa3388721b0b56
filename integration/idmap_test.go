package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIdmappedMount: in a container whose user namespace maps 0 to host
// 100000, a bind mount with uidMappings containerID 1000 -> hostID 100000
// shows a file owned by host uid 1000 as owned by 0; the same directory
// bound without mappings shows it as nobody (65534). The host file is not
// changed.
func TestIdmappedMount(t *testing.T) {
	root := setup(t)
	userNSReachable(t)
	src := t.TempDir()
	os.Chmod(src, 0o755)
	f := filepath.Join(src, "owned-by-1000")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(f, 1000, 1000)
	b := sh(t, "stat -c '%u:%g' /idm/owned-by-1000 /plain/owned-by-1000")
	b.WriteFile("/idm/.keep", "", 0o644)
	b.WriteFile("/plain/.keep", "", 0o644)
	s := b.Spec
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	idmap := []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 100000, Size: 1}}
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "/idm", Type: "bind", Source: src, Options: []string{"rbind"}, UIDMappings: idmap, GIDMappings: idmap},
		specs.Mount{Destination: "/plain", Type: "bind", Source: src, Options: []string{"rbind"}})
	writeBundle(t, b)
	out := mustRun(t, root, b, containerID(t))
	if got := strings.Join(lines(out), " "); got != "0:0 65534:65534" {
		t.Errorf("owners inside: %q, want 0:0 through the idmapped mount and 65534:65534 through the plain one", got)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(f, &st); err != nil || st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("the host file's owner changed: %d:%d (%v)", st.Uid, st.Gid, err)
	}
}

// TestIdmappedMountNotABind: mappings on a mount that is not a bind mount
// get an error naming the mount, and nothing is left.
func TestIdmappedMountNotABind(t *testing.T) {
	root := setup(t)
	b := sh(t, "true")
	idmap := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 1}}
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", UIDMappings: idmap})
	writeBundle(t, b)
	_, stderr, code := runContainer(t, root, b, containerID(t))
	expectFailure(t, "idmapped tmpfs", "", stderr, code, "mounts[", "tmpfs")
}
