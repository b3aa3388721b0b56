// Package errs holds gorun's one error type: every error a user sees names
// what was being done, the spec field or argument at fault, its value, the
// cause, and what to do about it.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Error is an error a user can act on.
//
//	Op:    what gorun was doing ("create", "mount", "start")
//	Field: the config.json field or CLI argument at fault ("mounts[2].destination", "--bundle")
//	Value: the offending value, printed quoted
//	Err:   the cause
//	Hint:  what the user can do about it
type Error struct {
	Op    string
	Field string
	Value string
	Err   error
	Hint  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Value != "" {
			fmt.Fprintf(&b, " %q", e.Value)
		}
		b.WriteString(": ")
	} else if e.Value != "" {
		fmt.Fprintf(&b, "%q: ", e.Value)
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid")
	}
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Field returns an error about one field and its value.
func Field(field, value, hint string, format string, args ...any) *Error {
	return &Error{Field: field, Value: value, Err: fmt.Errorf(format, args...), Hint: hint}
}

// Wrap gives err the operation op; an *Error keeps its field, value and hint.
// A nil err stays nil.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		c := *e
		if c.Op == "" {
			c.Op = op
		} else if !strings.HasPrefix(c.Op, op) {
			c.Op = op + ": " + c.Op
		}
		return &c
	}
	return &Error{Op: op, Err: err}
}

// Sentinel causes, for errors.Is by callers (the CLI maps none of them to
// other exit codes: runc exits 1 on every error, and so does gorun).
var (
	ErrNotExist  = errors.New("container does not exist")
	ErrExist     = errors.New("container already exists")
	ErrBadState  = errors.New("container is in the wrong state")
	ErrInvalidID = errors.New("invalid container id")
)
