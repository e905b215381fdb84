package run

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rewind-rl/rewind/internal/atomicfile"
	"github.com/rewind-rl/rewind/internal/filehash"
)

// A checkpoint is a directory checkpoints/step-NNNNNNNN holding
//
//	policy/      what engine.Policy.Save wrote (weights, optimiser, tokenizer)
//	state.json   the State below
//	SHA256SUMS   the sha256 of every other file, as sha256sum writes them
//	             (check by hand with `cd DIR && sha256sum -c SHA256SUMS`)
//
// It is built under checkpoints/.tmp-step-NNNNNNNN and renamed into place
// only when complete and synced, so a directory named step-* is always a
// whole checkpoint: a run killed while writing one leaves a .tmp-* that
// the next start deletes.
const (
	checkpointsDir = "checkpoints"
	stepPrefix     = "step-"
	tmpPrefix      = ".tmp-"
	stateFile      = "state.json"
	policySubdir   = "policy"
	sumsFile       = "SHA256SUMS"
	// damagedPrefix renames a checkpoint that failed its checksums when
	// an older intact one is resumed instead: kept for inspection, no
	// longer a step-* (so never resumed, nor counted when pruning).
	damagedPrefix = "damaged-"
)

// State is the loop's part of a checkpoint: everything besides the policy
// that a resumed run needs to continue exactly.
type State struct {
	// Step is the number of completed optimiser steps.
	Step int `json:"step"`
	// RNG is the run's random generator (math/rand/v2 PCG, binary form).
	RNG []byte `json:"rng"`
	// Data is the training sampler's cursor, opaque to the loop.
	Data json.RawMessage `json:"data"`
	// MetricsBytes and RolloutsBytes are the sizes of metrics.jsonl and
	// rollouts.jsonl after Step's lines were written and synced: a resumed
	// run truncates the files back to them.
	MetricsBytes  int64 `json:"metrics_bytes"`
	RolloutsBytes int64 `json:"rollouts_bytes"`
	// ConfigSHA256 is the hash of config.yaml; resume refuses a checkpoint
	// written under another config.
	ConfigSHA256 string `json:"config_sha256"`
	// GeneratedTokens is the run's generated tokens (all phases) over
	// steps 1..Step, the spending of run.max_generated_tokens.
	GeneratedTokens int `json:"generated_tokens"`
}

// writeCheckpoint writes a checkpoint of st atomically. save writes the
// policy into the directory it is given.
func writeCheckpoint(runDir string, st State, save func(dir string) error) (string, error) {
	root := filepath.Join(runDir, checkpointsDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s%08d", stepPrefix, st.Step)
	final := filepath.Join(root, name)
	tmp := filepath.Join(root, tmpPrefix+name)
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("checkpoint at step %d: %w", st.Step, err)
	}
	if err := save(filepath.Join(tmp, policySubdir)); err != nil {
		return fail(fmt.Errorf("save policy: %w", err))
	}
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fail(err)
	}
	if err := atomicfile.WriteFileSync(filepath.Join(tmp, stateFile), raw); err != nil {
		return fail(err)
	}
	sums, err := checksums(tmp)
	if err != nil {
		return fail(err)
	}
	if err := atomicfile.WriteFileSync(filepath.Join(tmp, sumsFile), sums); err != nil {
		return fail(err)
	}
	if err := syncTree(tmp); err != nil {
		return fail(err)
	}
	// A checkpoint of the same step (a run resumed after a crash between
	// this rename and pruning) is replaced.
	if err := discard(final); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	if err := atomicfile.SyncDir(root); err != nil {
		return "", err
	}
	return final, nil
}

// checkpoints lists the complete checkpoints, oldest first.
func checkpoints(runDir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(runDir, checkpointsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var steps []int
	for _, e := range entries {
		s, ok := strings.CutPrefix(e.Name(), stepPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			continue
		}
		steps = append(steps, n)
	}
	sort.Ints(steps)
	out := make([]string, len(steps))
	for i, n := range steps {
		out[i] = filepath.Join(runDir, checkpointsDir, fmt.Sprintf("%s%08d", stepPrefix, n))
	}
	return out, nil
}

// removeTemp deletes the temporary directories that a run killed while
// writing a checkpoint left behind. Only the process that owns the run
// may call it (a live run may be writing one).
func removeTemp(runDir string) error {
	root := filepath.Join(runDir, checkpointsDir)
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// latestCheckpoint returns the newest intact checkpoint and its state;
// path is "" when there is none. A newer checkpoint whose files do not
// match its SHA256SUMS (a flipped bit, a truncated or deleted file) is
// skipped with a warning on log and renamed damaged-step-N, so that the
// resumed run neither uses it nor prunes older ones in its favour. Only
// the process holding the run's lock may call it.
func latestCheckpoint(runDir string, log *slog.Logger) (string, State, error) {
	path, st, damaged, err := newestIntact(runDir)
	if err != nil {
		return "", State{}, err
	}
	for _, d := range damaged {
		to := filepath.Join(filepath.Dir(d.path), damagedPrefix+filepath.Base(d.path))
		log.Warn("skipping a damaged checkpoint; resuming from the newest intact one", "damaged", d.path, "reason", d.err, "moved_to", to, "resuming", path)
		if err := os.RemoveAll(to); err != nil {
			return "", State{}, err
		}
		if err := os.Rename(d.path, to); err != nil {
			return "", State{}, err
		}
	}
	return path, st, nil
}

// damagedCheckpoint is a checkpoint that failed verification, and why.
type damagedCheckpoint struct {
	path string
	err  error
}

// newestIntact finds the newest checkpoint that passes readCheckpoint
// and lists the newer ones that failed it; it changes nothing. When
// there are checkpoints but none is intact it returns an error naming
// each.
func newestIntact(runDir string) (path string, st State, damaged []damagedCheckpoint, err error) {
	all, err := checkpoints(runDir)
	if err != nil || len(all) == 0 {
		return "", State{}, nil, err
	}
	var errs []error
	for i := len(all) - 1; i >= 0; i-- {
		st, err := readCheckpoint(all[i])
		if err == nil {
			return all[i], st, damaged, nil
		}
		damaged = append(damaged, damagedCheckpoint{all[i], err})
		errs = append(errs, err)
	}
	return "", State{}, nil, fmt.Errorf("every checkpoint of %s is damaged; restore the files from a copy, or start a new run:\n%w", runDir, errors.Join(errs...))
}

// readCheckpoint verifies a checkpoint's files against its SHA256SUMS and
// reads its state. A checkpoint without SHA256SUMS (written before
// checkpoints carried checksums) is read unverified.
func readCheckpoint(path string) (State, error) {
	if err := verifySums(path); err != nil {
		return State{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	var st State
	raw, err := os.ReadFile(filepath.Join(path, stateFile))
	if err != nil {
		return State{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return State{}, fmt.Errorf("checkpoint %s: %s: %w", path, stateFile, err)
	}
	return st, nil
}

// checksums renders the sha256 of every file under root, sorted by path,
// in sha256sum's format.
func checksums(root string) ([]byte, error) {
	var b bytes.Buffer
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		sum, _, err := filehash.SHA256(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, filepath.ToSlash(rel))
		return nil
	})
	return b.Bytes(), err
}

// verifySums checks every file SHA256SUMS lists in dir.
func verifySums(dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, sumsFile))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(filepath.Join(dir, stateFile)); serr != nil {
			return fmt.Errorf("no %s and no %s", sumsFile, stateFile)
		}
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		want, rel, ok := strings.Cut(line, "  ")
		if !ok || len(want) != 64 || rel == "" {
			return fmt.Errorf("%s line %d: not \"SHA256  PATH\"", sumsFile, i+1)
		}
		got, _, err := filehash.SHA256(filepath.Join(dir, filepath.FromSlash(rel)))
		switch {
		case errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("%s: missing", rel))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", rel, err))
		case got != want:
			errs = append(errs, fmt.Errorf("%s: sha256 %s, but %s records %s", rel, got, sumsFile, want))
		}
	}
	return errors.Join(errs...)
}

// discard deletes a checkpoint without ever leaving a partly deleted
// directory under its step-* name: it is first renamed to a temporary
// name (atomic), then removed. A kill in between leaves a .tmp-* that
// removeTemp deletes.
func discard(path string) error {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	tmp := filepath.Join(filepath.Dir(path), tmpPrefix+"del-"+filepath.Base(path))
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.Rename(path, tmp); err != nil {
		return err
	}
	return os.RemoveAll(tmp)
}

// pruneCheckpoints keeps the newest keep checkpoints.
func pruneCheckpoints(runDir string, keep int) error {
	all, err := checkpoints(runDir)
	if err != nil {
		return err
	}
	for len(all) > keep {
		if err := discard(all[0]); err != nil {
			return err
		}
		all = all[1:]
	}
	return nil
}

// syncTree fsyncs every file and directory under root, so that the
// rename that publishes root cannot overtake its contents.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return atomicfile.SyncDir(p)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
