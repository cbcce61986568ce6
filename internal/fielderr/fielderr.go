// Package fielderr writes the field errors (k8s.io/apimachinery's
// field.Error) that every validation in scaled returns and prints them the
// way scaled reports problems: `path: value: what is allowed`, one per line.
// It never decides what is valid; the packages that own a field do.
package fielderr

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/durfmt"
)

// Shown is a value printed as written, unquoted: a number as the file spells
// it, or a description such as "unknown key on line 3".
type Shown string

// Present stands for a block that is set where it must not be.
const Present Shown = "present"

// noValue marks an error whose value is not worth repeating: only the path
// and what is allowed print.
type noValue struct{}

// Invalid is a field.Invalid whose detail is formatted.
func Invalid(path *field.Path, value any, format string, args ...any) *field.Error {
	return field.Invalid(path, value, detail(format, args))
}

// TypeInvalid is a value of the wrong type, as the decoder finds it.
func TypeInvalid(path *field.Path, value any, format string, args ...any) *field.Error {
	return field.TypeInvalid(path, value, detail(format, args))
}

// Required is a missing value or block; value is what was found (nil for an
// absent block, "" for an empty string).
func Required(path *field.Path, value any, format string, args ...any) *field.Error {
	e := field.Required(path, detail(format, args))
	e.BadValue = value
	return e
}

// Forbidden is a block that is set where it must not be.
func Forbidden(path *field.Path, format string, args ...any) *field.Error {
	e := field.Forbidden(path, detail(format, args))
	e.BadValue = Present
	return e
}

// NotSupported is a value outside a closed set; allowed lists the set in
// the order it is shown.
func NotSupported[T ~string](path *field.Path, value any, allowed []T) *field.Error {
	e := field.NotSupported(path, value, allowed)
	e.Detail = OneOf(allowed)
	return e
}

// Duplicate is a name already used by an earlier item of the same list.
func Duplicate(path *field.Path, value any, format string, args ...any) *field.Error {
	e := field.Duplicate(path, value)
	e.Detail = detail(format, args)
	return e
}

// TooMany is a list longer than allowed: it holds n items (what), at most
// most.
func TooMany(path *field.Path, n, most int, what string) *field.Error {
	e := field.TooMany(path, n, most)
	e.BadValue = Shown(fmt.Sprintf("%d %s", n, what))
	e.Detail = fmt.Sprintf("must hold at most %d", most)
	return e
}

// Problem is an error about a field whose value is not worth repeating.
func Problem(path *field.Path, format string, args ...any) *field.Error {
	return field.Invalid(path, noValue{}, detail(format, args))
}

// OneOf says which values are allowed: "must be one of a, b, c".
func OneOf[T ~string](allowed []T) string {
	s := make([]string, len(allowed))
	for i, a := range allowed {
		s[i] = string(a)
	}
	return "must be one of " + strings.Join(s, ", ")
}

func detail(format string, args []any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, durfmt.Args(args)...)
}

// Format prints one error as `path: value: what is allowed`. Strings are
// quoted, so that an empty one shows as ""; an absent block (nil) shows as
// null; numbers print as Go prints them, durations as durfmt writes them.
func Format(e *field.Error) string {
	path := e.Field + ": "
	if e.Field == "<nil>" { // a problem of the whole of what was checked
		path = ""
	}
	if _, ok := e.BadValue.(noValue); ok {
		return path + e.Detail
	}
	return path + Value(e.BadValue) + ": " + e.Detail
}

// Value prints a value as Format does.
func Value(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case Shown:
		return string(v)
	case time.Duration:
		return durfmt.Format(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		return quoteShort(rv.String()) // also named string types: kinds, select policies
	}
	return fmt.Sprint(v)
}

// MaxShown is the most bytes of a string value a problem repeats: the rest
// is counted, so that a problem stays a line whatever was written.
const MaxShown = 200

// quoteShort quotes s, cut after MaxShown bytes (at a rune's start) with
// the number of bytes left out.
func quoteShort(s string) string {
	if len(s) <= MaxShown {
		return strconv.Quote(s)
	}
	cut := MaxShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d more bytes)", strconv.Quote(s[:cut]), len(s)-cut)
}

// Lines prints every error, one per line, in order.
func Lines(errs field.ErrorList) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = Format(e)
	}
	return out
}

// Without drops from errs the problems at or under a field of seen: where
// a field already has a problem (it failed to decode, say), what another
// check says of it or of what it holds would only repeat it in other words.
func Without(errs, seen field.ErrorList) field.ErrorList {
	var out field.ErrorList
next:
	for _, e := range errs {
		for _, s := range seen {
			if e.Field == s.Field || strings.HasPrefix(e.Field, s.Field+".") || strings.HasPrefix(e.Field, s.Field+"[") {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}
