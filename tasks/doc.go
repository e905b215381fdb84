// Package tasks holds Rewind's procedural reasoning benchmarks: task
// families whose every solution step can be checked against the problem.
//
// A family (see Families) has a deterministic generator with a difficulty
// knob, a reference solver that writes short steps in the format
//
//	Step 1: 47+385=432</thought>Step 2: 432+29=\boxed{461}</thought>
//
// and a process verifier (Verify) that grades the final answer and reports
// the first wrong step. The solver can inject realistic slips (a dropped
// carry, a digit off by one, a sign error) that propagate consistently
// through the later steps; the warm start (trainer/sft) turns such chains
// into demonstrations and localization examples.
//
// The package depends only on the standard library and sdk/abi, so the
// same code runs natively (plugins/procverify) and inside the Go Wasm
// verifier (examples/benchmarks/verifier). Texts are kept short and
// regular because the models trained on them are tiny character-level
// transformers with a context of a few hundred characters.
//
// # Step semantics
//
// A step's claimed value is the text after its last '=' (the content of a
// \boxed{} when present), whitespace ignored; integers and fractions are
// compared by value, other expressions (such as 5x-15) as text. Step k of
// a response is correct when its claimed value equals the claimed value of
// step k of the reference solution computed from the problem, and it holds
// a \boxed{} exactly when it is the reference's last step. A step that
// correctly continues from an earlier wrong value therefore counts as
// wrong too: its value is not what a correct step computes from the
// problem. FirstError is the first wrong step, the step where a derailing
// slip originates, which is what the paper's localizer must find.
package tasks
