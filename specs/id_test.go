package specs

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/gorun/gorun/libcontainer/errs"
)

func TestValidateID(t *testing.T) {
	good := []string{"a", "abc", "my-container_1", "A.B+c", "..a", "a..", strings.Repeat("x", MaxIDLen), "1"}
	for _, id := range good {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	bad := map[string]string{
		"":                              "empty",
		".":                             "directory name",
		"..":                            "directory name",
		"a/b":                           "'/'",
		"a b":                           "' '",
		"../etc":                        "'/'",
		"ä":                             "'ä'",
		"a\x00b":                        `'\x00'`,
		"a:b":                           "':'",
		"\xff":                          "not allowed",
		strings.Repeat("x", MaxIDLen+1): "1025 characters",
	}
	for id, want := range bad {
		err := ValidateID(id)
		var e *errs.Error
		if !errors.As(err, &e) {
			t.Errorf("ValidateID(%q) = %v, want *errs.Error", id, err)
			continue
		}
		if e.Field != "container id" || !errors.Is(err, errs.ErrInvalidID) {
			t.Errorf("ValidateID(%q) = %v: field %q", id, err, e.Field)
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(e.Hint, "letters, digits") && id != "" {
			t.Errorf("ValidateID(%q) = %v, want it to mention %q and the allowed characters", id, err, want)
		}
		if id != "" && len(id) <= MaxIDLen && !strings.Contains(err.Error(), strconv.Quote(id)) {
			t.Errorf("ValidateID(%q) = %v does not name the id", id, err)
		}
	}
}
