package policy

import (
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// BenchmarkDecide is one tick of one scaler: utilisation target tracking with
// the default guards and a full 300 s stabilisation history (20 entries at
// 15 s) plus recent scale events.
func BenchmarkDecide(b *testing.B) {
	p := mustTT(b, "cpu", "utilisation", TargetUtilization, 0.6)
	d := mustDecider(b, Spec{Policies: []Policy{p}, Bounds: Bounds{Min: 1, Max: 100}, Behavior: DefaultBehavior()})
	now := t0
	cur := int32(10)
	for i := 0; i < 40; i++ {
		now = now.Add(15 * time.Second)
		v := 0.45 + 0.3*float64(i%7)/6
		dec := d.Decide(input(now, cur, cur, map[string]float64{"utilisation": v}))
		if dec.Desired != cur {
			d.Scaled(now, cur, dec.Desired)
			cur = dec.Desired
		}
	}
	in := Input{Capacity: scaling.Capacity{Current: cur, Ready: cur}, Signals: map[string]scaling.Reading{
		"utilisation": {Name: "utilisation", Sample: scaling.Sample{Value: 0.66}},
	}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(15 * time.Second)
		in.Now = now
		dec := d.Decide(in)
		if dec.Desired < 1 {
			b.Fatal(dec)
		}
	}
}
