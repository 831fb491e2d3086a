"""PEFT's own default target modules per model_type (peft.utils.constants), for the families finetune4j knows:
what PeftFamiliesTest compares finetune4j's table with.

    cd /tmp && /tmp/tfvenv/bin/python <repo>/tools/reference/peft_defaults.py

writes peft/src/test/resources/peft-defaults.json: the peft version, and per model_type that PEFT maps, its LoRA
target_modules and IA3 target_modules and feedforward_modules (null where PEFT has none).
"""
import json
import os

import peft
from peft.utils import constants

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TYPES = ["llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "gemma3", "qwen3_vl", "qwen3_vl_moe",
         "phi3", "granite", "granitemoe", "granitemoeshared", "granitemoehybrid", "olmo2", "olmo3", "smollm3", "glm",
         "glm4", "ernie4_5", "cohere", "cohere2", "exaone4", "seed_oss", "hunyuan_v1_dense", "starcoder2", "arcee",
         "apertus", "lfm2", "lfm2_moe", "mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "gpt_oss", "glm4_moe", "ernie4_5_moe",
         "deepseek_v3", "deepseek_v2", "qwen3_5_text", "qwen3_5_moe_text", "qwen3_next", "falcon_h1", "nemotron_h", "gpt2", "bert", "roberta",
         "xlm-roberta", "distilbert",
         "ministral", "ministral3", "mistral3",
         "mistral4"]

mapped = {}
for t in TYPES:
    lora = constants.TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(t)
    ia3 = constants.TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING.get(t)
    feedforward = constants.TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING.get(t)
    if lora or ia3:
        mapped[t] = {"lora": lora, "ia3": ia3, "ia3_feedforward": feedforward}
with open(os.path.join(REPO, "peft", "src", "test", "resources", "peft-defaults.json"), "w") as f:
    json.dump({"peft": peft.__version__, "types": mapped}, f, indent=1)
    f.write("\n")
print(len(mapped), "of", len(TYPES), "types mapped by peft", peft.__version__)
