package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Report is everything the benchmark found, as written to results.json.
type Report struct {
	Meta       Meta             `json:"meta"`
	Runtimes   []RuntimeInfo    `json:"runtimes"`
	Scenarios  []ScenarioResult `json:"scenarios"`
	References []ScenarioResult `json:"references"`
	Targets    []Target         `json:"targets"`
	Notes      []string         `json:"notes"`
}

// Meta describes the run.
type Meta struct {
	Date               string   `json:"date"`
	Kernel             string   `json:"kernel"`
	CPUs               int      `json:"cpus"`
	LoadBefore         string   `json:"load_before"`
	LoadAfter          string   `json:"load_after"`
	DurationS          float64  `json:"duration_s"`
	Iterations         int      `json:"iterations"`
	ParallelIterations int      `json:"parallel_iterations"`
	ListContainers     int      `json:"list_containers"`
	ParallelLifecycles int      `json:"parallel_lifecycles"`
	IdleGapMS          float64  `json:"idle_gap_ms"`
	Smoke              bool     `json:"smoke"`
	Leftovers          []string `json:"leftovers,omitempty"`
}

// RuntimeInfo names a runtime measured.
type RuntimeInfo struct {
	Name    string   `json:"name"`
	Label   string   `json:"label"`
	Version string   `json:"version"`
	Commit  string   `json:"commit,omitempty"`
	Args    []string `json:"global_args,omitempty"`
	Cgroups bool     `json:"cgroups"`
}

// ScenarioResult is one quantity for every runner that has samples.
type ScenarioResult struct {
	Def
	Results map[string]*Summary `json:"results"`
	// Ratios of medians: "gorun/runc", "gorun/crun".
	Ratios map[string]float64  `json:"ratios,omitempty"`
	Errors map[string][]string `json:"errors,omitempty"`
}

// Target is one of the goals, reported, never asserted.
type Target struct {
	Goal   string  `json:"goal"`
	Value  float64 `json:"value"`
	Limit  float64 `json:"limit"`
	Detail string  `json:"detail"`
	Met    *bool   `json:"met"` // nil: not measured
}

// Failures counts failed samples.
func (r *Report) Failures() int {
	n := 0
	for _, s := range append(append([]ScenarioResult(nil), r.Scenarios...), r.References...) {
		for _, e := range s.Errors {
			n += len(e)
		}
	}
	return n
}

func (r *Report) find(key string) *ScenarioResult {
	for _, list := range [][]ScenarioResult{r.Scenarios, r.References} {
		for i := range list {
			if list[i].Key == key {
				return &list[i]
			}
		}
	}
	return nil
}

// median of scenario key for runner, or false.
func (r *Report) median(key, runner string) (float64, bool) {
	s := r.find(key)
	if s == nil || s.Results[runner] == nil {
		return 0, false
	}
	return s.Results[runner].Median, true
}

func (b *Bench) report() *Report {
	var uts unix.Utsname
	unix.Uname(&uts)
	r := &Report{Meta: Meta{
		Date:               b.started.UTC().Format(time.RFC3339),
		Kernel:             unix.ByteSliceToString(uts.Release[:]),
		CPUs:               runtime.NumCPU(),
		LoadBefore:         b.loadBefore,
		LoadAfter:          loadavg(),
		DurationS:          float64(time.Since(b.started).Round(100*time.Millisecond)) / float64(time.Second),
		Iterations:         b.o.N,
		ParallelIterations: b.o.ParallelN,
		ListContainers:     b.o.ListN,
		ParallelLifecycles: b.o.Parallel,
		IdleGapMS:          ms(b.o.Gap),
		Smoke:              b.o.Smoke,
	}, Notes: b.notes}
	for _, rt := range b.runtimes {
		r.Runtimes = append(r.Runtimes, RuntimeInfo{Name: rt.Name, Label: rt.Label, Version: rt.Version, Commit: rt.Commit, Args: rt.Global, Cgroups: rt.Cgroups})
	}
	for _, d := range b.defs() {
		s := ScenarioResult{Def: d, Results: map[string]*Summary{}, Ratios: map[string]float64{}, Errors: map[string][]string{}}
		runners := allRuntimes
		if d.Reference {
			runners = []string{hostRunner}
		}
		for _, rn := range runners {
			if sum := summarize(b.res.get(d.Key, rn)); sum != nil {
				s.Results[rn] = sum
			}
			if e := b.res.errors(d.Key, rn); len(e) > 0 {
				s.Errors[rn] = e
			}
		}
		if len(s.Results) == 0 && len(s.Errors) == 0 {
			continue
		}
		if g := s.Results[gorunName]; g != nil {
			for _, other := range []string{runcName, crunName} {
				if o := s.Results[other]; o != nil && o.Median > 0 {
					s.Ratios[gorunName+"/"+other] = g.Median / o.Median
				}
			}
		}
		if d.Reference {
			r.References = append(r.References, s)
		} else {
			r.Scenarios = append(r.Scenarios, s)
		}
	}
	r.Targets = r.targets(b.o.ListN)
	return r
}

func (r *Report) targets(listN int) []Target {
	var t []Target
	ratio := func(goal, key, other string, limit float64) {
		tg := Target{Goal: goal, Limit: limit}
		g, ok1 := r.median(key, gorunName)
		o, ok2 := r.median(key, other)
		if ok1 && ok2 && o > 0 {
			tg.Value = g / o
			met := tg.Value <= limit
			tg.Met = &met
			tg.Detail = fmt.Sprintf("%.2f× (gorun %s, %s %s)", tg.Value, fmtVal(g, "ms"), other, fmtVal(o, "ms"))
		} else {
			tg.Detail = "not measured"
		}
		t = append(t, tg)
	}
	ratio("run+delete: gorun ≤ 0.4× runc", "run", runcName, 0.4)
	ratio("run+delete: gorun ≤ 1.0× crun", "run", crunName, 1.0)
	// The same goals with a seccomp profile in the config, as real
	// clients send: reported beside the plain bundle's, not instead.
	ratio("run+delete with a seccomp profile: gorun ≤ 0.4× runc", "run-seccomp", runcName, 0.4)
	ratio("run+delete with a seccomp profile: gorun ≤ 1.0× crun", "run-seccomp", crunName, 1.0)
	for _, suffix := range []string{"", "-idle"} {
		tg := Target{Goal: "create+start ≤ 2× (floor + cgroup setup)", Limit: 2}
		if suffix != "" {
			tg.Goal += ", after an idle gap"
		}
		cs, ok1 := r.median("create+start"+suffix, gorunName)
		fl, ok2 := r.median("floor"+suffix, hostRunner)
		cg, ok3 := r.median("cgroup"+suffix, hostRunner)
		if ok1 && ok2 && ok3 {
			tg.Value = cs / (fl + cg)
			met := tg.Value <= 2
			tg.Met = &met
			tg.Detail = fmt.Sprintf("%.2f× (gorun %s; floor %s + cgroup %s = %s)", tg.Value,
				fmtVal(cs, "ms"), fmtVal(fl, "ms"), fmtVal(cg, "ms"), fmtVal(fl+cg, "ms"))
		} else {
			tg.Detail = "not measured"
		}
		t = append(t, tg)
	}
	df := Target{Goal: "delete --force of a running container < 15 ms", Limit: 15}
	if v, ok := r.median("delete-force", gorunName); ok {
		df.Value = v
		met := v < 15
		df.Met = &met
		df.Detail = "gorun " + fmtVal(v, "ms")
		if o, ok := r.median("delete-force", runcName); ok {
			df.Detail += ", runc " + fmtVal(o, "ms")
		}
		if o, ok := r.median("delete-force", crunName); ok {
			df.Detail += ", crun " + fmtVal(o, "ms")
		}
	} else {
		df.Detail = "not measured"
	}
	t = append(t, df)
	ratio("exec: gorun ≤ crun", "exec", crunName, 1.0)
	ratio(fmt.Sprintf("list with %d containers: gorun ≤ crun", listN), "list", crunName, 1.0)
	rss := Target{Goal: "waiting init peak RSS: gorun ≤ 0.6× runc", Limit: 0.6}
	g, ok1 := r.median("rss-init", gorunName)
	o, ok2 := r.median("rss-init", runcName)
	if ok1 && ok2 && o > 0 {
		rss.Value = g / o
		met := rss.Value <= 0.6
		rss.Met = &met
		rss.Detail = fmt.Sprintf("%.2f× (gorun %s, runc %s)", rss.Value, fmtVal(g, "KiB"), fmtVal(o, "KiB"))
	} else {
		rss.Detail = "not measured"
	}
	t = append(t, rss)
	return t
}

// fmtVal formats a value of unit ("ms" or "KiB") with its unit.
func fmtVal(v float64, unit string) string {
	if unit == "KiB" {
		return fmt.Sprintf("%.1f MiB", v/1024)
	}
	return fmtNum(v) + " ms"
}

func fmtNum(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// cell is "median (min–max)" in the row's display unit, and failures.
func cell(s *ScenarioResult, runner string) string {
	var out string
	if sum := s.Results[runner]; sum != nil {
		div := 1.0
		if s.Unit == "KiB" {
			div = 1024
		}
		out = fmtNum(sum.Median / div)
		if sum.N > 1 {
			out += fmt.Sprintf(" (%s–%s)", fmtNum(sum.Min/div), fmtNum(sum.Max/div))
		}
	}
	if n := len(s.Errors[runner]); n > 0 {
		if out != "" {
			out += " "
		}
		out += fmt.Sprintf("**%d failed**", n)
	}
	if out == "" {
		out = "–"
	}
	return out
}

func displayUnit(unit string) string {
	if unit == "KiB" {
		return "MiB"
	}
	return unit
}

// markdown renders the report as the Markdown that results.md holds and
// the benchmark prints.
func markdown(r *Report) string {
	var w bytes.Buffer
	m := r.Meta
	fmt.Fprintf(&w, "# gorun benchmark\n\n")
	fmt.Fprintf(&w, "%s, kernel %s, %d CPUs, load %s before, %s after; %d iterations (parallel: %d), interleaved; %.0fs.\n\n",
		m.Date, m.Kernel, m.CPUs, m.LoadBefore, m.LoadAfter, m.Iterations, m.ParallelIterations, m.DurationS)
	if m.Smoke {
		fmt.Fprintf(&w, "**Smoke run**: one sample per scenario; these numbers mean nothing.\n\n")
	}
	for _, rt := range r.Runtimes {
		fmt.Fprintf(&w, "- `%s`: %s, commit %s%s\n", rt.Label, rt.Version, rt.Commit, map[bool]string{true: "", false: " (" + strings.Join(rt.Args, " ") + ")"}[rt.Cgroups])
	}
	fmt.Fprintf(&w, "\nMedian (min–max). Ratios are of medians.\n\n")
	header := []string{"scenario", "unit"}
	for _, rt := range r.Runtimes {
		header = append(header, rt.Label)
	}
	header = append(header, "gorun/runc", "gorun/crun")
	rows := [][]string{header}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		row := []string{s.Title, displayUnit(s.Unit)}
		for _, rt := range r.Runtimes {
			row = append(row, cell(s, rt.Name))
		}
		for _, k := range []string{"gorun/runc", "gorun/crun"} {
			if v, ok := s.Ratios[k]; ok {
				row = append(row, fmt.Sprintf("%.2f", v))
			} else {
				row = append(row, "")
			}
		}
		rows = append(rows, row)
	}
	writeTable(&w, rows)

	fmt.Fprintf(&w, "\nReferences (no runtime):\n\n")
	rows = [][]string{{"reference", "unit", "median (min–max)"}}
	for i := range r.References {
		s := &r.References[i]
		rows = append(rows, []string{s.Title, displayUnit(s.Unit), cell(s, hostRunner)})
	}
	writeTable(&w, rows)

	fmt.Fprintf(&w, "\nTargets (reported, not asserted):\n\n")
	rows = [][]string{{"target", "met", "measured"}}
	for _, t := range r.Targets {
		met := "–"
		if t.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*t.Met]
		}
		rows = append(rows, []string{t.Goal, met, t.Detail})
	}
	writeTable(&w, rows)

	if len(r.Notes) > 0 {
		fmt.Fprintf(&w, "\nNotes:\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&w, "- %s\n", n)
		}
	}
	var errLines []string
	for _, s := range append(append([]ScenarioResult(nil), r.Scenarios...), r.References...) {
		for rn, es := range s.Errors {
			errLines = append(errLines, fmt.Sprintf("- %s, %s: %d failed; first: %s", s.Key, rn, len(es), oneLine(es[0])))
		}
	}
	if len(errLines) > 0 {
		fmt.Fprintf(&w, "\nFailures:\n\n%s\n", strings.Join(errLines, "\n"))
	}
	if len(m.Leftovers) > 0 {
		fmt.Fprintf(&w, "\nLeft behind (removed where possible):\n\n- %s\n", strings.Join(m.Leftovers, "\n- "))
	}
	return w.String()
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// writeTable writes a Markdown table whose columns are padded to line up
// in a terminal.
func writeTable(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(row []string) {
		fmt.Fprint(w, "|")
		for i, c := range row {
			fmt.Fprintf(w, " %s%s |", c, strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		fmt.Fprintln(w)
	}
	line(rows[0])
	sep := make([]string, len(width))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
}

func printReport(w io.Writer, r *Report) { fmt.Fprint(w, "\n"+markdown(r)) }

// render rewrites results.md and results.svg in dir from a results.json.
func render(jsonPath, dir string) error {
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		return err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%s: %w", jsonPath, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(markdown(&r)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.svg"), []byte(svgChart(&r)), 0o644)
}

// writeResults writes results.json, results.md and results.svg into dir.
func writeResults(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"results.json": append(js, '\n'),
		"results.md":   []byte(markdown(r)),
		"results.svg":  []byte(svgChart(r)),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
