package specs

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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
	// Seeds are small on purpose: the fuzzer minimizes every new
	// interesting input in O(n²) runs. More seeds are in testdata.
	f.Add([]byte(`{"mounts": [{"destination": "/a"}, {"destination": 5}]}`))
	f.Add([]byte(`{"ociVersion": "1.0.0", "root": {"path": "/"}, "process": {"args": ["sh"], "cwd": "x"}}`))
	// One bundle for all inputs: a worker runs them one at a time, and a
	// fresh directory per input slows minimizing down a lot.
	b := newBundle(f)
	f.Fuzz(func(t *testing.T, data []byte) {
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

// TestFuzzSeedsValid keeps the valid seed configs valid, so that the
// fuzzer starts from inputs that reach every check.
func TestFuzzSeedsValid(t *testing.T) {
	b := newBundle(t)
	for _, name := range []string{"minimal", "process", "mounts", "namespaces", "resources", "seccomp"} {
		raw, err := os.ReadFile(filepath.Join("testdata/fuzz/FuzzLoadValidate", name))
		if err != nil {
			t.Fatal(err)
		}
		_, lit, _ := strings.Cut(strings.TrimSpace(string(raw)), "[]byte(")
		data, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		writeConfig(t, b, []byte(data))
		s, err := Load(b)
		if err == nil {
			err = Validate(s, b, name != "mounts" && name != "namespaces" && name != "resources" && name != "seccomp")
		}
		if err != nil {
			t.Errorf("seed %s: %v", name, err)
		}
	}
}
