package pod

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// etcFiles are the files a pod gives each of its containers (bind-mounted
// over the rootfs's own, as the kubelet does): every container of the pod
// sees the pod's hostname, its address and its resolver.
var etcFiles = []string{"hosts", "hostname", "resolv.conf"}

// writeEtc writes the pod's etc/ files under its directory.
func writeEtc(dir string, p *Pod) error {
	etc := filepath.Join(dir, "etc")
	if err := os.Mkdir(etc, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"hosts":       hostsFile(p),
		"hostname":    p.Hostname + "\n",
		"resolv.conf": resolvConf(p.Network.DNS, "/etc/resolv.conf"),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func hostsFile(p *Pod) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	if ip := p.IP(); ip != "" {
		fmt.Fprintf(&b, "%s\t%s\n", ip, p.Hostname)
	} else {
		fmt.Fprintf(&b, "127.0.1.1\t%s\n", p.Hostname)
	}
	return b.String()
}

// resolvConf is the resolver config CNI returned or, without one, the
// host's (hostResolv) less its nameservers on the host's loopback (a local
// resolver such as systemd-resolved's 127.0.0.53), which a pod, with a
// loopback of its own, cannot reach.
func resolvConf(dns *DNS, hostResolv string) string {
	if dns == nil || len(dns.Nameservers) == 0 {
		b, err := os.ReadFile(hostResolv)
		if err != nil {
			return ""
		}
		var out strings.Builder
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "nameserver" {
				if ip := net.ParseIP(f[1]); ip != nil && ip.IsLoopback() {
					continue
				}
			}
			out.WriteString(l)
		}
		return out.String()
	}
	var b strings.Builder
	for _, ns := range dns.Nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	search := dns.Search
	if len(search) == 0 && dns.Domain != "" {
		search = []string{dns.Domain}
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(dns.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
	}
	return b.String()
}

// etcMounts returns bind mounts of the pod's etc/ files for a container
// whose rootfs has those files (a file is never created in a rootfs that
// may be read-only) and whose config mounts nothing there itself.
func etcMounts(dir, rootfs string, s *rspec.Spec) []rspec.Mount {
	var out []rspec.Mount
next:
	for _, name := range etcFiles {
		dst := "/etc/" + name
		for _, m := range s.Mounts {
			if filepath.Clean(m.Destination) == dst {
				continue next
			}
		}
		fi, err := os.Lstat(filepath.Join(rootfs, "etc", name))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, rspec.Mount{
			Destination: dst,
			Type:        "bind",
			Source:      filepath.Join(dir, "etc", name),
			Options:     []string{"bind", "nosuid", "nodev", "noexec"},
		})
	}
	return out
}
