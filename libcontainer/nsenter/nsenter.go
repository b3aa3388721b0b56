// Package nsenter joins user and mount namespaces in gorun's re-exec'd child
// before the Go runtime starts, and moves it into its v1 cgroups while it
// still has one thread (see nsenter.c). In every gorun process it also
// raises the timer slack before the runtime's threads start; the programs
// gorun starts get the caller's slack back (timerslack.go). Import it for
// its side effect from package main.
package nsenter

// #cgo CFLAGS: -Wall -O2
import "C"

// Env is the environment variable that tells the child which namespaces to
// join, in order: "user=PATH,mnt=PATH,...,pid=PATH". After a pid namespace
// the child forks and reports the new pid with an initmsg "forked" message.
const Env = "_GORUN_NSENTER"

// CgroupTasksEnv lists, one per line, the v1 "tasks" files the child writes
// "0" into before anything else.
const CgroupTasksEnv = "_GORUN_CGROUP_TASKS"
