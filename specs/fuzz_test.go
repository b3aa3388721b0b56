package specs

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/gorun/gorun/libcontainer/errs"
)

// checkErr fails unless err is nil or an *errs.Error naming a field.
func checkErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got %T %v, want *errs.Error", what, err, err)
	}
	if e.Field == "" || e.Err == nil {
		t.Fatalf("%s: error without field or cause: %v", what, err)
	}
	_ = err.Error()
}

func FuzzLoadValidate(f *testing.F) {
	f.Add(mustJSON(f, Default()))
	s := Default()
	ToRootless(s, 1000, 1000)
	f.Add(mustJSON(f, s))
	f.Add([]byte(`{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"args": "sh"}}`))
	f.Add([]byte(`{"mounts": [{"destination": "/a"}, {"destination": 5}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		os.WriteFile("/tmp/fuzzlast", data, 0o644)
		b := t.TempDir()
		if err := os.Mkdir(filepath.Join(b, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b, ConfigName), data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(b)
		checkErr(t, "Load", err)
		if err != nil {
			if s != nil {
				t.Fatal("Load returned a spec and an error")
			}
			return
		}
		checkErr(t, "Validate", Validate(s, b, true))
		checkErr(t, "Validate", Validate(s, b, false))
		ToRootless(s, 1, 1)
		checkErr(t, "Validate rootless", Validate(s, b, false))
	})
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9_+.-]+$`)

func FuzzValidateID(f *testing.F) {
	for _, id := range []string{"", "a", ".", "..", "a/b", "my-ctr_1.0+x", "\x00", "ä"} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateID(id)
		checkErr(t, "ValidateID", err)
		want := idRE.MatchString(id) && len(id) <= MaxIDLen && id != "." && id != ".."
		if (err == nil) != want {
			t.Fatalf("ValidateID(%q) = %v, want valid=%v", id, err, want)
		}
		if err != nil && !errors.Is(err, errs.ErrInvalidID) {
			t.Fatalf("ValidateID(%q) = %v does not wrap ErrInvalidID", id, err)
		}
	})
}
