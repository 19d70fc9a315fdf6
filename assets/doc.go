// Package assets holds the files qapprove embeds: the default governance
// rules, the demo sandbox scenario, the built-in crypto self-test vectors
// and help text. Each kind of asset has its own file in this package.
package assets
