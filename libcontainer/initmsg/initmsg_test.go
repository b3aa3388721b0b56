package initmsg

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
)

func TestRoundTrip(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	pa, pb := NewConn(a), NewConn(b)
	cfg := &InitConfig{ID: "c", FifoFD: 4, ConsoleFD: -1}
	if err := cfg.SetSpec(&rspec.Spec{Hostname: "h"}); err != nil {
		t.Fatal(err)
	}
	go func() {
		pa.Send(Message{Type: Config, Config: cfg})
		pa.Send(Message{Type: Error, Err: FromError(errs.Field("process.cwd", "x", "hint", "bad"))})
	}()
	m, err := pb.Expect(Config)
	if err != nil || m.Config.ID != "c" || m.Config.FifoFD != 4 {
		t.Fatalf("config: %+v %v", m, err)
	}
	if s, err := m.Config.DecodeSpec(); err != nil || s.Hostname != "h" {
		t.Fatalf("config's spec: %+v %v", s, err)
	}
	_, err = pb.Expect(Ready)
	var e *errs.Error
	if !errors.As(err, &e) || e.Field != "process.cwd" || e.Value != "x" || e.Hint != "hint" {
		t.Fatalf("error message: %v", err)
	}
}

func TestDecodeSpecOfExec(t *testing.T) {
	// An exec'd process gets its process alone.
	cfg := &InitConfig{Exec: true, Process: &rspec.Process{Args: []string{"true"}}}
	s, err := cfg.DecodeSpec()
	if err != nil || s.Process == nil || s.Process.Args[0] != "true" || s.Linux != nil {
		t.Fatalf("exec spec: %+v %v", s, err)
	}
	if _, err := (&InitConfig{Spec: []byte(`{"process":7}`)}).DecodeSpec(); err == nil {
		t.Fatal("a malformed config decoded")
	}
}

func TestRejects(t *testing.T) {
	for _, in := range []string{`{"type":"bogus"}`, `{"type":"error"}`, `not json`} {
		c := NewConn(struct {
			io.Reader
			io.Writer
		}{bytes.NewBufferString(in), io.Discard})
		if _, err := c.Recv(); err == nil {
			t.Errorf("Recv(%s) accepted", in)
		}
	}
	c := NewConn(struct {
		io.Reader
		io.Writer
	}{bytes.NewBufferString(`{"type":"ready"`), io.Discard})
	if _, err := c.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("truncated message: %v, want EOF", err)
	}
}

// FuzzRecv: the parent decodes what the child (inside the container, so
// not trusted after it has exec'd anything) writes; no input may panic.
func FuzzRecv(f *testing.F) {
	f.Add([]byte(`{"type":"ready","pid":1}`))
	f.Add([]byte(`{"type":"error","error":{"msg":"x","field":"f"}}`))
	f.Add([]byte(`{"type":"config","config":{"spec":{"process":{"args":["a"]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewConn(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(data), io.Discard})
		for i := 0; i < 4; i++ {
			m, err := c.Recv()
			if err != nil {
				return
			}
			if m.Type == Error && m.Err.AsError() == nil {
				t.Fatal("error message without error")
			}
		}
	})
}
