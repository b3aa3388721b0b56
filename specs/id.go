package specs

import (
	"fmt"

	"github.com/gorun/gorun/libcontainer/errs"
)

// MaxIDLen is the longest container id gorun accepts.
const MaxIDLen = 1024

const idHint = "use only letters, digits, '_', '+', '-' and '.', at most 1024 characters"

// ValidateID checks a container id: 1 to MaxIDLen characters from
// [A-Za-z0-9_+.-], and not "." or "..". The error wraps errs.ErrInvalidID.
func ValidateID(id string) error {
	switch {
	case id == "":
		return errs.Field("container id", id, "give the container a name, e.g. mycontainer", "%w: empty", errs.ErrInvalidID)
	case len(id) > MaxIDLen:
		return errs.Field("container id", shorten(id), idHint, "%w: %d characters long", errs.ErrInvalidID, len(id))
	case id == "." || id == "..":
		return errs.Field("container id", id, idHint, "%w: %q is a directory name", errs.ErrInvalidID, id)
	}
	for i, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '_' || r == '+' || r == '-' || r == '.') {
			return errs.Field("container id", id, idHint, "%w: character %s at position %d is not allowed",
				errs.ErrInvalidID, quoteRune(r), i)
		}
	}
	return nil
}

func quoteRune(r rune) string {
	return fmt.Sprintf("%q", r)
}
