package pod

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const k8sManifest = `
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  hostname: www
  shareProcessNamespace: true
  containers:
  - name: server
    bundle: ./server
    args: ["httpd", "-f"]
    env:
    - {name: MODE, value: demo}
    resources:
      limits: {cpu: 500m, memory: 64Mi}
      requests: {cpu: 0.25, memory: 1000000}
    ports:
    - containerPort: 8080
      hostPort: 18080
    - containerPort: 9090
  - name: sidecar
    rootfs: /srv/rootfs
    command: [sh, -c]
    args: ["sleep 1000"]
`

func TestParseManifestKubernetesForm(t *testing.T) {
	m, err := ParseManifest([]byte(k8sManifest))
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata.Name != "web" || m.Spec.Hostname != "www" || !m.Spec.ShareProcessNamespace || len(m.Spec.Containers) != 2 {
		t.Fatalf("parsed: %+v %+v", m.Metadata, m.Spec)
	}
	pub, err := m.publish()
	if err != nil || len(pub) != 1 || pub[0] != (PortMapping{HostPort: 18080, ContainerPort: 8080, Protocol: "tcp"}) {
		t.Errorf("publish: %+v, %v", pub, err)
	}
	r, err := m.Spec.Containers[0].resources()
	if err != nil {
		t.Fatal(err)
	}
	if *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 || *r.CPU.Shares != 256 {
		t.Errorf("cpu: quota %d period %d shares %d", *r.CPU.Quota, *r.CPU.Period, *r.CPU.Shares)
	}
	if *r.Memory.Limit != 64<<20 || *r.Memory.Reservation != 1000000 {
		t.Errorf("memory: limit %d reservation %d", *r.Memory.Limit, *r.Memory.Reservation)
	}
}

func TestParseManifestFlatForm(t *testing.T) {
	m, err := ParseManifest([]byte(`{"name": "db", "hostNetwork": true, "containers": [{"name": "pg", "bundle": "/b"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata.Name != "db" || m.Spec.Network != NetHost || m.Spec.Containers[0].Bundle != "/b" {
		t.Errorf("parsed: %+v %+v", m.Metadata, m.Spec)
	}
}

func TestParseManifestErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"metadata: {name: web}\nspec: {containers: [{name: a, bundle: /b}]}\nname: web", "mixes"},
		{"kind: Deployment\nmetadata: {name: web}\nspec: {containers: [{name: a, bundle: /b}]}", "kind"},
		{"metadata: {name: web}\nspec: {containers: [{name: a, bundle: /b, image: nginx}]}", "unknown field"},
		{"metadata: {name: web}\nspec: {containers: []}", "spec.containers"},
		{"metadata: {name: -web}\nspec: {containers: [{name: a, bundle: /b}]}", "metadata.name"},
		{"metadata: {name: web}\nspec: {containers: [{name: a}]}", "exactly one of bundle and rootfs"},
		{"metadata: {name: web}\nspec: {containers: [{name: a, bundle: /b, rootfs: /r}]}", "exactly one of bundle and rootfs"},
		{"metadata: {name: web}\nspec: {containers: [{name: a, rootfs: /r}]}", "args"},
		{"metadata: {name: web}\nspec: {containers: [{name: a, bundle: /b}, {name: a, bundle: /c}]}", "duplicate"},
		{"metadata: {name: web}\nspec: {containers: [{name: a, bundle: /b, resources: {limits: {gpu: 1}}}]}", "unknown resource"},
		{"metadata: {name: web}\nspec: {containers: [{name: a, bundle: /b, resources: {limits: {cpu: lots}}}]}", "limits.cpu"},
		{"metadata: {name: web}\nspec: {containers: [{name: a, bundle: /b, ports: [{containerPort: 0}]}]}", "containerPort"},
		{"metadata: {name: web}\nspec: {containers: [{name: a, bundle: /b, ports: [{containerPort: 1, protocol: SCTP}]}]}", "protocol"},
		{"metadata: {name: web}\nspec: {containers: [{name: a, bundle: /b, ports: [{containerPort: 1, hostPort: 80}]}, {name: c, bundle: /b, ports: [{containerPort: 2, hostPort: 80}]}]}", "twice"},
		{"metadata: {name: web}\nspec: {hostNetwork: true, network: none, containers: [{name: a, bundle: /b}]}", "hostNetwork"},
		{"{", "yaml"},
	} {
		_, err := ParseManifest([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseManifest(%q): %v, want an error with %q", tc.yaml, err, tc.want)
		}
	}
}

func TestLoadManifestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pod.yaml")
	os.WriteFile(path, []byte("metadata: {name: web}\nspec: {containers: [{name: a, bundle: server}, {name: b, rootfs: ../r, args: [true]}]}\n"), 0o644)
	m, err := LoadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Spec.Containers[0].Bundle; got != filepath.Join(dir, "server") {
		t.Errorf("bundle %q", got)
	}
	if got := m.Spec.Containers[1].Rootfs; got != filepath.Join(filepath.Dir(dir), "r") {
		t.Errorf("rootfs %q", got)
	}
}

func TestContainerSpecFromRootfs(t *testing.T) {
	c := ManifestContainer{Name: "a", Rootfs: "/srv/r", Command: []string{"sh", "-c"}, Args: []string{"echo hi"},
		Env: []EnvVar{{"PATH", "/bin"}, {"X", "1"}}, WorkingDir: "/tmp"}
	s, err := c.containerSpec()
	if err != nil {
		t.Fatal(err)
	}
	if s.Root.Path != "/srv/r" || s.Root.Readonly || s.Process.Terminal {
		t.Errorf("root %+v terminal %v", s.Root, s.Process.Terminal)
	}
	if strings.Join(s.Process.Args, "|") != "sh|-c|echo hi" || s.Process.Cwd != "/tmp" {
		t.Errorf("process %+v", s.Process)
	}
	env := strings.Join(s.Process.Env, " ")
	if !strings.Contains(env, "PATH=/bin") || !strings.Contains(env, "X=1") || strings.Count(env, "PATH=") != 1 {
		t.Errorf("env %q", env)
	}
}

func TestQuantity(t *testing.T) {
	for q, want := range map[Quantity]int64{"500m": 500, "1": 1000, "0.5": 500, "2.25": 2250, "1m": 1, "0": 0} {
		if got, err := q.MilliCPU(); err != nil || got != want {
			t.Errorf("MilliCPU(%q) = %d, %v; want %d", q, got, err, want)
		}
	}
	for q, want := range map[Quantity]int64{"64Mi": 64 << 20, "1Gi": 1 << 30, "1G": 1e9, "128974848": 128974848, "129e6": 129e6, "1.5Ki": 1536, "100k": 100000} {
		if got, err := q.Bytes(); err != nil || got != want {
			t.Errorf("Bytes(%q) = %d, %v; want %d", q, got, err, want)
		}
	}
	for _, bad := range []Quantity{"", "-1", "1Xi", "abc", "1.2.3", "Mi"} {
		if _, err := bad.Bytes(); err == nil {
			t.Errorf("Bytes(%q) accepted", bad)
		}
	}
}
