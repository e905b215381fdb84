package pluginpb

import (
	"encoding/json"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Conversions between the messages of package abi and their wire form. Both
// the host and sdk/serve use them, so that the two sides cannot drift. They
// copy field by field and never fail: contract checks (score range, span
// order, ...) are the host's job, not the codec's.

// FromTask returns t's wire form.
func FromTask(t *abi.Task) *Task {
	return &Task{Id: t.ID, Prompt: t.Prompt, AnswerJson: t.Answer, MetaJson: t.Meta}
}

// ToTask returns the abi form of t; nil gives the zero Task.
func ToTask(t *Task) abi.Task {
	if t == nil {
		return abi.Task{}
	}
	return abi.Task{ID: t.Id, Prompt: t.Prompt, Answer: rawJSON(t.AnswerJson), Meta: rawJSON(t.MetaJson)}
}

// rawJSON keeps "absent" absent: an empty field is a nil RawMessage, which
// encoding/json then omits rather than writing invalid empty JSON.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// FromSpans returns the wire form of spans.
func FromSpans(spans []abi.Span) []*Span {
	if len(spans) == 0 {
		return nil
	}
	out := make([]*Span, len(spans))
	for i, s := range spans {
		out[i] = &Span{Start: int64(s.Start), End: int64(s.End)}
	}
	return out
}

// ToSpans returns the abi form of spans.
func ToSpans(spans []*Span) []abi.Span {
	if len(spans) == 0 {
		return nil
	}
	out := make([]abi.Span, len(spans))
	for i, s := range spans {
		out[i] = abi.Span{Start: int(s.GetStart()), End: int(s.GetEnd())}
	}
	return out
}

// FromVerifyRequest returns r's wire form.
func FromVerifyRequest(r *abi.VerifyRequest) *VerifyRequest {
	return &VerifyRequest{Task: FromTask(&r.Task), Response: r.Response, Steps: FromSpans(r.Steps)}
}

// ToVerifyRequest returns the abi form of r.
func ToVerifyRequest(r *VerifyRequest) *abi.VerifyRequest {
	return &abi.VerifyRequest{Task: ToTask(r.GetTask()), Response: r.GetResponse(), Steps: ToSpans(r.GetSteps())}
}

// FromVerdict returns v's wire form; the host-filled Plugin and SHA256 are
// not sent.
func FromVerdict(v *abi.Verdict) *Verdict {
	out := &Verdict{Score: v.Score, Status: string(v.Status), StepCorrect: v.StepCorrect, Detail: v.Detail}
	if v.FirstError != nil {
		fe := int64(*v.FirstError)
		out.FirstError = &fe
	}
	return out
}

// ToVerdict returns the abi form of v.
func ToVerdict(v *Verdict) abi.Verdict {
	out := abi.Verdict{Score: v.GetScore(), Status: abi.Status(v.GetStatus()), Detail: v.GetDetail()}
	if len(v.GetStepCorrect()) > 0 {
		out.StepCorrect = v.GetStepCorrect()
	}
	if v.FirstError != nil {
		fe := int(v.GetFirstError())
		out.FirstError = &fe
	}
	return out
}

// FromScoreRequests returns the wire form of a batch.
func FromScoreRequests(reqs []abi.ScoreRequest) *ScoreBatch {
	out := &ScoreBatch{Requests: make([]*ScoreRequest, len(reqs))}
	for i := range reqs {
		out.Requests[i] = &ScoreRequest{Task: FromTask(&reqs[i].Task), Response: reqs[i].Response}
	}
	return out
}

// ToScoreRequests returns the abi form of a batch.
func ToScoreRequests(b *ScoreBatch) []abi.ScoreRequest {
	out := make([]abi.ScoreRequest, len(b.GetRequests()))
	for i, r := range b.GetRequests() {
		out[i] = abi.ScoreRequest{Task: ToTask(r.GetTask()), Response: r.GetResponse()}
	}
	return out
}

// FromLocalizeRequest returns r's wire form.
func FromLocalizeRequest(r *abi.LocalizeRequest) *LocalizeRequest {
	out := &LocalizeRequest{Task: FromTask(&r.Task), Response: r.Response, Steps: FromSpans(r.Steps), Seed: r.Seed}
	if r.Verdict != nil {
		out.Verdict = FromVerdict(r.Verdict)
	}
	for i := range r.StepStats {
		st := &r.StepStats[i]
		out.StepStats = append(out.StepStats, &StepStats{Tokens: int64(st.Tokens), MeanLogprob: st.MeanLogProb, MinLogprob: st.MinLogProb, MeanEntropy: st.MeanEntropy})
	}
	return out
}

// ToLocalizeRequest returns the abi form of r.
func ToLocalizeRequest(r *LocalizeRequest) *abi.LocalizeRequest {
	out := &abi.LocalizeRequest{Task: ToTask(r.GetTask()), Response: r.GetResponse(), Steps: ToSpans(r.GetSteps()), Seed: r.GetSeed()}
	if r.Verdict != nil {
		v := ToVerdict(r.Verdict)
		out.Verdict = &v
	}
	for _, st := range r.GetStepStats() {
		ss := abi.StepStats{Tokens: int(st.GetTokens()), MeanLogProb: st.GetMeanLogprob(), MinLogProb: st.GetMinLogprob()}
		if st.MeanEntropy != nil {
			h := st.GetMeanEntropy()
			ss.MeanEntropy = &h
		}
		out.StepStats = append(out.StepStats, ss)
	}
	return out
}

// FromLocalization returns l's wire form.
func FromLocalization(l *abi.Localization) *Localization {
	return &Localization{Step: int64(l.Step), Confidence: l.Confidence, Fallback: l.Fallback, Detail: l.Detail}
}

// ToLocalization returns the abi form of l.
func ToLocalization(l *Localization) abi.Localization {
	return abi.Localization{Step: int(l.GetStep()), Confidence: l.GetConfidence(), Fallback: l.GetFallback(), Detail: l.GetDetail()}
}

// FromManifest returns m's wire form.
func FromManifest(m *abi.Manifest) *Manifest {
	out := &Manifest{
		Abi: int32(m.ABI), Kind: string(m.Kind), Name: m.Name, Version: m.Version,
		Description: m.Description, Capabilities: m.Capabilities,
	}
	if m.Limits != nil {
		out.Limits = &Limits{
			MemoryMib:    int32(m.Limits.MemoryMiB),
			TimeoutMs:    int32(m.Limits.TimeoutMillis),
			MaxOutputKib: int32(m.Limits.MaxOutputKiB),
		}
	}
	return out
}

// ToManifest returns the abi form of m.
func ToManifest(m *Manifest) abi.Manifest {
	out := abi.Manifest{
		ABI: int(m.GetAbi()), Kind: abi.Kind(m.GetKind()), Name: m.GetName(), Version: m.GetVersion(),
		Description: m.GetDescription(), Capabilities: m.GetCapabilities(),
	}
	if l := m.GetLimits(); l != nil {
		out.Limits = &abi.Limits{
			MemoryMiB:     int(l.GetMemoryMib()),
			TimeoutMillis: int(l.GetTimeoutMs()),
			MaxOutputKiB:  int(l.GetMaxOutputKib()),
		}
	}
	return out
}
