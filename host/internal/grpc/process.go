package grpchost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/rewind-rl/rewind/internal/filehash"
	"github.com/rewind-rl/rewind/sdk/abi"
	pluginpb "github.com/rewind-rl/rewind/sdk/proto"
)

// ErrChecksum is matched (errors.Is) by a *ChecksumError.
var ErrChecksum = errors.New("executable does not match its sha256")

// ChecksumError says that a plugin executable is not the one the config
// names. The supervisor does not retry it: restarting cannot fix it.
type ChecksumError struct {
	Path      string
	Want, Got string // hex
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: sha256 is %s, the config wants %s; if the new file is trusted, put its sha256 in the config", e.Path, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrChecksum) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }

// terminalError marks a start failure that a restart cannot fix (a missing
// executable, a checksum or manifest mismatch).
type terminalError struct{ err error }

func (e *terminalError) Error() string { return e.err.Error() }
func (e *terminalError) Unwrap() error { return e.err }

// generation is one run of the plugin process: what calls use, and how to
// end it.
type generation struct {
	id       int
	conn     *grpc.ClientConn
	done     <-chan struct{} // closed once the process has exited
	kill     func()          // stops the process and waits for it; idempotent
	manifest abi.Manifest
	sha256   string      // hex, of the executable
	answered atomic.Bool // a call on it succeeded
}

// dead reports whether the generation's process has exited.
func (g *generation) dead() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// handshake is the host's side of sdk/proto's handshake.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  pluginpb.ProtocolVersion,
	MagicCookieKey:   pluginpb.MagicCookieKey,
	MagicCookieValue: pluginpb.MagicCookieValue,
}

// dispenseName is the one entry of the host's go-plugin plugin set. Over
// gRPC, Dispense only wraps the connection and never asks the plugin, so
// the name does not have to match anything the plugin serves.
const dispenseName = "rewind"

func knownKind(k abi.Kind) bool {
	switch k {
	case abi.KindVerifier, abi.KindRewardModel, abi.KindSegmenter, abi.KindLocalizer:
		return true
	}
	return false
}

// clientPlugin is the client half of go-plugin's GRPCPlugin. Dispense
// hands back the connection and go-plugin's "process exited" context, which
// is what the supervisor watches.
type clientPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

type dispensed struct {
	done context.Context
	conn *grpc.ClientConn
}

func (clientPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("grpchost: the server half lives in sdk/serve")
}

func (clientPlugin) GRPCClient(done context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return dispensed{done: done, conn: c}, nil
}

// startProcess starts one generation of the plugin that c describes: it
// checks the executable's sha256, runs it under go-plugin (gRPC only, with
// AutoMTLS unless disabled), reads its manifest and checks its kind.
// ctx bounds the manifest call; c.StartTimeout bounds the handshake.
func startProcess(ctx context.Context, c *Config, id int) (*generation, error) {
	path, err := exec.LookPath(c.Command[0])
	if err != nil {
		return nil, &terminalError{fmt.Errorf("executable: %w", err)}
	}
	// The sum is recorded with every verdict, insecure or not.
	sum, _, err := filehash.SHA256(path)
	if err != nil {
		return nil, &terminalError{fmt.Errorf("executable: %w", err)}
	}
	var secure *plugin.SecureConfig
	if !c.Insecure {
		if sum != c.SHA256 {
			return nil, &terminalError{&ChecksumError{Path: path, Want: c.SHA256, Got: sum}}
		}
		want, _ := hex.DecodeString(c.SHA256)
		// go-plugin checks again right before exec, which narrows the window
		// in which the file could be swapped.
		secure = &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}
	cmd := exec.Command(path, c.Command[1:]...)
	ownGroup(cmd)
	cmd.Env = append(os.Environ(), c.Env...)
	if len(c.Options) > 0 {
		cmd.Env = append(cmd.Env, "REWIND_PLUGIN_OPTIONS="+string(c.Options))
	}
	log := c.Logger.With("plugin", c.Name, "generation", id)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          plugin.PluginSet{dispenseName: clientPlugin{}},
		Cmd:              cmd,
		SkipHostEnv:      true, // set below, so that c.Env wins over it
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         !c.DisableMTLS,
		StartTimeout:     c.StartTimeout,
		Logger:           newHCLog(log, c.HCLogLevel),
		Stderr:           newLineLogger(log, "stderr"),
		SyncStdout:       newLineLogger(log, "stdout"),
		SyncStderr:       newLineLogger(log, "stderr"),
	})
	// kill ends the plugin (go-plugin asks it to exit, then kills it) and
	// then everything left in its process group, so that nothing it
	// started outlives it: on close, on restart and after a crash.
	kill := func() {
		client.Kill()
		if cmd.Process != nil {
			killGroup(cmd.Process.Pid)
			liveGroups.Delete(cmd.Process.Pid)
		}
	}
	fail := func(err error) (*generation, error) {
		kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			// The file changed between our check and go-plugin's.
			return nil, &terminalError{&ChecksumError{Path: path, Want: c.SHA256, Got: "(changed during start)"}}
		}
		return nil, err
	}
	rpc, err := client.Client()
	if cmd.Process != nil {
		liveGroups.Store(cmd.Process.Pid, struct{}{})
	}
	if err != nil {
		return fail(fmt.Errorf("start %s: %w", path, err))
	}
	raw, err := rpc.Dispense(dispenseName)
	if err != nil {
		return fail(fmt.Errorf("dispense: %w", err))
	}
	d := raw.(dispensed)
	pb, err := pluginpb.NewInfoClient(d.conn).GetManifest(ctx, &pluginpb.InfoRequest{})
	if err != nil {
		return fail(fmt.Errorf("read manifest: %w", err))
	}
	m := pluginpb.ToManifest(pb)
	switch {
	case c.Kind == "" && !knownKind(m.Kind):
		return fail(&terminalError{fmt.Errorf("the plugin's manifest names kind %q, not one of verifier, reward_model, segmenter, localizer", m.Kind)})
	case c.Kind != "" && m.Kind != c.Kind:
		return fail(&terminalError{fmt.Errorf("the plugin's manifest says kind %q, the config (or its first start) says %q", m.Kind, c.Kind)})
	}
	log.Debug("plugin process started", "path", path, "manifest", m.Name, "version", m.Version)
	return &generation{
		id:       id,
		conn:     d.conn,
		done:     d.done.Done(),
		kill:     kill,
		manifest: m,
		sha256:   sum,
	}, nil
}

// liveGroups holds the process groups of the plugin processes started and
// not yet killed, for KillAll.
var liveGroups sync.Map // pgid -> struct{}

// KillAll kills the process group of every plugin process this program
// started and has not closed. It is for a program about to exit without
// closing its plugins (a second Ctrl-C); closing a plugin does the same
// for its own group.
func KillAll() {
	liveGroups.Range(func(pgid, _ any) bool {
		killGroup(pgid.(int))
		liveGroups.Delete(pgid)
		return true
	})
}
