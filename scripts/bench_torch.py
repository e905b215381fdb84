#!/usr/bin/env python3
"""PyTorch / transformers reference for `rewind bench xla` (docs/bench/xla.md).

Randomly initialised Qwen2-0.5B shape (hidden 896, 24 layers, 14 heads, 2 kv
heads, vocab 151936, tied head), bfloat16 on one CUDA GPU:

  training: AdamW (fused) steps on batch x seq random tokens, causal-LM loss,
            grad clipping at 1.0; tokens/s and MFU with the same FLOP count
            as the Go benchmark (6 * params + 12 * layers * heads * head_dim *
            seq per token) against --peak-tflops (H100 SXM dense bf16: 989);
  sampling: model.generate(do_sample=True, temperature=1, top_k=0) with
            --prompt-len random prompt tokens and exactly --new-tokens new
            tokens per request, for each --sample-batch.

Needs: torch, transformers (tested against transformers 5.x / torch 2.11).
Run it in the same session as the Go benchmark, on the same GPU.
"""
import argparse
import json
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-batch", type=int, default=8)
    ap.add_argument("--train-len", type=int, default=1024)
    ap.add_argument("--train-steps", type=int, default=10)
    ap.add_argument("--sample-batch", default="64,256")
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    ap.add_argument("--attn", default="sdpa", help="attn_implementation: sdpa, eager or flash_attention_2")
    ap.add_argument("--skip-train", action="store_true")
    args = ap.parse_args()

    torch.manual_seed(1)
    cfg = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                      num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                      rope_theta=1e6, rms_norm_eps=1e-6, tie_word_embeddings=True)
    dev = "cuda"
    model = Qwen2ForCausalLM._from_config(cfg, torch_dtype=torch.bfloat16, attn_implementation=args.attn).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    L, H, Dh = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "params": n_params}
    import transformers
    res["transformers"] = transformers.__version__

    if not args.skip_train:
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01, fused=True)
        ids = torch.randint(0, cfg.vocab_size, (args.train_batch, args.train_len), device=dev)

        def step():
            out = model(input_ids=ids, labels=ids)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            return out.loss

        step()  # warm-up
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(args.train_steps):
            loss = step()
        torch.cuda.synchronize()
        el = time.perf_counter() - t0
        tok_s = args.train_steps * args.train_batch * args.train_len / el
        flops_tok = 6 * n_params + 12 * L * H * Dh * args.train_len
        res["train_tok_s"] = tok_s
        res["train_step_s"] = el / args.train_steps
        res["mfu"] = tok_s * flops_tok / (args.peak_tflops * 1e12)
        res["loss"] = float(loss)
        print(f"torch training: {tok_s:.0f} tokens/s, {1000 * el / args.train_steps:.1f} ms/step, MFU {100 * res['mfu']:.1f}%", flush=True)
        del opt
        model.zero_grad(set_to_none=True)
        torch.cuda.empty_cache()

    model.eval()
    res["sample_tok_s"] = {}
    for b in [int(x) for x in args.sample_batch.split(",")]:
        prompt = torch.randint(0, cfg.vocab_size, (b, args.prompt_len), device=dev)
        kw = dict(do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=args.new_tokens,
                  min_new_tokens=args.new_tokens, pad_token_id=0, eos_token_id=None)
        with torch.no_grad():
            model.generate(prompt, **kw)  # warm-up
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = model.generate(prompt, **kw)
            torch.cuda.synchronize()
        el = time.perf_counter() - t0
        n = (out.shape[1] - args.prompt_len) * b
        res["sample_tok_s"][b] = n / el
        print(f"torch generate batch {b}: {n} new tokens in {el:.2f} s: {n / el:.0f} tokens/s", flush=True)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
