package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Expr is a compiled interlock condition: a boolean expression over tags,
// in the language of github.com/expr-lang/expr.
//
// Tags are referenced by name. A name made of identifiers joined by dots
// (T101.Level, P101.Running) is written as it is; any name, including
// those with "-", ":" or "/" or a part starting with a digit, may be
// written tag("CV-201/Speed"). The argument of tag must be a quoted name,
// so that every tag an expression reads is known when it is compiled.
// Bool tags are true or false in expressions, string tags are strings,
// every other type is a number.
type Expr struct {
	// Source is the expression as written.
	Source string
	// Refs are the tags the expression reads, in the order Eval takes
	// their values.
	Refs []string

	bools []bool // per ref: the tag is a bool
	strs  []bool // per ref: the tag is a string
	prog  *vm.Program
}

// TagTypes tells the data type of a tag by name, and whether it exists.
type TagTypes func(name string) (dataType string, ok bool)

// CompileExpr compiles a boolean condition over tags. Errors name the
// place in the expression as line:column.
func CompileExpr(src string, types TagTypes) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("the condition is empty")
	}
	// A first pass finds the names the expression may mean as tags, so the
	// environment holds only those (a project may have 100,000 tags).
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, exprError(err)
	}
	scan := &tagEnv{types: types, env: map[string]any{}}
	ast.Walk(&tree.Node, scan)
	if scan.err != nil {
		return nil, scan.err
	}
	list := &tagList{env: scan.env}
	prog, err := expr.Compile(src, expr.Env(scan.env), expr.AsBool(), expr.Patch(&tagPatcher{env: scan.env}), expr.Patch(list))
	if list.unknown != "" {
		// An unknown tag says more than the type error it causes.
		return nil, fmt.Errorf("unknown tag %q (at column %d of the condition)", list.unknown, list.at+1)
	}
	if err != nil {
		return nil, exprError(err)
	}
	x := &Expr{Source: src, prog: prog, Refs: list.names}
	for _, name := range x.Refs {
		typ, _ := types(name)
		x.bools = append(x.bools, isBoolType(typ))
		x.strs = append(x.strs, typ == "string")
	}
	return x, nil
}

func isBoolType(t string) bool { return t == "bool" || t == "boolean" }

// Eval evaluates the condition with the values of Refs, in their order.
// Numbers are passed as they are (NaN included); the caller decides what
// an unusable value means.
func (x *Expr) Eval(vals []hmi.Value) (bool, error) {
	if len(vals) != len(x.Refs) {
		return false, fmt.Errorf("condition %q: %d values for %d tags", x.Source, len(vals), len(x.Refs))
	}
	env := make(map[string]any, len(vals))
	for i, v := range vals {
		switch {
		case x.bools[i]:
			env[x.Refs[i]] = v.Truth()
		case x.strs[i]:
			env[x.Refs[i]] = v.Text()
		default:
			env[x.Refs[i]] = v.Float()
		}
	}
	out, err := expr.Run(x.prog, env)
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", x.Source, err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition %q gave %T, not true or false", x.Source, out)
	}
	return b, nil
}

func (x *Expr) String() string { return x.Source }

// exprError turns expr's error into one line naming the place.
func exprError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fmt.Errorf("%s (at %d:%d of the condition)", fe.Message, fe.Line, fe.Column+1)
	}
	return err
}

// memberPath is the dotted name of a chain of plain member accesses
// (a.b.c), or false if the node is something else.
func memberPath(n ast.Node) (string, bool) {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return x.Value, true
	case *ast.MemberNode:
		s, ok := x.Property.(*ast.StringNode)
		if !ok || x.Optional || x.Method {
			return "", false
		}
		p, ok := memberPath(x.Node)
		return p + "." + s.Value, ok
	}
	return "", false
}

// rootOf is the node a chain of member accesses starts from.
func rootOf(n ast.Node) ast.Node {
	for {
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return n
		}
		n = m.Node
	}
}

// tagCall is the name given to tag("NAME"), or an error if the call is
// not of that form; ok is false if the node is no call of tag.
func tagCall(n ast.Node) (name string, err error, ok bool) {
	c, isCall := n.(*ast.CallNode)
	if !isCall {
		return "", nil, false
	}
	id, isIdent := c.Callee.(*ast.IdentifierNode)
	if !isIdent || id.Value != "tag" {
		return "", nil, false
	}
	if len(c.Arguments) == 1 {
		if s, isStr := c.Arguments[0].(*ast.StringNode); isStr {
			return s.Value, nil, true
		}
	}
	at := n.Location().From + 1
	return "", fmt.Errorf("tag() takes one tag name in quotes, e.g. tag(\"T101.Level\") (at column %d of the condition)", at), true
}

// tagEnv is the first pass: it collects every name of the expression that
// is a tag into env (with a zero value of the tag's type, which gives the
// checker its type), and reports malformed tag() calls and tag() names
// that do not exist.
type tagEnv struct {
	types TagTypes
	env   map[string]any
	err   error
}

func (r *tagEnv) Visit(n *ast.Node) {
	if r.err != nil {
		return
	}
	if name, err, ok := tagCall(*n); ok {
		if _, known := r.types(name); err == nil && !known {
			err = fmt.Errorf("unknown tag %q (at column %d of the condition)", name, (*n).Location().From+1)
		}
		if err != nil {
			r.err = err
			return
		}
		r.add(name)
		return
	}
	if p, ok := memberPath(*n); ok {
		if _, known := r.types(p); known {
			r.add(p)
		}
	}
}

func (r *tagEnv) add(name string) {
	if _, ok := r.env[name]; ok {
		return
	}
	switch typ, _ := r.types(name); {
	case isBoolType(typ):
		r.env[name] = false
	case typ == "string":
		r.env[name] = ""
	default:
		r.env[name] = 0.0
	}
}

// tagPatcher is the second pass: it turns every reference to a tag, dotted
// (T101.Level) or called (tag("T101.Level")), into one identifier named
// after the tag, which the environment holds. The walk visits children
// first, so the longest dotted name that is a tag wins.
type tagPatcher struct{ env map[string]any }

func (r *tagPatcher) Visit(n *ast.Node) {
	if name, err, ok := tagCall(*n); ok && err == nil {
		ast.Patch(n, &ast.IdentifierNode{Value: name})
		return
	}
	if _, isMember := (*n).(*ast.MemberNode); !isMember {
		return
	}
	if p, ok := memberPath(*n); ok {
		if _, isTag := r.env[p]; isTag {
			ast.Patch(n, &ast.IdentifierNode{Value: p})
		}
	}
}

// tagList is the third pass, over the patched tree: it lists the tags read,
// in order, and finds dotted names left over, which are not tags (a tag's
// value has no members).
type tagList struct {
	env     map[string]any
	names   []string
	unknown string
	at      int
}

func (r *tagList) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		if _, isTag := r.env[x.Value]; isTag && !slices.Contains(r.names, x.Value) {
			r.names = append(r.names, x.Value)
		}
	case *ast.MemberNode:
		p, ok := memberPath(x)
		if !ok {
			return
		}
		// Children come first: a longer chain from the same root replaces
		// its prefix; the first place in the text is reported.
		at := rootOf(x).Location().From
		if r.unknown == "" || at < r.at || at == r.at && len(p) > len(r.unknown) {
			r.unknown, r.at = p, at
		}
	}
}
