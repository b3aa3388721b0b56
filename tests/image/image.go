// Package image builds container images for tests without a registry: one
// uncompressed layer made from the busybox root filesystem of package
// bundle, written as an OCI image layout tarball (what `ctr images import`
// and `podman load` read as oci-archive) or as a docker-archive (what
// `docker save` writes; `podman load` and `ctr images import` read it too).
package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/gorun/gorun/tests/bundle"
)

// Media types of what Write produces.
const (
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar"
)

// Format is the layout of the tarball Write produces.
type Format int

const (
	// OCI is an OCI image layout (oci-layout, index.json, blobs/sha256/).
	OCI Format = iota
	// Docker is a docker-archive (manifest.json, <id>.json, <id>/layer.tar).
	Docker
)

// Image is one image: a name, what it runs and the files of its one layer.
type Image struct {
	// Name is the full reference the image is loaded as, e.g.
	// "localhost/gorun-busybox:latest".
	Name       string
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	Labels     map[string]string
	// Rootfs is the directory whose tree becomes the layer.
	Rootfs string
}

// Busybox returns an image named name of a fresh busybox root filesystem
// (bundle.Rootfs) laid out under dir/rootfs, running cmd (default sh).
func Busybox(dir, name string, cmd ...string) (*Image, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "rootfs")
	if err := bundle.Rootfs(root); err != nil {
		return nil, err
	}
	if len(cmd) == 0 {
		cmd = []string{"sh"}
	}
	return &Image{
		Name:       name,
		Cmd:        cmd,
		Env:        []string{"PATH=" + bundle.DefaultPath},
		WorkingDir: "/",
		Rootfs:     root,
	}, nil
}

// Pause returns an image named name whose entrypoint sleeps until it is
// killed, as a pod sandbox's (infra container's) does.
func Pause(dir, name string) (*Image, error) {
	img, err := Busybox(dir, name)
	if err != nil {
		return nil, err
	}
	img.Entrypoint = []string{"/bin/sleep", "infinity"}
	img.Cmd = nil
	return img, nil
}

// WriteFile writes the image to path in format f.
func (img *Image) WriteFile(path string, f Format) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := img.Write(out, f); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Write writes the image as a tarball in format f to w.
func (img *Image) Write(w io.Writer, f Format) error {
	if img.Name == "" || !strings.Contains(img.Name, ":") {
		return fmt.Errorf("image: name %q: want a reference with a tag, e.g. localhost/name:tag", img.Name)
	}
	layer, err := LayerTar(img.Rootfs)
	if err != nil {
		return err
	}
	layerDigest := digest(layer)
	config, err := json.Marshal(img.config(layerDigest))
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	switch f {
	case OCI:
		err = img.writeOCI(tw, config, layer)
	case Docker:
		err = img.writeDocker(tw, config, layer)
	default:
		err = fmt.Errorf("image: unknown format %d", f)
	}
	if err != nil {
		return err
	}
	return tw.Close()
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *platform         `json:"platform,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type imageConfig struct {
	Created      time.Time `json:"created"`
	Architecture string    `json:"architecture"`
	OS           string    `json:"os"`
	Config       struct {
		Entrypoint []string          `json:"Entrypoint,omitempty"`
		Cmd        []string          `json:"Cmd,omitempty"`
		Env        []string          `json:"Env,omitempty"`
		WorkingDir string            `json:"WorkingDir,omitempty"`
		Labels     map[string]string `json:"Labels,omitempty"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	} `json:"history"`
}

func (img *Image) config(diffID string) *imageConfig {
	c := &imageConfig{Created: time.Unix(0, 0).UTC(), Architecture: runtime.GOARCH, OS: "linux"}
	c.Config.Entrypoint = img.Entrypoint
	c.Config.Cmd = img.Cmd
	c.Config.Env = img.Env
	c.Config.WorkingDir = img.WorkingDir
	c.Config.Labels = img.Labels
	c.RootFS.Type = "layers"
	c.RootFS.DiffIDs = []string{diffID}
	c.History = append(c.History, struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	}{c.Created, "gorun tests/image: busybox rootfs"})
	return c
}

func (img *Image) writeOCI(tw *tar.Writer, config, layer []byte) error {
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeManifest,
		"config":        descriptor{MediaType: MediaTypeConfig, Digest: digest(config), Size: int64(len(config))},
		"layers":        []descriptor{{MediaType: MediaTypeLayer, Digest: digest(layer), Size: int64(len(layer))}},
	})
	if err != nil {
		return err
	}
	// containerd names the image after io.containerd.image.name; podman
	// and other OCI tools after org.opencontainers.image.ref.name.
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeIndex,
		"manifests": []descriptor{{
			MediaType: MediaTypeManifest, Digest: digest(manifest), Size: int64(len(manifest)),
			Annotations: map[string]string{
				"io.containerd.image.name":          img.Name,
				"org.opencontainers.image.ref.name": img.Name,
			},
			Platform: &platform{Architecture: runtime.GOARCH, OS: "linux"},
		}},
	})
	if err != nil {
		return err
	}
	if err := addDir(tw, "blobs/"); err != nil {
		return err
	}
	if err := addDir(tw, "blobs/sha256/"); err != nil {
		return err
	}
	for _, blob := range [][]byte{layer, config, manifest} {
		if err := addFile(tw, "blobs/sha256/"+strings.TrimPrefix(digest(blob), "sha256:"), blob); err != nil {
			return err
		}
	}
	if err := addFile(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	return addFile(tw, "index.json", index)
}

func (img *Image) writeDocker(tw *tar.Writer, config, layer []byte) error {
	configID := strings.TrimPrefix(digest(config), "sha256:")
	layerID := strings.TrimPrefix(digest(layer), "sha256:")
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configID + ".json",
		"RepoTags": []string{img.Name},
		"Layers":   []string{layerID + "/layer.tar"},
	}})
	if err != nil {
		return err
	}
	if err := addDir(tw, layerID+"/"); err != nil {
		return err
	}
	if err := addFile(tw, layerID+"/layer.tar", layer); err != nil {
		return err
	}
	if err := addFile(tw, configID+".json", config); err != nil {
		return err
	}
	return addFile(tw, "manifest.json", manifest)
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

var epoch = time.Unix(0, 0).UTC()

func addDir(tw *tar.Writer, name string) error {
	return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
}

func addFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// LayerTar returns an uncompressed layer tarball of the tree under root:
// directories, regular files and symlinks, with their modes and owners,
// in name order (the same tree gives the same bytes). A file hard linked
// more than once is stored once and linked to.
func LayerTar(root string) ([]byte, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("image: layer of %s: %w", root, err)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	type inode struct{ dev, ino uint64 }
	seen := make(map[inode]string)
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(root, p)
		var link string
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return nil, err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return nil, fmt.Errorf("image: %s: %w", p, err)
		}
		hdr.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = epoch, time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		if st, ok := sysStat(fi); ok && fi.Mode().IsRegular() && st.nlink > 1 {
			key := inode{st.dev, st.ino}
			if first, ok := seen[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				seen[key] = hdr.Name
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
