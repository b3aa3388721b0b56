package pod

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Quantity is a Kubernetes resource quantity as written in a manifest:
// "500m" or 0.5 (CPUs), "64Mi" or 67108864 (bytes). YAML may give it as a
// number or a string.
type Quantity string

// UnmarshalJSON takes a JSON string or number.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*q = Quantity(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("a quantity is a number or a string such as \"500m\" or \"64Mi\", not %s", b)
	}
	*q = Quantity(n.String())
	return nil
}

// binarySuffixes and decimalSuffixes are Kubernetes' quantity suffixes.
var binarySuffixes = map[string]float64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
var decimalSuffixes = map[string]float64{"m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}

// value parses q into a number (of CPUs, or bytes).
func (q Quantity) value() (float64, error) {
	s := strings.TrimSpace(string(q))
	num, suffix := s, ""
	for i, r := range s {
		if r >= 'a' && r <= 'z' && r != 'e' || r >= 'A' && r <= 'Z' {
			num, suffix = s[:i], s[i:]
			break
		}
	}
	mult, ok := binarySuffixes[suffix]
	if !ok {
		if mult, ok = decimalSuffixes[suffix]; !ok {
			return 0, fmt.Errorf("unknown suffix %q (use m, k, M, G, T, or Ki, Mi, Gi, Ti)", suffix)
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a quantity", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return v * mult, nil
}

// MilliCPU parses a CPU quantity into thousandths of a CPU, rounding up.
func (q Quantity) MilliCPU() (int64, error) {
	v, err := q.value()
	if err != nil {
		return 0, err
	}
	m := math.Ceil(v*1000 - 1e-9)
	if m > 1e12 {
		return 0, fmt.Errorf("%q is too large", string(q))
	}
	return int64(m), nil
}

// Bytes parses a memory quantity into bytes, rounding up.
func (q Quantity) Bytes() (int64, error) {
	v, err := q.value()
	if err != nil {
		return 0, err
	}
	if v >= math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large", string(q))
	}
	return int64(math.Ceil(v - 1e-9)), nil
}
