// Package serve turns a Go value into a Rewind process plugin: main calls
// one function, which serves the value over gRPC under go-plugin until the
// host stops it.
//
//	func main() { serve.Verifier(manifest, exactMatch{}) }
//
// The values served implement the kind interfaces of package sdk/kinds,
// which package host aliases: a value that implements host.Verifier is a
// kinds.Verifier. Neither package imports the host, so a plugin binary does
// not link it (its Wasm runtime, config loader and registry); serve depends
// only on sdk/abi, sdk/kinds, sdk/proto, go-plugin and gRPC.
//
// Run outside a host, a plugin binary prints a message saying that it is a
// plugin and exits with status 1 (go-plugin's magic-cookie check).
package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/kinds"
	pluginpb "github.com/rewind-rl/rewind/sdk/proto"
)

// Verifier serves v as a verifier plugin described by m and returns when
// the host stops the plugin. m.Kind must be verifier (an empty Kind is set
// to it) and a zero m.ABI is set to abi.Version.
func Verifier(m abi.Manifest, v kinds.Verifier) {
	run(m, abi.KindVerifier, func(s *grpc.Server) {
		pluginpb.RegisterVerifierServer(s, &verifierServer{impl: v})
	})
}

// RewardModel serves r as a reward-model plugin; see Verifier.
func RewardModel(m abi.Manifest, r kinds.RewardModel) {
	run(m, abi.KindRewardModel, func(s *grpc.Server) {
		pluginpb.RegisterRewardModelServer(s, &rewardModelServer{impl: r})
	})
}

// Segmenter serves g as a segmenter plugin; see Verifier.
func Segmenter(m abi.Manifest, g kinds.Segmenter) {
	run(m, abi.KindSegmenter, func(s *grpc.Server) {
		pluginpb.RegisterSegmenterServer(s, &segmenterServer{impl: g})
	})
}

// Localizer serves l as a localizer plugin; see Verifier.
func Localizer(m abi.Manifest, l kinds.Localizer) {
	run(m, abi.KindLocalizer, func(s *grpc.Server) {
		pluginpb.RegisterLocalizerServer(s, &localizerServer{impl: l})
	})
}

// maxRecvBytes bounds one request. The host caps what it accepts from the
// plugin (its output cap); what the host sends is the host's own data, so the
// plugin accepts anything gRPC can frame.
const maxRecvBytes = math.MaxInt32

func run(m abi.Manifest, kind abi.Kind, register func(*grpc.Server)) {
	if m.Kind == "" {
		m.Kind = kind
	}
	if m.ABI == 0 {
		m.ABI = abi.Version
	}
	if m.Kind != kind {
		fmt.Fprintf(os.Stderr, "rewind plugin %q: manifest kind %q does not match the served kind %q\n", m.Name, m.Kind, kind)
		os.Exit(2)
	}
	manifest := pluginpb.FromManifest(&m)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins: plugin.PluginSet{string(kind): &grpcPlugin{register: func(s *grpc.Server) {
			pluginpb.RegisterInfoServer(s, infoServer{manifest: manifest})
			register(s)
		}}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(maxRecvBytes), grpc.ChainUnaryInterceptor(recoverPanics))
			return grpc.NewServer(opts...)
		},
		// JSON lines on stderr are parsed by the host and logged at their level.
		Logger: hclog.New(&hclog.LoggerOptions{Name: m.Name, Level: hclog.Info, Output: os.Stderr, JSONFormat: true}),
	})
}

// Handshake is the go-plugin handshake of Rewind process plugins.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  pluginpb.ProtocolVersion,
	MagicCookieKey:   pluginpb.MagicCookieKey,
	MagicCookieValue: pluginpb.MagicCookieValue,
}

// recoverPanics turns a panic in a plugin method into an Internal error for
// that call, so one bad input does not take the process (and every call in
// flight on it) down. The host reports it as abi.StatusError.
func recoverPanics(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "panic in %s: %v\n%s", info.FullMethod, r, debug.Stack())
			err = status.Errorf(codes.Internal, "panic: %v", r)
		}
	}()
	return handler(ctx, req)
}

// grpcPlugin is the server half of go-plugin's GRPCPlugin; the host has its
// own client half.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	register func(*grpc.Server)
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	p.register(s)
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("serve: the client half lives in the host")
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

// OptionsEnv is the environment variable that carries a plugin's options
// (the `options:` of its config section) as JSON.
const OptionsEnv = "REWIND_PLUGIN_OPTIONS"

// Options decodes the plugin's options into v (json.Unmarshal) and reports
// whether the config gave any; v is untouched when it gave none.
func Options(v any) (bool, error) {
	raw, ok := os.LookupEnv(OptionsEnv)
	if !ok || raw == "" {
		return false, nil
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return true, fmt.Errorf("plugin options in $%s: %w", OptionsEnv, err)
	}
	return true, nil
}
