package serve

import (
	"context"

	"google.golang.org/grpc/status"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/kinds"
	pluginpb "github.com/rewind-rl/rewind/sdk/proto"
)

// The gRPC servers adapt the Go interfaces to the generated services. A Go
// error from the implementation becomes a gRPC error (its own status when it
// carries one, Unknown otherwise), which the host reports as
// abi.StatusError with the message.

type infoServer struct {
	pluginpb.UnimplementedInfoServer
	manifest *pluginpb.Manifest
}

func (s infoServer) GetManifest(context.Context, *pluginpb.InfoRequest) (*pluginpb.Manifest, error) {
	return s.manifest, nil
}

type verifierServer struct {
	pluginpb.UnimplementedVerifierServer
	impl kinds.Verifier
}

func (s *verifierServer) Verify(ctx context.Context, req *pluginpb.VerifyRequest) (*pluginpb.Verdict, error) {
	v, err := s.impl.Verify(ctx, pluginpb.ToVerifyRequest(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return pluginpb.FromVerdict(&v), nil
}

type rewardModelServer struct {
	pluginpb.UnimplementedRewardModelServer
	impl kinds.RewardModel
}

func (s *rewardModelServer) Score(ctx context.Context, req *pluginpb.ScoreBatch) (*pluginpb.Scores, error) {
	scores, err := s.impl.Score(ctx, pluginpb.ToScoreRequests(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pluginpb.Scores{Scores: scores}, nil
}

type segmenterServer struct {
	pluginpb.UnimplementedSegmenterServer
	impl kinds.Segmenter
}

func (s *segmenterServer) Segment(ctx context.Context, req *pluginpb.SegmentRequest) (*pluginpb.Spans, error) {
	spans, err := s.impl.Segment(ctx, &abi.SegmentRequest{Response: req.GetResponse()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pluginpb.Spans{Spans: pluginpb.FromSpans(spans)}, nil
}

type localizerServer struct {
	pluginpb.UnimplementedLocalizerServer
	impl kinds.Localizer
}

func (s *localizerServer) Localize(ctx context.Context, req *pluginpb.LocalizeRequest) (*pluginpb.Localization, error) {
	l, err := s.impl.Localize(ctx, pluginpb.ToLocalizeRequest(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return pluginpb.FromLocalization(&l), nil
}

// toStatus keeps an error's gRPC status when it has one: a context error
// becomes Canceled or DeadlineExceeded, anything else Unknown.
func toStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.FromContextError(err).Err()
}

var (
	_ pluginpb.InfoServer        = infoServer{}
	_ pluginpb.VerifierServer    = (*verifierServer)(nil)
	_ pluginpb.RewardModelServer = (*rewardModelServer)(nil)
	_ pluginpb.SegmenterServer   = (*segmenterServer)(nil)
	_ pluginpb.LocalizerServer   = (*localizerServer)(nil)
)
