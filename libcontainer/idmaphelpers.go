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
				Hint: "several ids need the setuid newuidmap and newgidmap (Debian package uidmap), or map only your own id"}
		}
		args := []string{strconv.Itoa(pid)}
		var desc []string
		for _, e := range m.maps {
			args = append(args, strconv.Itoa(int(e.ContainerID)), strconv.Itoa(int(e.HostID)), strconv.Itoa(int(e.Size)))
			desc = append(desc, fmt.Sprintf("%d:%d:%d", e.ContainerID, e.HostID, e.Size))
		}
		out, err := exec.Command(path, args...).CombinedOutput()
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if msg == "" {
				msg = err.Error()
			}
			return &errs.Error{Field: m.field, Value: strings.Join(desc, ","), Err: errors.New(msg),
				Hint: "every range must be your own id or inside your entry of /etc/subuid and /etc/subgid"}
		}
	}
	return nil
}
