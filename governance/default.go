package governance

import (
	"sync"

	"github.com/qapprove/qapprove/assets"
)

var (
	defaultOnce sync.Once
	defaultSet  *RuleSet
)

// DefaultName is the name the embedded default rules are parsed under.
const DefaultName = "default.toml (embedded)"

// Default returns the embedded default rule set (assets.DefaultRules),
// compiled once. It panics if the embedded file does not compile, which
// the package tests rule out.
func Default() *RuleSet {
	defaultOnce.Do(func() {
		rs, err := Parse(DefaultName, assets.DefaultRules)
		if err != nil {
			panic("governance: embedded default rules: " + err.Error())
		}
		defaultSet = rs
	})
	return defaultSet
}
