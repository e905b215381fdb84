// Package all links every built-in plugin, and the process host so that
// `process:` sources load too (package host/process): import it for its
// side effects.
//
//	import _ "github.com/rewind-rl/rewind/plugins/all"
package all

import (
	_ "github.com/rewind-rl/rewind/host/process"
	_ "github.com/rewind-rl/rewind/plugins/boxed"
	_ "github.com/rewind-rl/rewind/plugins/confidence"
	_ "github.com/rewind-rl/rewind/plugins/entropy"
	_ "github.com/rewind-rl/rewind/plugins/exact"
	_ "github.com/rewind-rl/rewind/plugins/first"
	_ "github.com/rewind-rl/rewind/plugins/lines"
	_ "github.com/rewind-rl/rewind/plugins/oracle"
	_ "github.com/rewind-rl/rewind/plugins/prm"
	_ "github.com/rewind-rl/rewind/plugins/random"
	_ "github.com/rewind-rl/rewind/plugins/regex"
	_ "github.com/rewind-rl/rewind/plugins/thought"
)
