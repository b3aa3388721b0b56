package specs

import (
	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// ValidateProcess checks a process on its own, as `gorun exec --process`
// reads it: the same checks as the process of a config.json, with field
// names starting at "process".
func ValidateProcess(p *rspec.Process) error {
	v := validator{s: &rspec.Spec{Process: p}, needProcess: true}
	return v.process()
}
