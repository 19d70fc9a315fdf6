package assets

import _ "embed"

// DefaultScenario is the sandbox's demo workspace (TOML; the format is
// described at the top of the file and in docs/PROTOCOL.md).
//
//go:embed scenario/default.toml
var DefaultScenario []byte
