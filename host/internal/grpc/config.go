// Package grpchost runs Rewind plugins as separate processes over gRPC,
// with hashicorp/go-plugin: it starts and checks the executable, keeps it
// alive with a supervisor, and adapts its gRPC services to the host's plugin
// interfaces (host.Verifier, host.RewardModel, host.Segmenter,
// host.Localizer). See docs/process-plugins.md.
//
// The package is named grpchost rather than grpc so that it does not shadow
// google.golang.org/grpc.
package grpchost

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Config configures one process plugin. It is plain data: Validate checks
// it, and Load applies the defaults written on each field.
type Config struct {
	// Name is the plugin's configured name, used in errors, logs and verdicts.
	Name string
	// Kind is the plugin kind the host expects; the plugin's manifest must
	// say the same. Empty takes the kind from the first process's manifest,
	// and later restarts must keep it.
	Kind abi.Kind
	// Command is the executable and its arguments. The executable is
	// resolved through PATH when it has no slash. A Python plugin is best
	// run as an executable script (with a #! line) or a zipapp, so that the
	// checksum covers the plugin rather than the interpreter.
	Command []string
	// Env holds extra KEY=VALUE pairs for the plugin's environment, on top
	// of the host's own (a process plugin is not sandboxed: it runs as the
	// host's user, with its environment). Env wins over the host's.
	Env []string
	// Options is JSON handed to the plugin in its environment as
	// REWIND_PLUGIN_OPTIONS (sdk/serve.Options and sdk/python's options()
	// decode it). Empty: the variable is not set.
	Options []byte
	// SHA256 is the hex sha256 of the executable Command[0] names. It is
	// required unless Insecure is set; the file is checked before every
	// start, including restarts.
	SHA256 string
	// Insecure runs the executable without a checksum. It must be set
	// explicitly; it is an error to set it together with SHA256.
	Insecure bool
	// DisableMTLS turns off go-plugin's automatic mutual TLS on the
	// connection to the plugin. Go plugins built with sdk/serve do AutoMTLS;
	// Python plugins built with sdk/python do not (go-plugin's Python
	// support has no AutoMTLS) and need this set. The connection is a unix
	// socket in a private temporary directory either way.
	DisableMTLS bool

	// Timeout bounds one call, including any wait for a restart (see
	// Supervisor). Default 10s.
	Timeout time.Duration
	// MaxOutputBytes caps one response from the plugin; a larger one fails
	// with abi.StatusOversized. Default 1 MiB.
	MaxOutputBytes int
	// Limits, when set, decides Timeout and MaxOutputBytes from the limits
	// the first process's manifest asks for (nil for none), once it has
	// started; an error fails the load. Restarts keep what the first
	// start decided.
	Limits func(asked *abi.Limits) (timeout time.Duration, maxOutputBytes int, err error)
	// StartTimeout bounds a start: exec, handshake, connect and manifest.
	// Default 20s.
	StartTimeout time.Duration

	// Restart is the supervisor's policy for a plugin process that dies.
	Restart RestartPolicy

	// Logger receives the plugin's stderr and stdout (at Info, or at the
	// level of an hclog JSON line) and the supervisor's messages. Default
	// slog.Default().
	Logger *slog.Logger
	// HCLogLevel is the level of go-plugin's own log messages that reach
	// Logger. Default (hclog.NoLevel) means hclog.Off: go-plugin is chatty
	// and the supervisor reports starts, exits and restarts itself.
	HCLogLevel hclog.Level
}

// RestartPolicy says how a dead plugin process is restarted.
type RestartPolicy struct {
	// InitialBackoff is the wait before the first restart after a death;
	// each further death in a row doubles it. Default 100ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the wait. Default 10s.
	MaxBackoff time.Duration
	// MaxRestarts is how many deaths in a row (deaths or failed starts with
	// no successful call in between) are restarted before the plugin is
	// marked failed for good. Default 5; negative means never restart.
	MaxRestarts int
}

// Defaults.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultMaxOutputBytes = 1 << 20
	DefaultStartTimeout   = 20 * time.Second
	DefaultInitialBackoff = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultMaxRestarts    = 5
)

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxOutputBytes == 0 {
		c.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.Restart.InitialBackoff == 0 {
		c.Restart.InitialBackoff = DefaultInitialBackoff
	}
	if c.Restart.MaxBackoff == 0 {
		c.Restart.MaxBackoff = DefaultMaxBackoff
	}
	if c.Restart.MaxRestarts == 0 {
		c.Restart.MaxRestarts = DefaultMaxRestarts
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// ErrNoChecksum is the config error of a plugin with neither a sha256 nor
// insecure: true.
var ErrNoChecksum = errors.New("no sha256 checksum: set sha256 to the executable's hex sha256 (sha256sum FILE), or set insecure: true to run it unchecked")

// Validate reports every problem of c, joined.
func (c *Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("process plugin %q: %s: %s", c.Name, field, fmt.Sprintf(format, args...)))
	}
	if c.Name == "" {
		add("name", "must be set")
	}
	switch c.Kind {
	case "", abi.KindVerifier, abi.KindRewardModel, abi.KindSegmenter, abi.KindLocalizer:
	default:
		add("kind", "%q is not one of verifier, reward_model, segmenter, localizer", c.Kind)
	}
	if len(c.Command) == 0 || strings.TrimSpace(c.Command[0]) == "" {
		add("process", "the command must name an executable")
	}
	switch {
	case c.SHA256 == "" && !c.Insecure:
		errs = append(errs, fmt.Errorf("process plugin %q: sha256: %w", c.Name, ErrNoChecksum))
	case c.SHA256 != "" && c.Insecure:
		add("insecure", "is set together with sha256; drop one of them")
	case c.SHA256 != "":
		if b, err := hex.DecodeString(c.SHA256); err != nil || len(b) != 32 {
			add("sha256", "%q is not 64 hex digits", c.SHA256)
		}
	}
	if c.Timeout < 0 {
		add("timeout", "must not be negative, got %v", c.Timeout)
	}
	if c.MaxOutputBytes < 0 {
		add("max_output", "must not be negative, got %d", c.MaxOutputBytes)
	}
	if c.StartTimeout < 0 {
		add("start_timeout", "must not be negative, got %v", c.StartTimeout)
	}
	if c.Restart.InitialBackoff < 0 || c.Restart.MaxBackoff < 0 {
		add("restart", "backoffs must not be negative")
	}
	if c.Restart.MaxBackoff != 0 && c.Restart.InitialBackoff > c.Restart.MaxBackoff {
		add("restart", "initial backoff %v is above the max backoff %v", c.Restart.InitialBackoff, c.Restart.MaxBackoff)
	}
	return errors.Join(errs...)
}
