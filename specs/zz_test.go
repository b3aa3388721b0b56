package specs

import (
	"os"
	"testing"
)

func TestZZ(t *testing.T) {
	data, _ := os.ReadFile("/tmp/hang.json")
	b := newBundle(t)
	writeConfig(t, b, data)
	_, err := Load(b)
	t.Log(err)
}
