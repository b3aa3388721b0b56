package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// entries reads a tarball into a map of name to content.
func entries(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = b
	}
}

func TestLayerHasBusybox(t *testing.T) {
	img, err := Busybox(t.TempDir(), "localhost/test:1")
	if err != nil {
		t.Fatal(err)
	}
	layer, err := LayerTar(img.Rootfs)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(layer))
	found := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		found[h.Name] = h
	}
	if h := found["bin/busybox"]; h == nil || h.Typeflag != tar.TypeReg || h.Size == 0 || h.Mode&0o111 == 0 {
		t.Errorf("bin/busybox: %+v", h)
	}
	if h := found["bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
		t.Errorf("bin/sh: %+v", h)
	}
	if h := found["tmp/"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode&0o1777 != 0o1777 {
		t.Errorf("tmp/: %+v", h)
	}
	again, err := LayerTar(img.Rootfs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(layer, again) {
		t.Error("two layers of the same tree differ")
	}
}

func TestOCIAndDocker(t *testing.T) {
	dir := t.TempDir()
	img, err := Pause(dir, "localhost/gorun/pause:1")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := img.Write(&buf, OCI); err != nil {
		t.Fatal(err)
	}
	files := entries(t, buf.Bytes())
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, files["index.json"])
	}
	m := index.Manifests[0]
	if m.Annotations["io.containerd.image.name"] != img.Name {
		t.Errorf("index annotations %v", m.Annotations)
	}
	manifest := files["blobs/sha256/"+strings.TrimPrefix(m.Digest, "sha256:")]
	if digest(manifest) != m.Digest {
		t.Fatalf("manifest blob missing or wrong digest")
	}
	var man struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	if err := json.Unmarshal(manifest, &man); err != nil || len(man.Layers) != 1 {
		t.Fatalf("manifest: %v %s", err, manifest)
	}
	config := files["blobs/sha256/"+strings.TrimPrefix(man.Config.Digest, "sha256:")]
	var c imageConfig
	if err := json.Unmarshal(config, &c); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Config.Entrypoint, " ") != "/bin/sleep infinity" || c.RootFS.DiffIDs[0] != man.Layers[0].Digest {
		t.Errorf("config %s", config)
	}

	buf.Reset()
	if err := img.Write(&buf, Docker); err != nil {
		t.Fatal(err)
	}
	files = entries(t, buf.Bytes())
	var dm []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &dm); err != nil || len(dm) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	if dm[0].RepoTags[0] != img.Name || files[dm[0].Config] == nil || files[dm[0].Layers[0]] == nil {
		t.Errorf("docker manifest %+v", dm[0])
	}
	if err := img.WriteFile(filepath.Join(dir, "x.tar"), Docker); err != nil {
		t.Fatal(err)
	}
}
