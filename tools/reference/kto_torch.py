"""Golden reference for finetune4j's KTO trainer: TRL's KTOTrainer loss (loss_type "kto") re-implemented in plain
PyTorch (torch 1.13, CPU, float32; transformers, peft and TRL are not needed), from reading TRL's
trl/trainer/kto_trainer.py (_get_kl_dataset, forward, kto_loss, get_batch_loss_metrics, log) and kto_config.py.

The rules, as read there:
  * a row's log-probability: the sum over its completion tokens of log softmax(logits[t-1])[token t]
    (get_batch_logps with average_log_prob=False; the prompt's labels are -100);
  * KL rows: the data set is mapped in batches of per_device_train_batch_size, in order, and within each batch row i
    takes the completion of row i-1, the first row that of the last (_get_kl_dataset); the trainer then reads the rows
    in order (SequentialSampler);
  * per micro-batch: kl = mean(policy_KL_logps - reference_KL_logps), detached, clamped at 0 (policy KL log-probs
    under torch.no_grad()); desirable rows lose 1 - sigmoid(beta (logratio - kl)), undesirable ones
    1 - sigmoid(beta (kl - logratio)); times desirable_weight / undesirable_weight; loss = their mean;
  * the reference is fixed (precompute_ref_log_probs, or the frozen start model); dropout is disabled;
  * logged: rewards/chosen = sum of beta * logratio over desirable rows / their count (likewise rejected),
    logps/chosen, logps/rejected (policy log-probs, the same means), rewards/margins = chosen - rejected, kl.

finetune4j's loop takes a step's loss as the sum of its rows' losses over its rows (TRL averages the micro-batch means:
the same when the micro-batches have one size) and reports kl as the row-weighted mean of the micro-batch estimates;
this script does the same, so that it checks finetune4j's loop, and says so in the fixture. Where the last chunk of
the KL mapping has one row, TRL pairs it with its own completion; finetune4j (and this script) let it join the
chunk before it (KtoObjective.klPartners).

    /usr/bin/python3 tools/reference/kto_torch.py
        writes peft/src/test/resources/train/llama/kto.json and kto_adapter_final.safetensors: the rows, the loss of
        hand-picked micro-batches with its gradient, and four AdamW steps of KTO on the llama fixture (base + the
        lora adapter as the starting policy and reference): per-step losses, gradient norms, metrics, final adapter.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import families_torch as ft  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURE = os.path.join(ROOT, "peft", "src", "test", "resources", "train", "llama")
BETA, DESIRABLE_WEIGHT, UNDESIRABLE_WEIGHT = 0.1, 1.0, 1.5
MICRO_BATCH, ACCUMULATION, STEPS = 3, 3, 4
LR, BETAS, EPS, WEIGHT_DECAY, MAX_GRAD_NORM = 1e-2, (0.9, 0.999), 1e-8, 0.01, 1.0
ADAPTER_PREFIX = "base_model.model."


class LoraLM(ft.CausalLM):
    """families_torch's decoder with PEFT LoRA deltas: W x + (alpha / r) B A x on the adapter's target layers."""

    def __init__(self, config, weights, adapter, scaling):
        super().__init__(config, weights)
        # NOTE: not self.scaling, which CausalLM holds for the attention scores
        self.adapter, self.lora_scaling = adapter, scaling

    def linear(self, x, name):
        out = super().linear(x, name)
        a = self.adapter.get(ADAPTER_PREFIX + name + ".lora_A.weight")
        if a is None:
            return out
        b = self.adapter[ADAPTER_PREFIX + name + ".lora_B.weight"]
        return out + self.lora_scaling * F.linear(F.linear(x, a), b)


def completion_logp(model, prompt, completion):
    """Summed log-probability of the completion given the prompt (one unpadded row)."""
    ids = torch.tensor([prompt + completion])
    logits = model.forward(ids)[0, :-1]
    picked = F.log_softmax(logits.float(), -1)[torch.arange(ids.shape[1] - 1), ids[0, 1:]]
    return picked[len(prompt) - 1:].sum()


def kl_partners(rows, chunk):
    """TRL's _get_kl_dataset on chunks of `chunk` rows in order; a lone last row joins the chunk before it."""
    partner, start = [0] * rows, 0
    while start < rows:
        end = min(start + chunk, rows)
        if rows - end == 1:
            end = rows
        partner[start] = end - 1
        for i in range(start + 1, end):
            partner[i] = i - 1
        start = end
    return partner


def kto_loss(policy, reference, policy_kl, reference_kl, desirable):
    """TRL's kto_loss for one micro-batch: the weighted row losses, the rewards and the KL estimate (and its raw value)."""
    raw_kl = (policy_kl - reference_kl).mean().detach()
    kl = raw_kl.clamp(min=0)
    logratios = policy - reference
    chosen, rejected = logratios[desirable], logratios[~desirable]
    chosen_losses = 1 - torch.sigmoid(BETA * (chosen - kl))
    rejected_losses = 1 - torch.sigmoid(BETA * (kl - rejected))
    losses = torch.cat((DESIRABLE_WEIGHT * chosen_losses, UNDESIRABLE_WEIGHT * rejected_losses), 0)
    return losses, BETA * chosen.detach(), BETA * rejected.detach(), kl, raw_kl


def formula_cases():
    """Micro-batches of given log-probabilities: TRL's mean loss and its gradient with respect to the policy's."""
    cases = []
    specs = [
        # policy, reference, policy KL, reference KL, desirable: a positive KL estimate
        ([-10.0, -12.5, -7.25, -20.0], [-11.0, -12.0, -7.0, -21.5], [-30.0, -25.0, -28.0, -31.0],
         [-31.0, -26.5, -27.0, -31.5], [True, False, True, False]),
        # a negative raw estimate, clamped to 0
        ([-5.0, -6.0, -9.0], [-4.0, -6.5, -8.0], [-20.0, -22.0, -18.0], [-19.0, -21.0, -18.5], [False, False, True]),
        # only desirable rows, large log-ratios (saturating sigmoids)
        ([-2.0, -60.0], [-40.0, -3.0], [-10.0, -11.0], [-12.0, -14.0], [True, True]),
    ]
    for policy, reference, policy_kl, reference_kl, desirable in specs:
        p = torch.tensor(policy, dtype=torch.float64, requires_grad=True)
        mask = torch.tensor(desirable)
        # TRL splits the rows by label before the loss; the gradient goes back to each row's own position
        order = torch.cat((torch.nonzero(mask).flatten(), torch.nonzero(~mask).flatten()))
        losses, _, _, kl, raw_kl = kto_loss(p[order], torch.tensor(reference, dtype=torch.float64)[order],
                                            torch.tensor(policy_kl, dtype=torch.float64),
                                            torch.tensor(reference_kl, dtype=torch.float64), mask[order])
        loss = losses.mean()
        loss.backward()
        cases.append({"policy": policy, "reference": reference, "policy_kl": policy_kl, "reference_kl": reference_kl,
                      "desirable": desirable, "kl": float(kl), "raw_kl": float(raw_kl), "loss": float(loss),
                      "dloss_dpolicy": p.grad.tolist()})
    return cases


def rows():
    """Seven rows of random token ids (prompts 3 to 6 tokens, completions 2 to 5), labels mixed."""
    g = torch.Generator().manual_seed(23)
    labels = [True, False, True, True, False, False, True]
    out = []
    for label in labels:
        n_prompt = int(torch.randint(3, 7, (1,), generator=g))
        n_completion = int(torch.randint(2, 6, (1,), generator=g))
        out.append({"prompt": torch.randint(0, 256, (n_prompt,), generator=g).tolist(),
                    "completion": torch.randint(0, 256, (n_completion,), generator=g).tolist(), "label": label})
    return out


def train(data):
    config = json.load(open(os.path.join(FIXTURE, "base", "config.json")))
    weights = ft.read_safetensors(os.path.join(FIXTURE, "base", "model.safetensors"))
    adapter_config = json.load(open(os.path.join(FIXTURE, "lora", "adapter_config.json")))
    adapter = ft.read_safetensors(os.path.join(FIXTURE, "lora", "adapter_model.safetensors"))
    adapter = {k: v.clone().requires_grad_(True) for k, v in adapter.items()}
    model = LoraLM(config, weights, adapter, adapter_config["lora_alpha"] / adapter_config["r"])
    n = len(data)
    partner = kl_partners(n, MICRO_BATCH)
    with torch.no_grad():  # the reference: the starting policy, fixed
        reference = [float(completion_logp(model, r["prompt"], r["completion"])) for r in data]
        reference_kl = [float(completion_logp(model, data[i]["prompt"], data[partner[i]]["completion"]))
                        for i in range(n)]
    params = [adapter[k] for k in sorted(adapter)]
    opt = torch.optim.AdamW(params, lr=LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)
    micro_batches = [list(range(s, min(s + MICRO_BATCH, n))) for s in range(0, n, MICRO_BATCH)]
    steps = []
    for _ in range(STEPS):  # ACCUMULATION micro-batches = one epoch per step, in order (no shuffling)
        assert len(micro_batches) == ACCUMULATION
        total, sums, kls = 0.0, {"rewards/chosen": 0.0, "rewards/rejected": 0.0, "logps/chosen": 0.0,
                                 "logps/rejected": 0.0, "count/chosen": 0, "count/rejected": 0, "kl": 0.0}, []
        for batch in micro_batches:
            policy = torch.stack([completion_logp(model, data[i]["prompt"], data[i]["completion"]) for i in batch])
            with torch.no_grad():
                policy_kl = torch.stack([completion_logp(model, data[i]["prompt"], data[partner[i]]["completion"])
                                         for i in batch])
            desirable = torch.tensor([data[i]["label"] for i in batch])
            losses, chosen_rewards, rejected_rewards, kl, raw_kl = kto_loss(
                policy, torch.tensor([reference[i] for i in batch]), policy_kl,
                torch.tensor([reference_kl[i] for i in batch]), desirable)
            loss = losses.sum() / n  # the step's mean over its rows
            loss.backward()
            total += float(loss)
            sums["rewards/chosen"] += float(chosen_rewards.sum())
            sums["rewards/rejected"] += float(rejected_rewards.sum())
            sums["logps/chosen"] += float(policy.detach()[desirable].sum())
            sums["logps/rejected"] += float(policy.detach()[~desirable].sum())
            sums["count/chosen"] += int(desirable.sum())
            sums["count/rejected"] += int((~desirable).sum())
            sums["kl"] += float(kl) * len(batch)
            kls.append(float(raw_kl))
        norm = float(torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM))
        opt.step()
        opt.zero_grad()
        metrics = {k: sums[k] / sums["count/" + k.split("/")[1]] for k in
                   ("rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected")}
        metrics["rewards/margins"] = metrics["rewards/chosen"] - metrics["rewards/rejected"]
        metrics["kl"] = sums["kl"] / n
        steps.append({"loss": total, "grad_norm_before_clipping": norm, "metrics": metrics,
                      "raw_kl_per_micro_batch": kls})
    final = {k: v.detach() for k, v in adapter.items()}
    return steps, partner, reference, reference_kl, final


def main():
    torch.set_default_dtype(torch.float32)
    data = rows()
    steps, partner, reference, reference_kl, final = train(data)
    fixture = {
        "source": "tools/reference/kto_torch.py: TRL KTOTrainer's loss (loss_type kto) re-implemented in torch "
                  + torch.__version__ + ", float32, CPU",
        "model": "llama/base with llama/lora as the starting policy, which is also the reference",
        "kto": {"beta": BETA, "desirable_weight": DESIRABLE_WEIGHT, "undesirable_weight": UNDESIRABLE_WEIGHT},
        "training": {"micro_batch_size": MICRO_BATCH, "gradient_accumulation_steps": ACCUMULATION, "steps": STEPS,
                     "lr": LR, "betas": list(BETAS), "eps": EPS, "weight_decay": WEIGHT_DECAY,
                     "max_grad_norm": MAX_GRAD_NORM, "schedule": "constant", "shuffle": False},
        "step_loss": "sum of the step's row losses over its rows (finetune4j's loop)",
        "rows": data, "kl_partners": partner, "reference_logps": reference, "reference_kl_logps": reference_kl,
        "formula_cases": formula_cases(), "steps": steps,
    }
    with open(os.path.join(FIXTURE, "kto.json"), "w") as f:
        json.dump(fixture, f, indent=1)
    ft.write_safetensors(os.path.join(FIXTURE, "kto_adapter_final.safetensors"), final)
    for s in steps:
        print(f"loss {s['loss']:.6f} grad norm {s['grad_norm_before_clipping']:.6f} kl {s['metrics']['kl']:.6f} "
              f"raw {['%.4f' % k for k in s['raw_kl_per_micro_batch']]}")


if __name__ == "__main__":
    main()
