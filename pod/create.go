package pod

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/fault"
)

// CreateOpts describes a pod to create (`gorun pod create`).
type CreateOpts struct {
	Root     string // gorun's --root
	Name     string
	Hostname string // default: the name
	// Network is bridge (default), none, host, or a network's name in
	// CNIConfigDir.
	Network      string
	CNIConfigDir string
	Publish      []PortMapping
	CgroupParent string // default DefaultCgroupParent
	SharePID     bool
}

// Create makes pod o.Name: its state directory, cgroup, namespaces and
// network. On error nothing is left behind.
func Create(o CreateOpts) (_ *Pod, retErr error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	if o.Network == "" {
		o.Network = NetBridge
	}
	if o.Network == NetHost && o.Hostname != "" {
		return nil, errs.Field("--hostname", o.Hostname, "drop --hostname: a pod on the host's network has the host's hostname", "conflicts with --network host")
	}
	if o.Hostname == "" && o.Network != NetHost {
		o.Hostname = o.Name
	}
	if o.Hostname != "" {
		if err := validateHostname(o.Hostname); err != nil {
			return nil, err
		}
	}
	if err := checkPublish(o.Publish); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cniTimeout)
	defer cancel()
	list, err := loadNetwork(ctx, o.Network, o.CNIConfigDir)
	if err != nil {
		return nil, err
	}
	if len(o.Publish) > 0 && (list == nil || !hasCapability(list, "portMappings")) {
		hint := "drop --publish"
		if list != nil {
			hint = "add a plugin with the portMappings capability (portmap) to network " + list.Name
		}
		return nil, errs.Field("--publish", o.Publish[0].String(), hint, "network %s cannot publish ports", o.Network)
	}

	id, err := newID()
	if err != nil {
		return nil, err
	}
	cg, err := cgroupPath(o.CgroupParent, o.Name, id)
	if err != nil {
		return nil, err
	}
	st := newStore(o.Root)
	if len(o.Publish) > 0 {
		if err := portsFree(o.Publish, st.all()); err != nil {
			return nil, err
		}
	}
	l, err := st.create(o.Name)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	p := &Pod{
		Name:     o.Name,
		ID:       id,
		Created:  time.Now().UTC(),
		Phase:    PhaseCreating,
		Hostname: o.Hostname,
		SharePID: o.SharePID,
		Cgroup:   cg,
		Network:  Network{Mode: o.Network, ConfigDir: o.CNIConfigDir, Publish: o.Publish},
	}
	if list != nil {
		p.Network.Name = list.Name
		if p.Network.Config, err = flatConfig(list); err != nil {
			st.remove(o.Name)
			return nil, err
		}
	}
	// From here on, what is made is recorded first, so that teardown (or
	// `pod rm --force` after a crash) finds it.
	if err := st.save(p); err != nil {
		st.remove(o.Name)
		return nil, err
	}
	defer func() {
		if retErr != nil {
			p.teardown(st.dir(p.Name))
			st.remove(p.Name)
			retErr = errs.Wrap("pod create", retErr)
		}
	}()
	if p.CgroupParentsMade = missingParents(cg); len(p.CgroupParentsMade) > 0 {
		if err := st.save(p); err != nil {
			return nil, err
		}
	}
	if err := makeCgroup(cg); err != nil {
		return nil, err
	}
	fault.Point("pod-after-cgroup")
	types := []rspec.LinuxNamespaceType{rspec.IPCNamespace}
	if o.Network != NetHost {
		types = append(types, rspec.NetworkNamespace, rspec.UTSNamespace)
	}
	if o.SharePID {
		types = append(types, rspec.PIDNamespace)
	}
	paths, infra, err := makeSandbox(sandboxOpts{
		name:     o.Name,
		dir:      st.dir(o.Name),
		hostname: o.Hostname,
		types:    types,
		onInfra:  func(pid int) error { return joinInfraCgroup(cg, pid) },
	})
	p.Namespaces, p.Infra = paths, infra
	if serr := st.save(p); err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	fault.Point("pod-after-sandbox")
	if o.Network != NetHost {
		if err := attach(p, list); err != nil {
			return nil, err
		}
		if err := writeEtc(st.dir(o.Name), p); err != nil {
			return nil, err
		}
	}
	p.Phase = PhaseReady
	if err := st.save(p); err != nil {
		return nil, err
	}
	return p, nil
}

// teardown undoes what Create made, whatever part of it: the network (CNI
// DEL), the namespaces and infra process, the cgroup. It goes on after an
// error and returns the first.
func (p *Pod) teardown(dir string) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if p.Network.Mode != NetHost && p.Namespaces != nil {
		keep(detach(p))
	}
	keep(removeSandbox(dir, p.Infra))
	keep(removeCgroup(p.Cgroup))
	for _, d := range p.CgroupParentsMade {
		removeEverywhere(d)
	}
	return first
}

func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("pod id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
