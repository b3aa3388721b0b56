package errs

import (
	"errors"
	"os"
	"testing"
)

func TestErrorText(t *testing.T) {
	cases := []struct {
		e    *Error
		want string
	}{
		{&Error{Op: "create", Field: "mounts[2].destination", Value: "data", Err: errors.New("must be absolute"), Hint: "use /data"},
			`create: mounts[2].destination "data": must be absolute (use /data)`},
		{&Error{Field: "signal", Value: "FOO", Err: errors.New("unknown signal")}, `signal "FOO": unknown signal`},
		{&Error{Err: errors.New("boom")}, `boom`},
		{&Error{Field: "root"}, `root: invalid`},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestWrap(t *testing.T) {
	if Wrap("x", nil) != nil {
		t.Error("Wrap(nil) != nil")
	}
	e := Wrap("create", Field("process.cwd", "rel", "", "must be absolute"))
	var fe *Error
	if !errors.As(e, &fe) || fe.Op != "create" || fe.Field != "process.cwd" {
		t.Errorf("Wrap lost the field: %#v", e)
	}
	e = Wrap("start", Wrap("create", os.ErrNotExist))
	if !errors.Is(e, os.ErrNotExist) || e.Error() != "start: create: file does not exist" {
		t.Errorf("nested: %v", e)
	}
}
