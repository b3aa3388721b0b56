package pod

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
)

func TestDefaultConfig(t *testing.T) {
	list, err := libcni.ConfListFromBytes(DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	if list.Name != DefaultNetwork || list.CNIVersion != "1.0.0" {
		t.Errorf("default network %q version %q", list.Name, list.CNIVersion)
	}
	if b := bridges(list); len(b) != 1 || b[0] != DefaultBridge {
		t.Errorf("bridges %q", b)
	}
	if !hasCapability(list, "portMappings") {
		t.Error("default network cannot publish ports")
	}
}

func writeConf(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfigFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := firstConfig(dir); err == nil || !strings.Contains(err.Error(), "holds no") {
		t.Errorf("empty dir: %v", err)
	}
	writeConf(t, dir, "20-b.conflist", `{"cniVersion": "1.0.0", "name": "b", "plugins": [{"type": "bridge", "bridge": "br-b"}]}`)
	writeConf(t, dir, "30-c.conf", `{"cniVersion": "1.0.0", "name": "c", "type": "bridge"}`)
	list, err := firstConfig(dir)
	if err != nil || list.Name != "b" {
		t.Fatalf("first: %v, %v", list, err)
	}
	list, err = namedConfig(dir, "c")
	if err != nil || list.Name != "c" || len(list.Plugins) != 1 {
		t.Fatalf("named c: %+v, %v", list, err)
	}
	if b := bridges(list); len(b) != 1 || b[0] != "cni0" {
		t.Errorf("bridge of a config without one: %q", b)
	}
	if _, err := namedConfig(dir, "d"); err == nil || !strings.Contains(err.Error(), "b, c") {
		t.Errorf("missing network: %v", err)
	}
	writeConf(t, dir, "10-a.conflist", `{"cniVersion": "1.0.0", "name": "a", "plugins": [`)
	if _, err := firstConfig(dir); err == nil || !strings.Contains(err.Error(), "10-a.conflist") {
		t.Errorf("unparsable: %v", err)
	}
	writeConf(t, dir, "10-a.conflist", `{"name": "a", "plugins": [{"type": "bridge"}]}`)
	if _, err := firstConfig(dir); err == nil || !strings.Contains(err.Error(), "cniVersion") {
		t.Errorf("no cniVersion: %v", err)
	}
}

func TestFlatConfig(t *testing.T) {
	dir := t.TempDir()
	// A list whose second plugin comes from a file of its own
	// (DIR/NAME/*.conf).
	writeConf(t, dir, "10-x.conflist", `{"cniVersion": "1.0.0", "name": "x", "plugins": [{"type": "bridge"}]}`)
	os.Mkdir(filepath.Join(dir, "x"), 0o755)
	writeConf(t, filepath.Join(dir, "x"), "portmap.conf", `{"type": "portmap", "capabilities": {"portMappings": true}}`)
	list, err := readConfig(filepath.Join(dir, "10-x.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Plugins) != 2 {
		t.Fatalf("%d plugins", len(list.Plugins))
	}
	b, err := flatConfig(list)
	if err != nil {
		t.Fatal(err)
	}
	again, err := libcni.ConfListFromBytes(b)
	if err != nil || len(again.Plugins) != 2 || again.Plugins[1].Network.Type != "portmap" || !json.Valid(b) {
		t.Errorf("flat config %s: %v", b, err)
	}
}

func TestLoadNetworkChecksPlugins(t *testing.T) {
	ctx := context.Background()
	if _, err := findPlugin("bridge"); err != nil {
		t.Skip("CNI plugins not installed")
	}
	if l, err := loadNetwork(ctx, NetBridge, ""); err != nil || l.Name != DefaultNetwork {
		t.Errorf("default: %v, %v", l, err)
	}
	if l, err := loadNetwork(ctx, NetNone, ""); err != nil || l != nil {
		t.Errorf("none: %v, %v", l, err)
	}
	if _, err := loadNetwork(ctx, NetHost, "/x"); err == nil {
		t.Error("host with --cni-config-dir accepted")
	}
	dir := t.TempDir()
	writeConf(t, dir, "10-m.conflist", `{"cniVersion": "1.0.0", "name": "m", "plugins": [{"type": "no-such-plugin"}]}`)
	if _, err := loadNetwork(ctx, NetBridge, dir); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("missing plugin: %v", err)
	}
	writeConf(t, dir, "10-m.conflist", `{"cniVersion": "9.9.9", "name": "m", "plugins": [{"type": "bridge"}]}`)
	if _, err := loadNetwork(ctx, "m", dir); err == nil || !strings.Contains(err.Error(), "cniVersion") {
		t.Errorf("unsupported version: %v", err)
	}
}
