package specs

import (
	"fmt"
	"path"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/rootfs"
)

// isBind says whether m is a bind mount: type bind or none, or a bind or
// rbind option.
func isBind(m *rspec.Mount) bool {
	if m.Type == "bind" || m.Type == "none" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

func (v *validator) mounts() error {
	for i := range v.s.Mounts {
		if err := mount(i, &v.s.Mounts[i]); err != nil {
			return err
		}
	}
	return nil
}

func mount(i int, m *rspec.Mount) error {
	field := fmt.Sprintf("mounts[%d]", i)
	d := m.Destination
	switch {
	case d == "":
		return errs.Field(field+".destination", "", `set destination to an absolute path in the container, e.g. "/data"`, "empty")
	case !path.IsAbs(path.Clean(d)):
		return errs.Field(field+".destination", d, fmt.Sprintf("use an absolute path in the container, e.g. %q", path.Join("/", d)),
			"not an absolute path")
	case strings.IndexByte(d, 0) >= 0:
		return errs.Field(field+".destination", d, "remove the NUL byte", "contains a NUL byte")
	case strings.IndexByte(m.Source, 0) >= 0:
		return errs.Field(field+".source", m.Source, "remove the NUL byte", "contains a NUL byte")
	}
	bind := isBind(m)
	if bind && m.Source == "" {
		return errs.Field(field+".source", "", "set source to the host path to bind-mount", "bind mount without a source")
	}
	if !bind && m.Type == "" {
		return errs.Field(field+".type", "",
			`set type to a filesystem type such as "tmpfs", or add "rbind" to options for a bind mount`, "empty")
	}
	for j, o := range m.Options {
		f := fmt.Sprintf("%s.options[%d]", field, j)
		switch {
		case o == "":
			return errs.Field(f, "", "remove the empty option", "empty option")
		case strings.IndexByte(o, 0) >= 0:
			return errs.Field(f, o, "remove the NUL byte", "contains a NUL byte")
		case rootfs.IsKnownOption(o), strings.Contains(o, "="), !bind:
			// A flag, a data option (mode=755), or a filesystem's own
			// data word (newinstance for devpts): the kernel judges those.
		default:
			return errs.Field(f, o,
				"bind mounts take only mount flags such as ro, nosuid, nodev, noexec, rbind, rprivate; check the spelling",
				"unknown option for a bind mount")
		}
	}
	for _, mp := range []struct {
		name string
		m    []rspec.LinuxIDMapping
	}{{"uidMappings", m.UIDMappings}, {"gidMappings", m.GIDMappings}} {
		for j, idm := range mp.m {
			if idm.Size == 0 {
				return errs.Field(fmt.Sprintf("%s.%s[%d].size", field, mp.name, j), "0",
					"map at least one id", "size must be greater than 0")
			}
		}
	}
	return nil
}

func (v *validator) hooks() error {
	h := v.s.Hooks
	if h == nil {
		return nil
	}
	for _, kind := range []struct {
		name  string
		hooks []rspec.Hook
	}{
		{"prestart", h.Prestart},
		{"createRuntime", h.CreateRuntime},
		{"createContainer", h.CreateContainer},
		{"startContainer", h.StartContainer},
		{"poststart", h.Poststart},
		{"poststop", h.Poststop},
	} {
		for i, hk := range kind.hooks {
			field := fmt.Sprintf("hooks.%s[%d]", kind.name, i)
			switch {
			case hk.Path == "":
				return errs.Field(field+".path", "", "set path to the absolute path of the hook program", "empty")
			case !path.IsAbs(hk.Path):
				return errs.Field(field+".path", hk.Path,
					"use the absolute path of the hook program; hooks are not looked up in $PATH", "not an absolute path")
			case strings.IndexByte(hk.Path, 0) >= 0:
				return errs.Field(field+".path", hk.Path, "remove the NUL byte", "contains a NUL byte")
			case hk.Timeout != nil && *hk.Timeout <= 0:
				return errs.Field(field+".timeout", fmt.Sprint(*hk.Timeout),
					"use a timeout in seconds greater than 0, or leave it out for none", "must be greater than 0")
			}
			for j, e := range hk.Env {
				if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
					return errs.Field(fmt.Sprintf("%s.env[%d]", field, j), e, `write it as "NAME=value"`,
						"not a NAME=value environment entry")
				}
			}
		}
	}
	return nil
}
