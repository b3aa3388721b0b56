package main

import (
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli/v2"

	"github.com/gorun/gorun/libcontainer/caps"
	"github.com/gorun/gorun/libcontainer/rootfs"
	"github.com/gorun/gorun/libcontainer/sched"
	"github.com/gorun/gorun/libcontainer/seccomp"
)

// featuresCommand prints what this gorun supports, in the runtime-spec's
// features format. Only what is implemented is claimed.
var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "print the runtime-spec features that gorun supports, as JSON",
	Action: func(ctx *cli.Context) error {
		yes, no := true, false
		f := features.Features{
			OCIVersionMin: "1.0.0",
			OCIVersionMax: rspec.Version,
			Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
			MountOptions:  rootfs.KnownOptions(),
			Linux: &features.Linux{
				Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"},
				Capabilities: caps.Names(),
				Cgroup:       &features.Cgroup{V1: &yes, V2: &yes, Systemd: &yes, SystemdUser: &no},
				Seccomp: &features.Seccomp{
					Enabled:        &yes,
					Actions:        seccomp.Actions(),
					Operators:      seccomp.Operators(),
					Archs:          seccomp.Archs(),
					KnownFlags:     seccomp.KnownFlags(),
					SupportedFlags: seccomp.SupportedFlags(),
				},
				// Supported: applied where the host runs the module, an
				// error where it does not.
				Apparmor: &features.Apparmor{Enabled: &yes},
				Selinux:  &features.Selinux{Enabled: &yes},
				IntelRdt: &features.IntelRdt{Enabled: &no},
				MemoryPolicy: &features.MemoryPolicy{
					Modes: strings.Split(sched.MemoryModeNames, ", "),
					Flags: strings.Split(sched.MemoryFlagNames, ", "),
				},
				NetDevices: &features.NetDevices{Enabled: &yes},
				MountExtensions: &features.MountExtensions{
					IDMap: &features.IDMap{Enabled: &yes},
				},
			},
			Annotations: map[string]string{"org.gorun.version": version},
		}
		return printJSON(f)
	},
}
