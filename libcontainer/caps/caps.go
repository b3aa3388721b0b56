// Package caps applies process.capabilities, the five capability sets,
// through github.com/moby/sys/capability (capget/capset and the bounding and
// ambient prctls on the calling thread).
package caps

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/moby/sys/capability"
	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
)

// byName is built on first use: every gorun process runs the package's
// init, few of them look a capability up.
var byName = sync.OnceValue(func() map[string]capability.Cap {
	m := make(map[string]capability.Cap)
	for _, c := range capability.ListKnown() {
		m["CAP_"+strings.ToUpper(c.String())] = c
	}
	return m
})

// Lookup returns the capability named like "CAP_CHOWN".
func Lookup(name string) (capability.Cap, bool) {
	c, ok := byName()[name]
	return c, ok
}

// Set is a process's capability sets, ready to apply on this thread.
type Set struct{ c capability.Capabilities }

// New builds the sets that spec asks for. Names must have been validated;
// an unknown one is still an error here, naming the set. A capability this
// process does not hold itself cannot be granted: that is an error too,
// rather than a container that silently runs without it.
func New(spec *rspec.LinuxCapabilities) (*Set, error) {
	c, err := capability.NewPid2(0)
	if err != nil {
		return nil, err
	}
	if err := c.Load(); err != nil {
		return nil, err
	}
	held := make(map[capability.Cap]bool)
	for _, k := range capability.ListKnown() {
		held[k] = c.Get(capability.PERMITTED, k)
	}
	c.Clear(capability.CAPS | capability.BOUNDS | capability.AMBS)
	if spec == nil {
		return &Set{c: c}, nil
	}
	sets := []struct {
		field string
		names []string
		which capability.CapType
	}{
		{"bounding", spec.Bounding, capability.BOUNDING},
		{"effective", spec.Effective, capability.EFFECTIVE},
		{"permitted", spec.Permitted, capability.PERMITTED},
		{"inheritable", spec.Inheritable, capability.INHERITABLE},
		{"ambient", spec.Ambient, capability.AMBIENT},
	}
	for _, s := range sets {
		for i, n := range s.names {
			k, ok := Lookup(n)
			if !ok {
				return nil, errs.Field(fmt.Sprintf("process.capabilities.%s[%d]", s.field, i), n, "use a name like CAP_CHOWN", "unknown capability")
			}
			if s.which != capability.BOUNDING && !held[k] {
				return nil, errs.Field(fmt.Sprintf("process.capabilities.%s[%d]", s.field, i), n,
					"remove it from the config, or run gorun with it", "gorun itself does not hold this capability, so it cannot grant it")
			}
			if s.which == capability.AMBIENT && !(c.Get(capability.INHERITABLE, k) && c.Get(capability.PERMITTED, k)) {
				continue // the kernel raises none other; see UngrantableAmbient
			}
			c.Set(s.which, k)
		}
	}
	return &Set{c: c}, nil
}

// ApplyBounding drops every capability not in the bounding set. It needs
// CAP_SETPCAP, so it runs before the process changes its user.
func (s *Set) ApplyBounding() error {
	if err := s.c.Apply(capability.BOUNDS); err != nil {
		return fmt.Errorf("set bounding capabilities: %w", err)
	}
	return nil
}

// Apply sets the effective, permitted, inheritable and ambient sets; it runs
// after the user change (with PR_SET_KEEPCAPS so permitted survives it).
func (s *Set) Apply() error {
	if err := s.c.Apply(capability.CAPS); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	if err := s.c.Apply(capability.AMBS); err != nil {
		return fmt.Errorf("set ambient capabilities: %w", err)
	}
	return nil
}

// Names lists every capability name gorun knows, sorted.
func Names() []string {
	out := make([]string, 0, len(byName()))
	for n := range byName() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// UngrantableAmbient lists the ambient capabilities of spec that are not
// also inheritable and permitted: the kernel cannot raise them, and gorun
// skips them with a warning (runtime-spec: capabilities that cannot be
// granted are warned about, not failed on; runc's own template lists
// ambient capabilities alone).
func UngrantableAmbient(spec *rspec.LinuxCapabilities) []string {
	if spec == nil {
		return nil
	}
	var out []string
	for _, n := range spec.Ambient {
		if !slices.Contains(spec.Inheritable, n) || !slices.Contains(spec.Permitted, n) {
			out = append(out, n)
		}
	}
	return out
}
