package initmsg

import (
	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// The init decodes the config into initSpec, the part of runtime-spec's
// Spec that it reads: encoding/json builds a table for every type
// reachable from what it decodes into, the first time, and for the whole
// Spec that cost the init ~0.7 ms of its start; without the sections it
// never reads, ~0.35 ms. Left out: linux.resources and linux.seccomp
// (the parent applies the cgroup and sends the compiled filter) and the
// other platforms' sections. Every other field is runtime-spec's own type;
// TestInitSpecCoversSpec fails when runtime-spec gains a field that is
// neither here nor in initSpecLeftOut.

type initSpec struct {
	Version     string            `json:"ociVersion"`
	Process     *rspec.Process    `json:"process,omitempty"`
	Root        *rspec.Root       `json:"root,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Domainname  string            `json:"domainname,omitempty"`
	Mounts      []rspec.Mount     `json:"mounts,omitempty"`
	Hooks       *rspec.Hooks      `json:"hooks,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       *initLinux        `json:"linux,omitempty"`
}

type initLinux struct {
	UIDMappings       []rspec.LinuxIDMapping           `json:"uidMappings,omitempty"`
	GIDMappings       []rspec.LinuxIDMapping           `json:"gidMappings,omitempty"`
	Sysctl            map[string]string                `json:"sysctl,omitempty"`
	CgroupsPath       string                           `json:"cgroupsPath,omitempty"`
	Namespaces        []rspec.LinuxNamespace           `json:"namespaces,omitempty"`
	Devices           []rspec.LinuxDevice              `json:"devices,omitempty"`
	NetDevices        map[string]rspec.LinuxNetDevice  `json:"netDevices,omitempty"`
	RootfsPropagation string                           `json:"rootfsPropagation,omitempty"`
	MaskedPaths       []string                         `json:"maskedPaths,omitempty"`
	ReadonlyPaths     []string                         `json:"readonlyPaths,omitempty"`
	MountLabel        string                           `json:"mountLabel,omitempty"`
	IntelRdt          *rspec.LinuxIntelRdt             `json:"intelRdt,omitempty"`
	MemoryPolicy      *rspec.LinuxMemoryPolicy         `json:"memoryPolicy,omitempty"`
	Personality       *rspec.LinuxPersonality          `json:"personality,omitempty"`
	TimeOffsets       map[string]rspec.LinuxTimeOffset `json:"timeOffsets,omitempty"`
}

// initSpecLeftOut names the fields of Spec and Linux that initSpec does
// not carry.
var initSpecLeftOut = map[string]bool{
	"Spec.Solaris": true, "Spec.Windows": true, "Spec.VM": true, "Spec.ZOS": true, "Spec.FreeBSD": true,
	"Linux.Resources": true, "Linux.Seccomp": true,
}

func (p *initSpec) spec() *rspec.Spec {
	s := &rspec.Spec{
		Version: p.Version, Process: p.Process, Root: p.Root, Hostname: p.Hostname,
		Domainname: p.Domainname, Mounts: p.Mounts, Hooks: p.Hooks, Annotations: p.Annotations,
	}
	if l := p.Linux; l != nil {
		s.Linux = &rspec.Linux{
			UIDMappings: l.UIDMappings, GIDMappings: l.GIDMappings, Sysctl: l.Sysctl,
			CgroupsPath: l.CgroupsPath, Namespaces: l.Namespaces, Devices: l.Devices,
			NetDevices: l.NetDevices, RootfsPropagation: l.RootfsPropagation,
			MaskedPaths: l.MaskedPaths, ReadonlyPaths: l.ReadonlyPaths, MountLabel: l.MountLabel,
			IntelRdt: l.IntelRdt, MemoryPolicy: l.MemoryPolicy, Personality: l.Personality,
			TimeOffsets: l.TimeOffsets,
		}
	}
	return s
}
