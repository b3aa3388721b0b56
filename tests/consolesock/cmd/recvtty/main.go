// Command recvtty receives a container's console over a console socket and
// connects it to the terminal: its stdin goes to the pty and the pty's
// output to its stdout, until the pty is closed.
//
//	recvtty SOCKET &
//	gorun run --console-socket SOCKET ID
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gorun/gorun/tests/consolesock"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: recvtty SOCKET")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "recvtty:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	r, err := consolesock.Listen(path)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		r.Close()
		os.Exit(130)
	}()

	pty, err := r.Accept(0)
	r.Close()
	if err != nil {
		return err
	}
	defer pty.Close()
	go io.Copy(pty, os.Stdin)
	// Reading the master fails with EIO once every slave fd is closed.
	if _, err := io.Copy(os.Stdout, pty); err != nil && !errors.Is(err, syscall.EIO) {
		return err
	}
	return nil
}
