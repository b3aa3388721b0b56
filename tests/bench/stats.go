package main

import (
	"math"
	"sort"
	"sync"
)

// Results holds every sample, by scenario and runner (a runtime's name, or
// "host" for the references), and every failed sample's error.
type Results struct {
	mu      sync.Mutex
	samples map[string]map[string][]float64
	errs    map[string]map[string][]string
}

func newResults() *Results {
	return &Results{samples: map[string]map[string][]float64{}, errs: map[string]map[string][]string{}}
}

func (r *Results) add(scenario, runner string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.samples[scenario] == nil {
		r.samples[scenario] = map[string][]float64{}
	}
	r.samples[scenario][runner] = append(r.samples[scenario][runner], v)
}

func (r *Results) fail(scenario, runner string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.errs[scenario] == nil {
		r.errs[scenario] = map[string][]string{}
	}
	r.errs[scenario][runner] = append(r.errs[scenario][runner], err.Error())
}

func (r *Results) get(scenario, runner string) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]float64(nil), r.samples[scenario][runner]...)
}

func (r *Results) errors(scenario, runner string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs[scenario][runner]...)
}

// Summary describes the samples of one scenario and runner.
type Summary struct {
	N       int       `json:"n"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Mean    float64   `json:"mean"`
	Samples []float64 `json:"samples"`
}

// summarize returns nil for no samples.
func summarize(samples []float64) *Summary {
	if len(samples) == 0 {
		return nil
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return &Summary{N: len(s), Median: median(s), Min: s[0], Max: s[len(s)-1], Mean: sum / float64(len(s)), Samples: round3(samples)}
}

// median of sorted values.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func round3(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Round(x*1000) / 1000
	}
	return out
}
