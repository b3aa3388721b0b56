package pod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"sigs.k8s.io/yaml"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/specs"
)

// Manifest is a small Kubernetes-Pod-like description of a pod, in YAML or
// JSON, for `gorun pod run`:
//
//	apiVersion: v1
//	kind: Pod
//	metadata:
//	  name: web
//	spec:
//	  hostname: web                  # default: the name
//	  shareProcessNamespace: false
//	  hostNetwork: false             # or network: bridge|none|host|NAME
//	  containers:
//	  - name: server
//	    bundle: ./server             # an OCI bundle, or
//	    rootfs: ./rootfs             # a root filesystem (gorun's default config)
//	    command: ["httpd"]           # the process's argv is command + args
//	    args: ["-f", "-p", "8080"]
//	    env: [{name: MODE, value: demo}]
//	    workingDir: /
//	    resources:
//	      limits: {cpu: 500m, memory: 64Mi}
//	      requests: {cpu: 250m}
//	    ports:
//	    - containerPort: 8080
//	      hostPort: 18080            # published on the host
//
// The flat form (name, hostname, containers, ... at the top level, no
// metadata or spec) is accepted too. Relative paths are taken from the
// manifest's directory.
type Manifest struct {
	APIVersion string    `json:"apiVersion,omitempty"`
	Kind       string    `json:"kind,omitempty"`
	Metadata   *Metadata `json:"metadata,omitempty"`
	Spec       *PodSpec  `json:"spec,omitempty"`
	// The flat form.
	Name string `json:"name,omitempty"`
	PodSpec
}

// Metadata is the manifest's metadata.
type Metadata struct {
	Name string `json:"name"`
}

// PodSpec is the pod: its namespaces, network and containers.
type PodSpec struct {
	Hostname              string              `json:"hostname,omitempty"`
	HostNetwork           bool                `json:"hostNetwork,omitempty"`
	ShareProcessNamespace bool                `json:"shareProcessNamespace,omitempty"`
	Network               string              `json:"network,omitempty"`
	CNIConfigDir          string              `json:"cniConfigDir,omitempty"`
	CgroupParent          string              `json:"cgroupParent,omitempty"`
	Containers            []ManifestContainer `json:"containers,omitempty"`
}

// ManifestContainer is one container of a manifest.
type ManifestContainer struct {
	Name       string          `json:"name"`
	Bundle     string          `json:"bundle,omitempty"`
	Rootfs     string          `json:"rootfs,omitempty"`
	Command    []string        `json:"command,omitempty"`
	Args       []string        `json:"args,omitempty"`
	Env        []EnvVar        `json:"env,omitempty"`
	WorkingDir string          `json:"workingDir,omitempty"`
	Resources  Resources       `json:"resources,omitempty"`
	Ports      []ContainerPort `json:"ports,omitempty"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Resources are a container's limits and requests: cpu and memory.
type Resources struct {
	Limits   map[string]Quantity `json:"limits,omitempty"`
	Requests map[string]Quantity `json:"requests,omitempty"`
}

// ContainerPort is a port a container listens on; with a hostPort it is
// published on the host.
type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
	Protocol      string `json:"protocol,omitempty"` // TCP (default) or UDP
}

// LoadManifest reads and checks the manifest at path. Relative paths in it
// are made absolute from its directory.
func LoadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &errs.Error{Field: "manifest", Value: path, Err: err}
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, errs.Wrap("manifest "+path, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	for i := range m.Spec.Containers {
		c := &m.Spec.Containers[i]
		for _, p := range []*string{&c.Bundle, &c.Rootfs} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(abs, *p)
			}
		}
	}
	if d := m.Spec.CNIConfigDir; d != "" && !filepath.IsAbs(d) {
		m.Spec.CNIConfigDir = filepath.Join(abs, d)
	}
	return m, nil
}

// ParseManifest parses and checks a manifest (YAML or JSON); unknown
// fields are errors. The result is in the Kubernetes form: Metadata and
// Spec set.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		msg := strings.TrimPrefix(err.Error(), "error unmarshaling JSON: while decoding JSON: ")
		return nil, &errs.Error{Err: errors.New(strings.TrimPrefix(msg, "json: ")), Hint: "`gorun pod run --help` shows the fields"}
	}
	flat := m.Name != "" || m.PodSpec.Hostname != "" || m.PodSpec.HostNetwork || m.PodSpec.ShareProcessNamespace ||
		m.PodSpec.Network != "" || m.PodSpec.CNIConfigDir != "" || m.PodSpec.CgroupParent != "" || len(m.PodSpec.Containers) > 0
	if flat && (m.Metadata != nil || m.Spec != nil) {
		return nil, errs.Field("manifest", "", "put name under metadata and the rest under spec, or write everything at the top level without metadata and spec", "mixes the Kubernetes form (metadata, spec) with the flat form")
	}
	if !flat {
		if m.Metadata == nil {
			m.Metadata = &Metadata{}
		}
		if m.Spec == nil {
			m.Spec = &PodSpec{}
		}
	} else {
		m.Metadata = &Metadata{Name: m.Name}
		spec := m.PodSpec
		m.Spec = &spec
		m.Name, m.PodSpec = "", PodSpec{}
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) check() error {
	if m.Kind != "" && m.Kind != "Pod" {
		return errs.Field("kind", m.Kind, "a manifest describes one Pod", "not Pod")
	}
	if m.APIVersion != "" && m.APIVersion != "v1" {
		return errs.Field("apiVersion", m.APIVersion, "use v1 or leave it out", "not v1")
	}
	if err := ValidateName(m.Metadata.Name); err != nil {
		return errs.Wrap("metadata.name", err)
	}
	s := m.Spec
	if s.HostNetwork {
		if s.Network != "" && s.Network != NetHost {
			return errs.Field("spec.network", s.Network, "drop one of them", "conflicts with hostNetwork: true")
		}
		s.Network = NetHost
	}
	if len(s.Containers) == 0 {
		return errs.Field("spec.containers", "", "list at least one container", "empty")
	}
	names := map[string]bool{}
	for i := range s.Containers {
		c := &s.Containers[i]
		field := fmt.Sprintf("spec.containers[%d]", i)
		if err := ValidateName(c.Name); err != nil {
			return errs.Wrap(field+".name", err)
		}
		if names[c.Name] {
			return errs.Field(field+".name", c.Name, "give each container its own name", "duplicate container name")
		}
		names[c.Name] = true
		if err := specs.ValidateID(m.Metadata.Name + "-" + c.Name); err != nil {
			return errs.Wrap(field+".name", err)
		}
		if (c.Bundle == "") == (c.Rootfs == "") {
			return errs.Field(field, c.Name, "give either bundle (an OCI bundle directory) or rootfs (a root filesystem)", "needs exactly one of bundle and rootfs")
		}
		if c.Rootfs != "" && len(c.Command)+len(c.Args) == 0 {
			return errs.Field(field+".args", "", "give command or args: a bare rootfs has no default process", "empty")
		}
		for j, e := range c.Env {
			if e.Name == "" || strings.ContainsAny(e.Name, "=\x00") {
				return errs.Field(fmt.Sprintf("%s.env[%d].name", field, j), e.Name, "give a name without '='", "invalid")
			}
		}
		if _, err := c.resources(); err != nil {
			return errs.Wrap(field+".resources", err)
		}
		for j, p := range c.Ports {
			if _, err := p.mapping(); err != nil {
				return errs.Wrap(fmt.Sprintf("%s.ports[%d]", field, j), err)
			}
		}
	}
	_, err := m.publish()
	return err
}

// ContainerID is the gorun id of container c of pod name.
func ContainerID(pod, container string) string { return pod + "-" + container }

// publish returns the port mappings of every port with a hostPort.
func (m *Manifest) publish() ([]PortMapping, error) {
	var out []PortMapping
	for _, c := range m.Spec.Containers {
		for _, p := range c.Ports {
			pm, err := p.mapping()
			if err != nil {
				return nil, err
			}
			if pm.HostPort != 0 {
				out = append(out, pm)
			}
		}
	}
	if err := checkPublish(out); err != nil {
		return nil, errs.Wrap("spec.containers[].ports", err)
	}
	return out, nil
}

func (p ContainerPort) mapping() (PortMapping, error) {
	proto := strings.ToLower(p.Protocol)
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return PortMapping{}, errs.Field("protocol", p.Protocol, "use TCP or UDP", "unsupported protocol")
	}
	if p.ContainerPort < 1 || p.ContainerPort > 65535 {
		return PortMapping{}, errs.Field("containerPort", fmt.Sprint(p.ContainerPort), "give a port 1-65535", "out of range")
	}
	if p.HostPort < 0 || p.HostPort > 65535 {
		return PortMapping{}, errs.Field("hostPort", fmt.Sprint(p.HostPort), "give a port 1-65535, or leave it out", "out of range")
	}
	return PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: proto, HostIP: p.HostIP}, nil
}

// resources turns limits and requests into linux.resources: a CPU limit
// into a CFS quota (per 100 ms period), a CPU request into shares (1024
// per CPU, as the kubelet does), memory into limit and reservation.
func (c *ManifestContainer) resources() (*rspec.LinuxResources, error) {
	var r rspec.LinuxResources
	for _, kind := range []struct {
		name string
		m    map[string]Quantity
	}{{"limits", c.Resources.Limits}, {"requests", c.Resources.Requests}} {
		for k, q := range kind.m {
			field := kind.name + "." + k
			switch k {
			case "cpu":
				mc, err := q.MilliCPU()
				if err != nil {
					return nil, errs.Field(field, string(q), "write CPUs as 0.5 or 500m", "%v", err)
				}
				if r.CPU == nil {
					r.CPU = &rspec.LinuxCPU{}
				}
				if kind.name == "limits" {
					if mc == 0 {
						return nil, errs.Field(field, string(q), "give a limit above 0, or leave it out", "zero")
					}
					quota, period := max(mc*100, 1000), uint64(100000)
					r.CPU.Quota, r.CPU.Period = &quota, &period
				} else {
					shares := uint64(max(mc*1024/1000, 2))
					r.CPU.Shares = &shares
				}
			case "memory":
				b, err := q.Bytes()
				if err != nil {
					return nil, errs.Field(field, string(q), "write bytes as 64Mi, 1Gi or 67108864", "%v", err)
				}
				if r.Memory == nil {
					r.Memory = &rspec.LinuxMemory{}
				}
				if kind.name == "limits" {
					if b == 0 {
						return nil, errs.Field(field, string(q), "give a limit above 0, or leave it out", "zero")
					}
					r.Memory.Limit = &b
				} else {
					r.Memory.Reservation = &b
				}
			default:
				return nil, errs.Field(field, string(q), "gorun knows cpu and memory", "unknown resource")
			}
		}
	}
	// Kubernetes: a limit without a request requests the limit.
	if r.CPU != nil && r.CPU.Shares == nil && r.CPU.Quota != nil {
		shares := uint64(max(*r.CPU.Quota*1024/100000, 2))
		r.CPU.Shares = &shares
	}
	return &r, nil
}

// containerSpec returns the config of c: its bundle's, or gorun's default
// for a rootfs, with the manifest's process and resources.
func (c *ManifestContainer) containerSpec() (*rspec.Spec, error) {
	var s *rspec.Spec
	if c.Bundle != "" {
		var err error
		if s, err = specs.Load(c.Bundle); err != nil {
			return nil, err
		}
	} else {
		s = specs.Default()
		s.Root = &rspec.Root{Path: c.Rootfs}
	}
	if s.Process == nil {
		s.Process = &rspec.Process{Cwd: "/"}
	}
	// A pod's containers run in the background, their output in the
	// pod's logs: no terminal.
	s.Process.Terminal = false
	if args := append(append([]string(nil), c.Command...), c.Args...); len(args) > 0 {
		s.Process.Args = args
	}
	for _, e := range c.Env {
		s.Process.Env = setEnv(s.Process.Env, e.Name, e.Value)
	}
	if c.WorkingDir != "" {
		s.Process.Cwd = c.WorkingDir
	}
	r, err := c.resources()
	if err != nil {
		return nil, err
	}
	if r.CPU != nil || r.Memory != nil {
		if s.Linux == nil {
			s.Linux = &rspec.Linux{}
		}
		if s.Linux.Resources == nil {
			s.Linux.Resources = &rspec.LinuxResources{}
		}
		if r.CPU != nil {
			s.Linux.Resources.CPU = r.CPU
		}
		if r.Memory != nil {
			s.Linux.Resources.Memory = r.Memory
		}
	}
	return s, nil
}

func setEnv(env []string, name, value string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, name+"=") {
			env[i] = name + "=" + value
			return env
		}
	}
	return append(env, name+"="+value)
}
