package cgroups

import (
	"errors"
	"path"
	"strings"

	"github.com/gorun/gorun/libcontainer/errs"
)

// DefaultSlice is the slice a systemd-managed container goes in when
// linux.cgroupsPath names none.
const DefaultSlice = "system.slice"

// SystemdPath turns a linux.cgroupsPath in systemd's form,
// "slice:prefix:name", into the cgroup path systemd gives the container's
// transient unit: the scope "prefix-name.scope" (or the slice "name" when
// it ends in ".slice") below the slice, whose dashes nest
// ("a-b.slice" is /a.slice/a-b.slice). An empty path means
// "system.slice:gorun:ID"; an empty slice, system.slice.
//
// gorun has no systemd driver yet: with --systemd-cgroup the command line
// stops with an error before any container is made (this host has no
// systemd to test one with). The parsing is here, tested, for that driver.
func SystemdPath(cgroupsPath, id string) (string, error) {
	if cgroupsPath == "" {
		cgroupsPath = DefaultSlice + ":gorun:" + id
	}
	bad := func(what string) error {
		return errs.Field("linux.cgroupsPath", cgroupsPath,
			`with --systemd-cgroup, write "slice:prefix:name", e.g. "system.slice:gorun:web1"`, "%s", what)
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return "", bad("not of the form slice:prefix:name")
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = DefaultSlice
	}
	for _, p := range parts {
		if strings.ContainsAny(p, "/\x00") || p == "." || p == ".." {
			return "", bad("a part contains a slash or is . or ..")
		}
	}
	if name == "" {
		return "", bad("the name is empty")
	}
	dir, err := expandSlice(slice)
	if err != nil {
		return "", bad(err.Error())
	}
	unit := name
	if !strings.HasSuffix(name, ".slice") {
		unit = name + ".scope"
		if prefix != "" {
			unit = prefix + "-" + unit
		}
	} else if _, err := expandSlice(name); err != nil {
		return "", bad(err.Error())
	}
	return path.Join(dir, unit), nil
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
