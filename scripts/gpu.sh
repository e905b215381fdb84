#!/usr/bin/env bash
# The XLA engine's GPU checks (issue 6, item 5), in two halves.
#
#   scripts/gpu.sh build        on the machine with Go (this one): builds
#                               .gpu/rewind and .gpu/xla.test (cgo, no
#                               OpenBLAS). .gpu/ is git-ignored: carry it.
#                               The reference data the tests read is
#                               committed (testdata/hf) and travels with
#                               the checkout.
#   scripts/gpu.sh run [STEP]   on the GPU machine (no Go, no network), from
#                               the repository root. STEP is ref, bench,
#                               torch or all (default). Results go to $OUT
#                               (or ./gpu-out):
#       card.txt   nvidia-smi's name, memory and clocks; the PJRT plugin used
#       ref.txt    the xla package's numerical tests (transformers reference
#                  logits and gradients, CPU-engine agreement, bf16, LoRA)
#                  run through XLA on the GPU instead of the pure-Go backend
#       xla.txt    rewind bench xla: training tok/s, MFU, sampled tok/s at
#                  batch 64 and 256, every graph's compile time, then JSON
#       torch.txt  scripts/bench_torch.py: the same workload in transformers
#
# Environment: PYTHON (python3), PJRT_PLUGIN (default: JAX's CUDA 13 plugin
# under python's site-packages), PEAK_TFLOPS (989: H100 SXM dense bf16),
# XLA_ARGS (more flags for rewind bench xla, e.g. "--set token_budget=4096").
# See docs/bench/xla.md.
set -uo pipefail
cd "$(dirname "$0")/.."

build() {
	set -e
	mkdir -p .gpu
	CGO_ENABLED=1 go build -tags noopenblas -trimpath -ldflags='-s -w' -o .gpu/rewind ./cmd/rewind
	CGO_ENABLED=1 go test -c -tags noopenblas -trimpath -ldflags='-s -w' -o .gpu/xla.test ./trainer/engine/xla
	du -sh .gpu
}

run() {
	local step=${1:-all}
	local out=${OUT:-$PWD/gpu-out}
	mkdir -p "$out"
	local py=${PYTHON:-python3}
	local sp
	sp=$("$py" -c 'import site; print(site.getsitepackages()[0])') || {
		echo "gpu.sh: $py has no site-packages; set PYTHON" >&2
		return 1
	}
	local plugin=${PJRT_PLUGIN:-$sp/jax_plugins/xla_cuda13/xla_cuda_plugin.so}
	if [[ ! -f $plugin ]]; then
		echo "gpu.sh: no PJRT plugin at $plugin; set PJRT_PLUGIN to JAX's xla_cuda_plugin.so" >&2
		return 1
	fi
	local libs
	libs=$(ls -d "$sp"/nvidia/*/lib 2>/dev/null | paste -sd:)
	export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	local peak=${PEAK_TFLOPS:-989}
	local rc=0
	{
		nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv
		echo "pjrt plugin: $plugin"
		"$py" -c 'import jax, torch, transformers; print("jax", jax.__version__, "torch", torch.__version__, "transformers", transformers.__version__)'
	} 2>&1 | tee "$out/card.txt"
	if [[ $step == ref || $step == all ]]; then
		local root=$PWD
		# The test binary has no source paths (-trimpath): run from its
		# package directory, it finds testdata/hf from the go.mod above.
		(cd trainer/engine/xla && REWIND_TEST_PJRT_PLUGIN="$plugin" \
			"$root/.gpu/xla.test" -test.v -test.count=1 \
			-test.run 'TestConformance|TestMatchesCPUEngine|TestMicroBatches|TestLoRA|TestBFloat16|TestCompileStats|TestBenchSmoke|TestContinuousBatching|TestForwardWeightsCache') \
			2>&1 | tee "$out/ref.txt" || rc=1
	fi
	if [[ $step == bench || $step == all ]]; then
		.gpu/rewind bench xla --backend pjrt --pjrt-plugin "$plugin" --compute-dtype bfloat16 \
			--train-batch 8 --train-len 1024 --train-steps 10 --sample-batch 64,256 \
			--prompt-len 64 --new-tokens 256 --peak-tflops "$peak" ${XLA_ARGS:-} --json 2>&1 | tee "$out/xla.txt" || rc=1
	fi
	if [[ $step == torch || $step == all ]]; then
		PYTHONUNBUFFERED=1 "$py" scripts/bench_torch.py --train-batch 8 --train-len 1024 --train-steps 10 \
			--sample-batch 64,256 --prompt-len 64 --new-tokens 256 --peak-tflops "$peak" 2>&1 | tee "$out/torch.txt" || rc=1
	fi
	return $rc
}

case ${1:-} in
build) build ;;
run) run "${2:-all}" ;;
*)
	awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2
	exit 2
	;;
esac
