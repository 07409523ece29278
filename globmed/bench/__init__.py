"""GlobMed-Bench: score models on GlobMed's test splits per task, language and scoring mode.

Modules: ``prompting`` (the prompts, all built by :mod:`globmed.prompts`), ``data`` (test items
and shots through ``datasets.load_dataset``), ``backends`` (transformers, OpenAI-compatible HTTP,
vLLM behind one interface), ``scoring`` (letter, cloze, generative, generative_cot), ``extract`` (the
answer regex cascade), ``judge`` (the optional LLM judge of open-QA answers), ``results`` (resumable
per-item JSONL), ``metrics`` (local ``evaluate`` modules),
``report`` (leaderboards and plots), ``lm_eval_export`` (lm-evaluation-harness task YAMLs),
``runner`` (ties them together for ``globmed bench``).
"""
