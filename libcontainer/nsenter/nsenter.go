// Package nsenter joins user and mount namespaces in gorun's re-exec'd child
// before the Go runtime starts (see nsenter.c). Import it for its side
// effect from package main.
package nsenter

// #cgo CFLAGS: -Wall -O2
import "C"

// Env is the environment variable that tells the child which namespaces to
// join, in order: "user=PATH,mnt=PATH,...,pid=PATH". After a pid namespace
// the child forks and reports the new pid with an initmsg "forked" message.
const Env = "_GORUN_NSENTER"
