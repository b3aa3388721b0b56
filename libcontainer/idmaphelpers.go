package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/nsenter"
)

// needsIDMapHelpers reports whether the maps of a new user namespace must
// be written by the setuid newuidmap/newgidmap (package uidmap): without
// root, the kernel lets a process write only a map of its own uid and gid.
func needsIDMapHelpers(uidMap, gidMap []rspec.LinuxIDMapping) bool {
	if os.Geteuid() == 0 {
		return false
	}
	own := func(m []rspec.LinuxIDMapping, id int) bool {
		return len(m) == 1 && int(m[0].HostID) == id && m[0].Size == 1
	}
	return !own(uidMap, os.Geteuid()) || !own(gidMap, os.Getegid())
}

const idMapHelpersHint = "several ids need the setuid newuidmap and newgidmap (Debian package uidmap), or map only your own id"

// checkOwnMaps checks, for a caller without root whose config makes a user
// namespace, what the kernel and newuidmap would refuse later and less
// clearly: the maps must include the caller's own uid and gid (otherwise
// the container's root owns nothing of the bundle), and maps of several
// ids need newuidmap and newgidmap installed.
func checkOwnMaps(s *rspec.Spec) error {
	if os.Geteuid() == 0 || s.Linux == nil {
		return nil
	}
	if !hasNewNamespace(s, rspec.UserNamespace) {
		for _, ns := range s.Linux.Namespaces {
			if ns.Type == rspec.UserNamespace {
				return nil // joined: its owner decides
			}
		}
		return errs.Field("linux.namespaces", "", `add {"type": "user"} with uid and gid mappings (gorun spec --rootless writes them)`,
			"without root, a container needs a user namespace of its own")
	}
	for _, m := range []struct {
		field string
		maps  []rspec.LinuxIDMapping
		id    uint32
	}{{"linux.uidMappings", s.Linux.UIDMappings, uint32(os.Geteuid())}, {"linux.gidMappings", s.Linux.GIDMappings, uint32(os.Getegid())}} {
		found := false
		for _, e := range m.maps {
			found = found || (m.id >= e.HostID && m.id-e.HostID < e.Size)
		}
		if !found {
			return errs.Field(m.field, describeMaps(m.maps),
				fmt.Sprintf(`add {"containerID": 0, "hostID": %d, "size": 1} (gorun spec --rootless writes it)`, m.id),
				"does not map your own id %d", m.id)
		}
	}
	if needsIDMapHelpers(s.Linux.UIDMappings, s.Linux.GIDMappings) {
		for _, tool := range []string{"newuidmap", "newgidmap"} {
			if _, err := exec.LookPath(tool); err != nil {
				return &errs.Error{Field: "linux.uidMappings", Value: describeMaps(s.Linux.UIDMappings), Err: fmt.Errorf("%s not found in $PATH", tool),
					Hint: idMapHelpersHint}
			}
		}
	}
	return nil
}

func describeMaps(maps []rspec.LinuxIDMapping) string {
	var desc []string
	for _, e := range maps {
		desc = append(desc, fmt.Sprintf("%d:%d:%d", e.ContainerID, e.HostID, e.Size))
	}
	return strings.Join(desc, ",")
}

// writeIDMaps writes the maps of process pid's user namespace through
// newuidmap and newgidmap, which check them against /etc/subuid and
// /etc/subgid.
func writeIDMaps(pid int, uidMap, gidMap []rspec.LinuxIDMapping) error {
	for _, m := range []struct {
		tool, field string
		maps        []rspec.LinuxIDMapping
	}{{"newuidmap", "linux.uidMappings", uidMap}, {"newgidmap", "linux.gidMappings", gidMap}} {
		path, err := exec.LookPath(m.tool)
		if err != nil {
			return &errs.Error{Field: m.field, Err: fmt.Errorf("%s not found", m.tool),
				Hint: idMapHelpersHint}
		}
		args := []string{strconv.Itoa(pid)}
		for _, e := range m.maps {
			args = append(args, strconv.Itoa(int(e.ContainerID)), strconv.Itoa(int(e.HostID)), strconv.Itoa(int(e.Size)))
		}
		var out []byte
		err = nsenter.WithCallerTimerSlack(func() (err error) {
			out, err = exec.Command(path, args...).CombinedOutput()
			return err
		})
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if msg == "" {
				msg = err.Error()
			}
			return &errs.Error{Field: m.field, Value: describeMaps(m.maps), Err: errors.New(msg),
				Hint: "every range must be your own id or inside your entry of /etc/subuid and /etc/subgid"}
		}
	}
	return nil
}
