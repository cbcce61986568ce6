package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes through Parse and Validate, seeded with
// every example and test config. Neither may panic; a valid config must
// compare Equal to itself scaler by scaler (or a reload would restart every
// scaler), and every validation problem must be one of Problems.
//
//	go test ./pkg/config -run '^$' -fuzz FuzzLoad -fuzztime 60s
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	more, _ := filepath.Glob("../../testdata/config/*.yaml")
	for _, p := range append(files, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(validYAML))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		err = Validate(c)
		if err == nil {
			d := DiffScalers(c.Scalers, c.Scalers)
			if len(d.Unchanged) != len(c.Scalers) {
				t.Fatalf("a valid config differs from itself: %+v", d)
			}
			return
		}
		for _, e := range messages(err) {
			if e == "" {
				t.Fatal("empty validation message")
			}
		}
		var p Problems
		if !errors.As(err, &p) || len(p) == 0 {
			t.Fatalf("Validate error %v is not Problems", err)
		}
	})
}
