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

// checkPublish rejects two mappings of one host port and protocol.
func checkPublish(ms []PortMapping) error {
	seen := map[string]bool{}
	for _, m := range ms {
		if m.Protocol != "tcp" && m.Protocol != "udp" {
			return errs.Field("--publish", m.String(), publishHint, "protocol %q: use tcp or udp", m.Protocol)
		}
		if m.HostPort < 1 || m.HostPort > 65535 || m.ContainerPort < 1 || m.ContainerPort > 65535 {
			return errs.Field("--publish", m.String(), publishHint, "ports must be 1-65535")
		}
		k := fmt.Sprintf("%s:%d/%s", m.HostIP, m.HostPort, m.Protocol)
		if seen[k] {
			return errs.Field("--publish", m.String(), "publish each host port once", "host port %d/%s is published twice", m.HostPort, m.Protocol)
		}
		seen[k] = true
	}
	return nil
}
