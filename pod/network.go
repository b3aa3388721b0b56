package pod

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/fault"
	"github.com/gorun/gorun/libcontainer/nsenter"
	"github.com/gorun/gorun/libcontainer/state"
)

// DefaultConfig is gorun's default network: a bridge gorun0 with the pods
// on 10.88.77.0/24 (the host is 10.88.77.1), masqueraded to the outside,
// and port publishing through portmap. cniVersion 1.0.0: Debian's plugins
// (1.1.1) refuse newer ones.
//
//go:embed default.conflist
var DefaultConfig []byte

// The default network's name and bridge.
const (
	DefaultNetwork = "gorun"
	DefaultBridge  = "gorun0"
)

// Network modes (--network); any other value names a CNI network in
// --cni-config-dir.
const (
	NetBridge = "bridge" // gorun's default network, or the first of --cni-config-dir
	NetNone   = "none"   // a network namespace with only lo
	NetHost   = "host"   // the host's network (and hostname)
)

// podIfName is the pod's interface on its CNI network.
const podIfName = "eth0"

// loopbackConfig brings lo up in the pod's network namespace (libcni
// leaves that to the runtime, as containerd's CRI does it).
var loopbackConfig = []byte(`{"cniVersion": "1.0.0", "name": "gorun-loopback", "plugins": [{"type": "loopback"}]}`)

// cniTimeout bounds one ADD or DEL of a config list.
const cniTimeout = 60 * time.Second

// cniStateDir holds, across gorun roots, the lock that serialises
// attaching pods to bridges (shared) with removing bridges once unused
// (exclusive), and a mark for each bridge a gorun pod's CNI ADD created:
// gorun removes those, and only those, when their last pod goes.
var cniStateDir = "/run/gorun-cni"

// pluginPath is where CNI plugins are looked for: $CNI_PATH, else where
// Debian's containernetworking-plugins and the upstream tarball put them.
func pluginPath() []string {
	if p := os.Getenv("CNI_PATH"); p != "" {
		return filepath.SplitList(p)
	}
	return []string{"/usr/lib/cni", "/opt/cni/bin", "/usr/libexec/cni"}
}

// pluginExec runs CNI plugins as libcni's default does, from a thread with
// the timer slack gorun was started with (nsenter.WithCallerTimerSlack).
type pluginExec struct{ invoke.DefaultExec }

func (e *pluginExec) ExecPlugin(ctx context.Context, path string, stdin []byte, env []string) (out []byte, err error) {
	err = nsenter.WithCallerTimerSlack(func() (err error) {
		out, err = e.DefaultExec.ExecPlugin(ctx, path, stdin, env)
		return err
	})
	return out, err
}

// newCNIConfig returns libcni's client with gorun's plugin path and exec.
func newCNIConfig() *libcni.CNIConfig {
	return libcni.NewCNIConfig(pluginPath(), &pluginExec{invoke.DefaultExec{
		RawExec:       &invoke.RawExec{Stderr: os.Stderr},
		PluginDecoder: version.PluginDecoder{},
	}})
}

// loadNetwork resolves --network and --cni-config-dir into a CNI config
// list (nil for none and host), checked: it parses, its plugins are
// installed and accept its cniVersion.
func loadNetwork(ctx context.Context, mode, dir string) (*libcni.NetworkConfigList, error) {
	var list *libcni.NetworkConfigList
	var err error
	switch {
	case mode == NetNone || mode == NetHost:
		if dir != "" {
			return nil, errs.Field("--cni-config-dir", dir, "drop --cni-config-dir, or use --network bridge", "means nothing with --network %s", mode)
		}
		return nil, nil
	case (mode == NetBridge || mode == "") && dir == "":
		list, err = libcni.ConfListFromBytes(DefaultConfig)
	case mode == NetBridge || mode == "":
		list, err = firstConfig(dir)
	case dir == "":
		return nil, errs.Field("--network", mode, "use bridge, none or host, or give --cni-config-dir with a network of that name", "unknown network")
	default:
		list, err = namedConfig(dir, mode)
	}
	if err != nil {
		return nil, err
	}
	if err := checkPlugins(ctx, list); err != nil {
		return nil, err
	}
	return list, nil
}

// configFiles lists the CNI config files of dir, in the order CNI runtimes
// read them.
func configFiles(dir string) ([]string, error) {
	files, err := libcni.ConfFiles(dir, []string{".conflist", ".conf", ".json"})
	if err != nil {
		return nil, &errs.Error{Field: "--cni-config-dir", Value: dir, Err: err}
	}
	if len(files) == 0 {
		return nil, errs.Field("--cni-config-dir", dir, "put a CNI config list (NAME.conflist) there", "holds no .conflist, .conf or .json file")
	}
	slices.Sort(files)
	return files, nil
}

func firstConfig(dir string) (*libcni.NetworkConfigList, error) {
	files, err := configFiles(dir)
	if err != nil {
		return nil, err
	}
	return readConfig(files[0])
}

func namedConfig(dir, name string) (*libcni.NetworkConfigList, error) {
	files, err := configFiles(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		list, err := readConfig(f)
		if err != nil {
			return nil, err
		}
		if list.Name == name {
			return list, nil
		}
		names = append(names, list.Name)
	}
	return nil, errs.Field("--network", name, "the networks there are: "+strings.Join(names, ", "), "no CNI network of that name in %s", dir)
}

// readConfig parses one config file: a config list, or a single plugin's
// config (.conf, .json) taken as a list of one.
func readConfig(file string) (*libcni.NetworkConfigList, error) {
	bad := func(err error) error {
		return &errs.Error{Field: "CNI config", Value: file, Err: err, Hint: "fix the file or remove it from the config directory"}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, bad(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, bad(fmt.Errorf("not valid JSON: %v", err))
	}
	var list *libcni.NetworkConfigList
	if _, ok := raw["plugins"]; ok || strings.HasSuffix(file, ".conflist") {
		list, err = libcni.NetworkConfFromFile(file)
	} else {
		var c *libcni.PluginConfig
		if c, err = libcni.NetworkPluginConfFromBytes(data); err == nil {
			list, err = libcni.ConfListFromConf(c)
		}
	}
	if err != nil {
		return nil, bad(err)
	}
	if list.Name == "" {
		return nil, bad(errors.New("no network name"))
	}
	if list.CNIVersion == "" {
		return nil, bad(errors.New(`no cniVersion (Debian's plugins take up to "1.0.0")`))
	}
	return list, nil
}

// checkPlugins checks that every plugin of list is installed and accepts
// the list's cniVersion, before anything is made.
func checkPlugins(ctx context.Context, list *libcni.NetworkConfigList) error {
	cfg := newCNIConfig()
	for i, p := range list.Plugins {
		field := fmt.Sprintf("network %s: plugins[%d].type", list.Name, i)
		if _, err := findPlugin(p.Network.Type); err != nil {
			return &errs.Error{Field: field, Value: p.Network.Type, Err: errors.New("CNI plugin not installed (looked in " + strings.Join(pluginPath(), ":") + ")"),
				Hint: "install Debian's containernetworking-plugins, or set CNI_PATH to the plugins' directory"}
		}
		info, err := cfg.GetVersionInfo(ctx, p.Network.Type)
		if err != nil {
			return &errs.Error{Field: field, Value: p.Network.Type, Err: fmt.Errorf("CNI plugin does not answer VERSION: %v", err)}
		}
		if !slices.Contains(info.SupportedVersions(), list.CNIVersion) {
			return &errs.Error{Field: "network " + list.Name + ": cniVersion", Value: list.CNIVersion,
				Err:  fmt.Errorf("CNI plugin %s does not support this version", p.Network.Type),
				Hint: "use one of " + strings.Join(info.SupportedVersions(), ", ")}
		}
	}
	return nil
}

func findPlugin(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, '/') {
		return "", fmt.Errorf("bad plugin name %q", name)
	}
	for _, d := range pluginPath() {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", os.ErrNotExist
}

// hasCapability reports whether a plugin of list declares capability c.
func hasCapability(list *libcni.NetworkConfigList, c string) bool {
	for _, p := range list.Plugins {
		if p.Network.Capabilities[c] {
			return true
		}
	}
	return false
}

// flatConfig returns list as one self-contained config list (plugins that
// came from files of their own inlined), to be kept in the pod's state.
func flatConfig(list *libcni.NetworkConfigList) ([]byte, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(list.Bytes, &raw); err != nil {
		return nil, err
	}
	plugins := make([]json.RawMessage, len(list.Plugins))
	for i, p := range list.Plugins {
		plugins[i] = p.Bytes
	}
	b, err := json.Marshal(plugins)
	if err != nil {
		return nil, err
	}
	raw["plugins"] = b
	delete(raw, "loadOnlyInlinedPlugins")
	return json.Marshal(raw)
}

// runtimeConf is what the plugins are told about the pod, the same for ADD
// and DEL.
func (p *Pod) runtimeConf(ifName string) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: p.ID, NetNS: p.Namespaces[netNS], IfName: ifName}
	if !isNsfs(rt.NetNS) {
		// Gone (a pod rm that died half way): the plugins clean up
		// what they can without it.
		rt.NetNS = ""
	}
	if ifName == podIfName && len(p.Network.Publish) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": p.Network.Publish}
	}
	return rt
}

// attach runs CNI ADD for the pod: loopback, then its network (if any),
// and records what the plugins returned in p.Network. On error the caller
// runs detach.
func attach(p *Pod, list *libcni.NetworkConfigList) error {
	ctx, cancel := context.WithTimeout(context.Background(), cniTimeout)
	defer cancel()
	l, err := hostLock(unix.LOCK_SH)
	if err != nil {
		return err
	}
	defer l.Unlock()
	cfg := newCNIConfig()
	lo, err := libcni.ConfListFromBytes(loopbackConfig)
	if err != nil {
		return err
	}
	if _, err := cfg.AddNetworkList(ctx, lo, p.runtimeConf("lo")); err != nil {
		return &errs.Error{Op: "pod network", Field: "plugin", Value: "loopback", Err: err}
	}
	if list == nil {
		return nil
	}
	// A bridge the plugin is about to make is recorded as gorun's first,
	// so that a create killed during ADD leaves it to `pod rm --force` (a
	// mark whose bridge never came is dropped then).
	for _, b := range bridges(list) {
		if !linkExists(b) {
			markBridge(b)
		}
	}
	fault.Point("pod-before-cni-add")
	res, err := cfg.AddNetworkList(ctx, list, p.runtimeConf(podIfName))
	if err != nil {
		return &errs.Error{Op: "pod network", Field: "network", Value: list.Name, Err: fmt.Errorf("CNI ADD: %w", err)}
	}
	fault.Point("pod-after-cni-add")
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return &errs.Error{Op: "pod network", Field: "network", Value: list.Name, Err: fmt.Errorf("CNI result: %w", err)}
	}
	recordResult(&p.Network, r, p.Namespaces[netNS])
	return nil
}

// recordResult copies what matters of a CNI result into n: the pod's
// interface (the one in its network namespace), its addresses, routes and
// DNS.
func recordResult(n *Network, r *types100.Result, netns string) {
	for _, ifc := range r.Interfaces {
		if ifc.Sandbox != "" && (ifc.Sandbox == netns || ifc.Name == podIfName) {
			n.Interface, n.MAC = ifc.Name, ifc.Mac
			break
		}
	}
	if n.Interface == "" {
		n.Interface = podIfName
	}
	for _, ip := range r.IPs {
		c := IPConfig{Address: ip.Address.String()}
		if ip.Gateway != nil {
			c.Gateway = ip.Gateway.String()
		}
		n.IPs = append(n.IPs, c)
	}
	for _, rt := range r.Routes {
		route := Route{Dst: rt.Dst.String()}
		if rt.GW != nil {
			route.GW = rt.GW.String()
		}
		n.Routes = append(n.Routes, route)
	}
	if !r.DNS.IsEmpty() {
		n.DNS = &DNS{Nameservers: r.DNS.Nameservers, Domain: r.DNS.Domain, Search: r.DNS.Search, Options: r.DNS.Options}
	}
}

// detach runs CNI DEL for the pod, which releases its address, removes its
// veth and the port mappings' iptables rules; then it removes the bridges
// that gorun pods made and no pod uses any more. DEL of something never
// added succeeds, so detach also cleans up after a failed attach.
func detach(p *Pod) error {
	ctx, cancel := context.WithTimeout(context.Background(), cniTimeout)
	defer cancel()
	cfg := newCNIConfig()
	var first error
	var list *libcni.NetworkConfigList
	if p.Network.Config != nil {
		var err error
		list, err = libcni.ConfListFromBytes(p.Network.Config)
		if err == nil {
			err = cfg.DelNetworkList(ctx, list, p.runtimeConf(podIfName))
		}
		if err != nil {
			first = &errs.Error{Op: "pod network", Field: "network", Value: p.Network.Name, Err: fmt.Errorf("CNI DEL: %w", err)}
		}
	}
	if p.Network.Mode != NetHost {
		if lo, err := libcni.ConfListFromBytes(loopbackConfig); err == nil {
			cfg.DelNetworkList(ctx, lo, p.runtimeConf("lo"))
		}
	}
	if list != nil {
		for _, b := range bridges(list) {
			removeUnusedBridge(b)
		}
	}
	return first
}

// bridges lists the bridges the bridge plugins of list attach to.
func bridges(list *libcni.NetworkConfigList) []string {
	var out []string
	for _, p := range list.Plugins {
		if p.Network.Type != "bridge" {
			continue
		}
		var c struct {
			Bridge string `json:"bridge"`
		}
		json.Unmarshal(p.Bytes, &c)
		if c.Bridge == "" {
			c.Bridge = "cni0" // the plugin's default
		}
		out = append(out, c.Bridge)
	}
	return out
}

func linkExists(name string) bool {
	_, err := os.Lstat(filepath.Join("/sys/class/net", name))
	return err == nil
}

func bridgeMark(name string) string { return filepath.Join(cniStateDir, "bridges", name) }

func markBridge(name string) {
	if os.MkdirAll(filepath.Dir(bridgeMark(name)), 0o700) == nil {
		os.WriteFile(bridgeMark(name), nil, 0o600)
	}
}

// removeUnusedBridge deletes bridge name if a gorun pod made it and no
// interface is attached to it any more, so that a host without pods is
// left as it was. Pods being attached (under the shared lock) are waited
// for.
func removeUnusedBridge(name string) {
	if _, err := os.Stat(bridgeMark(name)); err != nil {
		return
	}
	l, err := hostLock(unix.LOCK_EX)
	if err != nil {
		return
	}
	defer l.Unlock()
	ports, err := os.ReadDir(filepath.Join("/sys/class/net", name, "brif"))
	if err == nil && len(ports) > 0 {
		return
	}
	if err == nil {
		link, err := netlink.LinkByName(name)
		if err != nil {
			return
		}
		if err := netlink.LinkDel(link); err != nil {
			return
		}
	}
	os.Remove(bridgeMark(name))
}

func hostLock(how int) (*state.Lock, error) {
	if err := os.MkdirAll(cniStateDir, 0o700); err != nil {
		return nil, err
	}
	return state.LockFile(filepath.Join(cniStateDir, "lock"), how)
}

// isNsfs reports whether path is a mounted namespace file.
func isNsfs(path string) bool {
	if path == "" {
		return false
	}
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}
