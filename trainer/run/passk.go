package run

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// passAtK is the unbiased estimator of pass@k from n samples of which c
// are correct (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), computed as a
// product to stay exact for large n. It needs k <= n.
func passAtK(n, c, k int) float64 {
	if n-c < k {
		return 1
	}
	p := 1.0
	for i := n - c + 1; i <= n; i++ {
		p *= 1 - float64(k)/float64(i)
	}
	return 1 - p
}

// TaskEval is one task's evaluation.
type TaskEval struct {
	ID string `json:"id"`
	// Greedy is the greedy sample's verdict status and correctness.
	GreedyStatus  abi.Status `json:"greedy_status"`
	GreedyCorrect bool       `json:"greedy_correct"`
	// Samples counts sampled responses with a usable verdict; Correct of
	// them were right. Unusable counts the others (never scored as wrong).
	Samples  int `json:"samples"`
	Correct  int `json:"correct"`
	Unusable int `json:"unusable"`
}

// EvalResult is what `rewind eval` writes.
type EvalResult struct {
	Model    string `json:"model"`
	Dataset  string `json:"dataset"`
	Verifier string `json:"verifier"`
	// VerifierSHA256 is the verifier module's hash ("builtin" for native).
	VerifierSHA256 string `json:"verifier_sha256"`
	Tasks          int    `json:"tasks"`
	// PassAt1Greedy is the fraction of tasks whose greedy answer is right,
	// over the tasks whose greedy verdict is usable (GreedyUnusable counts
	// the others).
	PassAt1Greedy  float64 `json:"pass_at_1_greedy"`
	GreedyUnusable int     `json:"greedy_unusable"`
	// Samples per task and the sampling temperature and top-p used.
	Samples     int     `json:"samples"`
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	// PassAtK maps "pass@k" to the unbiased estimate averaged over the
	// tasks with at least k usable samples (PassAtKTasks counts them).
	PassAtK      map[string]float64 `json:"pass_at_k"`
	PassAtKTasks map[string]int     `json:"pass_at_k_tasks"`
	// Statuses counts verdict statuses over all greedy and sampled
	// responses.
	Statuses map[abi.Status]int `json:"statuses"`
	PerTask  []TaskEval         `json:"per_task"`
	WallSec  float64            `json:"wall_sec"`
}

// summarize fills the aggregate fields of r from r.PerTask for the given
// values of k (sorted, each in 1..samples).
func (r *EvalResult) summarize(ks []int) error {
	sort.Ints(ks)
	r.Tasks = len(r.PerTask)
	r.PassAtK = map[string]float64{}
	r.PassAtKTasks = map[string]int{}
	greedyOK, greedyN := 0, 0
	for _, t := range r.PerTask {
		if t.GreedyStatus.Usable() {
			greedyN++
			if t.GreedyCorrect {
				greedyOK++
			}
		} else {
			r.GreedyUnusable++
		}
	}
	if greedyN > 0 {
		r.PassAt1Greedy = float64(greedyOK) / float64(greedyN)
	}
	for _, k := range ks {
		if k < 1 || k > r.Samples {
			return fmt.Errorf("pass@%d needs 1 <= k <= samples (%d)", k, r.Samples)
		}
		key := "pass@" + strconv.Itoa(k)
		sum, n := 0.0, 0
		for _, t := range r.PerTask {
			if t.Samples >= k {
				sum += passAtK(t.Samples, t.Correct, k)
				n++
			}
		}
		r.PassAtKTasks[key] = n
		if n > 0 {
			r.PassAtK[key] = sum / float64(n)
		}
	}
	return nil
}
