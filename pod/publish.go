package pod

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gorun/gorun/libcontainer/errs"
)

const publishHint = "write HOST:CONTAINER[/tcp|/udp] or IP:HOST:CONTAINER[/tcp|/udp], e.g. 8080:80"

// ParsePublish parses a --publish value: [IP:]HOSTPORT:CONTAINERPORT with
// an optional /tcp or /udp (default tcp).
func ParsePublish(s string) (PortMapping, error) {
	bad := func(format string, args ...any) (PortMapping, error) {
		return PortMapping{}, errs.Field("--publish", s, publishHint, format, args...)
	}
	m := PortMapping{Protocol: "tcp"}
	spec := s
	if i := strings.LastIndexByte(spec, '/'); i >= 0 {
		m.Protocol = strings.ToLower(spec[i+1:])
		spec = spec[:i]
		if m.Protocol != "tcp" && m.Protocol != "udp" {
			return bad("protocol %q: use tcp or udp", m.Protocol)
		}
	}
	i := strings.LastIndexByte(spec, ':')
	if i < 0 {
		return bad("no host port")
	}
	ctr := spec[i+1:]
	spec = spec[:i]
	host := spec
	if j := strings.LastIndexByte(spec, ':'); j >= 0 {
		m.HostIP, host = strings.Trim(spec[:j], "[]"), spec[j+1:]
		if ip := net.ParseIP(m.HostIP); ip == nil {
			return bad("host address %q is not an IP address", m.HostIP)
		}
	}
	var err error
	if m.HostPort, err = port(host); err != nil {
		return bad("host port: %v", err)
	}
	if m.ContainerPort, err = port(ctr); err != nil {
		return bad("container port: %v", err)
	}
	return m, nil
}

func port(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return n, nil
}

// checkPublish rejects a malformed mapping, and two mappings of one host
// port and protocol on overlapping addresses (no address: all of them).
// What depends on the host is portsFree's.
func checkPublish(ms []PortMapping) error {
	for i, m := range ms {
		if m.Protocol != "tcp" && m.Protocol != "udp" {
			return errs.Field("--publish", m.String(), publishHint, "protocol %q: use tcp or udp", m.Protocol)
		}
		if m.HostPort < 1 || m.HostPort > 65535 || m.ContainerPort < 1 || m.ContainerPort > 65535 {
			return errs.Field("--publish", m.String(), publishHint, "ports must be 1-65535")
		}
		if m.HostIP != "" && net.ParseIP(m.HostIP) == nil {
			return errs.Field("--publish", m.String(), publishHint, "host address %q is not an IP address", m.HostIP)
		}
		for _, o := range ms[:i] {
			if overlaps(m, o) {
				return errs.Field("--publish", m.String(), "publish each host port once", "host port %d/%s is published twice", m.HostPort, m.Protocol)
			}
		}
	}
	return nil
}

// overlaps says whether mappings a and b take the same host port.
func overlaps(a, b PortMapping) bool {
	return a.HostPort == b.HostPort && a.Protocol == b.Protocol && (a.HostIP == "" || b.HostIP == "" || net.ParseIP(a.HostIP).Equal(net.ParseIP(b.HostIP)))
}

// localAddress says whether ip is an address of this host: unspecified,
// loopback, or on an interface.
func localAddress(ip net.IP) bool {
	if ip.IsUnspecified() || ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // cannot tell: let the network plugin decide
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// portsFree checks that the host address of each mapping of ms is this
// host's, and that its port is taken neither by another pod (portmap's
// rules hold no socket) nor by a program of the host, by binding it for a
// moment, as podman and the kubelet do.
func portsFree(ms []PortMapping, others []*Pod) error {
	for _, m := range ms {
		if m.HostIP != "" && !localAddress(net.ParseIP(m.HostIP)) {
			return errs.Field("--publish", m.String(), "give an address of this host (`ip addr`), or none for all of them", "%s is not an address of this host", m.HostIP)
		}
		for _, p := range others {
			for _, o := range p.Network.Publish {
				if overlaps(m, o) {
					return errs.Field("--publish", m.String(), "choose another host port, or remove pod "+p.Name,
						"host port %d/%s is published by pod %s", m.HostPort, m.Protocol, p.Name)
				}
			}
		}
		addr := net.JoinHostPort(m.HostIP, strconv.Itoa(m.HostPort))
		var err error
		if m.Protocol == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp", addr); err == nil {
				c.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen("tcp", addr); err == nil {
				l.Close()
			}
		}
		if err != nil {
			return &errs.Error{Field: "--publish", Value: m.String(), Err: err, Hint: "a program of the host listens there: choose another host port"}
		}
	}
	return nil
}
