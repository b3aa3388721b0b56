package caps

import "testing"

func TestLookup(t *testing.T) {
	for _, n := range []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_CHECKPOINT_RESTORE"} {
		if _, ok := Lookup(n); !ok {
			t.Errorf("%s not known", n)
		}
	}
	for _, n := range []string{"chown", "CAP_FOO", ""} {
		if _, ok := Lookup(n); ok {
			t.Errorf("%q accepted", n)
		}
	}
}
