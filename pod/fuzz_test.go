package pod

import "testing"

// The manifest and --publish are user input: parsing must not panic, and
// what parses must check out.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(k8sManifest))
	f.Add([]byte(`{"name": "db", "hostNetwork": true, "containers": [{"name": "pg", "bundle": "/b"}]}`))
	f.Add([]byte("metadata: {name: web}\nspec: {containers: [{name: a, bundle: /b, resources: {limits: {cpu: 1e400}}}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		if ValidateName(m.Metadata.Name) != nil || len(m.Spec.Containers) == 0 {
			t.Fatalf("accepted an invalid manifest: %+v", m)
		}
		if _, err := m.publish(); err != nil {
			t.Fatalf("accepted manifest fails publish: %v", err)
		}
	})
}

func FuzzParsePublish(f *testing.F) {
	for _, s := range []string{"8080:80", "127.0.0.1:53:53/udp", "[::1]:1:2", "1:2/", ":", "a:b:c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParsePublish(s)
		if err != nil {
			return
		}
		if err := checkPublish([]PortMapping{m}); err != nil {
			t.Fatalf("ParsePublish(%q) = %+v, which checkPublish rejects: %v", s, m, err)
		}
	})
}
