package pod

import (
	"errors"
	"path/filepath"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/specs"
)

const netNS = rspec.NetworkNamespace

// errInfraGone: a PID namespace whose init died cannot take new processes.
var errInfraGone = errors.New("the pod's infra process has died, and its PID namespace with it")

// Join prepares the config s of container id (bundle dir bundle) to be
// created in pod name under root: it amends s in memory (the bundle's
// config.json is never rewritten) so that the container joins the pod's
// namespaces and its cgroup sits under the pod's, then validates it again.
// The pod is locked (shared: other containers may join at once, but the
// pod cannot be removed) until the returned release is called, which the
// caller does once libcontainer.Create has returned.
func Join(root, name, id, bundle string, s *rspec.Spec) (release func(), err error) {
	if err := ValidateName(name); err != nil {
		return nil, errs.Wrap("--pod", err)
	}
	st := newStore(root)
	l, err := st.lock(name, unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			l.Unlock()
		}
	}()
	p, err := st.loadReady(name)
	if err != nil {
		return nil, err
	}
	if p.Infra != nil && !p.Infra.alive() {
		return nil, &errs.Error{Field: "pod", Value: name, Err: errInfraGone, Hint: "remove the pod with `gorun pod rm --force " + name + "` and create it again"}
	}
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	p.amend(st.dir(name), id, rootfs, s)
	if err := specs.Validate(s, bundle, true); err != nil {
		return nil, errs.Wrap("join pod "+name, err)
	}
	return l.Unlock, nil
}

// amend makes s the config of container id in pod p (whose directory is
// dir): the pod's network, IPC and UTS namespaces (and PID namespace when
// the pod shares it) by path, a mount and PID namespace of its own
// otherwise, the pod's hostname and etc files, its cgroup under the pod's,
// and the annotations that record its membership.
func (p *Pod) amend(dir, id, rootfs string, s *rspec.Spec) {
	if s.Linux == nil {
		s.Linux = &rspec.Linux{}
	}
	want := map[rspec.LinuxNamespaceType]string{
		rspec.MountNamespace: "",
		rspec.PIDNamespace:   "",
	}
	for t, path := range p.Namespaces {
		want[t] = path
	}
	var nss []rspec.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if p.Network.Mode == NetHost && (ns.Type == rspec.NetworkNamespace || ns.Type == rspec.UTSNamespace) {
			// The pod uses the host's network and hostname.
			continue
		}
		if path, ok := want[ns.Type]; ok {
			if ns.Type != rspec.MountNamespace || ns.Path == "" {
				ns.Path = path
			}
			delete(want, ns.Type)
		}
		nss = append(nss, ns)
	}
	for _, t := range []rspec.LinuxNamespaceType{rspec.PIDNamespace, rspec.NetworkNamespace, rspec.IPCNamespace, rspec.UTSNamespace, rspec.MountNamespace} {
		if path, ok := want[t]; ok {
			nss = append(nss, rspec.LinuxNamespace{Type: t, Path: path})
		}
	}
	s.Linux.Namespaces = nss
	// The UTS namespace is the pod's (or the host's): its hostname is set
	// once, by the pod.
	s.Hostname, s.Domainname = "", ""
	s.Linux.CgroupsPath = p.containerCgroup(id)
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[AnnotationName] = p.Name
	s.Annotations[AnnotationID] = p.ID
	if p.Network.Mode != NetHost {
		s.Mounts = append(s.Mounts, etcMounts(dir, rootfs, s)...)
	}
}
