package pluginpb

// The go-plugin handshake. The host sets MagicCookieKey=MagicCookieValue in
// the plugin's environment and offers ProtocolVersion; a plugin prints
//
//	1|<ProtocolVersion>|<network>|<address>|grpc[|<base64 server cert>]
//
// as its first line on stdout. A binary started without the cookie is not
// being run as a plugin (go-plugin's Serve tells the user so and exits).
const (
	// ProtocolVersion is the version of plugin.proto's contract. Bump it when
	// a change breaks old plugins or old hosts.
	ProtocolVersion = 1
	// MagicCookieKey and MagicCookieValue identify a Rewind host. They are
	// not a secret: they stop a user from running a plugin by hand.
	MagicCookieKey   = "REWIND_PLUGIN_MAGIC_COOKIE"
	MagicCookieValue = "f3c8a1f27d5e4b6c9e0b2a7d4c1e8f60"
)

// Plugin names in go-plugin's plugin set: the kinds of package abi.
const (
	NameVerifier    = "verifier"
	NameRewardModel = "reward_model"
	NameSegmenter   = "segmenter"
	NameLocalizer   = "localizer"
)
