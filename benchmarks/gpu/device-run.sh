#!/usr/bin/env bash
# A session's GPU work in one device call, so that the machine's start is paid once: the GPU suite (check.sh), then
# the side-by-side benchmark (side-by-side.sh) with what is left of TOTAL_S seconds (default 500). The benchmark runs
# even when a check fails: the anchor's numbers on the card and our step's profile tell what to do next either way
# (a failing check says the speed of a wrong step means nothing, and the table is read with that in mind).
# First, transformers (installed there, not here) recomputes the golden outputs that tools/reference/families_torch.py
# made for Gemma, Gemma 2, Gemma 3, Phi-3, the sliding-window families, Granite 3 (dense and its two mixtures), 4 and
# 4.0 H, OLMo 2 and 3, SmolLM3, the mixtures, gpt-oss, Qwen3.5 and Qwen3.5-MoE (text and conditional-generation;
# seconds each, on the CPU; 120 s at most).
# Then Python PEFT's add_weighted_adapter checks the adapter-mixing golden values (tools/reference/adapter_mix_torch.py).
# Everything lands under $OUT: transformers-verify.log, peft-mix-check.json/.log, check.log, check-isolated.log,
# environment.txt and side-by-side/.
#
#   device run, carry [".device/gpu"], timeout_s = TOTAL_S + 40:  benchmarks/gpu/device-run.sh
# Exit status: check.sh's.
set -uo pipefail
cd "$(dirname "$0")/../.."
TOTAL_S=${TOTAL_S:-500}
START=$(date +%s)
refs=core/src/test/resources/references
timeout 120 python3 tools/reference/verify_with_transformers.py "$refs"/{mistral,gemma,gemma2,gemma3_text,phi3,phi3_longrope,mistral_sliding,qwen2_sliding,qwen2_cls,mixtral,qwen2_moe,qwen3_moe,olmoe,gpt_oss,granite,granite4,granite4_nope,granite4_h,granite4_h_moe,granitemoe,granitemoeshared,olmo2,olmo3,smollm3,glm,glm4,ernie4_5,cohere,cohere2,exaone4,seed_oss,hunyuan_v1_dense,starcoder2,arcee,lfm2,qwen3_5,qwen3_5_vl,qwen3_5_moe,qwen3_5_moe_vl} \
    > "$OUT/transformers-verify.log" 2>&1
echo "device-run: transformers verified the family references (exit $?, $OUT/transformers-verify.log)"
# Python PEFT's own add_weighted_adapter against the adapter-mixing golden values (CPU, seconds).
timeout 60 python3 tools/reference/adapter_mix_peft_check.py peft/src/test/resources/hf-tiny/llama "$OUT/peft-mix-check.json" \
    > "$OUT/peft-mix-check.log" 2>&1
echo "device-run: PEFT's add_weighted_adapter checked the mixing golden values (exit $?, $OUT/peft-mix-check.json)"
benchmarks/gpu/check.sh
status=$?
left=$(( TOTAL_S - ($(date +%s) - START) ))
echo "device-run: check.sh took $(( $(date +%s) - START )) s (exit $status); the side-by-side gets $left s"
BUDGET_S=$left benchmarks/gpu/side-by-side.sh
exit "$status"
