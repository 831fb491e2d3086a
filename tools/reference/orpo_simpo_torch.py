"""Golden losses, metrics and LoRA gradients of ORPO and SimPO, for ReferenceFreeFixtureTest.

transformers and TRL cannot be installed here (no PyPI). This re-implements, in plain PyTorch (float32, CPU, torch
1.13), the formulas of TRL's ORPOTrainer and of its CPOTrainer with loss_type="simpo" (trl/experimental/orpo and
trl/experimental/cpo, huggingface/trl at f2cd57710ae345ea6428ae95363267fcf38a3dc8), as read there:

  * one forward pass over the concatenated batch: the N prompt+chosen rows, then the N prompt+rejected rows, right
    padded with the pad id and an attention mask; the labels (concatenated_labels) are the input ids with the prompt
    and the padding set to -100;
  * get_batch_logps(average_log_prob=True): logits[:, :-1] against labels[:, 1:], log_softmax gathered,
    summed over the labelled positions and divided by their count (per row);
  * ORPO: chosen NLL = nn.CrossEntropyLoss() (mean over labelled positions of the chosen half) with labels = the
    input ids where attention_mask == 1, i.e. the prompt is NOT masked ("computed over the full prompt and response");
    log_odds = (c - r) - (log1mexp(c) - log1mexp(r)), log1mexp switching from log1p(-exp(x)) to log(-expm1(x)) at
    -ln 2; loss = nll - beta * mean(logsigmoid(log_odds)); metrics rewards/chosen = mean(beta c), rewards/rejected,
    rewards/accuracies = mean(beta c > beta r), rewards/margins, logps/chosen = mean(c), logps/rejected, nll_loss,
    log_odds_ratio = mean(logsigmoid(log_odds)), log_odds_chosen = mean(log_odds);
  * SimPO: x = beta ((c - r) - simpo_gamma / beta), losses = -(1 - ls) logsigmoid(x) - ls logsigmoid(-x),
    loss = mean(losses) + cpo_alpha * nll, where the NLL's labels are concatenated_labels (prompt masked) and the NLL
    is not computed (logged as 0) when cpo_alpha == 0.

The model is peft/src/test/resources/train/llama: base/ (a 2-layer LLaMA, vocabulary 256) with the LoRA adapter
lora/ (r 4, alpha 8, all seven projections, no dropout), run by families_torch.py's decoder with each targeted
weight replaced by W + (alpha / r) B A; the pairs are the first four of that folder's dpo.json.

    /usr/bin/python3 tools/reference/orpo_simpo_torch.py
        writes peft/src/test/resources/train/llama/reference_free.json (per case: config, loss, metrics) and
        reference_free_grads.safetensors ("<case>/<adapter tensor name>": d loss / d that tensor).
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import families_torch as ft  # noqa: E402

FOLDER = os.path.join(ft.ROOT, "peft", "src", "test", "resources", "train", "llama")
PAD = 0
PAIRS = 4
CASES = {
    "orpo_beta0.1": {"method": "orpo", "beta": 0.1},
    "orpo_beta0.5": {"method": "orpo", "beta": 0.5},
    "simpo_trl_defaults": {"method": "simpo", "beta": 0.1, "simpo_gamma": 0.5, "cpo_alpha": 1.0,
                           "label_smoothing": 0.0},
    "simpo_paper_smoothed": {"method": "simpo", "beta": 2.5, "simpo_gamma": 1.25, "cpo_alpha": 0.0,
                             "label_smoothing": 0.1},
}


def merged_weights(base, adapter, config):
    """The base weights with W + (alpha / r) B A for every adapted projection; A and B are leaves with gradients."""
    scaling = config["lora_alpha"] / config["r"]
    weights = dict(base)
    leaves = {}
    for name, tensor in adapter.items():
        leaves[name] = tensor.clone().requires_grad_(True)
    for name in adapter:
        if ".lora_A." not in name:
            continue
        module = name[len("base_model.model."):name.index(".lora_A.")]
        a, b = leaves[name], leaves[name.replace(".lora_A.", ".lora_B.")]
        weights[module + ".weight"] = base[module + ".weight"] + scaling * (b @ a)
    return weights, leaves


def concatenated_batch(pairs):
    """input ids, attention mask and labels (prompt and padding -100) of the 2N rows, chosen rows first."""
    rows = [(p["prompt"], p["chosen"]) for p in pairs] + [(p["prompt"], p["rejected"]) for p in pairs]
    length = max(len(prompt) + len(response) for prompt, response in rows)
    ids = torch.full((len(rows), length), PAD, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    labels = torch.full((len(rows), length), -100, dtype=torch.long)
    for i, (prompt, response) in enumerate(rows):
        sequence = prompt + response
        ids[i, :len(sequence)] = torch.tensor(sequence)
        mask[i, :len(sequence)] = 1
        labels[i, len(prompt):len(sequence)] = torch.tensor(response)
    return ids, mask, labels


def average_logps(logits, labels):
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != -100
    labels = torch.where(labels == -100, torch.zeros_like(labels), labels)
    per_token = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    return (per_token * loss_mask).sum(-1) / loss_mask.sum(-1)


def nll(logits, labels):
    return F.cross_entropy(logits[:, :-1, :].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                           ignore_index=-100)


def log1mexp(x):
    t = -0.6931471805599453
    return torch.where(x < t, torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x)))


def reward_metrics(beta, c, r):
    chosen, rejected = beta * c.detach(), beta * r.detach()
    return {"rewards/chosen": chosen.mean(), "rewards/rejected": rejected.mean(),
            "rewards/accuracies": (chosen > rejected).float().mean(), "rewards/margins": (chosen - rejected).mean(),
            "logps/chosen": c.detach().mean(), "logps/rejected": r.detach().mean()}


def loss_and_metrics(case, logits, ids, mask, labels):
    n = ids.shape[0] // 2
    logps = average_logps(logits, labels)
    c, r = logps[:n], logps[n:]
    beta = case["beta"]
    metrics = reward_metrics(beta, c, r)
    if case["method"] == "orpo":
        full = torch.where(mask == 1, ids, torch.full_like(ids, -100))
        nll_loss = nll(logits[:n], full[:n])
        log_odds = (c - r) - (log1mexp(c) - log1mexp(r))
        ratio = F.logsigmoid(log_odds)
        loss = nll_loss - (beta * ratio).mean()
        metrics.update({"nll_loss": nll_loss.detach(), "log_odds_ratio": ratio.detach().mean(),
                        "log_odds_chosen": log_odds.detach().mean()})
    else:
        nll_loss = torch.tensor(0.0) if case["cpo_alpha"] == 0 else nll(logits[:n], labels[:n])
        x = beta * ((c - r) - case["simpo_gamma"] / beta)
        ls = case["label_smoothing"]
        losses = -F.logsigmoid(x) * (1 - ls) - F.logsigmoid(-x) * ls
        loss = losses.mean() + case["cpo_alpha"] * nll_loss
        metrics["nll_loss"] = nll_loss.detach()
    return loss, {k: float(v) for k, v in metrics.items()}


def check_against_transformers(model_config, base, adapter, adapter_config, pairs, ids, mask, labels):
    """The summed response log-probabilities of this decoder + merged LoRA against dpo.json's, which transformers and
    PEFT computed (policy = base + lora): the model under the formulas is the one the Java side loads."""
    weights, _ = merged_weights(base, adapter, adapter_config)
    with torch.no_grad():
        logits = ft.CausalLM(model_config, weights).forward(ids, attention_mask=mask)
        counts = (labels[:, 1:] != -100).sum(-1)
        sums = average_logps(logits, labels) * counts
    n = len(pairs)
    expected = torch.tensor([p["policy_chosen_logp"] for p in pairs] + [p["policy_rejected_logp"] for p in pairs])
    error = float((sums - expected).abs().max())
    print(f"summed log-probabilities against transformers + PEFT (dpo.json): largest difference {error:.2e}")
    if error > 1e-4:
        sys.exit(f"the decoder + merged LoRA differs from dpo.json's log-probabilities by {error}; not writing")


def main():
    with open(os.path.join(FOLDER, "base", "config.json")) as f:
        model_config = json.load(f)
    with open(os.path.join(FOLDER, "lora", "adapter_config.json")) as f:
        adapter_config = json.load(f)
    with open(os.path.join(FOLDER, "dpo.json")) as f:
        pairs = json.load(f)["examples"][:PAIRS]
    base = ft.read_safetensors(os.path.join(FOLDER, "base", "model.safetensors"))
    adapter = ft.read_safetensors(os.path.join(FOLDER, "lora", "adapter_model.safetensors"))
    ids, mask, labels = concatenated_batch(pairs)
    check_against_transformers(model_config, base, adapter, adapter_config, pairs, ids, mask, labels)
    out = {"source": "tools/reference/orpo_simpo_torch.py: TRL's ORPOTrainer and CPOTrainer(loss_type=simpo) formulas "
                     "(huggingface/trl f2cd57710ae345ea6428ae95363267fcf38a3dc8) in torch "
                     + torch.__version__ + ", float32, on base/ + lora/",
           "pairs": PAIRS, "pad_token_id": PAD, "cases": {}}
    grads = {}
    for name, case in CASES.items():
        weights, leaves = merged_weights(base, adapter, adapter_config)
        logits = ft.CausalLM(model_config, weights).forward(ids, attention_mask=mask)
        loss, metrics = loss_and_metrics(case, logits, ids, mask, labels)
        loss.backward()
        for tensor_name, leaf in leaves.items():
            grads[name + "/" + tensor_name] = leaf.grad.detach().clone()
        largest = max(float(leaf.grad.abs().max()) for leaf in leaves.values())
        assert math.isfinite(float(loss)) and largest > 0, name
        out["cases"][name] = {"config": case, "loss": float(loss), "metrics": metrics}
        print(f"{name}: loss {float(loss):.6f}, largest |grad| {largest:.3e}, {metrics}")
    with open(os.path.join(FOLDER, "reference_free.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    ft.write_safetensors(os.path.join(FOLDER, "reference_free_grads.safetensors"), grads)


if __name__ == "__main__":
    main()
