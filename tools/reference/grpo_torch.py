"""Golden losses, metrics and LoRA gradients of GRPO, for GrpoFixtureTest.

transformers and TRL cannot be installed here (no PyPI). This re-implements, in plain PyTorch (float32, CPU, torch
1.13), what TRL's GRPOTrainer computes from a generation batch (huggingface/trl f2cd57710, trl/trainer/grpo_trainer.py:
_generate_single_turn, _generate_and_score_completions, _compute_loss; trl/trainer/utils.py: nanstd), as read there.
Sampling does not enter: the completions (token ids) and the reward functions' scores are FIXED here.

  * completions: everything after the first EOS is masked (TRL cuts the ids there); a completion is truncated when its
    last kept token is not EOS (nor pad); mask_truncated_completions zeroes a truncated completion's mask;
  * rewards = sum over functions of reward_weights[f] * score (float32); advantages = rewards - mean of the group
    (num_generations consecutive completions), divided by (std + 1e-4) with std the group's ("group") or the whole
    batch's ("batch") unbiased standard deviation, or not divided ("none"); frac_reward_zero_std = mean of
    isclose(std, 0);
  * per token: ratio = exp(logp - logp.detach()) (num_iterations 1: the old policy is the policy),
    loss = -min(ratio A, clamp(ratio, 1 - epsilon, 1 + epsilon_high) A) + beta (exp(ref - logp) - (ref - logp) - 1);
    ref = the base model without the LoRA adapter (disable_adapter);
  * num_iterations 2 (ITERATION_CASES): the old per-token log-probabilities are taken once, under no_grad, with the
    policy that generated (base/ + lora/); the first step's loss is backpropagated and the LoRA tensors take one plain
    gradient step (A, B -= ITERATION_LR * grad: a stand-in for the optimizer, large enough that the ratios leave
    [1 - epsilon, 1 + epsilon_high]); the case's loss, clip metrics and gradients are the SECOND step's, on the same
    completions, advantages and micro-batches with ratio = exp(logp - old logp). The moved LoRA tensors are written
    to grpo_iteration_weights.safetensors ("<case>/<adapter tensor name>");
  * the generation batch is cut into micro-batches (gradient accumulation); per micro-batch
    grpo: mean over rows of (sum(l m) / max(1, sum m)) / GA; bnpo: sum(l m) / max(1, sum m) / GA;
    dr_grpo: sum(l m) / (rows * max_completion_length) / GA; dapo: sum(l m) / max(1, tokens of the whole batch);
    the step's loss is their sum, its gradient the sum of theirs;
  * logged: kl, clip_ratio/low_mean, high_mean, region_mean: per micro-batch masked means, averaged over the
    micro-batches; reward, reward_std, rewards/<f>/mean and /std, frac_reward_zero_std, completions/mean_length,
    min_length, max_length, clipped_ratio, mean/min/max_terminated_length (0 when every completion was truncated)
    over the generation batch.

The model is peft/src/test/resources/train/llama: base/ with the LoRA adapter lora/ (orpo_simpo_torch.py's merged
weights, checked there against transformers + PEFT; checked here again against dpo.json, policy and reference).

    /usr/bin/python3 tools/reference/grpo_torch.py
        writes peft/src/test/resources/train/llama/grpo.json (the batch and, per case, config, loss, metrics,
        advantages), grpo_grads.safetensors ("<case>/<adapter tensor name>": d loss / d that tensor) and
        grpo_iteration_weights.safetensors (the LoRA tensors of the num_iterations cases' second step).
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import families_torch as ft  # noqa: E402
import orpo_simpo_torch as orpo  # noqa: E402

FOLDER = orpo.FOLDER
PAD, EOS = 0, 2
NUM_GENERATIONS, MAX_COMPLETION_LENGTH = 4, 6
REWARD_NAMES, REWARD_WEIGHTS = ["format", "length"], [1.0, 0.5]
# one micro-batch per prompt's group: two micro-batches of 4 completions, the generation batch of one step
MICRO_BATCHES = [[0], [1]]
BASE = {"beta": 0.0, "epsilon": 0.2, "epsilon_high": 0.2, "scale_rewards": "group", "mask_truncated_completions": False}
CASES = {
    "grpo_beta0": {"loss_type": "grpo"},
    "bnpo_beta0": {"loss_type": "bnpo"},
    "dr_grpo_beta0": {"loss_type": "dr_grpo"},
    "dapo_beta0": {"loss_type": "dapo"},
    "grpo_beta0.04": {"loss_type": "grpo", "beta": 0.04},
    "bnpo_beta0.04": {"loss_type": "bnpo", "beta": 0.04},
    "dr_grpo_beta0.04": {"loss_type": "dr_grpo", "beta": 0.04},
    "dapo_beta0.04": {"loss_type": "dapo", "beta": 0.04},
    "dapo_batch_scaled_masked": {"loss_type": "dapo", "beta": 0.04, "scale_rewards": "batch",
                                 "mask_truncated_completions": True, "epsilon_high": 0.28},
    "dr_grpo_unscaled": {"loss_type": "dr_grpo", "beta": 0.1, "scale_rewards": "none"},
}
GRADIENT_CASES = ["dapo_beta0", "grpo_beta0.04", "bnpo_beta0.04", "dr_grpo_beta0.04", "dapo_beta0.04",
                  "dapo_batch_scaled_masked", "dr_grpo_unscaled"]
# num_iterations 2: the second step of a generation, its ratio against the generating policy, clipped on both sides
ITERATION_CASES = {
    "dapo_beta0.04_mu2_clipped": {"loss_type": "dapo", "beta": 0.04, "epsilon": 0.05, "epsilon_high": 0.08,
                                  "num_iterations": 2},
    "grpo_beta0_mu2_clipped": {"loss_type": "grpo", "epsilon": 0.05, "epsilon_high": 0.05, "num_iterations": 2},
}
ITERATION_LR = 2.0


def batch():
    """Two prompts (dpo.json's first two) with four completions each: ids in [3, 256), some ending with EOS, one with
    tokens after its EOS (masked), the others cut at MAX_COMPLETION_LENGTH or shorter; and two functions' scores."""
    with open(os.path.join(FOLDER, "dpo.json")) as f:
        prompts = [e["prompt"] for e in json.load(f)["examples"][:2]]
    g = torch.Generator().manual_seed(31)
    completions = []
    for i in range(len(prompts) * NUM_GENERATIONS):
        n = int(torch.randint(2, MAX_COMPLETION_LENGTH + 1, (1,), generator=g))
        completions.append(torch.randint(3, 256, (n,), generator=g).tolist())
    completions[0][-1] = EOS          # ends with EOS
    completions[2][1] = EOS           # EOS inside: what follows is masked
    completions[5] = completions[5][:1] + [EOS]
    completions[6][-1] = EOS
    scores = [[1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0],        # "format"
              [0.5, -1.25, 2.0, 0.75, 3.0, -0.5, 1.5, 0.25]]   # "length"
    return prompts, completions, scores


def kept(completion):
    """TRL's cut after the first EOS."""
    return completion[:completion.index(EOS) + 1] if EOS in completion else completion


def advantages_of(scores, case):
    per_func = torch.tensor(scores, dtype=torch.float32).T  # (B, F)
    rewards = (per_func * torch.tensor(REWARD_WEIGHTS).unsqueeze(0)).sum(1)
    grouped = rewards.view(-1, NUM_GENERATIONS)
    mean = grouped.mean(1).repeat_interleave(NUM_GENERATIONS)
    if case["scale_rewards"] == "batch":
        std = rewards.std().expand_as(rewards)
    else:
        std = grouped.std(1).repeat_interleave(NUM_GENERATIONS)
    advantages = rewards - mean
    if case["scale_rewards"] != "none":
        advantages = advantages / (std + 1e-4)
    zero_std = torch.isclose(std, torch.zeros_like(std))
    metrics = {"reward": float(rewards.mean()), "reward_std": float(rewards.std()),
               "frac_reward_zero_std": float(zero_std.float().mean())}
    for f, name in enumerate(REWARD_NAMES):
        metrics["rewards/" + name + "/mean"] = float(per_func[:, f].mean())
        metrics["rewards/" + name + "/std"] = float(per_func[:, f].std())
    return advantages, metrics


def rows_of(prompts, completions, indices, mask_truncated):
    """Right-padded prompt + completion rows of a micro-batch's completions: ids, attention mask, the completion's
    loss mask at the positions that predict its tokens (logits[t - 1] predicts token t), and the truncated flags."""
    items = []
    for c in indices:
        ids = kept(completions[c])
        truncated = ids[-1] not in (EOS, PAD)
        items.append((prompts[c // NUM_GENERATIONS], ids, truncated))
    length = max(len(p) + len(c) for p, c, _ in items)
    ids = torch.full((len(items), length), PAD, dtype=torch.long)
    attention = torch.zeros((len(items), length), dtype=torch.long)
    loss_mask = torch.zeros((len(items), length - 1))
    for i, (prompt, completion, truncated) in enumerate(items):
        seq = prompt + completion
        ids[i, :len(seq)] = torch.tensor(seq)
        attention[i, :len(seq)] = 1
        if not (mask_truncated and truncated):
            loss_mask[i, len(prompt) - 1:len(seq) - 1] = 1
    return ids, attention, loss_mask


def token_logps(model_config, weights, ids, attention):
    logits = ft.CausalLM(model_config, weights).forward(ids, attention_mask=attention)[:, :-1]
    return torch.gather(logits.log_softmax(-1), 2, ids[:, 1:].unsqueeze(2)).squeeze(2)


def run_case(case, model_config, base, adapter, adapter_config, prompts, completions, scores, old_logps=None):
    """One step's loss, metrics, advantages and LoRA gradients; old_logps: per micro-batch, the generating policy's
    per-token log-probabilities (None: the old policy is the policy)."""
    weights, leaves = orpo.merged_weights(base, adapter, adapter_config)
    advantages, metrics = advantages_of(scores, case)
    per_mb = [[p * NUM_GENERATIONS + k for p in mb for k in range(NUM_GENERATIONS)] for mb in MICRO_BATCHES]
    batches = [rows_of(prompts, completions, idx, case["mask_truncated_completions"]) for idx in per_mb]
    num_items = sum(float(m.sum()) for _, _, m in batches)
    ga = len(batches)
    total = torch.zeros(())
    kls, lows, highs = [], [], []
    for at, (idx, (ids, attention, mask)) in enumerate(zip(per_mb, batches)):
        logp = token_logps(model_config, weights, ids, attention)
        a = advantages[idx].unsqueeze(1)
        ratio = torch.exp(logp - (logp.detach() if old_logps is None else old_logps[at]))
        clipped = torch.clamp(ratio, 1 - case["epsilon"], 1 + case["epsilon_high"])
        per_token = -torch.min(ratio * a, clipped * a)
        if case["beta"] != 0:
            with torch.no_grad():
                ref = token_logps(model_config, base, ids, attention)
            kl = torch.exp(ref - logp) - (ref - logp) - 1
            per_token = per_token + case["beta"] * kl
            kls.append(float((kl * mask).sum() / mask.sum().clamp(min=1.0)))
        if case["loss_type"] == "grpo":
            loss = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / ga
        elif case["loss_type"] == "bnpo":
            loss = (per_token * mask).sum() / mask.sum().clamp(min=1.0) / ga
        elif case["loss_type"] == "dr_grpo":
            loss = (per_token * mask).sum() / (per_token.size(0) * MAX_COMPLETION_LENGTH) / ga
        else:
            loss = (per_token * mask).sum() / max(num_items, 1.0)
        total = total + loss
        low = ((ratio < 1 - case["epsilon"]) & (a < 0)).float()
        high = ((ratio > 1 + case["epsilon_high"]) & (a > 0)).float()
        lows.append(float((low * mask).sum() / mask.sum().clamp(min=1.0)))
        highs.append(float((high * mask).sum() / mask.sum().clamp(min=1.0)))
    total.backward()  # the step's gradient: the sum of the micro-batches' (they share the merged weights' graph)
    if kls:
        metrics["kl"] = sum(kls) / len(kls)
    metrics["clip_ratio/low_mean"] = sum(lows) / len(lows)
    metrics["clip_ratio/high_mean"] = sum(highs) / len(highs)
    metrics["clip_ratio/region_mean"] = metrics["clip_ratio/low_mean"] + metrics["clip_ratio/high_mean"]
    lengths = torch.tensor([len(kept(c)) for c in completions], dtype=torch.float32)
    truncated = torch.tensor([kept(c)[-1] not in (EOS, PAD) for c in completions])
    metrics.update({"completions/mean_length": float(lengths.mean()), "completions/min_length": float(lengths.min()),
                    "completions/max_length": float(lengths.max()),
                    "completions/clipped_ratio": float(truncated.float().mean())})
    terminated = lengths[~truncated] if bool((~truncated).any()) else torch.zeros(1)
    metrics.update({"completions/mean_terminated_length": float(terminated.mean()),
                    "completions/min_terminated_length": float(terminated.min()),
                    "completions/max_terminated_length": float(terminated.max())})
    grads = {name: leaf.grad.detach().clone() for name, leaf in leaves.items()}
    return float(total), metrics, advantages.tolist(), grads


def run_iterations(case, model_config, base, adapter, adapter_config, prompts, completions, scores):
    """num_iterations 2: the second step of one generation (see the module's docstring); also the moved LoRA tensors."""
    weights, _ = orpo.merged_weights(base, adapter, adapter_config)
    per_mb = [[p * NUM_GENERATIONS + k for p in mb for k in range(NUM_GENERATIONS)] for mb in MICRO_BATCHES]
    old_logps = []
    with torch.no_grad():
        for idx in per_mb:
            ids, attention, _ = rows_of(prompts, completions, idx, case["mask_truncated_completions"])
            old_logps.append(token_logps(model_config, weights, ids, attention))
    _, _, _, first_grads = run_case(case, model_config, base, adapter, adapter_config, prompts, completions, scores,
                                    old_logps)
    moved = {name: (tensor - ITERATION_LR * first_grads[name]).detach() for name, tensor in adapter.items()}
    loss, metrics, advantages, grads = run_case(case, model_config, base, moved, adapter_config, prompts, completions,
                                                scores, old_logps)
    assert metrics["clip_ratio/low_mean"] > 0 and metrics["clip_ratio/high_mean"] > 0, (case, metrics)
    return loss, metrics, advantages, grads, moved


def check_reference(model_config, base, adapter, adapter_config):
    """The policy (base + merged LoRA) and the reference (base alone) against dpo.json's log-probabilities, which
    transformers and PEFT computed with the adapter on and disabled."""
    with open(os.path.join(FOLDER, "dpo.json")) as f:
        pairs = json.load(f)["examples"][:4]
    ids, mask, labels = orpo.concatenated_batch(pairs)
    weights, _ = orpo.merged_weights(base, adapter, adapter_config)
    n = len(pairs)
    worst = 0.0
    with torch.no_grad():
        for w, key in ((weights, "policy"), (base, "reference")):
            logits = ft.CausalLM(model_config, w).forward(ids, attention_mask=mask)
            sums = orpo.average_logps(logits, labels) * (labels[:, 1:] != -100).sum(-1)
            expected = torch.tensor([p[key + "_chosen_logp"] for p in pairs] + [p[key + "_rejected_logp"] for p in pairs])
            worst = max(worst, float((sums - expected).abs().max()))
    print(f"policy and reference log-probabilities against transformers + PEFT (dpo.json): largest difference {worst:.2e}")
    if worst > 1e-4:
        sys.exit(f"the decoder differs from dpo.json's log-probabilities by {worst}; not writing")


def main():
    torch.set_default_dtype(torch.float32)
    with open(os.path.join(FOLDER, "base", "config.json")) as f:
        model_config = json.load(f)
    with open(os.path.join(FOLDER, "lora", "adapter_config.json")) as f:
        adapter_config = json.load(f)
    base = ft.read_safetensors(os.path.join(FOLDER, "base", "model.safetensors"))
    adapter = ft.read_safetensors(os.path.join(FOLDER, "lora", "adapter_model.safetensors"))
    check_reference(model_config, base, adapter, adapter_config)
    prompts, completions, scores = batch()
    out = {"source": "tools/reference/grpo_torch.py: TRL GRPOTrainer's advantages and loss (huggingface/trl f2cd57710) "
                     "in torch " + torch.__version__ + ", float32, on base/ + lora/; reference = base/",
           "pad_token_id": PAD, "eos_token_id": EOS, "num_generations": NUM_GENERATIONS,
           "max_completion_length": MAX_COMPLETION_LENGTH, "micro_batches": MICRO_BATCHES,
           "reward_names": REWARD_NAMES, "reward_weights": REWARD_WEIGHTS,
           "prompts": prompts, "completions": completions, "scores": scores, "cases": {}}
    grads = {}
    moved_weights = {}
    for name, overrides in CASES.items():
        case = dict(BASE, **overrides)
        loss, metrics, advantages, case_grads = run_case(case, model_config, base, adapter, adapter_config,
                                                         prompts, completions, scores)
        largest = max(float(g.abs().max()) for g in case_grads.values())
        assert math.isfinite(loss) and largest > 0, name
        if name in GRADIENT_CASES:
            for tensor_name, g in case_grads.items():
                grads[name + "/" + tensor_name] = g
        out["cases"][name] = {"config": case, "loss": loss, "metrics": metrics, "advantages": advantages,
                              "gradients": name in GRADIENT_CASES}
        print(f"{name}: loss {loss:.7f}, largest |grad| {largest:.3e}, kl {metrics.get('kl')}")
    for name, overrides in ITERATION_CASES.items():
        case = dict(BASE, **overrides)
        loss, metrics, advantages, case_grads, moved = run_iterations(case, model_config, base, adapter, adapter_config,
                                                                      prompts, completions, scores)
        for tensor_name in adapter:
            grads[name + "/" + tensor_name] = case_grads[tensor_name]
            moved_weights[name + "/" + tensor_name] = moved[tensor_name]
        out["cases"][name] = {"config": case, "loss": loss, "metrics": metrics, "advantages": advantages,
                              "gradients": True}
        print(f"{name}: second step's loss {loss:.7f}, clip low {metrics['clip_ratio/low_mean']:.4f}, "
              f"high {metrics['clip_ratio/high_mean']:.4f}")
    with open(os.path.join(FOLDER, "grpo.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    ft.write_safetensors(os.path.join(FOLDER, "grpo_grads.safetensors"), grads)
    ft.write_safetensors(os.path.join(FOLDER, "grpo_iteration_weights.safetensors"), moved_weights)


if __name__ == "__main__":
    main()
