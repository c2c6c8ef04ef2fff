package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// pos is a place in the project file.
type pos struct{ line, col int }

// positions maps a field path such as "devices[1].port" to where its value
// stands in the file. A path present here was written in the file, which
// tells an explicit 0 from an omitted field.
type positions map[string]pos

// decoder decodes a YAML node tree into Go structs strictly: unknown fields,
// duplicate keys and values of the wrong kind are errors with a position.
// Unlike yaml.Decoder.KnownFields it reports every problem, not the first, and
// it records where each field stands so later validation can point at it.
type decoder struct {
	file  string
	pos   positions
	names map[string]string // path of an object ("tags[3]") -> its name field
	// failed holds the paths whose values could not be decoded, so that
	// validation does not report them a second time.
	failed map[string]bool
	errs   Errors
	// strs holds one copy of each text decoded, so the project keeps
	// "plc01" and "uint16" once rather than per tag, and keeps none of the
	// YAML tree's memory (a string of its would pin its allocation).
	strs map[string]string
	// types holds the YAML fields of each struct type met.
	types map[reflect.Type]*structFields
}

// text returns the decoder's copy of s.
func (d *decoder) text(s string) string {
	if c, ok := d.strs[s]; ok {
		return c
	}
	c := strings.Clone(s)
	if d.strs == nil {
		d.strs = map[string]string{}
	}
	d.strs[c] = c
	return c
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (d *decoder) errorAt(n *yaml.Node, path, format string, args ...any) {
	d.failed[path] = true
	msg := fmt.Sprintf(format, args...)
	if label := d.label(path); label != "" {
		msg = label + ": " + msg
	}
	d.errs = append(d.errs, Error{File: d.file, Line: n.Line, Col: n.Column, Msg: msg})
}

// label names the object a path points into, e.g.
// `tags[3] "T101.Level": scale.raw_low` for "tags[3].scale.raw_low".
func (d *decoder) label(path string) string {
	for p := path; p != ""; {
		if name := d.names[p]; name != "" {
			rest := strings.TrimPrefix(path[len(p):], ".")
			if rest == "" {
				return p + " " + strconv.Quote(name)
			}
			return p + " " + strconv.Quote(name) + ": " + rest
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	return path
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		d.pos[path] = pos{n.Line, n.Column}
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errorAt(n, path, "%s", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Tag == "!!null" {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorAt(n, path, "want a list (lines starting with \"- \"), got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		d.decodeScalar(n, v, path)
	}
}

// structFields is how a struct type's fields are named in YAML.
type structFields struct {
	index map[string]int // YAML name -> field index
	names []string       // YAML names, in field order
}

// fieldsOf returns t's YAML fields, worked out once per type.
func (d *decoder) fieldsOf(t reflect.Type) *structFields {
	if f, ok := d.types[t]; ok {
		return f
	}
	f := &structFields{index: make(map[string]int, t.NumField())}
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		f.index[name] = i
		f.names = append(f.names, name)
	}
	if d.types == nil {
		d.types = map[reflect.Type]*structFields{}
	}
	d.types[t] = f
	return f
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorAt(n, path, "want a mapping of fields, got %s", describe(n))
		return
	}
	fields := d.fieldsOf(v.Type())
	// Record the object's name first, so errors in any field can use it.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" && n.Content[i+1].Kind == yaml.ScalarNode {
			d.names[path] = n.Content[i+1].Value
		}
	}
	seen := make([]bool, v.NumField())
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		sub := key
		if path != "" {
			sub = path + "." + key
		}
		idx, ok := fields.index[key]
		if !ok {
			msg := fmt.Sprintf("unknown field %q", key)
			if s := suggest(key, fields.names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += fmt.Sprintf(" (known fields: %s)", strings.Join(fields.names, ", "))
			}
			d.errorAt(k, path, "%s", msg)
			continue
		}
		if seen[idx] {
			d.errorAt(k, path, "field %q is given twice", key)
			continue
		}
		seen[idx] = true
		d.decode(val, v.Field(idx), sub)
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorAt(n, path, "want %s, got %s", kindWord(v.Kind()), describe(n))
		return
	}
	if n.Tag == "!!null" {
		v.SetZero()
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(d.text(n.Value))
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil || n.Tag != "!!bool" {
			d.errorAt(n, path, "want true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || v.OverflowInt(i) {
			d.errorAt(n, path, "want a whole number, got %q", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil {
			d.errorAt(n, path, "want a number, got %q", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		d.errorAt(n, path, "cannot decode into %s", v.Type())
	}
}

func kindWord(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return "a whole number"
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	default:
		return "nothing"
	}
}

// suggest returns the known name closest to s, if it is close enough to be
// a likely misspelling.
func suggest(s string, known []string) string {
	best, bestD := "", len(s)/2+2
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
