package governance

import (
	"errors"
	"reflect"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	celparser "github.com/google/cel-go/parser"
)

// ctxVar is the hidden variable through which the history and calendar
// functions reach the action being evaluated: each public function is a
// macro that passes it as a first argument to an internal overload.
const ctxVar = "__gov"

var ctxType = types.NewOpaqueType("governance.EvalContext")

// evalCtx is what the functions see of one evaluation.
type evalCtx struct {
	hist  History
	now   time.Time
	clock Clock
}

// ConvertToNative implements ref.Val.
func (c *evalCtx) ConvertToNative(reflect.Type) (any, error) {
	return nil, errors.New("the evaluation context cannot be converted")
}

// ConvertToType implements ref.Val.
func (c *evalCtx) ConvertToType(ref.Type) ref.Val {
	return types.NewErr("the evaluation context cannot be converted")
}

// Equal implements ref.Val.
func (c *evalCtx) Equal(o ref.Val) ref.Val { return types.Bool(c == o) }

// Type implements ref.Val.
func (c *evalCtx) Type() ref.Type { return ctxType }

// Value implements ref.Val.
func (c *evalCtx) Value() any { return c }

// velocity is one public velocity function: its arity and which of the
// query's fields its arguments fill, in order, before the duration.
type velocity struct {
	name   string
	sum    bool     // approved_sum*: the first argument is the asset
	fields []string // "asset", "destination", "network"
}

var velocityFuncs = []velocity{
	{"approved_sum", true, []string{"asset"}},
	{"approved_sum_to", true, []string{"asset", "destination"}},
	{"approved_sum_on", true, []string{"asset", "network"}},
	{"approved_count", false, nil},
	{"approved_count_to", false, []string{"destination"}},
	{"approved_count_on", false, []string{"network"}},
	{"approved_count_of", false, []string{"asset"}},
}

// functionOptions declares the velocity and calendar functions.
func functionOptions() []cel.EnvOption {
	str := types.String("")
	var macros []cel.Macro
	for _, f := range velocityFuncs {
		fields := f.fields
		internal := "__count"
		if f.sum {
			internal = "__sum"
		}
		macros = append(macros, cel.GlobalMacro(f.name, len(fields)+1,
			func(eh celparser.ExprHelper, _ ast.Expr, args []ast.Expr) (ast.Expr, *common.Error) {
				q := map[string]ast.Expr{"asset": eh.NewLiteral(str), "destination": eh.NewLiteral(str), "network": eh.NewLiteral(str)}
				for i, name := range fields {
					q[name] = args[i]
				}
				return eh.NewCall(internal, eh.NewIdent(ctxVar), q["asset"], q["destination"], q["network"], args[len(args)-1]), nil
			}))
	}
	macros = append(macros, cel.GlobalMacro("within_hours", 2,
		func(eh celparser.ExprHelper, _ ast.Expr, args []ast.Expr) (ast.Expr, *common.Error) {
			return eh.NewCall("__within_hours", eh.NewIdent(ctxVar), args[0], args[1]), nil
		}))
	qargs := []*cel.Type{ctxType, cel.StringType, cel.StringType, cel.StringType, cel.DurationType}
	return []cel.EnvOption{
		cel.Macros(macros...),
		cel.Variable(ctxVar, ctxType),
		cel.Function("__sum", cel.Overload("gov_sum", qargs, cel.DoubleType, cel.FunctionBinding(func(a ...ref.Val) ref.Val {
			c, q, err := query(a)
			if err != nil {
				return err
			}
			if c.hist == nil {
				return types.Double(0)
			}
			return types.Double(c.hist.ApprovedSum(q))
		}))),
		cel.Function("__count", cel.Overload("gov_count", qargs, cel.IntType, cel.FunctionBinding(func(a ...ref.Val) ref.Val {
			c, q, err := query(a)
			if err != nil {
				return err
			}
			if c.hist == nil {
				return types.Int(0)
			}
			return types.Int(c.hist.ApprovedCount(q))
		}))),
		cel.Function("__within_hours", cel.Overload("gov_within_hours", []*cel.Type{ctxType, cel.StringType, cel.StringType}, cel.BoolType,
			cel.FunctionBinding(func(a ...ref.Val) ref.Val {
				c, ok := a[0].(*evalCtx)
				start, ok1 := a[1].(types.String)
				end, ok2 := a[2].(types.String)
				if !ok || !ok1 || !ok2 {
					return types.NewErr("within_hours: bad arguments")
				}
				in, err := WithinHours(c.clock, string(start), string(end))
				if err != nil {
					return types.NewErr("within_hours: %v", err)
				}
				return types.Bool(in)
			}))),
	}
}

// maxWindow bounds the duration of a velocity function (about 10 years).
const maxWindow = 10 * 366 * 24 * time.Hour

// query reads the arguments of __sum and __count.
func query(a []ref.Val) (*evalCtx, Query, ref.Val) {
	c, ok := a[0].(*evalCtx)
	asset, ok1 := a[1].(types.String)
	dest, ok2 := a[2].(types.String)
	nw, ok3 := a[3].(types.String)
	d, ok4 := a[4].(types.Duration)
	if !ok || !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, Query{}, types.NewErr("velocity function: bad arguments")
	}
	if d.Duration <= 0 || d.Duration > maxWindow {
		return nil, Query{}, types.NewErr("velocity function: the duration must be positive and at most 10 years, not %v", d.Duration)
	}
	return c, Query{Asset: string(asset), Destination: string(dest), Network: string(nw), Since: c.now.Add(-d.Duration), Until: c.now}, nil
}

// Zones are loaded once each: time.LoadLocation reads the zone database.
var (
	zonesMu sync.Mutex
	zones   = map[string]*time.Location{}
)

// maxZones bounds the cache of loaded time zones.
const maxZones = 64

// LoadZone loads an IANA time zone ("" and "UTC" are UTC), caching it.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	zonesMu.Lock()
	defer zonesMu.Unlock()
	if l, ok := zones[name]; ok {
		return l, nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	if len(zones) >= maxZones {
		clear(zones)
	}
	zones[name] = l
	return l, nil
}
