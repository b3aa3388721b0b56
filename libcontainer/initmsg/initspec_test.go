package initmsg

import (
	"reflect"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// fill sets every field of the struct v points to (a pointer to a fresh
// zero value, a one-element slice or map, "x", 1, true), except those in
// skip (keyed by prefix+name).
func fill(v reflect.Value, prefix string, skip map[string]bool) {
	v = v.Elem()
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		if skip[name] {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int32, reflect.Int64:
			f.SetInt(1)
		case reflect.Uint32, reflect.Uint64:
			f.SetUint(1)
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Map:
			m := reflect.MakeMap(f.Type())
			m.SetMapIndex(reflect.ValueOf("k"), reflect.Zero(f.Type().Elem()))
			f.Set(m)
		default:
			panic("fill: kind " + f.Kind().String() + " of " + name)
		}
	}
}

// TestInitSpecCoversSpec: a config with every field of Spec and Linux set
// comes out of SetSpec and DecodeSpec with every field but the left-out
// ones, so that runtime-spec gaining a field cannot silently drop it on
// its way to the init.
func TestInitSpecCoversSpec(t *testing.T) {
	in := &rspec.Spec{}
	fill(reflect.ValueOf(in), "Spec.", nil)
	fill(reflect.ValueOf(in.Linux), "Linux.", nil)
	want := &rspec.Spec{}
	fill(reflect.ValueOf(want), "Spec.", initSpecLeftOut)
	fill(reflect.ValueOf(want.Linux), "Linux.", initSpecLeftOut)

	var c InitConfig
	if err := c.SetSpec(in); err != nil {
		t.Fatal(err)
	}
	got, err := c.DecodeSpec()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
		for i := 0; i < gv.NumField(); i++ {
			if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
				t.Errorf("Spec.%s: got %+v, want %+v", gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
			}
		}
		gl, wl := reflect.ValueOf(got.Linux).Elem(), reflect.ValueOf(want.Linux).Elem()
		for i := 0; i < gl.NumField(); i++ {
			if !reflect.DeepEqual(gl.Field(i).Interface(), wl.Field(i).Interface()) {
				t.Errorf("Linux.%s: got %+v, want %+v (add it to initLinux and spec(), or to initSpecLeftOut)", gl.Type().Field(i).Name, gl.Field(i).Interface(), wl.Field(i).Interface())
			}
		}
	}
}
