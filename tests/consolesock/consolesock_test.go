package consolesock

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func listen(t *testing.T) *Receiver {
	t.Helper()
	r, err := Listen(filepath.Join(t.TempDir(), "console.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// send dials path and sends data with fds as SCM_RIGHTS (none if empty).
func send(path, data string, fds ...int) error {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return err
	}
	defer conn.Close()
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	_, _, err = conn.WriteMsgUnix([]byte(data), oob, nil)
	return err
}

func TestReceivePipe(t *testing.T) {
	r := listen(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	sent := make(chan error, 1)
	go func() {
		err := send(r.Path(), "/dev/pts/42", int(pr.Fd()))
		pr.Close() // the receiver has its own copy now
		if err == nil {
			_, err = pw.Write([]byte("hello from the other side"))
		}
		pw.Close()
		sent <- err
	}()
	f, err := r.Accept(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Name() != "/dev/pts/42" {
		t.Errorf("name %q", f.Name())
	}
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello from the other side" {
		t.Errorf("read %q", got)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

func TestReceivePty(t *testing.T) {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("skipping: no pty: %v", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()

	r := listen(t)
	go send(r.Path(), "", master)
	f, err := r.Accept(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Name() != "console" {
		t.Errorf("name %q", f.Name())
	}
	unix.Close(master)
	if _, err := slave.WriteString("hi\n"); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	// The master reads until the slave is closed, then fails with EIO.
	got, err := io.ReadAll(f)
	if err != nil && !errors.Is(err, unix.EIO) {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "hi") {
		t.Errorf("read %q from the pty master", got)
	}
}

func TestAcceptTimeout(t *testing.T) {
	r := listen(t)
	start := time.Now()
	if _, err := r.Accept(50 * time.Millisecond); err == nil {
		t.Fatal("Accept succeeded with nobody connecting")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestNoFD(t *testing.T) {
	r := listen(t)
	go send(r.Path(), "just data")
	f, err := r.Accept(5 * time.Second)
	if err == nil {
		f.Close()
		t.Fatal("Accept succeeded without a descriptor")
	}
	if !errors.Is(err, errNoFD) {
		t.Errorf("error %v, want %v", err, errNoFD)
	}
}

func TestTwoFDs(t *testing.T) {
	r := listen(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	go send(r.Path(), "x", int(pr.Fd()), int(pw.Fd()))
	f, err := r.Accept(5 * time.Second)
	if err == nil {
		f.Close()
		t.Fatal("Accept succeeded with two descriptors")
	}
	if !strings.Contains(err.Error(), "2 file descriptors") {
		t.Errorf("error %v", err)
	}
}

func TestCloseRemovesSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	r, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there: %v", err)
	}
}
