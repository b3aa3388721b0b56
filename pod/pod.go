// Package pod groups containers the way a Kubernetes pod does: one network
// (one IP), IPC and UTS namespace, and optionally one PID namespace, shared
// by every container of the pod, a pod cgroup that parents the containers'
// cgroups, and networking through CNI plugins.
//
// A pod is a sandbox with no daemon: its namespaces are held by nsfs files
// bind-mounted under the pod's state directory (<root>/@pods/NAME/ns/), as
// `ip netns` holds a network namespace; only a pod that shares its PID
// namespace keeps a process, a tiny infra process that is the namespace's
// init (see infra.c). Containers join the pod through the paths of those
// files, set in their config in memory (Join). The package is built on
// libcontainer's public API; README.md in this directory explains the
// design.
package pod

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
)

// Annotations set on the config of every container of a pod: they tie the
// container to the pod (the container's state is the record of membership).
const (
	AnnotationName = "io.gorun.pod.name"
	AnnotationID   = "io.gorun.pod.id"
)

// Phase is how far a pod has got.
type Phase string

const (
	// PhaseCreating: `pod create` has not finished (or died half way;
	// `gorun pod rm --force` removes what it made).
	PhaseCreating Phase = "creating"
	// PhaseReady: namespaces, cgroup and network are up.
	PhaseReady Phase = "ready"
)

// Pod is what gorun records about a pod, in <root>/@pods/NAME/pod.json.
type Pod struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"` // random, 32 hex digits; the CNI container id
	Created time.Time `json:"created"`
	Phase   Phase     `json:"phase"`
	// Hostname is the hostname of the pod's UTS namespace ("" with the
	// host's network, which keeps the host's).
	Hostname string `json:"hostname,omitempty"`
	SharePID bool   `json:"sharePid,omitempty"`
	// Cgroup is the pod's cgroup path; each container's cgroup is
	// Cgroup/ID.
	Cgroup string `json:"cgroup"`
	// CgroupParentsMade are the ancestors of Cgroup that create made
	// (--cgroup-parent), deepest first: removal takes them away if empty.
	CgroupParentsMade []string `json:"cgroupParentsMade,omitempty"`
	// Namespaces maps a namespace type to the nsfs file that holds it.
	Namespaces map[rspec.LinuxNamespaceType]string `json:"namespaces"`
	// Infra is the process that is the init of the pod's PID namespace
	// (only with SharePID).
	Infra   *Process `json:"infra,omitempty"`
	Network Network  `json:"network"`
}

// Process is a host process, told from a later one with the same pid by its
// start time (clock ticks after boot, /proc/PID/stat field 22).
type Process struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// Network is the pod's network: how it was asked for and what CNI gave.
type Network struct {
	// Mode is bridge, none, host, or the name of a CNI network.
	Mode string `json:"mode"`
	// Name is the CNI network's name ("" for none and host).
	Name string `json:"name,omitempty"`
	// ConfigDir is --cni-config-dir ("" for gorun's default network).
	ConfigDir string `json:"configDir,omitempty"`
	// Config is the CNI config list the pod was attached with, kept so
	// that `pod rm` detaches it with the same config.
	Config  json.RawMessage `json:"config,omitempty"`
	Publish []PortMapping   `json:"publish,omitempty"`
	// What the plugins returned.
	Interface string     `json:"interface,omitempty"`
	MAC       string     `json:"mac,omitempty"`
	IPs       []IPConfig `json:"ips,omitempty"`
	Routes    []Route    `json:"routes,omitempty"`
	DNS       *DNS       `json:"dns,omitempty"`
}

// IPConfig is one address of the pod.
type IPConfig struct {
	Address string `json:"address"` // CIDR, e.g. 10.88.77.5/24
	Gateway string `json:"gateway,omitempty"`
}

// Route is one route in the pod's network namespace.
type Route struct {
	Dst string `json:"dst"`
	GW  string `json:"gw,omitempty"`
}

// DNS is the resolver configuration CNI returned.
type DNS struct {
	Nameservers []string `json:"nameservers,omitempty"`
	Domain      string   `json:"domain,omitempty"`
	Search      []string `json:"search,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// PortMapping publishes a pod port on the host (CNI's portMappings
// capability, which the portmap plugin implements).
type PortMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

func (m PortMapping) String() string {
	s := fmt.Sprintf("%d:%d/%s", m.HostPort, m.ContainerPort, m.Protocol)
	if m.HostIP != "" {
		s = m.HostIP + ":" + s
	}
	return s
}

// IP returns the pod's first address without its prefix length, or "".
func (p *Pod) IP() string {
	for _, ip := range p.Network.IPs {
		for i := 0; i < len(ip.Address); i++ {
			if ip.Address[i] == '/' {
				return ip.Address[:i]
			}
		}
		return ip.Address
	}
	return ""
}

// Sentinel causes, for errors.Is.
var (
	ErrNotExist   = errors.New("pod does not exist")
	ErrExist      = errors.New("pod already exists")
	ErrIncomplete = errors.New("pod is incomplete (its create did not finish)")
	ErrInvalid    = errors.New("invalid pod name")
)

// MaxNameLen is the longest pod name: a DNS label, so that the name can be
// the pod's hostname.
const MaxNameLen = 63

// ValidateName checks a pod name: 1 to 63 characters from [A-Za-z0-9_.-],
// starting with a letter or digit (a CNI container id and a hostname must).
func ValidateName(name string) error {
	const hint = "use letters, digits, '_', '-' and '.', starting with a letter or digit, at most 63 characters"
	switch {
	case name == "":
		return errs.Field("pod name", name, "give the pod a name, e.g. web", "%w: empty", ErrInvalid)
	case len(name) > MaxNameLen:
		return errs.Field("pod name", name[:20]+"...", hint, "%w: %d characters long", ErrInvalid, len(name))
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if i > 0 {
			ok = ok || r == '_' || r == '-' || r == '.'
		}
		if !ok {
			return errs.Field("pod name", name, hint, "%w: character %q at position %d is not allowed", ErrInvalid, r, i)
		}
	}
	return nil
}

// validateHostname checks a hostname the kernel will take (at most 64
// bytes) and a resolver will not choke on.
func validateHostname(h string) error {
	const hint = "use letters, digits, '-' and '.', at most 64 characters"
	if h == "" || len(h) > 64 {
		return errs.Field("--hostname", h, hint, "must be 1 to 64 characters")
	}
	for i, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return errs.Field("--hostname", h, hint, "character %q at position %d is not allowed", r, i)
		}
	}
	// RFC 1123 labels: none empty, none starting or ending with '-'.
	for _, l := range strings.Split(h, ".") {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return errs.Field("--hostname", h, hint+"; each dot-separated part non-empty, not starting or ending with '-'", "malformed name")
		}
	}
	return nil
}
