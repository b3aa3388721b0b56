// Command demo builds a busybox bundle, runs it with gorun, and prints what
// the container sees beside what the host sees: one kernel, shared; its own
// pid 1, hostname, mounts, network interfaces and cgroup.
//
//	go run ./tests/demo        (make demo builds gorun first)
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/gorun/gorun/tests/bundle"
)

// probe prints one "key=value" line per fact; the same facts are read on
// the host for the other column.
const probe = `
echo "kernel=$(uname -r)"
echo "hostname=$(hostname)"
echo "pid of this shell=$$"
echo "processes=$(ls -d /proc/[0-9]* | wc -l)"
echo "mounts=$(wc -l < /proc/self/mountinfo)"
echo "network interfaces=$(ls /sys/class/net | tr '\n' ' ')"
echo "cgroup (as it sees it)=$(grep pids /proc/self/cgroup | cut -d: -f3)"
echo "user=$(id -u)"
echo "root filesystem=$(ls / | tr '\n' ' ')"
`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	if err := bundle.EnsureBusybox(); err != nil {
		return err
	}
	gorun, err := filepath.Abs("gorun")
	if err != nil {
		return err
	}
	if _, err := os.Stat(gorun); err != nil {
		return fmt.Errorf("%s not found: run `make build` first", gorun)
	}
	dir, err := os.MkdirTemp("", "gorun-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bundle.Bundle{Dir: dir, Rootfs: filepath.Join(dir, "rootfs"), Spec: bundle.DefaultSpec("sh", "-c", probe)}
	b.Spec.Hostname = "gorun-demo"
	if err := bundle.Rootfs(b.Rootfs); err != nil {
		return err
	}
	if err := b.Write(); err != nil {
		return err
	}
	root := filepath.Join(dir, "state")
	id := fmt.Sprintf("demo-%d", os.Getpid())
	fmt.Printf("$ gorun --root %s run --bundle %s %s\n\n", root, dir, id)
	cmd := exec.Command(gorun, "--root", root, "run", "--bundle", dir, id)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gorun run: %v\n%s", err, out.String())
	}
	inside := parse(out.String())
	host, err := hostFacts()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\tHOST\tCONTAINER")
	for _, k := range keys(probe) {
		fmt.Fprintf(w, "%s\t%s\t%s\n", k, clip(host[k]), clip(inside[k]))
	}
	w.Flush()
	fmt.Println(`
Same kernel, different views: the container is a process of this host's one
kernel (no second kernel boots, unlike a VM); namespaces give it its own pid
numbering, hostname, mount table and network stack, and a cgroup counts and
limits what it uses. gorun left nothing behind: the container is deleted.`)
	return nil
}

// hostFacts runs the same probe on the host.
func hostFacts() (map[string]string, error) {
	out, err := exec.Command("/bin/busybox", "sh", "-c", probe).Output()
	if err != nil {
		return nil, err
	}
	return parse(string(out)), nil
}

func parse(s string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func keys(probe string) []string {
	var ks []string
	for _, l := range strings.Split(probe, "\n") {
		if i := strings.Index(l, `echo "`); i >= 0 {
			if k, _, ok := strings.Cut(l[i+6:], "="); ok {
				ks = append(ks, k)
			}
		}
	}
	return ks
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
