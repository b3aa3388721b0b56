package pod

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/specs"
)

// AddOpts describes a container to add to a pod and start in the
// background (`gorun pod add`, `gorun pod run`).
type AddOpts struct {
	Root   string
	Pod    string
	ID     string
	Bundle string      // absolute
	Spec   *rspec.Spec // the bundle's config, loaded; amended here
}

// LogPath is where the output of container id of a pod started by `pod
// add` or `pod run` goes.
func LogPath(root, pod, id string) string {
	return logPath(newStore(root).dir(pod), id)
}

// Add creates container o.ID in pod o.Pod and starts it, with no terminal
// and its stdout and stderr appended to LogPath. On error nothing of the
// container is left.
func Add(o AddOpts) (*libcontainer.Container, error) {
	if err := specs.ValidateID(o.ID); err != nil {
		return nil, err
	}
	if o.Spec.Process != nil {
		o.Spec.Process.Terminal = false
	}
	release, err := Join(o.Root, o.Pod, o.ID, o.Bundle, o.Spec)
	if err != nil {
		return nil, err
	}
	defer release()
	logPath := LogPath(o.Root, o.Pod, o.ID)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	c, err := libcontainer.Create(libcontainer.CreateOpts{
		Root:   o.Root,
		ID:     o.ID,
		Bundle: o.Bundle,
		Spec:   o.Spec,
		Stdio:  [3]*os.File{null, log, log},
	})
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		c.Delete(true)
		return nil, err
	}
	return c, nil
}

// RunOpts overrides what a manifest says (empty fields do not).
type RunOpts struct {
	Root         string
	Network      string
	CNIConfigDir string
	CgroupParent string
}

// Run creates the pod m describes and starts its containers in order. If
// any step fails, the pod is removed: nothing is left half made.
func Run(m *Manifest, o RunOpts) (*Pod, error) {
	name := m.Metadata.Name
	// Every config is loaded and checked before anything is made.
	cspecs := make([]*rspec.Spec, len(m.Spec.Containers))
	for i := range m.Spec.Containers {
		c := &m.Spec.Containers[i]
		s, err := c.containerSpec()
		if err == nil {
			bundle := c.Bundle
			if bundle == "" {
				bundle = filepath.Dir(c.Rootfs)
			}
			err = specs.Validate(s, bundle, true)
		}
		if err != nil {
			return nil, errs.Wrap(fmt.Sprintf("spec.containers[%d] (%s)", i, c.Name), err)
		}
		cspecs[i] = s
	}
	publish, err := m.publish()
	if err != nil {
		return nil, err
	}
	co := CreateOpts{
		Root:         o.Root,
		Name:         name,
		Hostname:     m.Spec.Hostname,
		Network:      firstOf(o.Network, m.Spec.Network),
		CNIConfigDir: firstOf(o.CNIConfigDir, m.Spec.CNIConfigDir),
		CgroupParent: firstOf(o.CgroupParent, m.Spec.CgroupParent),
		SharePID:     m.Spec.ShareProcessNamespace,
		Publish:      publish,
	}
	p, err := Create(co)
	if err != nil {
		return nil, err
	}
	for i, c := range m.Spec.Containers {
		bundle := c.Bundle
		if bundle == "" {
			if bundle, err = writeBundle(o.Root, name, c.Name, cspecs[i]); err != nil {
				break
			}
		}
		if _, err = Add(AddOpts{Root: o.Root, Pod: name, ID: ContainerID(name, c.Name), Bundle: bundle, Spec: cspecs[i]}); err != nil {
			err = errs.Wrap(fmt.Sprintf("spec.containers[%d] (%s)", i, c.Name), err)
			break
		}
	}
	if err != nil {
		Remove(o.Root, name, true)
		return nil, err
	}
	return p, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// writeBundle writes the config of a container given by a rootfs into a
// bundle directory of its own under the pod's directory, so that the
// container has a bundle like any other.
func writeBundle(root, pod, name string, s *rspec.Spec) (string, error) {
	dir := filepath.Join(newStore(root).dir(pod), "bundles", name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, specs.ConfigName), data, 0o600); err != nil {
		return "", err
	}
	return dir, nil
}

func logPath(podDir, id string) string { return filepath.Join(podDir, "logs", id+".log") }
