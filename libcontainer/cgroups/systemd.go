package cgroups

import (
	"errors"
	"path"
	"strings"
	"time"

	"github.com/gorun/gorun/libcontainer/errs"
)

// DefaultSlice is the slice a systemd-managed container goes in when
// linux.cgroupsPath names none.
const DefaultSlice = "system.slice"

// SystemdUnit is where the systemd cgroup driver puts a container: a
// transient scope unit in a slice, and the cgroup systemd gives it.
type SystemdUnit struct {
	Slice string `json:"slice"` // "system.slice"
	Unit  string `json:"unit"`  // "gorun-web1.scope"
	Path  string `json:"path"`  // "/system.slice/gorun-web1.scope"
	// Description is the unit's description, which tells this
	// container's unit from another's of the same name (OwnerDescription).
	Description string `json:"description"`
}

// OwnerDescription is the description of the unit of container id created
// at created: gorun stops a unit, or kills what is in its cgroup, only if
// systemd has it with this description. Two containers given one
// cgroupsPath (the second refused, or made once the first had ended) have
// one unit name, and a half-made container's state names a unit that may
// be the other's.
func OwnerDescription(id string, created time.Time) string {
	return "gorun container " + id + " created " + created.UTC().Format(time.RFC3339Nano)
}

// ParseSystemdPath turns a linux.cgroupsPath in systemd's form,
// "slice:prefix:name", into the scope "prefix-name.scope" (or "name.scope"
// with no prefix) in that slice, and the cgroup path systemd gives it:
// below the slice, whose dashes nest ("a-b.slice" is /a.slice/a-b.slice).
// An empty path means "system.slice:gorun:ID"; an empty slice,
// system.slice. These are the forms containerd, CRI-O, podman and the
// kubelet send with a systemd cgroup driver.
func ParseSystemdPath(cgroupsPath, id string) (SystemdUnit, error) {
	if cgroupsPath == "" {
		cgroupsPath = DefaultSlice + ":gorun:" + id
	}
	bad := func(what string) error {
		return errs.Field("linux.cgroupsPath", cgroupsPath,
			`with --systemd-cgroup, write "slice:prefix:name", e.g. "system.slice:gorun:web1"`, "%s", what)
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return SystemdUnit{}, bad("not of the form slice:prefix:name")
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = DefaultSlice
	}
	for _, p := range parts {
		if strings.ContainsAny(p, "/\x00\n") || p == "." || p == ".." {
			return SystemdUnit{}, bad("a part contains a slash or a newline, or is . or ..")
		}
	}
	if name == "" {
		return SystemdUnit{}, bad("the name is empty")
	}
	if strings.HasSuffix(name, ".slice") {
		// A slice holds units, not processes.
		return SystemdUnit{}, bad("the name ends in .slice: a container goes in a scope, name it without .slice")
	}
	dir, err := expandSlice(slice)
	if err != nil {
		return SystemdUnit{}, bad(err.Error())
	}
	unit := name + ".scope"
	if prefix != "" {
		unit = prefix + "-" + unit
	}
	return SystemdUnit{Slice: slice, Unit: unit, Path: path.Join(dir, unit)}, nil
}

// expandSlice turns a slice unit name into its cgroup path: systemd nests
// slices by their dash-separated prefixes, and "-.slice" is the root.
func expandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" {
		return "", errors.New("the slice " + slice + " does not end in .slice")
	}
	if base == "-" {
		return "/", nil
	}
	if strings.HasPrefix(base, "-") || strings.HasSuffix(base, "-") || strings.Contains(base, "--") {
		return "", errors.New("the slice " + slice + " has a leading, trailing or double dash")
	}
	p, prefix := "", ""
	for _, comp := range strings.Split(base, "-") {
		prefix += comp
		p += "/" + prefix + ".slice"
		prefix += "-"
	}
	return p, nil
}
