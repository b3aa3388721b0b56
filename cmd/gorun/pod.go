package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/pod"
)

var podCommand = &cli.Command{
	Name:  "pod",
	Usage: "group containers in pods, as Kubernetes does: one IP, one network, IPC and UTS namespace",
	Description: `A pod is a sandbox that its containers share: a network namespace (one IP,
one localhost), an IPC and a UTS namespace (one hostname), and optionally a
PID namespace, plus a cgroup that parents the containers' cgroups. Its network
comes from CNI plugins: gorun's default network is the bridge gorun0 with
pods on 10.88.77.0/24. Containers join a pod with ` + "`gorun create --pod NAME`" + ` (or
run --pod, pod add) and keep their own mount and PID namespaces.`,
	Before: func(ctx *cli.Context) error {
		if ctx.Bool("systemd-cgroup") {
			return errs.Field("--systemd-cgroup", "true", "drop the flag for pod commands", "pods make their cgroups with cgroupfs")
		}
		return nil
	},
	Subcommands: []*cli.Command{
		podCreateCommand, podRunCommand, podAddCommand, podListCommand,
		podInspectCommand, podStopCommand, podRmCommand,
	},
}

var podCreateCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a pod: its namespaces, cgroup and network",
	ArgsUsage: "NAME",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "hostname", Usage: "the pod's hostname `H` (default: its name)"},
		&cli.StringFlag{Name: "network", Value: pod.NetBridge, Usage: "bridge (gorun's default network, or the first of --cni-config-dir), none (only lo), host, or the `NAME` of a network in --cni-config-dir"},
		&cli.StringFlag{Name: "cni-config-dir", Usage: "take the CNI network from the config lists in `DIR`"},
		&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a pod port on the host: `[IP:]HOST:CTR[/tcp|udp]` (repeatable)"},
		&cli.StringFlag{Name: "cgroup-parent", Usage: "create the pod's cgroup under `P` (default " + pod.DefaultCgroupParent + ")"},
		&cli.BoolFlag{Name: "share-pid", Usage: "one PID namespace for all the pod's containers (its init is a tiny infra process)"},
	},
	Action: func(ctx *cli.Context) error {
		name, err := podName(ctx)
		if err != nil {
			return err
		}
		var publish []pod.PortMapping
		for _, s := range ctx.StringSlice("publish") {
			m, err := pod.ParsePublish(s)
			if err != nil {
				return err
			}
			publish = append(publish, m)
		}
		dir := ctx.String("cni-config-dir")
		if dir != "" {
			if dir, err = filepath.Abs(dir); err != nil {
				return err
			}
		}
		_, err = pod.Create(pod.CreateOpts{
			Root:         ctx.String("root"),
			Name:         name,
			Hostname:     ctx.String("hostname"),
			Network:      ctx.String("network"),
			CNIConfigDir: dir,
			Publish:      publish,
			CgroupParent: ctx.String("cgroup-parent"),
			SharePID:     ctx.Bool("share-pid"),
		})
		return err
	},
}

var podRunCommand = &cli.Command{
	Name:      "run",
	Usage:     "create the pod a manifest describes and start its containers in order",
	ArgsUsage: "MANIFEST",
	Description: `MANIFEST is a small Kubernetes-like Pod in YAML or JSON:

   apiVersion: v1
   kind: Pod
   metadata:
     name: web
   spec:
     hostname: web                # default: the name
     shareProcessNamespace: false
     hostNetwork: false           # or network: bridge|none|host|NAME
     containers:
     - name: server               # the container's id is POD-NAME
       bundle: ./server           # an OCI bundle, or rootfs: ./rootfs
       args: ["httpd", "-f", "-p", "8080"]   # command + args replace process.args
       env: [{name: MODE, value: demo}]
       resources:
         limits: {cpu: 500m, memory: 64Mi}
       ports:
       - containerPort: 8080
         hostPort: 18080          # published on the host

The containers run in the background with no terminal; their output goes to
the pod's logs (` + "`gorun pod inspect`" + ` shows where). If one fails to start, the
whole pod is removed.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "network", Usage: "override the manifest's network (bridge, none, host, `NAME`)"},
		&cli.StringFlag{Name: "cni-config-dir", Usage: "override the manifest's CNI config `DIR`"},
		&cli.StringFlag{Name: "cgroup-parent", Usage: "override the manifest's cgroup parent `P`"},
	},
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() != 1 {
			return podArgsError(ctx, "want one manifest file, got %d arguments", ctx.NArg())
		}
		m, err := pod.LoadManifest(ctx.Args().First())
		if err != nil {
			return err
		}
		dir := ctx.String("cni-config-dir")
		if dir != "" {
			if dir, err = filepath.Abs(dir); err != nil {
				return err
			}
		}
		_, err = pod.Run(m, pod.RunOpts{
			Root:         ctx.String("root"),
			Network:      ctx.String("network"),
			CNIConfigDir: dir,
			CgroupParent: ctx.String("cgroup-parent"),
		})
		return err
	},
}

var podAddCommand = &cli.Command{
	Name:      "add",
	Usage:     "create a container from a bundle in a pod and start it in the background",
	ArgsUsage: "NAME BUNDLE ID",
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() != 3 {
			return podArgsError(ctx, "want a pod name, a bundle directory and a container id, got %d arguments", ctx.NArg())
		}
		bundle, s, err := loadBundle(ctx.Args().Get(1))
		if err != nil {
			return err
		}
		_, err = pod.Add(pod.AddOpts{
			Root:   ctx.String("root"),
			Pod:    ctx.Args().Get(0),
			ID:     ctx.Args().Get(2),
			Bundle: bundle,
			Spec:   s,
		})
		return err
	},
}

var podListCommand = &cli.Command{
	Name:    "list",
	Aliases: []string{"ls"},
	Usage:   "list the pods under --root",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the names"},
	},
	Action: func(ctx *cli.Context) error {
		pods, err := pod.List(ctx.String("root"))
		if err != nil {
			return err
		}
		if ctx.Bool("quiet") {
			for _, p := range pods {
				fmt.Println(p.Name)
			}
			return nil
		}
		switch ctx.String("format") {
		case "json":
			return printJSON(pods)
		case "table":
			w := tabwriter.NewWriter(os.Stdout, 8, 1, 3, ' ', 0)
			fmt.Fprint(w, "NAME\tSTATUS\tIP\tCONTAINERS\tNETWORK\tCREATED\n")
			for _, p := range pods {
				running := 0
				for _, c := range p.Containers {
					if c.Status == "running" {
						running++
					}
				}
				ip := p.IP()
				if ip == "" {
					ip = "-"
				}
				created := "-"
				if !p.Created.IsZero() {
					created = p.Created.Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d running\t%s\t%s\n", p.Name, p.Status, ip, running, len(p.Containers), orDash(p.Network.Mode), created)
			}
			return w.Flush()
		default:
			return errs.Field("--format", ctx.String("format"), "use table or json", "unknown format")
		}
	},
}

var podInspectCommand = &cli.Command{
	Name:      "inspect",
	Usage:     "print a pod's state as JSON: IP, namespaces, cgroup, containers",
	ArgsUsage: "NAME",
	Action: func(ctx *cli.Context) error {
		name, err := podName(ctx)
		if err != nil {
			return err
		}
		info, err := pod.Inspect(ctx.String("root"), name)
		if err != nil {
			return err
		}
		return printJSON(info)
	},
}

var podStopCommand = &cli.Command{
	Name:      "stop",
	Usage:     "stop every container of a pod: SIGTERM, then SIGKILL after a timeout (the pod keeps its IP)",
	ArgsUsage: "NAME...",
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Value: 10 * time.Second, Usage: "how long to wait after SIGTERM before SIGKILL"},
	},
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() == 0 {
			return podArgsError(ctx, "want at least one pod name")
		}
		return eachPod(ctx, func(name string) error {
			return pod.Stop(ctx.String("root"), name, ctx.Duration("timeout"))
		})
	},
}

var podRmCommand = &cli.Command{
	Name:      "rm",
	Aliases:   []string{"delete"},
	Usage:     "remove a pod: its containers, network (its IP is released), namespaces and cgroup",
	ArgsUsage: "NAME...",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill running containers; remove a pod whose create did not finish"},
	},
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() == 0 {
			return podArgsError(ctx, "want at least one pod name")
		}
		return eachPod(ctx, func(name string) error {
			return pod.Remove(ctx.String("root"), name, ctx.Bool("force"))
		})
	},
}

// eachPod runs f for every argument; it reports every error but the last
// on stderr and returns the last.
func eachPod(ctx *cli.Context, f func(string) error) error {
	var last error
	for _, name := range ctx.Args().Slice() {
		if err := f(name); err != nil {
			if last != nil {
				report(last)
			}
			last = err
		}
	}
	return last
}

func podName(ctx *cli.Context) (string, error) {
	if ctx.NArg() != 1 {
		return "", podArgsError(ctx, "want exactly one pod name, got %d arguments", ctx.NArg())
	}
	name := ctx.Args().First()
	return name, pod.ValidateName(name)
}

func podArgsError(ctx *cli.Context, format string, args ...any) error {
	options := false
	for _, f := range ctx.Command.Flags {
		options = options || f.Names()[0] != "help"
	}
	usage := "usage: gorun pod " + ctx.Command.Name + " "
	if options {
		usage += "[options] "
	}
	usage += ctx.Command.ArgsUsage
	if options {
		usage += "; options go before the arguments"
	}
	return errs.Field("arguments", strings.Join(ctx.Args().Slice(), " "), usage, format, args...)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
