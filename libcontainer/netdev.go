package libcontainer

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// netDevice is one entry of linux.netDevices as found on the host.
type netDevice struct {
	host, name string // name in the container ("" for the host's)
	link       netlink.Link
	addrs      []netlink.Addr // permanent, global: they go along
}

// findNetDevices looks up linux.netDevices on the host, before anything of
// the container exists: a device that is not there fails the create with
// nothing to undo. It keeps each device's permanent global addresses, which
// a move to another namespace drops and the spec asks to keep.
func findNetDevices(devs map[string]rspec.LinuxNetDevice) ([]netDevice, error) {
	if len(devs) == 0 {
		return nil, nil
	}
	out := make([]netDevice, 0, len(devs))
	for host, d := range devs {
		link, err := netlink.LinkByName(host)
		if err != nil {
			return nil, &errs.Error{Field: "linux.netDevices", Value: host, Err: err,
				Hint: "name a network device of the host (`ip link show`); gorun moves it, it does not create it"}
		}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			return nil, &errs.Error{Field: "linux.netDevices", Value: host, Err: fmt.Errorf("list addresses: %w", err)}
		}
		kept := addrs[:0]
		for _, a := range addrs {
			if a.Flags&unix.IFA_F_PERMANENT != 0 && a.Scope == unix.RT_SCOPE_UNIVERSE {
				// A label names the device; it is set again after any rename.
				a.Label = ""
				kept = append(kept, a)
			}
		}
		out = append(out, netDevice{host: host, name: d.Name, link: link, addrs: kept})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].host < out[j].host })
	return out, nil
}

// moveNetDevices moves devs into the network namespace at nsPath, renames
// them, gives them back their addresses and sets them up. The container's
// process has not started yet. When the namespace goes, the kernel returns
// physical devices to the host and destroys virtual ones (runtime-spec:
// gorun does not move them back).
func moveNetDevices(devs []netDevice, nsPath string) error {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return &errs.Error{Field: "linux.netDevices", Value: nsPath, Err: fmt.Errorf("open the container's network namespace: %w", err)}
	}
	defer ns.Close()
	in, err := netlink.NewHandleAt(ns)
	if err != nil {
		return &errs.Error{Field: "linux.netDevices", Value: nsPath, Err: fmt.Errorf("netlink in the container's network namespace: %w", err)}
	}
	defer in.Close()
	// Every name is checked before any device moves: a device moved into a
	// namespace that then goes away is lost, if it is virtual.
	for _, d := range devs {
		name := d.name
		if name == "" {
			name = d.host
		}
		if strings.Contains(name, "%d") {
			continue
		}
		if _, err := in.LinkByName(name); err == nil {
			return &errs.Error{Field: "linux.netDevices[" + d.host + "].name", Value: name, Err: unix.EEXIST,
				Hint: `the container's network namespace has a device of that name: choose another name, or a template such as "eth%d"`}
		}
	}
	for _, d := range devs {
		if err := d.moveTo(in, int(ns)); err != nil {
			return err
		}
	}
	return nil
}

func (d *netDevice) moveTo(in *netlink.Handle, ns int) error {
	fail := func(what string, err error) error {
		hint := ""
		if errors.Is(err, unix.EPERM) {
			hint = "moving a device needs CAP_NET_ADMIN on the host"
		}
		return &errs.Error{Field: "linux.netDevices", Value: d.host, Err: fmt.Errorf("%s: %w", what, err), Hint: hint}
	}
	if err := netlink.LinkSetNsFd(d.link, ns); err != nil {
		return fail("move into the container's network namespace", err)
	}
	link, err := in.LinkByName(d.host)
	if err != nil {
		return fail("find it in the container's network namespace", err)
	}
	if d.name != "" && d.name != d.host {
		if err := in.LinkSetName(link, d.name); err != nil {
			return fail("rename it to "+d.name, err)
		}
		// A "%d" template became a name only the kernel knows.
		if link, err = in.LinkByIndex(link.Attrs().Index); err != nil {
			return fail("find it after the rename", err)
		}
	}
	for i := range d.addrs {
		if err := in.AddrAdd(link, &d.addrs[i]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fail("restore address "+d.addrs[i].IPNet.String(), err)
		}
	}
	if err := in.LinkSetUp(link); err != nil {
		return fail("set it up", err)
	}
	return nil
}
