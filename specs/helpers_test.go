package specs

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorun/gorun/libcontainer/errs"
)

// newBundle returns a temporary bundle directory with an empty rootfs.
func newBundle(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeConfig(t testing.TB, bundle string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(bundle, ConfigName), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantFieldErr checks err is an *errs.Error for field whose message
// contains value.
func wantFieldErr(t *testing.T, err error, field, value string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one for field %q", field)
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *errs.Error", err, err)
	}
	if e.Field != field {
		t.Errorf("field = %q, want %q (error: %v)", e.Field, field, err)
	}
	if !strings.Contains(err.Error(), value) {
		t.Errorf("error %q does not contain value %q", err, value)
	}
	if e.Hint == "" {
		t.Errorf("error %q has no hint", err)
	}
	msg := e.Err.Error()
	if msg == "" || strings.HasSuffix(msg, ".") || strings.HasSuffix(e.Hint, ".") {
		t.Errorf("error %q: cause and hint must be non-empty with no trailing period", err)
	}
	if c := msg[0]; c >= 'A' && c <= 'Z' {
		t.Errorf("error %q: cause must start lowercase", err)
	}
}
