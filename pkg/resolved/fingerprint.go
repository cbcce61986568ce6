package resolved

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// Fingerprint is a canonical digest of values (FingerprintOf).
type Fingerprint [sha256.Size]byte

// FingerprintOf is a canonical digest of values: two lists of values that
// are deeply equal (pointers followed, maps in key order, unexported fields
// included) have the same fingerprint, and different ones, in practice,
// different ones. A reload compares fingerprints computed once, when each
// scaler is resolved, instead of walking both configs again. Fingerprints
// are compared within one process only.
func FingerprintOf(values ...any) Fingerprint {
	w := writer{buf: make([]byte, 0, 512)}
	for _, v := range values {
		w.value(reflect.ValueOf(v), 0)
	}
	return sha256.Sum256(w.buf)
}

// maxDepth stops a walk that loops: a config is a tree far shallower.
const maxDepth = 64

var locationType = reflect.TypeFor[time.Location]()

type writer struct{ buf []byte }

func (w *writer) num(n uint64) { w.buf = binary.LittleEndian.AppendUint64(w.buf, n) }

func (w *writer) str(s string) {
	w.num(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// Markers tell a nil from an empty or zero value.
const (
	markNil byte = iota
	markSet
)

func (w *writer) value(v reflect.Value, depth int) {
	if depth > maxDepth {
		panic("resolved.FingerprintOf: a value nested deeper than a config can be")
	}
	if !v.IsValid() {
		w.buf = append(w.buf, markNil)
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			w.num(1)
		} else {
			w.num(0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.num(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.num(v.Uint())
	case reflect.Float32, reflect.Float64:
		w.num(math.Float64bits(v.Float()))
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		w.num(math.Float64bits(real(c)))
		w.num(math.Float64bits(imag(c)))
	case reflect.String:
		w.str(v.String())
	case reflect.Interface:
		if v.IsNil() {
			w.buf = append(w.buf, markNil)
			return
		}
		// The dynamic type too: two kinds' blocks may hold equal fields.
		e := v.Elem()
		w.buf = append(w.buf, markSet)
		w.str(e.Type().String())
		w.value(e, depth+1)
	case reflect.Pointer:
		if v.IsNil() {
			w.buf = append(w.buf, markNil)
			return
		}
		w.buf = append(w.buf, markSet)
		if v.Type().Elem() == locationType {
			// A zone is its name; its transitions are the zone database's.
			w.str(v.Elem().FieldByName("name").String())
			return
		}
		w.value(v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			w.buf = append(w.buf, markNil)
			return
		}
		w.buf = append(w.buf, markSet)
		fallthrough
	case reflect.Array:
		w.num(uint64(v.Len()))
		for i := range v.Len() {
			w.value(v.Index(i), depth+1)
		}
	case reflect.Map:
		if v.IsNil() {
			w.buf = append(w.buf, markNil)
			return
		}
		w.buf = append(w.buf, markSet)
		// Entries in the order of their keys' own encodings: canonical
		// whatever the keys' type.
		type entry struct {
			key string
			v   reflect.Value
		}
		entries := make([]entry, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			kw := writer{}
			kw.value(it.Key(), depth+1)
			entries = append(entries, entry{string(kw.buf), it.Value()})
		}
		slices.SortFunc(entries, func(a, b entry) int {
			switch {
			case a.key < b.key:
				return -1
			case a.key > b.key:
				return 1
			}
			return 0
		})
		w.num(uint64(len(entries)))
		for _, e := range entries {
			w.str(e.key)
			w.value(e.v, depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			w.value(v.Field(i), depth+1)
		}
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		// Not comparable by value: a non-nil one is told apart by its
		// address only.
		if v.IsNil() {
			w.buf = append(w.buf, markNil)
			return
		}
		w.buf = append(w.buf, markSet)
		w.str(strconv.FormatUint(uint64(v.Pointer()), 16))
	default:
		panic("resolved.FingerprintOf: cannot fingerprint a " + v.Kind().String())
	}
}
