package governance

import (
	"reflect"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
)

// Limits on rules and their evaluation.
const (
	MaxRulesFileSize = 1 << 20  // bytes of a rules file
	MaxRules         = 1000     // rules in one file
	MaxExprSize      = 16 << 10 // characters of one `when` expression
	CostLimit        = 10_000   // CEL runtime cost units per rule and action
)

// Names of the input variables; named values in a rules file may not use them.
var inputVars = map[string]bool{"action": true, "tx": true, "now": true, "decode_error": true, "payload": true, "message": true,
	"call": true, "time_zone": true, "today": true, "weekday": true, "local_time": true, "holiday": true, ctxVar: true}

var (
	baseEnvOnce sync.Once
	baseEnv     *cel.Env
	baseEnvErr  error
)

// base returns the CEL environment shared by every rule set: the input
// schema as declared native types, plus the string and set extensions.
func base() (*cel.Env, error) {
	baseEnvOnce.Do(func() {
		opts := []cel.EnvOption{
			ext.NativeTypes(reflect.TypeFor[Action](), reflect.TypeFor[Tx](), reflect.TypeFor[Payload](),
				reflect.TypeFor[Message](), reflect.TypeFor[Approver](), reflect.TypeFor[Call](), ext.ParseStructTag("json")),
			cel.Variable("action", cel.ObjectType("governance.Action")),
			cel.Variable("tx", cel.ObjectType("governance.Tx")),
			cel.Variable("now", cel.TimestampType),
			cel.Variable("decode_error", cel.StringType),
			cel.Variable("payload", cel.ObjectType("governance.Payload")),
			cel.Variable("message", cel.ObjectType("governance.Message")),
			cel.Variable("call", cel.ObjectType("governance.Call")),
			cel.Variable("time_zone", cel.StringType),
			cel.Variable("today", cel.StringType),
			cel.Variable("weekday", cel.StringType),
			cel.Variable("local_time", cel.StringType),
			cel.Variable("holiday", cel.BoolType),
			ext.Strings(),
			ext.Sets(),
			cel.CrossTypeNumericComparisons(true),
			cel.ParserExpressionSizeLimit(MaxExprSize),
		}
		baseEnv, baseEnvErr = cel.NewEnv(append(opts, functionOptions()...)...)
	})
	return baseEnv, baseEnvErr
}
