package assets

import _ "embed"

// DefaultRules is the default governance rules file (TOML), used when a
// profile names no rules_file. See docs/RULES.md for its format.
//
//go:embed rules/default.toml
var DefaultRules []byte
