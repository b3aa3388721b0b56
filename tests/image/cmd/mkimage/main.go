// Command mkimage writes a busybox (or pause) image tarball for loading
// without a registry:
//
//	go run ./tests/image/cmd/mkimage -name localhost/gorun-busybox:latest -o busybox.tar
//	ctr images import busybox.tar       # or: podman load -i busybox.tar
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gorun/gorun/tests/image"
)

func main() {
	name := flag.String("name", "localhost/gorun-busybox:latest", "image reference")
	out := flag.String("o", "image.tar", "output tarball")
	format := flag.String("format", "oci", "oci (OCI image layout) or docker (docker-archive)")
	pause := flag.Bool("pause", false, "a pause image: the entrypoint sleeps forever")
	flag.Parse()
	if err := run(*name, *out, *format, *pause); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(name, out, format string, pause bool) error {
	f := image.OCI
	switch format {
	case "oci":
	case "docker":
		f = image.Docker
	default:
		return fmt.Errorf("-format %q: use oci or docker", format)
	}
	dir, err := os.MkdirTemp("", "mkimage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	build := image.Busybox
	if pause {
		build = func(dir, name string, _ ...string) (*image.Image, error) { return image.Pause(dir, name) }
	}
	img, err := build(dir, name)
	if err != nil {
		return err
	}
	return img.WriteFile(out, f)
}
