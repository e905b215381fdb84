// Command hostile is the process-plugin fixture of the grpchost tests: a
// verifier that misbehaves on request. One binary covers every case so that
// TestMain builds it once.
//
// At start it reads HOSTILE_DIR/starts (a counter it increments) and picks
// its start behaviour from the comma-separated HOSTILE_START list by that
// count (the last entry repeats): "ok" serves; "exit" exits with status 3
// before the handshake; "garbage" prints a line that is not a handshake;
// "silent" never prints a handshake. The option manifest_timeout_ms (in
// REWIND_PLUGIN_OPTIONS) becomes the manifest's limits.timeout_ms.
//
// Per call, the response text picks the behaviour: "crash" exits the process
// mid-call; "hang" sleeps for an hour ignoring cancellation; "block" waits
// for the call's cancellation; "blocked:N" answers (score 1) once N "block"
// calls are waiting in this process, so a test knows its calls reached the
// plugin without sleeping on a guess; "error" returns an error; "panic" panics;
// "options" returns its options (serve.Options) as detail; "big:N" returns
// a detail of N bytes; "score:X" returns score X; "nostatus" returns a
// verdict without a status; "first_error:N" returns first_error N; "pid"
// returns the process id as detail; "crashafter:N" answers (score 1) the
// first N-1 calls of the process and exits on call N, 100 ms later so that
// those answers reach the host; "child" starts a
// child process (sleep 1h) and returns its pid as detail; anything else is
// graded by exact match against the task's answer (a JSON string).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/serve"
)

type hostile struct{}

// calls counts the process's calls, for crashafter.
var calls atomic.Int64

// blocking counts the "block" calls waiting in this process; arrived is
// broadcast when it grows, for "blocked:N".
var (
	blockMu  sync.Mutex
	arrived  = sync.NewCond(&blockMu)
	blocking int
)

func (hostile) Verify(ctx context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	r := req.Response
	n := calls.Add(1)
	switch {
	case strings.HasPrefix(r, "crashafter:"):
		k, _ := strconv.ParseInt(r[len("crashafter:"):], 10, 64)
		if n >= k {
			time.Sleep(100 * time.Millisecond) // let the answers already given reach the host
			os.Exit(8)
		}
		return abi.Verdict{Status: abi.StatusOK, Score: 1}, nil
	case r == "child":
		cmd := exec.Command("sleep", "3600")
		if err := cmd.Start(); err != nil {
			return abi.Verdict{}, err
		}
		return abi.Verdict{Status: abi.StatusOK, Detail: strconv.Itoa(cmd.Process.Pid)}, nil
	case r == "crash":
		os.Exit(7)
	case r == "hang":
		time.Sleep(time.Hour)
	case r == "block":
		blockMu.Lock()
		blocking++
		arrived.Broadcast()
		blockMu.Unlock()
		<-ctx.Done()
		return abi.Verdict{}, ctx.Err()
	case strings.HasPrefix(r, "blocked:"):
		k, _ := strconv.Atoi(r[len("blocked:"):])
		blockMu.Lock()
		for blocking < k {
			arrived.Wait()
		}
		blockMu.Unlock()
		return abi.Verdict{Status: abi.StatusOK, Score: 1}, nil
	case r == "error":
		return abi.Verdict{}, errors.New("boom")
	case r == "panic":
		panic("hostile panic")
	case r == "options":
		var raw json.RawMessage
		if _, err := serve.Options(&raw); err != nil {
			return abi.Verdict{}, err
		}
		return abi.Verdict{Status: abi.StatusOK, Detail: string(raw)}, nil
	case r == "pid":
		return abi.Verdict{Status: abi.StatusOK, Detail: strconv.Itoa(os.Getpid())}, nil
	case strings.HasPrefix(r, "big:"):
		n, _ := strconv.Atoi(r[4:])
		return abi.Verdict{Status: abi.StatusOK, Detail: strings.Repeat("x", n)}, nil
	case strings.HasPrefix(r, "score:"):
		s, _ := strconv.ParseFloat(r[6:], 64)
		return abi.Verdict{Status: abi.StatusOK, Score: s}, nil
	case r == "nostatus":
		return abi.Verdict{Score: 1}, nil
	case strings.HasPrefix(r, "first_error:"):
		n, _ := strconv.Atoi(r[len("first_error:"):])
		return abi.Verdict{Status: abi.StatusOK, FirstError: &n}, nil
	}
	var want string
	if err := json.Unmarshal(req.Task.Answer, &want); err != nil {
		return abi.Verdict{Status: abi.StatusInvalid, Detail: "answer is not a JSON string"}, nil
	}
	if r == want {
		return abi.Verdict{Status: abi.StatusOK, Score: 1}, nil
	}
	return abi.Verdict{Status: abi.StatusOK}, nil
}

// startCount increments and returns the start counter in dir (0-based).
func startCount(dir string) int {
	if dir == "" {
		return 0
	}
	path := filepath.Join(dir, "starts")
	b, _ := os.ReadFile(path)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := os.WriteFile(path, []byte(strconv.Itoa(n+1)), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(4)
	}
	return n
}

func main() {
	modes := strings.Split(os.Getenv("HOSTILE_START"), ",")
	n := startCount(os.Getenv("HOSTILE_DIR"))
	mode := modes[min(n, len(modes)-1)]
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "hostile: exiting at start as asked")
		os.Exit(3)
	case "garbage":
		fmt.Println("Welcome to hostile! This is not a handshake.")
		time.Sleep(time.Hour)
	case "silent":
		time.Sleep(time.Hour)
	}
	// The option manifest_timeout_ms puts that limit in the manifest, for
	// the tests of manifest limits.
	var opts struct {
		TimeoutMS int `json:"manifest_timeout_ms"`
	}
	m := abi.Manifest{Name: "hostile", Version: "1"}
	if _, err := serve.Options(&opts); err == nil && opts.TimeoutMS > 0 {
		m.Limits = &abi.Limits{TimeoutMillis: opts.TimeoutMS}
	}
	serve.Verifier(m, hostile{})
}
