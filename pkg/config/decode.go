package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
)

// The decoder fills Go values from a YAML node tree by reflection, strictly,
// and reports every problem with its field path instead of stopping at the
// first: an unknown key (with its line), a value of the wrong type, a
// fraction or an overflow in an integer field, a duration without a unit,
// a null where a value is needed. Keys are the fields' json tags, so the
// same types decode a file and an object from the Kubernetes API server
// (DecodeScalerJSON). A field that fails to decode keeps the value it had
// (its default), and Load drops the validation problems of that field, so
// each problem is reported once.
//
// Supported: strings, bools, int, int32, int64, float64 (also from an
// integer literal), time.Duration (from a string such as 15s), pointers,
// slices, maps with string keys, structs (an embedded struct or a field
// tagged `json:",inline"` adds its keys to its parent's), the one-of blocks
// of this package (nodeDecoder), and types of other modules that implement
// yaml.Unmarshaler, which yaml.v3 decodes.

// nodeDecoder is implemented by the types of this package whose keys depend
// on a registry (a target's kind block, a policy's type block, a signal's
// source): they read their own mapping.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path *field.Path)
}

// decodeDefaulter is implemented by types whose defaults must be in place
// before their keys are read, because a key written as zero must stay zero
// (bounds.min: 0).
type decodeDefaulter interface {
	decodeDefaults()
}

// decoder collects the problems of one decode.
type decoder struct {
	errs field.ErrorList
	// Values decoded, and of them inside an alias, to refuse a document
	// whose aliases expand without bound (as yaml.v3 does).
	decoded, aliased, aliasDepth int
	tooAliased                   bool
	// more counts the problems past maxDecodeProblems.
	more int
	// root is the path of the decoded value, and rootHidden the keys its
	// type has that this document may not set: an unknown key there does
	// not offer them.
	root       string
	rootHidden []string
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	// yaml.v3 still calls this older form, which prometheus/common uses.
	obsoleteUnmarshalerType = reflect.TypeFor[interface {
		UnmarshalYAML(func(any) error) error
	}]()
)

// parseYAML reads exactly one YAML document. A syntax error keeps its line.
// An empty input is an empty document (nil).
func parseYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("config holds more than one YAML document: want exactly one")
	}
	return &doc, nil
}

// decodeInto decodes n into the value v points to, at path.
func decodeInto(n *yaml.Node, v any, path *field.Path, hidden ...string) field.ErrorList {
	d := &decoder{root: path.String(), rootHidden: hidden}
	if n != nil {
		d.value(n, reflect.ValueOf(v).Elem(), path)
	}
	if d.more > 0 {
		d.errs = append(d.errs, fielderr.Problem(field.NewPath("(document)"), "and %d more problems, not listed", d.more))
	}
	return d.errs
}

// maxDecodeProblems is the most problems one decode lists; the rest are
// counted. A file of a million unknown keys costs a count, not a million
// problems held, compared and printed.
const maxDecodeProblems = 1000

func (d *decoder) add(e *field.Error) {
	if len(d.errs) >= maxDecodeProblems {
		d.more++
		return
	}
	if e.Field == "<nil>" { // the document itself
		e.Field = "(document)"
	}
	d.errs = append(d.errs, e)
}

// value decodes n into v, which must be settable.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path *field.Path) {
	if n != nil && n.Kind == yaml.AliasNode {
		d.aliasDepth++
		defer func() { d.aliasDepth-- }()
	}
	n = resolveNode(n)
	if n == nil || d.tooAliased {
		return
	}
	if d.decoded++; d.aliasDepth > 0 {
		d.aliased++
	}
	if d.aliased > 100 && d.decoded > 1000 && float64(d.aliased)/float64(d.decoded) > allowedAliasRatio(d.decoded) {
		d.tooAliased = true
		d.add(fielderr.Problem(path, "the document's aliases expand too far"))
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, path)
			return
		}
		if pt := v.Addr().Type(); pt.Implements(unmarshalerType) || pt.Implements(obsoleteUnmarshalerType) {
			d.foreign(n, v, path)
			return
		}
	}
	if isNull(n) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
		default:
			d.add(fielderr.TypeInvalid(path, nil, "%s", want(v.Type())))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			initialize(v)
		}
		d.value(n, v.Elem(), path)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		d.list(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.add(fielderr.TypeInvalid(path, shape(n), "%s", want(v.Type())))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		d.boolean(n, v, path)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == durationType {
			d.duration(n, v, path)
			return
		}
		d.integer(n, v, path)
	case reflect.Float32, reflect.Float64:
		d.float(n, v, path)
	default:
		d.add(fielderr.TypeInvalid(path, shape(n), "cannot be set from a config file (%v)", v.Type()))
	}
}

// allowedAliasRatio is yaml.v3's: 99 % aliases in a small document, falling
// to 10 % as it grows to millions of values.
func allowedAliasRatio(decoded int) float64 {
	switch {
	case decoded <= 400_000:
		return 0.99
	case decoded >= 4_000_000:
		return 0.10
	}
	return 0.99 - 0.89*(float64(decoded-400_000)/3_600_000)
}

// resolveNode follows aliases and unwraps a document.
func resolveNode(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch n.Kind {
		case yaml.AliasNode:
			n = n.Alias
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// initialize sets the decode-time defaults of a value just allocated.
func initialize(ptr reflect.Value) {
	if dd, ok := ptr.Interface().(decodeDefaulter); ok {
		dd.decodeDefaults()
	}
}

// want says what a value of type t must be written as.
func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return "must be a duration such as 15s or 5m"
	case t.Kind() == reflect.Pointer:
		return want(t.Elem())
	}
	switch t.Kind() {
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "must be an integer"
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	case reflect.Slice:
		return "must be a list"
	case reflect.Struct, reflect.Map:
		return "must be a mapping"
	}
	return "must be a " + t.String()
}

// shape is how a wrong value shows in a problem: a scalar as written (a
// string quoted, a number or bool as is), a list or mapping by its kind.
func shape(n *yaml.Node) any {
	switch n.Kind {
	case yaml.SequenceNode:
		return fielderr.Shown("a list")
	case yaml.MappingNode:
		return fielderr.Shown("a mapping")
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!str":
		return n.Value
	}
	return fielderr.Shown(n.Value)
}

// scalar is a scalar node's value as YAML resolves it: bool, int, int64,
// uint64, float64 or string.
func scalar(n *yaml.Node) (any, bool) {
	if n.Kind != yaml.ScalarNode {
		return nil, false
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

func (d *decoder) boolean(n *yaml.Node, v reflect.Value, path *field.Path) {
	switch s, _ := scalar(n); s := s.(type) {
	case bool:
		v.SetBool(s)
		return
	case string:
		// YAML 1.1's words, as yaml.v3 accepts them for a bool field.
		switch s {
		case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON":
			v.SetBool(true)
			return
		case "n", "N", "no", "No", "NO", "off", "Off", "OFF":
			v.SetBool(false)
			return
		}
	}
	d.add(fielderr.TypeInvalid(path, shape(n), "must be true or false"))
}

// integer refuses a fraction (20.9 is never truncated to 20) and a number
// outside the field's width.
func (d *decoder) integer(n *yaml.Node, v reflect.Value, path *field.Path) {
	bits := v.Type().Bits()
	lo, hi := int64(-1)<<(bits-1), int64(1)<<(bits-1)-1
	outOfRange := func() {
		d.add(fielderr.TypeInvalid(path, shape(n), "must be an integer between %d and %d", lo, hi))
	}
	s, _ := scalar(n)
	switch s := s.(type) {
	case int:
		if v.OverflowInt(int64(s)) {
			outOfRange()
			return
		}
		v.SetInt(int64(s))
	case int64:
		if v.OverflowInt(s) {
			outOfRange()
			return
		}
		v.SetInt(s)
	case uint64:
		outOfRange()
	case float64:
		switch {
		case math.IsNaN(s) || math.IsInf(s, 0) || s != math.Trunc(s):
			d.add(fielderr.TypeInvalid(path, shape(n), "must be an integer"))
		case s < float64(lo) || s >= -float64(lo) || v.OverflowInt(int64(s)):
			outOfRange()
		default:
			v.SetInt(int64(s)) // a whole number written as a float: 1e3, 20.0
		}
	default:
		d.add(fielderr.TypeInvalid(path, shape(n), "must be an integer"))
	}
}

func (d *decoder) float(n *yaml.Node, v reflect.Value, path *field.Path) {
	switch s, _ := scalar(n); s := s.(type) {
	case int:
		v.SetFloat(float64(s))
	case int64:
		v.SetFloat(float64(s))
	case uint64:
		v.SetFloat(float64(s))
	case float64:
		v.SetFloat(s)
	default:
		d.add(fielderr.TypeInvalid(path, shape(n), "must be a number"))
	}
}

// duration reads a Go duration with a unit; a bare number is refused, as
// 15 could mean seconds or nanoseconds.
func (d *decoder) duration(n *yaml.Node, v reflect.Value, path *field.Path) {
	if s, _ := scalar(n); s != nil {
		if str, ok := s.(string); ok {
			if dur, err := time.ParseDuration(strings.TrimSpace(str)); err == nil {
				v.SetInt(int64(dur))
				return
			}
		}
	}
	d.add(fielderr.TypeInvalid(path, shape(n), "must be a duration such as 15s or 5m"))
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, path *field.Path) {
	if n.Kind != yaml.SequenceNode {
		d.add(fielderr.TypeInvalid(path, shape(n), "must be a list"))
		return
	}
	// Non-nil even when empty: an explicit [] differs from a key left out.
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		initialize(s.Index(i).Addr())
		d.value(item, s.Index(i), path.Index(i))
	}
	v.Set(s)
}

// keys walks a mapping's keys, reporting a key that is not a plain scalar or
// that is repeated; each calls visit with the key, its node and its value.
// A YAML merge key (`<<: *defaults`, or a list of aliases) adds the keys of
// the mappings it names that the mapping does not set itself, the first
// mapping listed first, as YAML 1.1 merges them.
func (d *decoder) keys(n *yaml.Node, path *field.Path, visit func(key string, k, value *yaml.Node)) {
	d.keysOf(n, path, map[string]bool{}, false, visit)
}

// keysOf visits the keys of n not in seen, then those of the mappings its
// merge keys name; merged says that n is one of those mappings, whose
// keys a mapping that merges it overrides.
func (d *decoder) keysOf(n *yaml.Node, path *field.Path, seen map[string]bool, merged bool, visit func(key string, k, value *yaml.Node)) {
	var merges []*yaml.Node
	own := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveNode(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			d.add(fielderr.TypeInvalid(path, fielderr.Shown(fmt.Sprintf("a complex key on line %d", n.Content[i].Line)), "keys must be plain names"))
			continue
		}
		if k.ShortTag() == mergeTag {
			merges = append(merges, val)
			continue
		}
		if own[k.Value] {
			d.add(fielderr.Invalid(path.Child(shortKey(k.Value)), fielderr.Shown(fmt.Sprintf("repeated on line %d", k.Line)), "a key may appear once"))
			continue
		}
		own[k.Value] = true
		if merged && seen[k.Value] {
			continue // the merging mapping sets it
		}
		seen[k.Value] = true
		visit(k.Value, k, val)
	}
	for _, m := range merges {
		d.merge(m, path, seen, visit)
	}
}

// mergeTag is the tag YAML gives the key << (a merge).
const mergeTag = "!!merge"

// merge visits the keys of the mapping, or of each mapping of the list, that
// a merge key names. What it adds counts as aliased, as any alias does, so
// that merges cannot expand without bound.
func (d *decoder) merge(m *yaml.Node, path *field.Path, seen map[string]bool, visit func(key string, k, value *yaml.Node)) {
	d.aliasDepth++
	defer func() { d.aliasDepth-- }()
	src := resolveNode(m)
	var maps []*yaml.Node
	switch {
	case src == nil:
	case src.Kind == yaml.MappingNode:
		maps = []*yaml.Node{src}
	case src.Kind == yaml.SequenceNode:
		for _, item := range src.Content {
			maps = append(maps, resolveNode(item))
		}
	}
	if len(maps) == 0 {
		d.add(fielderr.Invalid(path.Child("<<"), shape(src), "a merge key must name a mapping (<<: *defaults) or a list of mappings"))
		return
	}
	for _, mp := range maps {
		if mp == nil || mp.Kind != yaml.MappingNode {
			d.add(fielderr.Invalid(path.Child("<<"), shape(src), "a merge key must name a mapping (<<: *defaults) or a list of mappings"))
			continue
		}
		d.keysOf(mp, path, seen, true, visit)
	}
}

// shortKey is key as a problem's path shows it: cut after
// fielderr.MaxShown bytes, so that a problem stays a line.
func shortKey(key string) string {
	if len(key) <= fielderr.MaxShown {
		return key
	}
	return key[:fielderr.MaxShown] + "..."
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path *field.Path) {
	if n.Kind != yaml.MappingNode {
		d.add(fielderr.TypeInvalid(path, shape(n), "must be a mapping"))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.add(fielderr.TypeInvalid(path, shape(n), "cannot be set from a config file (%v)", v.Type()))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(v.Type(), len(n.Content)/2))
	}
	d.keys(n, path, func(key string, _, val *yaml.Node) {
		elem := reflect.New(v.Type().Elem())
		initialize(elem)
		d.value(val, elem.Elem(), path.Key(key))
		v.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), elem.Elem())
	})
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path *field.Path) {
	if n.Kind != yaml.MappingNode {
		d.add(fielderr.TypeInvalid(path, shape(n), "must be a mapping"))
		return
	}
	fields := fieldsOf(v.Type())
	d.keys(n, path, func(key string, k, val *yaml.Node) {
		f, ok := fields.byName[key]
		if !ok {
			d.unknownKey(path, key, k.Line, fields.names)
			return
		}
		d.value(val, v.FieldByIndex(f.index), path.Child(key))
	})
}

// unknownKey reports key, not one of allowed, with its line.
func (d *decoder) unknownKey(path *field.Path, key string, line int, allowed []string) {
	if len(d.rootHidden) > 0 && path.String() == d.root {
		allowed = slices.DeleteFunc(slices.Clone(allowed), func(k string) bool { return slices.Contains(d.rootHidden, k) })
	}
	d.add(fielderr.Invalid(path.Child(shortKey(key)), fielderr.Shown(fmt.Sprintf("unknown key on line %d", line)), "%s", fielderr.OneOf(allowed)))
}

// foreign hands n to yaml.v3 for a type of another module that decodes
// itself, strictly, and puts its error at path. The node is encoded again
// after as many empty lines as it started below the top of the file, so
// that yaml.v3's line numbers are the file's (exact unless the block holds
// empty lines).
func (d *decoder) foreign(n *yaml.Node, v reflect.Value, path *field.Path) {
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		// It reads the node itself, lines and all: no need to write it out
		// again (which costs a line per line above it, for a fleet's scalers).
		if err := u.UnmarshalYAML(n); err != nil {
			d.add(fielderr.Problem(path, "%s", strings.TrimPrefix(err.Error(), "yaml: ")))
		}
		return
	}
	text, err := yaml.Marshal(withoutComments(n))
	if err != nil {
		d.add(fielderr.Problem(path, "%v", err))
		return
	}
	dec := yaml.NewDecoder(io.MultiReader(strings.NewReader(strings.Repeat("\n", max(n.Line-1, 0))), bytes.NewReader(text)))
	dec.KnownFields(true)
	err = dec.Decode(v.Addr().Interface())
	var te *yaml.TypeError
	switch {
	case err == nil:
	case errors.As(err, &te):
		for _, msg := range te.Errors {
			d.add(fielderr.Problem(path, "%s", msg))
		}
	default:
		d.add(fielderr.Problem(path, "%s", strings.TrimPrefix(err.Error(), "yaml: ")))
	}
}

// withoutComments copies n without its comments, which would move its
// keys down when encoded.
func withoutComments(n *yaml.Node) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = withoutComments(k)
	}
	return &c
}

// structFields are the keys of a struct type, inline fields flattened.
type structFields struct {
	byName map[string]structField
	names  []string // in declaration order, for messages
}

type structField struct {
	index []int
}

var fieldCache sync.Map // reflect.Type -> *structFields

// fieldsOf reads the json tags of t: the key is the tag's name; a field
// without a name that is an embedded struct, or tagged ",inline", adds its
// own keys; "-" and unexported fields are not keys.
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	fs := &structFields{byName: map[string]structField{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			index := append(append([]int(nil), prefix...), i)
			name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			inline := name == "" && (sf.Anonymous || strings.Contains(","+opts+",", ",inline,")) && sf.Type.Kind() == reflect.Struct
			if inline {
				walk(sf.Type, index)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			fs.byName[name] = structField{index: index}
			fs.names = append(fs.names, name)
		}
	}
	walk(t, nil)
	f, _ := fieldCache.LoadOrStore(t, fs)
	return f.(*structFields)
}

// jsonNode parses a JSON document (an object from the API server) into the
// node tree the decoder reads: JSON is YAML's flow syntax, so numbers,
// strings and nulls resolve as they would in a file.
func jsonNode(raw []byte) (*yaml.Node, error) {
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

// DecodeScalerJSON decodes one scaler from JSON, as a Scaler object's spec
// comes from the Kubernetes API server, through the decoder that reads
// files, and fills its defaults. name is the scaler's name (a Scaler
// object's namespace/name), set before the defaults that depend on it (an
// AWS target's owner); namespace, when set, is the namespace of a target
// that lives in one and names none (actuators.Namespaced): the object's
// own. path is where the scaler sits in the object (spec); every problem
// carries it. It does not validate.
func DecodeScalerJSON(raw []byte, name, namespace string, path *field.Path) (Scaler, field.ErrorList) {
	n, err := jsonNode(raw)
	if err != nil {
		return Scaler{}, field.ErrorList{fielderr.Problem(path, "%v", err)}
	}
	return decodeScaler(n, name, namespace, path)
}

// DecodeScalerObject is DecodeScalerJSON for an object already unmarshalled
// into a map, as unstructured.Unstructured holds it.
func DecodeScalerObject(obj map[string]any, name, namespace string, path *field.Path) (Scaler, field.ErrorList) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return Scaler{}, field.ErrorList{fielderr.Problem(path, "%v", err)}
	}
	return DecodeScalerJSON(raw, name, namespace, path)
}

// mappingKey is the node of key in the mapping n, or nil.
func mappingKey(n *yaml.Node, key string) *yaml.Node {
	k, _ := mappingEntry(n, key)
	return k
}

// mappingValue is the value of key in the mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	_, v := mappingEntry(n, key)
	return v
}

// mappingEntry is the node of key in the mapping n and its value, or nils.
func mappingEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	n = resolveNode(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolveNode(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return k, n.Content[i+1]
		}
	}
	return nil, nil
}

// DecodeScalerNode is DecodeScalerJSON for a node of a YAML document, as a
// Scaler manifest's spec: its problems keep the file's line numbers.
func DecodeScalerNode(n *yaml.Node, name, namespace string, path *field.Path) (Scaler, field.ErrorList) {
	return decodeScaler(n, name, namespace, path)
}

func decodeScaler(n *yaml.Node, name, namespace string, path *field.Path) (Scaler, field.ErrorList) {
	var s Scaler
	s.decodeDefaults()
	var hidden []string
	if name != "" {
		hidden = []string{"name"} // an object's name is its metadata's
	}
	errs := decodeInto(n, &s, path, hidden...)
	if name != "" {
		// An object's name is its metadata's; the spec holds the rest.
		if k := mappingKey(n, "name"); k != nil {
			errs = append(errs, fielderr.Invalid(path.Child("name"), fielderr.Shown(fmt.Sprintf("unknown key on line %d", k.Line)),
				"must be left out: a Scaler's name is its metadata.name"))
		}
		s.Name = name
	}
	if ns, ok := s.Target.Spec.(actuators.Namespaced); ok && namespace != "" {
		ns.DefaultNamespace(namespace)
	}
	s.ApplyDefaults()
	return s, errs
}
