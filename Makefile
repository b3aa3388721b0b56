# gorun: build, demo, test, bench. Every target installs what it needs.
export PATH := /usr/local/go/bin:$(PATH)
GO       ?= go
VERSION  ?= 0.1.0
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN      := $(CURDIR)/gorun
APT_PKGS := busybox-static systemd uidmap gcc libc6-dev musl-tools iproute2 util-linux containerd podman containernetworking-plugins libseccomp-dev
# Integration tests drive this binary.
export GORUN_BINARY := $(BIN)
# encoding/json built on encoding/json/v2: the same API and behaviour (the
# tests pass either way), but a process's first decode of a runtime-spec
# config builds far less: `gorun run` 8.9 -> 8.3 ms, exec 5.8 -> 5.5 ms
# here, as every gorun process decodes or encodes one. Exported so that
# the tests' and the benchmark's builds use it too.
export GOEXPERIMENT := jsonv2

.PHONY: all build deps install demo test unit integration fuzz bench bench-smoke soak clean

all: build

# deps installs the Debian packages gorun's build, demo and tests need
# (only those missing) and the Go modules.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }; \
	fi
	$(GO) mod download

# The binary is linked statically (musl, libseccomp): no dynamic loader at
# each of the several gorun processes a container's lifecycle starts
# (0.5 ms each here), and musl rather than glibc because static glibc's
# start-up (IRELATIVE relocations, CPU cache probing through cpuid, which
# traps to the hypervisor here) costs another 0.45 ms per process.
# musl-gcc sees only musl's headers: libseccomp's header, the kernel's
# UAPI headers and Debian's libseccomp.a (whose one glibc-only symbol
# libcontainer/seccomp/libc.go provides) are linked into $(MUSL).
# netgo,osusergo keep NSS out of it. urfave_cli_no_docs leaves out
# urfave/cli's man-page generator (and its markdown parser's package init:
# 0.25 ms of every gorun start).
BUILD_TAGS := urfave_cli_no_docs,netgo,osusergo
MUSL     := $(CURDIR)/_output/musl
MULTIARCH = $(shell gcc -print-multiarch)
build:
	@mkdir -p $(MUSL)/include $(MUSL)/lib
	@ln -sfn /usr/include/seccomp.h /usr/include/seccomp-syscalls.h /usr/include/linux /usr/include/asm-generic $(MUSL)/include/
	@ln -sfn /usr/include/$(MULTIARCH)/asm $(MUSL)/include/asm
	@ln -sfn /usr/lib/$(MULTIARCH)/libseccomp.a $(MUSL)/lib/libseccomp.a
	CGO_ENABLED=1 CC=musl-gcc CGO_CFLAGS="-O2 -I$(MUSL)/include" CGO_LDFLAGS="-L$(MUSL)/lib" \
		$(GO) build -trimpath -tags $(BUILD_TAGS) -ldflags '$(LDFLAGS) -linkmode external -extldflags "-static"' -o $(BIN) ./cmd/gorun

install: build
	install -m 0755 $(BIN) /usr/local/bin/gorun

# demo: one command from a fresh machine to a running container, showing
# what the container sees beside what the host sees.
demo: deps build
	$(GO) run ./tests/demo

# test: every test. Unit tests, a short fuzz run, then the integration
# tests (root) against the built binary.
test: deps build unit fuzz integration bench-smoke

unit:
	$(GO) vet ./...
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /integration)

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoadValidate$$' -fuzztime 20000x ./specs/
	$(GO) test -run '^$$' -fuzz '^FuzzValidateID$$' -fuzztime 20000x ./specs/
	$(GO) test -run '^$$' -fuzz '^FuzzRecv$$' -fuzztime 20000x ./libcontainer/initmsg/
	$(GO) test -run '^$$' -fuzz '^FuzzParseManifest$$' -fuzztime 10000x ./pod/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePublish$$' -fuzztime 10000x ./pod/
	$(GO) test -run '^$$' -fuzz '^FuzzCLIArgs$$' -fuzztime 5000x ./cmd/gorun/

integration:
	$(GO) test -count=1 -timeout 15m ./integration/...

# soak: 2,000 container lifecycles; reports (-v) and checks that the test
# process's fds, the host's mounts and cgroups did not grow, and how the
# host's MemAvailable moved. Not part of test, which runs 200 of them.
soak: deps build
	GORUN_SOAK=2000 $(GO) test -count=1 -v -run '^TestSoak$$' ./integration/ -timeout 60m

# bench: gorun vs runc vs crun (installed if missing), 30 interleaved
# iterations; writes bench-results/results.{json,md,svg}. BENCH_FLAGS
# passes flags (go run ./tests/bench -h lists them).
bench: deps build
	$(GO) run ./tests/bench $(BENCH_FLAGS)

# bench-smoke: every scenario once, to check the benchmark works; its
# numbers mean nothing and go to bench-results/tmp/smoke (not tracked).
bench-smoke: deps build
	$(GO) run ./tests/bench -smoke

clean:
	rm -f $(BIN)
	rm -rf $(MUSL)
