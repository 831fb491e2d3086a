"""Renders chat templates with the real jinja2, set up as transformers' apply_chat_template sets it up, and writes
the expected outputs that core's JinjaGoldenTest and JinjaSemanticsTest compare against. Needs only jinja2:

    python3 -m venv /tmp/jinja-venv && /tmp/jinja-venv/bin/pip install jinja2
    /tmp/jinja-venv/bin/python tools/reference/chat_templates.py core/src/test/resources/chat-templates

Reads DIR/*.jinja (real models' templates, see DIR/README.md) and writes DIR/golden.json.gz (each template x each
conversation, and the conversations with extra variables that one template's features need) and DIR/semantics.json
(small templates exercising one engine feature each). strftime_now formats a fixed time (2026-03-07 09:05:03 UTC)
instead of now, so the outputs do not change from day to day. Debian's jinja2 3.1.2 writes the same files.
"""
import datetime
import gzip
import io
import json
import os
import sys

import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIXED_NOW = datetime.datetime(2026, 3, 7, 9, 5, 3, tzinfo=datetime.timezone.utc)


class GenerationTag(Extension):
    """transformers' AssistantTracker without the mask bookkeeping: {% generation %} renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    """transformers.utils.chat_template_utils._compile_jinja_template's environment."""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, source, context):
    try:
        return {"expected": env.from_string(source).render(**context)}
    except jinja2.exceptions.TemplateError as e:
        kind = "raised" if type(e) is jinja2.exceptions.TemplateError else type(e).__name__
        return {"error": kind, "message": str(e)}
    except RecursionError:  # without what Python appends, which depends on where the stack ran out ("in comparison")
        return {"error": "RecursionError", "message": "maximum recursion depth exceeded"}
    except Exception as e:  # TypeError, OverflowError, ...: the template fails in Python too
        return {"error": type(e).__name__, "message": str(e)}


# Special tokens as each model's tokenizer_config.json gives them (transformers passes the ones that are set).
LLAMA2 = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
TOKENS = {
    "llama-2-chat": LLAMA2,
    "mistral-7b-instruct-v0.1": LLAMA2,
    "mistral-7b-instruct-v0.3": LLAMA2,
    "mistral-nemo-instruct-2407": LLAMA2,
    "llama-3.1-8b-instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama-3.2-3b-instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "qwen2.5-7b-instruct": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen3-0.6b": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "gemma-2": {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>"},
    "gemma-3": {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>"},
    "phi-3.5-mini": {"bos_token": "<s>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": "<unk>"},
    "phi-4": {"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|dummy_87|>"},
    "deepseek-r1-distill-qwen-32b": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "jamba-large-1.6": {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|pad|>", "unk_token": "<|unk|>"},
    "firefunction-v2": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "minicpm3-4b": {"bos_token": "<s>", "eos_token": "<|im_end|>", "unk_token": "<unk>"},
    # gpt-oss's from its tokenizer_config.json (EchoCog/gpt-oss-20b@cbf31f6); Granite's, SmolLM3's and OLMo 2's not
    # checked against a stored tokenizer_config.json (of these four templates only OLMo 2's reads them).
    "gpt-oss": {"bos_token": "<|startoftext|>", "eos_token": "<|return|>", "pad_token": "<|endoftext|>"},
    "granite-3.3-2b-instruct": {"bos_token": "<|end_of_text|>", "eos_token": "<|end_of_text|>",
                                "pad_token": "<|end_of_text|>", "unk_token": "<|end_of_text|>"},
    "granite-4.0": {"bos_token": "<|end_of_text|>", "eos_token": "<|end_of_text|>", "pad_token": "<|pad|>",
                    "unk_token": "<|unk|>"},
    "smollm3-3b": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>"},
    "olmo-2-1124-instruct": {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|pad|>"},
    # Qwen3.5's as Qwen3's (not checked against a stored tokenizer_config.json; the template reads none of them)
    "qwen3.5-4b": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    # Cohere's: bos_token as Hugging Face's own tests of Command R and Command A templates expect it, the others not
    # checked against a stored tokenizer_config.json (the two templates read only bos_token)
    "command-r7b-12-2024-tool-use": {"bos_token": "<BOS_TOKEN>", "eos_token": "<|END_OF_TURN_TOKEN|>", "pad_token": "<PAD>"},
    "command-r-plus-tool-use": {"bos_token": "<BOS_TOKEN>", "eos_token": "<|END_OF_TURN_TOKEN|>", "pad_token": "<PAD>"},
    # GLM's not checked against a stored tokenizer_config.json (the templates read none of them)
    "glm-4-9b-chat": {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"},
    "glm-4.6": {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"},
    # ERNIE 4.5's as transformers' convert_ernie4_5_tokenizer.py sets them
    "ernie-4.5": {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<unk>", "unk_token": "<unk>"},
}
# Special tokens transformers passes too and finetune4j does not (it passes the four of TOKENS): golden() checks that
# each template renders the same without them (ERNIE's defaults them to these same values).
UNPASSED_TOKENS = {"ernie-4.5": {"cls_token": "<|begin_of_sentence|>", "sep_token": "<|end_of_sentence|>",
                                 "mask_token": "<mask:1>"}}


def m(role, content):
    return {"role": role, "content": content}


def reasoned(content, trace, *keys):
    """An assistant turn with a reasoning trace under keys; by default both keys JinjaChatTemplate passes."""
    return {"role": "assistant", "content": content, **{k: trace for k in keys or ("thinking", "reasoning_content")}}


CONVERSATIONS = {
    "user": [m("user", "Hello!")],
    "system-user": [m("system", "You are terse."), m("user", "What is 2+2?")],
    "system-user-assistant": [m("system", "You are terse."), m("user", "What is 2+2?"), m("assistant", "4")],
    "two-turns": [m("user", "Hi"), m("assistant", "Hello, how can I help?"), m("user", "Tell a joke"),
                  m("assistant", "Why did the chicken cross the road?")],
    "two-turns-open": [m("system", "Be kind."), m("user", "Hi"), m("assistant", "Hello!"), m("user", "Bye")],
    "unicode": [m("user", "héllo 😀 你好 — ça va?"), m("assistant", "Très bien ✓ 🎉")],
    "jinja-looking": [m("user", "Print {{ x }} and {% if y %}z{% endif %} {# c #} literally"),
                      m("assistant", "'single' \"double\" \\n backslash-n")],
    "whitespace": [m("user", "  padded \n\n"), m("assistant", "\n  answer  \n")],
    "thinking": [m("user", "Why?"), m("assistant", "<think>\nBecause.\n</think>\n\nIt is so.")],
    "two-users": [m("user", "one"), m("user", "two")],
    "assistant-first": [m("assistant", "I start"), m("user", "ok")],
    "reasoning": [m("user", "What is 17 * 3?"), reasoned("51.", "17 * 3 = 17 * 2 + 17 = 34 + 17 = 51.")],
}


TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "get_time", "description": "Local time in a time zone",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}, "offset_minutes": {"type": "integer", "default": 0}},
                       "required": ["zone"], "additionalProperties": False}}},
]

# One function whose schema reaches every branch of the templates that turn JSON schemas into text (gpt-oss's
# TypeScript-like types: arrays of scalars and of objects, oneOf, nullable, type lists, enums and defaults), with
# text that Python's repr and json.dumps escape differently (quotes, a newline, non-ASCII).
RICH_TOOLS = [
    {"type": "function", "function": {
        "name": "search_flights", "description": "Finds flights; the user's dates are \"local\"\nand inclusive ✈",
        "parameters": {"type": "object", "properties": {
            "origin": {"type": "string", "description": "IATA code, e.g. CDG"},
            "passengers": {"type": "integer", "default": 1},
            "max_price": {"type": "number", "nullable": True},
            "cabin": {"type": "string", "enum": ["economy", "business"], "default": "economy"},
            "nonstop": {"type": "boolean", "default": False},
            "dates": {"type": "array", "items": {"type": "string"}},
            "legs": {"type": "array", "items": {"type": "object", "properties": {
                "from": {"type": "string"}, "to": {"type": "string"}}, "required": ["from"]}},
            "when": {"oneOf": [{"type": "string", "description": "ISO date"},
                               {"type": "integer", "description": "days from now"}], "default": "today"},
            "filters": {"type": ["object", "null"]},
            "tags": {"type": "array", "nullable": True},
            "score": {"type": "number", "default": 0.5},
            "note": {"description": "anything"}},
            "required": ["origin", "dates"]}}},
]


# A function whose parameters take every JSON type, for templates that write each argument by its type (Qwen3.5).
TYPED_TOOLS = [
    {"type": "function", "function": {
        "name": "book", "description": "Books a hotel",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string"}, "nights": {"type": "integer"}, "budget": {"type": "number"},
            "refundable": {"type": "boolean"}, "guests": {"type": "array", "items": {"type": "object"}},
            "options": {"type": "object"}, "tags": {"type": "array", "items": {"type": "string"}},
            "promo": {"type": ["string", "null"]}, "text": {"type": "string"}},
            "required": ["city", "nights"]}}},
    TOOLS[1],
]


# Every parameter described and every object's values typed: Command R+'s tool-use template concatenates each
# description and each object's additionalProperties type, and fails without them. An untyped parameter and a type
# list of basic types reach its last two branches.
DESCRIBED_TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
            "days": {"type": "array", "items": {"type": "integer"}, "description": "Days ahead"},
            "limits": {"type": "object", "additionalProperties": {"type": "number"}, "description": "Alert limits"},
            "when": {"type": ["string", "integer"], "description": "ISO date or days from now"},
            "note": {"description": "Anything"}},
            "required": ["city", "days"]}}},
    {"type": "function", "function": {
        "name": "get_time", "description": "Local time in a time zone",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string", "description": "IANA zone"}},
                       "required": ["zone"]}}},
]


def call(call_id, name, arguments):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def planned(plan):
    """A calling turn's plan (Command R7B's tool_plan) as JinjaChatTemplate passes a reasoning trace: under all three keys."""
    return {"thinking": plan, "reasoning_content": plan, "tool_plan": plan}


def calls(content, *tool_calls):
    return {"role": "assistant", "content": content, "tool_calls": list(tool_calls)}


def result(call_id, content):
    return {"role": "tool", "content": content, "tool_call_id": call_id}


PARIS = call("a1B2c3D4e", "get_weather", {"city": "Paris", "unit": "celsius"})
TOKYO = call("f5G6h7I8j", "get_time", {"zone": "Asia/Tokyo", "offset_minutes": 540})
# Conversations rendered with TOOLS as the tools argument (None for tools-not-given), in OpenAI's message shape with
# arguments as objects (what transformers asks for and vLLM's server passes); a malformed call's arguments stay text.
# A turn of calls only has content "" (finetune4j's ChatMessage), which more templates accept than None or no key.
TOOL_CONVERSATIONS = {
    "tools-open": [m("user", "What's the weather in Paris?")],
    "tools-call": [m("system", "You are a helpful assistant."), m("user", "What's the weather in Paris?"),
                   calls("", PARIS), result("a1B2c3D4e", '{"temperature": 18, "sky": "clear"}'),
                   m("assistant", "It is 18 °C and clear in Paris.")],
    "tools-parallel": [m("user", "Weather in Paris and the time in Tokyo?"), calls("", PARIS, TOKYO),
                       result("a1B2c3D4e", '{"temperature": 18}'), result("f5G6h7I8j", '{"time": "21:04"}'),
                       m("assistant", "18 °C in Paris; 21:04 in Tokyo.")],
    "tools-text-and-call": [m("user", "Paris weather?"), calls("Let me check.", PARIS)],
    "tools-malformed-arguments": [m("user", "Paris weather?"),
                                  calls("", call("k9L8m7N6o", "get_weather", '{"city": "Par'))],
    "tools-not-given": [m("user", "Paris weather?"), calls("", PARIS), result("a1B2c3D4e", "18 C")],
    "tools-rich-schema": [m("user", "Flights from Paris to NYC?"),
                          calls("", call("p0Q1r2S3t", "search_flights", {
                              "origin": "CDG", "dates": ["2026-04-01"], "passengers": 2, "max_price": 612.5,
                              "nonstop": True, "filters": None, "note": "l'été \"chaud\""})),
                          result("p0Q1r2S3t", '[{"flight": "AF 22", "price": 598.0}]')],
}
# The tools each tool conversation renders with (TOOLS where not named).
CONVERSATION_TOOLS = {"tools-not-given": None, "tools-rich-schema": RICH_TOOLS}


DOCUMENTS = [{"doc_id": 1, "title": "Paris weather", "text": "Paris is sunny today, 18 °C."},
             {"doc_id": 2, "title": "Tokyo weather", "text": "Rain all day in Tokyo."}]
DOCUMENTS_ONLY = ([m("user", "Weather in Paris?")], None, {"documents": DOCUMENTS})
PYTHON_TOOLS = [{"name": "plot", "description": "Draws a line chart", "parameters": {"xs": "list[float]"}}]
# Conversations one template's features need, each (messages, tools, variables): the variables are the extra keyword
# arguments of apply_chat_template (and its documents), which finetune4j passes with JinjaChatTemplate.withVariables.
TEMPLATE_CONVERSATIONS = {
    "gpt-oss": {
        "reasoning-effort-high": ([m("system", "Answer in French."), m("user", "Hello!")], None,
                                  {"reasoning_effort": "high"}),
        "builtin-tools-identity": (TOOL_CONVERSATIONS["tools-call"], TOOLS,
                                   {"builtin_tools": ["browser", "python"], "model_identity": "You are Ada.",
                                    "reasoning_effort": "low"}),
        "channel-tags-in-content": ([m("user", "Hi"), m("assistant", "<|channel|>final<|message|>Hello")], None, {}),
        "tool-without-call": ([m("user", "Hi"), result("a1B2c3D4e", "18 C")], TOOLS, {}),
        # traces as gpt-oss's datasets give them (thinking only): kept on the last turn, dropped on earlier ones
        "thinking-last": ([m("user", "What is 17 * 3?"), reasoned("51.", "34 + 17 = 51.", "thinking")], None, {}),
        "thinking-earlier": ([m("user", "Hi"), reasoned("Hello!", "A greeting.", "thinking"), m("user", "2+2?"),
                              reasoned("4", "Two and two.", "thinking")], None, {}),
        # a calling turn keeps its trace until an answer follows it
        "thinking-tool-call": ([m("user", "What's the weather in Paris?"),
                                {**calls("", PARIS), "thinking": "I need the weather tool."},
                                result("a1B2c3D4e", '{"temperature": 18}')], TOOLS, {}),
        "thinking-tool-call-answered": ([m("user", "What's the weather in Paris?"),
                                         {**calls("", PARIS), "thinking": "I need the weather tool."},
                                         result("a1B2c3D4e", '{"temperature": 18}'),
                                         reasoned("18 °C.", "Report it.", "thinking")], TOOLS, {}),
        "thinking-and-content-on-call": ([m("user", "Paris?"), {**calls("Checking.", PARIS), "thinking": "Tool."}],
                                         TOOLS, {}),
    },
    "qwen3-0.6b": {
        # traces as DeepSeek's API and Qwen's datasets give them (reasoning_content only)
        "reasoning-content": ([m("user", "What is 17 * 3?"), reasoned("51.", "\n34 + 17 = 51.\n", "reasoning_content")],
                              None, {}),
        "reasoning-content-two-turns": ([m("user", "Hi"), reasoned("Hello!", "A greeting.", "reasoning_content"),
                                         m("user", "2+2?"), reasoned("4", "Two and two.", "reasoning_content")],
                                        None, {}),
        "reasoning-content-tool-call": ([m("user", "What's the weather in Paris?"),
                                         {**calls("", PARIS), "reasoning_content": "I need the weather tool."},
                                         result("a1B2c3D4e", '{"temperature": 18}'),
                                         reasoned("18 °C.", "Report it.", "reasoning_content")], TOOLS, {}),
        # an empty trace is still one: the template then leaves the content's own <think> block in place
        "reasoning-content-empty": ([m("user", "Why?"), reasoned("<think>\nSo.\n</think>\n\nBecause.", "",
                                                                  "reasoning_content")], None, {}),
    },
    "qwen3.5-4b": {
        # a trace is kept on the turns after the last user query and dropped before it, whichever key it came under
        "reasoning-content-two-turns": ([m("user", "Hi"), reasoned("Hello!", "A greeting.", "reasoning_content"),
                                         m("user", "2+2?"), reasoned("4", "\n  Two and two.\n", "reasoning_content")],
                                        None, {}),
        "think-in-content-two-turns": ([m("user", "Hi"), m("assistant", "<think>\nA greeting.\n</think>\n\nHello!"),
                                        m("user", "2+2?"), m("assistant", "<think>Two and two.</think>4")], None, {}),
        # calls after the last query keep their traces; the tool results that follow count as no new query
        "reasoning-content-tool-call": ([m("user", "What's the weather in Paris?"),
                                         {**calls("", PARIS), "reasoning_content": "I need the weather tool."},
                                         result("a1B2c3D4e", '{"temperature": 18}'),
                                         reasoned("18 °C.", "Report it.", "reasoning_content")], TOOLS, {}),
        "reasoning-content-empty": ([m("user", "Why?"), reasoned("Because.", "", "reasoning_content")], None, {}),
        "enable-thinking-false": (CONVERSATIONS["two-turns-open"], None, {"enable_thinking": False}),
        "enable-thinking-false-tools": (TOOL_CONVERSATIONS["tools-call"], TOOLS, {"enable_thinking": False}),
        # arguments of every JSON type in one turn of two calls: strings as they are, the rest through tojson
        # (objects and arrays) or Python's str (numbers, booleans, None)
        "typed-arguments": ([m("user", "Book it."),
                             calls("I'll book it.", call("b1C2d3E4f", "book", {
                                 "city": "Paris", "nights": 3, "budget": 812.5, "refundable": True,
                                 "guests": [{"name": "Ann", "age": 31}], "options": {"breakfast": False, "note": None},
                                 "tags": ["quiet", "l'été"], "promo": None, "text": "two\nlines"}),
                                   call("g5H6i7J8k", "get_time", {})),
                             result("b1C2d3E4f", "booked"), result("g5H6i7J8k", "09:05")], TYPED_TOOLS, {}),
        # the template's own refusals
        "only-tool-responses": ([m("user", "<tool_response>\n18 C\n</tool_response>")], None, {}),
        "late-system": ([m("user", "Hi"), m("system", "Be brief.")], None, {}),
    },
    "smollm3-3b": {
        "no-think-flag": ([m("system", "Be brief. /no_think"), m("user", "Why?"), m("assistant", "Because.")], None, {}),
        "think-flag": ([m("system", "/think  Be brief.  "), m("user", "Why?"), m("assistant", "\n\nBecause.")], None,
                       {"enable_thinking": False}),
        "enable-thinking-false": (CONVERSATIONS["two-turns-open"], None, {"enable_thinking": False}),
        "enable-thinking-false-tools": (TOOL_CONVERSATIONS["tools-call"], TOOLS, {"enable_thinking": False}),
        "system-override": ([m("system", "/system_override You are Bob. /no_think"), m("user", "Hi")], None, {}),
        "xml-and-python-tools": ([m("user", "Plot 1, 2, 3")], None,
                                 {"xml_tools": [TOOLS[0]["function"]], "python_tools": PYTHON_TOOLS}),
    },
    "granite-3.3-2b-instruct": {
        "thinking": (CONVERSATIONS["two-turns"], None, {"thinking": True}),
        "documents-controls": ([m("user", "Weather in Paris?")], None,
                               {"documents": DOCUMENTS,
                                "controls": {"citations": True, "hallucinations": True, "length": "short"}}),
        "tools-documents": ([m("user", "Weather in Paris?")], TOOLS, {"documents": DOCUMENTS}),
    },
    "granite-4.0": {
        "documents": DOCUMENTS_ONLY,
        "system-tools-documents": (TOOL_CONVERSATIONS["tools-call"], TOOLS, {"documents": DOCUMENTS}),
    },
    "command-r7b-12-2024-tool-use": {
        # documents are a first "direct-injected-document" call and its results, after the first user turn; without
        # tools the template fails (for tool in tools over None)
        "documents": DOCUMENTS_ONLY,
        "tools-documents-citations": (TOOL_CONVERSATIONS["tools-call"], TOOLS,
                                      {"documents": DOCUMENTS, "enable_citations": True}),
        # a calling turn's plan is its reasoning trace, which JinjaChatTemplate passes as tool_plan too
        "tool-plan": ([m("user", "Weather in Paris and the time in Tokyo?"),
                       {**calls("", PARIS, TOKYO), **planned("I will call both tools at once.")},
                       result("a1B2c3D4e", '{"temperature": 18}'), result("f5G6h7I8j", '{"time": "21:04"}'),
                       {**m("assistant", "18 °C; 21:04."), **planned("Both answered.")}], TOOLS, {}),
        "tool-plan-documents": ([m("user", "Paris weather?"), {**calls("", PARIS), **planned("Check the tool.")},
                                 result("a1B2c3D4e", "18 C")], TOOLS, {"documents": DOCUMENTS}),
    },
    "command-r-plus-tool-use": {
        "described-two-turns": (CONVERSATIONS["two-turns"], DESCRIBED_TOOLS, {}),
        "described-tools-call": (TOOL_CONVERSATIONS["tools-call"], DESCRIBED_TOOLS, {}),
        "described-tools-parallel": (TOOL_CONVERSATIONS["tools-parallel"], DESCRIBED_TOOLS, {}),
        "described-tools-text-and-call": (TOOL_CONVERSATIONS["tools-text-and-call"], DESCRIBED_TOOLS, {}),
        # a type list with a type it has no name for (here "null", as nullable parameters are often written) recurses
        # without end: jinja2 runs out of Python's stack
        "nullable-type-list": ([m("user", "Hi")], [{"type": "function", "function": {
            "name": "f", "description": "F", "parameters": {"type": "object", "properties": {
                "x": {"type": ["string", "null"], "description": "X"}}, "required": []}}}], {}),
        "described-call-without-arguments": ([m("user", "  Time in UTC?  "), calls(" ", call("g5H6i7J8k", "get_time", {})),
                                              result("g5H6i7J8k", "  09:05\n")], DESCRIBED_TOOLS, {}),
    },
}

# GLM-4.5/4.6 keep traces after the last user turn and write arguments by type as Qwen3.5 does: its conversations, and
# the thinking switch that appends /nothink to user turns
TEMPLATE_CONVERSATIONS["glm-4.6"] = {
    **{c: TEMPLATE_CONVERSATIONS["qwen3.5-4b"][c] for c in ("reasoning-content-two-turns", "think-in-content-two-turns",
                                                            "reasoning-content-tool-call", "typed-arguments",
                                                            "enable-thinking-false")},
    "enable-thinking-false-nothink": ([m("user", "Hi /nothink")], None, {"enable_thinking": False}),
    "enable-thinking-true": (CONVERSATIONS["two-turns-open"], None, {"enable_thinking": True}),
}


def golden(folder):
    env = environment()
    cases = []
    for name in sorted(TOKENS):
        source = open(os.path.join(folder, name + ".jinja"), encoding="utf-8").read()
        conversations = [(c, messages, None, {}) for c, messages in CONVERSATIONS.items()]
        conversations += [(c, messages, CONVERSATION_TOOLS.get(c, TOOLS), {})
                          for c, messages in TOOL_CONVERSATIONS.items()]
        conversations += [(c, *given) for c, given in TEMPLATE_CONVERSATIONS.get(name, {}).items()]
        for conversation, messages, tools, variables in conversations:
            for generation in (False, True):
                context = dict(TOKENS[name], messages=messages, tools=tools, documents=None,
                               add_generation_prompt=generation)
                context.update(variables)
                case = {"template": name, "conversation": conversation, "add_generation_prompt": generation,
                        "tokens": TOKENS[name], "messages": messages}
                if conversation in TOOL_CONVERSATIONS or tools is not None:
                    case["tools"] = tools
                if variables:
                    case["variables"] = variables
                rendered = render(env, source, context)
                if name in UNPASSED_TOKENS:
                    assert render(env, source, {**UNPASSED_TOKENS[name], **context}) == rendered, (name, conversation)
                cases.append({**case, **rendered})
    return cases


# One engine feature each, rendered with CONTEXT; the Java test renders the same and compares.
CONTEXT = {"messages": [m("system", "S"), m("user", "U1"), m("assistant", "A1"), m("user", "U2")],
           "n": 7, "f": 2.5, "s": "Hello World", "items": [3, 1, 2], "d": {"b": 2, "a": 1}, "none": None,
           "users": [{"name": "ann", "age": 31}, {"name": "bob", "age": 25}, {"name": "Cy"}], "flag": True}
SEMANTICS = [
    # whitespace control, trim_blocks, lstrip_blocks
    "  {% if true %}\n  yes\n  {% endif %}\n  {{ 'v' }}\n",
    "a  {%- if true -%}  b  {%- endif -%}  c",
    "a {{- ' b ' -}} c\n{{ 'd' }}",
    "{% for i in items %}\n    {{ i }}\n{% endfor %}\n",
    "{%+ if true %}x{% endif +%}\n!",
    "x {# comment #}\ny\n  {# indented comment #}\nz {#- strip -#} w",
    "{% raw %}{{ not rendered }} {% if %}{% endraw %}",
    "  {%- raw -%}  {{ x }}  {%- endraw -%}  !",
    "line\r\nwindows\rold mac\n",
    "{% for m in messages -%}\n  {{ m.role }}\n{%- endfor %}",
    "{%- set x = 1 -%}\n\n  {{- x -}}  \n",
    # loops
    "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}",
    "{% for m in messages %}[{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ loop.nextitem.role if loop.nextitem is defined else '-' }}]{% endfor %}",
    "{% for m in messages if m.role == 'user' %}{{ m.content }}{{ ',' if not loop.last }}{% endfor %}",
    "{% for x in [] %}never{% else %}empty{% endfor %}",
    "{% for i in range(10) %}{% if i is odd %}{% continue %}{% endif %}{% if i > 6 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}",
    "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{% endfor %}",
    "{% for i in range(3) %}{{ loop.cycle('a', 'b') }}{% endfor %} {{ range(5, 0, -2) | list }}",
    # set, namespace, scoping
    "{% set x = 1 %}{% for i in items %}{% set x = i %}{% endfor %}{{ x }}",
    "{% set ns = namespace(total=0, seen=[]) %}{% for i in items %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}",
    "{% set a, b = 1, 'two' %}{{ a }}{{ b }}{% set block %}  inner {{ a }} {% endset %}[{{ block }}]",
    "{% if true %}{% set inside = 'kept' %}{% endif %}{{ inside }}",
    # macros
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('ann') }} {{ greet('bob', punct='?') }} {{ greet() }}",
    "{% macro fact(k) %}{% if k <= 1 %}1{% else %}{{ k }}*{{ fact(k - 1) }}{% endif %}{% endmacro %}{{ fact(5) }}",
    # undefined
    "[{{ missing }}][{{ missing is defined }}][{{ missing | default('dflt') }}][{% for x in missing %}x{% endfor %}][{{ not missing }}]",
    "[{{ messages[0].nope }}][{{ messages[0]['nope'] is defined }}][{{ none is none }}][{{ d.get('zz', 'fallback') }}]",
    "{{ missing.attribute }}",
    "{{ messages[0].nope.deeper }}",
    "{{ messages[10].role }}",
    "{{ missing + 1 }}",
    "{{ 'a' in missing }}|{{ missing | length }}|{{ missing | list }}|{{ none.x }}|",
    "{% for m in messages %}{% set x = loop.index %}{% endfor %}[{{ x }}]",
    "[{{ d[missing] is defined }}][{{ items[missing] }}][{{ s[missing] }}][{{ none[missing] is defined }}][{{ d[missing] }}]",
    "{{ items[missing] + 1 }}",
    # literals, str() and arithmetic
    "{{ [1, 'a', none, true, {'k': 'v'}, (1,), (1, 2), 1.5, -0.0] }} {{ none }} {{ True }} {{ False }}",
    "{{ 'it\\'s' }} {{ \"say \\\"hi\\\"\" }} {{ ['it\\'s', 'a\"b', 'tab\\there'] }} {{ '\\u00e9\\x41\\101' }}",
    "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ -2 ** 2 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}",
    "{{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 0.00001 }} {{ 0.1 + 0.2 }} {{ 1/3 }} {{ 1_000 }} {{ f * 2 }} {{ n + f }}",
    "{{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] * 2 }} {{ 'a' ~ 1 ~ none ~ missing }} {{ [1] + [2] }} {{ true + 1 }}",
    "{{ 1 if false }}|{{ 'y' if n > 5 else 'n' }}|{{ n > 5 and 'and-value' }}|{{ 0 or 'or-value' }}|{{ -n }}|{{ not n }}",
    "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 == 1.0 }} {{ 'U1' in messages | map(attribute='content') | list }} {{ 'x' not in 'abc' }} {{ 'b' in d }}",
    "{{ 10 | string + 'x' }} {{ not true == false }} {{ 1 + 2 * 3 ** 2 }} {{ (1, 2) == (1, 2) }} {{ [1, 2] == (1, 2) }}",
    "{{ 1 ~ 2 + 3 }}",
    "{{ 'a' + 1 }}",
    "{{ 1 < 'a' }}",
    "{{ 1 / 0 }}",
    # subscripts and slices
    "{{ messages[1:] | length }} {{ messages[-1].content }} {{ items[::-1] }} {{ items[1:] }} {{ items[:-1] }} {{ s[6:] }} {{ s[::-2] }} {{ 'é😀x'[1] }} {{ 'é😀x'[::-1] }} {{ s[100:] }}|",
    "{{ messages[0].role }} {{ messages[0]['role'] }} {{ d.a }} {{ d['b'] }} {{ users.0.name }}",
    # filters
    "[{{ '  x  ' | trim }}][{{ 'xxhixx' | trim('x') }}][{{ s | length }}][{{ items | count }}][{{ 5 | string }}][{{ s | upper }}][{{ s | lower }}][{{ 'hello WORLD' | capitalize }}][{{ 'hello-world foo(bar) it\\'s' | title }}]",
    "[{{ s | replace('o', '0') }}][{{ s | replace('o', '0', 1) }}][{{ items | first }}][{{ items | last }}][{{ items | join(',') }}][{{ users | join(', ', attribute='name') }}][{{ 'abc' | list }}]",
    "[{{ d | items | list }}][{{ none | default('n', true) }}][{{ '' | d('empty') }}][{{ 0 | default(5) }}][{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | join }}]",
    "[{{ messages | rejectattr('role', 'eq', 'user') | list | length }}][{{ users | selectattr('age') | map(attribute='name') | list }}][{{ users | map(attribute='age', default=0) | list }}][{{ items | select('odd') | list }}][{{ items | reject('even') | list }}][{{ ['a', 'b'] | map('upper') | list }}]",
    "[{{ 'a\\nb\\n\\nc' | indent }}][{{ 'a\\nb' | indent(2, true) }}][{{ 'a\\n\\nb' | indent('> ', blank=true) }}]",
    "[{{ '42' | int }}][{{ '4.7' | int }}][{{ 'x' | int }}][{{ 'x' | int(9) }}][{{ 3.9 | int }}][{{ '2.5' | float }}][{{ 'x' | float }}][{{ -3 | abs }}][{{ -2.5 | abs }}]",
    "[{{ 2.5 | round }}][{{ 3.5 | round }}][{{ 2.675 | round(2) }}][{{ 2.1 | round(0, 'ceil') }}][{{ 2.9 | round(method='floor') }}][{{ 7 | round }}]",
    "[{{ ['b', 'A', 'a', 'B'] | unique | list }}][{{ ['b', 'A', 'c'] | sort }}][{{ items | sort(reverse=true) }}][{{ users | sort(attribute='name') | map(attribute='name') | list }}][{{ items | reverse | list }}][{{ s | reverse }}][{{ 'one two, three' | wordcount }}]",
    "[{{ {'a': [1, 2.5, none, true], 'é': 'ü\"\\n'} | tojson }}][{{ messages[:1] | tojson(indent=2) }}][{{ 'x' | safe }}][{{ {} | tojson }}][{{ [] | tojson(indent=2) }}]",
    "{{ 'abc' | first }}{{ 'abc' | last }} {{ messages | map(attribute='role') | unique | list }} {{ messages | selectattr('role', 'in', ['user', 'system']) | list | length }}",
    "{{ users[0] }} {{ users | selectattr('name', 'equalto', 'bob') | first }}",
    "[{{ d | tojson(separators=(',', ':'), sort_keys=true) }}][{{ users | tojson(indent='\\t') }}][{{ d | tojson(false, 1) }}][{{ 'é😀\x7f' | tojson(ensure_ascii=true) }}]",
    # tests
    "{{ s is string }} {{ d is mapping }} {{ items is iterable }} {{ s is sequence }} {{ n is number }} {{ n is integer }} {{ f is float }} {{ flag is boolean }} {{ flag is true }} {{ flag is false }} {{ n is not none }} {{ missing is undefined }} {{ missing is iterable }}",
    "{{ n is eq 7 }} {{ n is equalto(7) }} {{ n is ne 7 }} {{ n is lt 8 }} {{ n is gt 8 }} {{ 'U1' is in ['U1'] }} {{ 9 is divisibleby 3 }} {{ n is odd }} {{ n is even }} {{ true is number }} {{ true is integer }}",
    # string, dict and list methods
    "[{{ '  a b  '.strip() }}][{{ 'xxaxx'.lstrip('x') }}][{{ 'xxaxx'.rstrip('x') }}][{{ 'a,b,,c'.split(',') }}][{{ ' a  b '.split() }}][{{ 'a,b,c'.split(',', 1) }}][{{ 'a,b,c'.rsplit(',', 1) }}]",
    "[{{ s.startswith('Hell') }}][{{ s.endswith(('x', 'ld')) }}][{{ s.upper() }}][{{ s.lower() }}][{{ 'hELLO wORLD'.title() }}][{{ 'hELLO'.capitalize() }}][{{ s.replace('l', 'L') }}][{{ s.find('o') }}][{{ s.find('z') }}][{{ s.count('l') }}][{{ '-'.join(['a', 'b']) }}]",
    "[{{ d.items() | list }}][{{ d.keys() | list }}][{{ d.values() | list }}][{{ d.get('a') }}][{{ d.get('z') }}][{{ 'think</think>answer'.split('</think>')[-1] }}]",
    "{{ items.append(4) }}",
    "{{ d.update({'c': 3}) }}",
    # globals
    "{{ raise_exception('Only user and assistant roles are supported!') }}",
    "{{ strftime_now('%d %b %Y') }} {{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j %p %I %-d') }}",
    "{{ range(100001) | length }}",
    # filter and call blocks, *args and **kwargs
    "{% filter upper %}a{{ 'b' }}{% endfilter %}|{%- filter trim | replace('x', 'y') -%}  xx  {%- endfilter %}|",
    "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ n }}{% endcall %}{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(x) each(items) %}[{{ x }}]{% endcall %}",
    "{% macro add(a, b, c=0) %}{{ a + b + c }}{% endmacro %}{{ add(*[1, 2]) }} {{ add(1, **{'b': 2, 'c': 3}) }}",
    # integer powers of 0, 1 and -1 for any exponent; errors Python raises for wrong argument types
    "{{ (-1) ** 3 }} {{ (-1) ** 4 }} {{ 0 ** 0 }} {{ 0 ** 5 }} {{ 1 ** 99999999999 }} {{ (-2) ** 63 }} {{ 2 ** -1 }}",
    "{{ 0 ** -1 }}",
    "{{ {'b': 1, 'a': 2, 'C': 0} | dictsort }} {{ {'b': 1, 'a': 2, 'C': 0} | dictsort(by='value') }} {{ {'b': 1, 'a': 2, 'C': 0} | dictsort(true) }} {{ {'b': 1, 'a': 2, 'C': 0} | dictsort(reverse=true) }}",
    "{{ {'a': 1} | dictsort(by='size') }}",
    "{{ 'a,b'.split(',', 'x') }}",
    "{{ 'aaa'.replace('a', 'b', 'x') }}",
    # generation tag
    "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}|{% endfor %}",
    # a macro that calls itself without end (Command R+'s json_to_python_type on a type list with "null")
    "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
]


def semantics():
    env = environment()
    return [{"template": t, **render(env, t, CONTEXT)} for t in SEMANTICS]


if __name__ == "__main__":
    folder = sys.argv[1]
    # gzip with no name and no time in its header, so that a rerun writes the same bytes (1.8 MB of JSON, 0.1 MB)
    with open(os.path.join(folder, "golden.json.gz"), "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as packed, \
            io.TextIOWrapper(packed, encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "cases": golden(folder)}, f, ensure_ascii=False, indent=1)
    with open(os.path.join(folder, "semantics.json"), "w", encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "context": CONTEXT, "cases": semantics()}, f, ensure_ascii=False, indent=1)
